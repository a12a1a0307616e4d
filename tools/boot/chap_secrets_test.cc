#include <catch2/catch.hpp>
#include <sys/stat.h>

#include <fstream>
#include <regex>
#include <set>

#include "chap_secrets.h"
#include "error.h"
#include "scratch_dir.h"

using namespace iscsi_target;

TEST_CASE("random secrets: 24 characters, all different") {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) seen.insert(random_secret());
  CHECK(seen.size() == 100);
  CHECK(std::regex_match(*seen.begin(), std::regex("[A-Za-z0-9_-]{24}")));
}

TEST_CASE("secrets file: created 0600 once, then reused; loosened modes tightened") {
  ScratchDir dir("chap");
  const auto file = dir.path / "iscsi-target/chap-secrets";
  auto first = load_or_create_chap_secrets(file, true, "");
  CHECK(first.mutual());
  CHECK(first.password != first.mutual_password);
  struct stat st {};
  REQUIRE(::stat(file.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  auto second = load_or_create_chap_secrets(file, true, "");
  CHECK(second.password == first.password);
  ::chmod(file.c_str(), 0644);
  load_or_create_chap_secrets(file, true, "");
  REQUIRE(::stat(file.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
}

TEST_CASE("secrets file errors name file and line") {
  CHECK_THROWS_WITH(parse_chap_secrets("username=u\npassword\n", "f"), "f:2: expected key=value");
  CHECK_THROWS_WITH(parse_chap_secrets("username=u\n", "f"), "f: needs username= and password=");
  CHECK_THROWS_WITH(parse_chap_secrets("username=u\npassword=p\nmutual_username=t\n", "f"), "f: mutual_username= and mutual_password= go together");
  CHECK_THROWS_WITH(parse_chap_secrets("username=u\npassword=" + std::string(256, 'x') + "\n", "f"), "f:2: password longer than 255 characters (LIO's limit)");
}
