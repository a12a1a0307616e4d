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
  CHECK_THROWS_WITH(parse_chap_secrets("username=u\npassword=" + std::string(256, 'x') + "\n", "f"), "f:2: password=<hidden 256 characters>: longer than 255 characters (LIO's limit)");
}

namespace {
std::string secrets_error(const std::string& text) {
  try {
    parse_chap_secrets(text, "/etc/iscsi-target/chap-secrets");
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}
}  // namespace

TEST_CASE("secrets file: values the target would refuse or read differently are one-line errors without the secret") {
  const std::string file = "/etc/iscsi-target/chap-secrets";
  struct Case {
    std::string text, error, secret;
  };
  const Case cases[] = {
      {"username=u\npassword=a b\n", file + ":2: password=<hidden 3 characters>: must not contain spaces or control characters", "a b"},
      {"# generated\r\nusername=u\r\npassword=Secret123\r\n", file + ":2: username=<hidden 2 characters>: must not contain spaces or control characters", "Secret123"},
      {"username=u\npassword=Secret123\r\n", file + ":2: password=<hidden 10 characters>: must not contain spaces or control characters", "Secret123"},
      {"username=u\npassword=X rd.iscsi_target.dev=/dev/sdz\n", file + ":2: password=<hidden 30 characters>: must not contain spaces or control characters", "X rd.iscsi_target"},
      {"username=u\npassword=pa\"ss\n",
       file + ":2: password=<hidden 5 characters>: must not contain '\"' or '\\' (the command-line and iscsid.conf readers treat them differently)", "pa\"ss"},
      {"username=u\npassword=\n", file + ":2: expected key=value", ""},
      {"username=u\npassword=" + std::string(256, 'z') + "\n", file + ":2: password=<hidden 256 characters>: longer than 255 characters (LIO's limit)", "zzzz"},
      {"username=u\npassword=p1234567\nmutual_username=t\nmutual_password=m 1\n", file + ":4: mutual_password=<hidden 3 characters>: must not contain spaces or control characters", "m 1"},
      {"username=u u\npassword=p1234567\n", file + ":1: username=u u: must not contain spaces or control characters", "p1234567"},
      {"username=u\npassword=p1234567\n\r\n", file + ":3: carriage return: the file has Windows (CRLF) line endings", "p1234567"},
      {"username=u\npassword=same1234\nmutual_username=t\nmutual_password=same1234\n", file + ": mutual_password must differ from password", "same1234"},
  };
  for (const auto& c : cases) {
    INFO(c.text);
    const std::string error = secrets_error(c.text);
    CHECK(error == c.error);
    CHECK(error.find('\n') == std::string::npos);
    CHECK(error.find('\r') == std::string::npos);
    if (!c.secret.empty()) CHECK(error.find(c.secret) == std::string::npos);
  }
  CHECK(secrets_error("username=u\npassword=p1234567\nmutual_username=t\nmutual_password=m1234567\n") == "no error");
}
