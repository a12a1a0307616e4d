#include <catch2/catch.hpp>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "error.h"
#include "file_io.h"
#include "scratch_dir.h"

using namespace iscsi_target;
namespace fs = std::filesystem;

namespace {
unsigned mode_of(const fs::path& p) {
  struct stat st {};
  REQUIRE(::lstat(p.c_str(), &st) == 0);
  return st.st_mode & 07777;
}
}  // namespace

TEST_CASE("read_file: whole content; missing and unreadable files are errors naming the file") {
  ScratchDir dir("file-io");
  std::ofstream(dir.path / "a") << "line 1\nline 2\n";
  CHECK(read_file(dir.path / "a") == "line 1\nline 2\n");
  CHECK_THROWS_WITH(read_file(dir.path / "missing"), Catch::Contains("cannot read " + (dir.path / "missing").string()) &&
                                                         Catch::Contains("No such file"));
  fs::create_directories(dir.path / "d");
  CHECK_THROWS_WITH(read_file(dir.path / "d"), Catch::Contains("Is a directory"));
  CHECK_FALSE(read_file_if_exists(dir.path / "missing"));
  CHECK(read_file_if_exists(dir.path / "a") == "line 1\nline 2\n");
  CHECK_THROWS_AS(read_file_if_exists(dir.path / "d"), Error);  // exists but unreadable: say so
  CHECK(read_text_or_empty(dir.path / "d").empty());
}

TEST_CASE("write_file_atomic: mode as asked even over a wider file, a symlink is replaced not followed") {
  ScratchDir dir("file-io");
  const fs::path secret = dir.path / "secret";
  std::ofstream(secret) << "old";
  ::chmod(secret.c_str(), 0644);
  write_file_atomic(secret, "new", 0600);
  CHECK(read_file(secret) == "new");
  CHECK(mode_of(secret) == 0600);

  const fs::path victim = dir.path / "victim";
  std::ofstream(victim) << "keep me";
  fs::create_symlink(victim, dir.path / "link");
  write_file_atomic(dir.path / "link", "saved", 0600);
  CHECK(read_file(victim) == "keep me");
  CHECK_FALSE(fs::is_symlink(dir.path / "link"));
  CHECK(read_file(dir.path / "link") == "saved");

  // No temporary file is left beside it.
  int entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir.path)) ++entries;
  CHECK(entries == 3);
}

TEST_CASE("write_file_atomic keep: an existing file is never replaced") {
  ScratchDir dir("file-io");
  const fs::path file = dir.path / "chap-secrets";
  write_file_atomic(file, "first", 0600, IfExists::keep);
  CHECK_THROWS_WITH(write_file_atomic(file, "second", 0600, IfExists::keep), Catch::Contains("File exists"));
  CHECK(read_file(file) == "first");
}

TEST_CASE("write_file_atomic: a missing directory is an error naming it, nothing is created") {
  ScratchDir dir("file-io");
  CHECK_THROWS_WITH(write_file_atomic(dir.path / "no/such/dir/file", "x", 0600), Catch::Contains((dir.path / "no/such/dir").string()));
  CHECK_FALSE(fs::exists(dir.path / "no"));
}
