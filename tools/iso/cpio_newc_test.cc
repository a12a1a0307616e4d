#include <catch2/catch.hpp>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "cpio_newc.h"
#include "error.h"
#include "file_io.h"
#include "scratch_dir.h"
#include "process.h"

using namespace iscsi_target;
namespace fs = std::filesystem;

namespace {

// A reader written from the kernel's init/initramfs.c rules, independent of the writer.
struct Parsed {
  std::string name;
  uint32_t ino, mode, uid, gid, nlink, mtime;
  std::string data;
};

uint32_t hex_field(const std::string& archive, size_t at) { return static_cast<uint32_t>(std::stoul(archive.substr(at, 8), nullptr, 16)); }

std::vector<Parsed> parse(const std::string& archive) {
  std::vector<Parsed> out;
  size_t pos = 0;
  for (;;) {
    REQUIRE(pos % 4 == 0);
    REQUIRE(pos + 110 <= archive.size());
    REQUIRE(archive.substr(pos, 6) == "070701");
    auto field = [&](int i) { return hex_field(archive, pos + 6 + 8 * static_cast<size_t>(i)); };
    Parsed p{"", field(0), field(1), field(2), field(3), field(4), field(5), ""};
    const uint32_t size = field(6), namesize = field(11);
    CHECK(field(12) == 0);  // check: 0 for newc
    p.name = archive.substr(pos + 110, namesize - 1);
    REQUIRE(archive[pos + 110 + namesize - 1] == '\0');
    pos += 110 + namesize;
    pos = (pos + 3) / 4 * 4;
    p.data = archive.substr(pos, size);
    pos += size;
    pos = (pos + 3) / 4 * 4;
    if (p.name == "TRAILER!!!") break;
    out.push_back(p);
  }
  CHECK(pos == archive.size());
  return out;
}

}  // namespace

TEST_CASE("cpio: parent directories come first, files keep contents and modes, all owned by root") {
  const std::string archive = cpio_newc_archive(
      {CpioEntry::file("/etc/cmdline.d/90-iscsi-secrets.conf", "rd.iscsi.password=s3cret\n", 0600),
       CpioEntry::file("etc/cmdline.d/99-x.conf", "abc"), CpioEntry::directory("/run/x", 0700)},
      1700000000);
  CHECK(archive.size() % 4 == 0);
  const auto entries = parse(archive);
  REQUIRE(entries.size() == 6);
  CHECK(entries[0].name == "etc");
  CHECK(entries[0].mode == (S_IFDIR | 0755));
  CHECK(entries[1].name == "etc/cmdline.d");
  CHECK(entries[2].name == "etc/cmdline.d/90-iscsi-secrets.conf");
  CHECK(entries[2].mode == (S_IFREG | 0600));
  CHECK(entries[2].data == "rd.iscsi.password=s3cret\n");
  CHECK(entries[2].nlink == 1);
  CHECK(entries[3].name == "etc/cmdline.d/99-x.conf");
  CHECK(entries[3].data == "abc");
  CHECK(entries[4].name == "run");
  CHECK(entries[5].name == "run/x");
  CHECK(entries[5].mode == (S_IFDIR | 0700));
  std::set<uint32_t> inodes;
  for (const auto& e : entries) {
    CHECK(e.uid == 0);
    CHECK(e.gid == 0);
    CHECK(e.mtime == 1700000000);
    inodes.insert(e.ino);
  }
  CHECK(inodes.size() == entries.size());  // the kernel links files that share an inode
}

TEST_CASE("cpio: a directory named again is written once, or again when its mode changes") {
  const auto entries = parse(cpio_newc_archive({CpioEntry::directory("/etc"), CpioEntry::file("/etc/d/a", "1"),
                                                CpioEntry::directory("/etc/d"), CpioEntry::file("/etc/d/b", "2"),
                                                CpioEntry::directory("/etc/d", 0700)},
                                               0));
  std::vector<std::string> names;
  for (const auto& e : entries) names.push_back(e.name);
  CHECK(names == std::vector<std::string>{"etc", "etc/d", "etc/d/a", "etc/d/b", "etc/d"});
  CHECK(entries.back().mode == (S_IFDIR | 0700));
}

TEST_CASE("cpio: the same entries give the same bytes; the mtime is the only date") {
  const std::vector<CpioEntry> entries = {CpioEntry::file("/a/b", "x")};
  CHECK(cpio_newc_archive(entries, 1) == cpio_newc_archive(entries, 1));
  CHECK(cpio_newc_archive(entries, 1) != cpio_newc_archive(entries, 2));
}

TEST_CASE("cpio: paths the kernel would misplace are refused, naming the path") {
  CHECK_THROWS_WITH(cpio_newc_archive({CpioEntry::file("/etc/../x", "")}, 0), "cpio entry /etc/../x: '..' is not allowed");
  CHECK_THROWS_WITH(cpio_newc_archive({CpioEntry::file("/", "")}, 0), "cpio entry '/': empty path");
  CHECK_THROWS_WITH(cpio_newc_archive({CpioEntry::file("/a", ""), CpioEntry::file("a", "")}, 0), "cpio entry a: listed twice");
  CHECK_THROWS_WITH(cpio_newc_archive({CpioEntry::file("/a/b", ""), CpioEntry::file("/a", "")}, 0), "cpio entry /a: listed twice");
  CHECK_THROWS_WITH(cpio_newc_archive({CpioEntry::file("/a", ""), CpioEntry::file("/a/b", "")}, 0), "cpio entry /a/b: a is a file");
  CHECK_THROWS_WITH(cpio_newc_archive({CpioEntry::file("/a", "", 010644)}, 0), Catch::Contains("bits outside 07777"));
  CHECK_THROWS_WITH(cpio_newc_archive({CpioEntry::file("TRAILER!!!", "")}, 0), Catch::Contains("reserved name"));
}

TEST_CASE("cpio: written with mode 0600, and GNU cpio lists and extracts it as the kernel would") {
  ScratchDir dir("cpio");
  const fs::path file = dir.path / "extra.img";
  std::ofstream(file) << "old";
  ::chmod(file.c_str(), 0644);
  write_cpio_newc(file, {CpioEntry::file("/etc/cmdline.d/99-test.conf", "rd.break=pre-udev\n", 0600)}, 1700000000);
  struct stat st {};
  REQUIRE(::stat(file.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0600);
  if (find_program("cpio").empty()) {
    WARN("cpio not installed: checked with the built-in reader only");
    return;
  }
  ProcessOptions options;
  options.env = {{"TZ", "UTC"}, {"LC_ALL", "C"}};
  const auto listing = run_process({"cpio", "-itv", "-F", file.string()}, options).out;
  CHECK_THAT(listing, Catch::Contains("drwxr-xr-x   2 root     root            0 Nov 14  2023 etc/cmdline.d"));
  CHECK_THAT(listing, Catch::Contains("-rw-------   1 root     root           18 Nov 14  2023 etc/cmdline.d/99-test.conf"));
  options.cwd = dir.path;
  run_process({"cpio", "-id", "--quiet", "-F", file.string()}, options);
  CHECK(read_file(dir.path / "etc/cmdline.d/99-test.conf") == "rd.break=pre-udev\n");
}

TEST_CASE("cpio: written atomically: the old archive stays whole until the new one replaces it by rename") {
  ScratchDir dir("cpio-atomic");
  const fs::path file = dir.path / "iscsi-target-6.1.0-56-amd64.img";
  std::ofstream(file) << "old secrets";
  ::chmod(file.c_str(), 0600);
  // A second name for the old inode: a write in place (truncate, then write) would change what it shows.
  fs::create_hard_link(file, dir.path / "old-link");
  // A symlink where a loader expects the file is replaced, never followed.
  std::ofstream(dir.path / "elsewhere") << "not ours";
  fs::create_symlink(dir.path / "elsewhere", dir.path / "link.img");

  write_cpio_newc(file, {CpioEntry::file("/etc/iscsi-target/target.conf", "rd.iscsi.password=new\n", 0600)}, 0);
  write_cpio_newc(dir.path / "link.img", {CpioEntry::file("/x", "y", 0600)}, 0);

  CHECK(read_file(dir.path / "old-link") == "old secrets");
  CHECK(read_file(file).find("rd.iscsi.password=new\n") != std::string::npos);
  CHECK(fs::hard_link_count(file) == 1);
  CHECK(read_file(dir.path / "elsewhere") == "not ours");
  CHECK_FALSE(fs::is_symlink(dir.path / "link.img"));
  std::set<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir.path)) names.insert(entry.path().filename().string());
  CHECK(names == std::set<std::string>{"iscsi-target-6.1.0-56-amd64.img", "old-link", "elsewhere", "link.img"});  // no temporary left
}
