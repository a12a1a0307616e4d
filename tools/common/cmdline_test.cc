#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "cmdline.h"

using namespace iscsi_target;
namespace fs = std::filesystem;

TEST_CASE("kernel-style splitting with quotes") {
  auto args = parse_cmdline("root=UUID=abc ro  quiet rd.iscsi_target.dev=\"/dev/disk/by-label/my disk\" \"a=b c\"\n");
  REQUIRE(args.size() == 5);
  CHECK(args[0].key == "root");
  CHECK(args[0].value == "UUID=abc");
  CHECK(args[1].key == "ro");
  CHECK_FALSE(args[1].value.has_value());
  CHECK(args[3].value == "/dev/disk/by-label/my disk");
  CHECK(args[4].key == "a");
  CHECK(args[4].value == "b c");
}

TEST_CASE("comment lines are skipped, '#' inside a value is kept") {
  auto args = parse_cmdline("# secrets for the target\nrd.iscsi.password=a#b\n  # not a comment? indented\n");
  REQUIRE(args.size() >= 1);
  CHECK(args[0].key == "rd.iscsi.password");
  CHECK(args[0].value == "a#b");
}

TEST_CASE("getarg: last value wins; getargs: all in order; bare flag is 1") {
  Cmdline c(parse_cmdline("k=1 x k=2 rd.iscsi_target.dev=/dev/a rd.iscsi_target.dev=/dev/b"));
  CHECK(c.get("k") == "2");
  CHECK(c.get("x") == "1");
  CHECK_FALSE(c.get("missing").has_value());
  CHECK(c.get_all("rd.iscsi_target.dev") == std::vector<std::string>{"/dev/a", "/dev/b"});
}

TEST_CASE("load order: cmdline.d (sorted), /etc/cmdline, /proc/cmdline") {
  auto dir = fs::temp_directory_path() / ("cmdline-test-" + std::to_string(::getpid()));
  fs::create_directories(dir / "cmdline.d");
  std::ofstream(dir / "cmdline.d/20-b.conf") << "k=from-20\n";
  std::ofstream(dir / "cmdline.d/10-a.conf") << "k=from-10\nonly.in.d=1\n";
  std::ofstream(dir / "cmdline.d/ignored.txt") << "k=ignored\n";
  std::ofstream(dir / "proc") << "k=from-proc x=1\n";
  auto c = Cmdline::load(dir, dir / "proc");
  CHECK(c.get_all("k") == std::vector<std::string>{"from-10", "from-20", "from-proc"});
  CHECK(c.get("k") == "from-proc");
  CHECK(c.get("only.in.d") == "1");
  auto overridden = Cmdline::load(dir, dir / "proc", std::string("k=given"));
  CHECK(overridden.get("k") == "given");
  CHECK_FALSE(overridden.get("x").has_value());
  std::ofstream(dir / "settings.conf") << "# CHAP\nk=from-settings\n";
  CHECK(overridden.append_file_if_exists(dir / "settings.conf"));
  CHECK_FALSE(overridden.append_file_if_exists(dir / "missing.conf"));
  CHECK(overridden.get("k") == "from-settings");
  fs::remove_all(dir);
}
