#include <catch2/catch.hpp>

#include "bls_entry.h"

using namespace iscsi_target;

TEST_CASE("BLS entry: Fedora 41 style initrd with $tuned_initrd, repeated options") {
  auto e = parse_bls_entry(
      "title Fedora Linux (6.11.4-301.fc41.x86_64) 41 (Workstation Edition)\n"
      "version 6.11.4-301.fc41.x86_64\n"
      "linux /vmlinuz-6.11.4-301.fc41.x86_64\n"
      "initrd /initramfs-6.11.4-301.fc41.x86_64.img $tuned_initrd\n"
      "options root=UUID=abcd ro rhgb quiet\n"
      "options $tuned_params\n"
      "grub_users $grub_users\n"
      "# comment\n"
      "id fedora-20241025-6.11.4-301.fc41.x86_64\n");
  CHECK(e.get("version") == "6.11.4-301.fc41.x86_64");
  CHECK(e.paths("linux") == std::vector<std::string>{"/vmlinuz-6.11.4-301.fc41.x86_64"});
  CHECK(e.paths("initrd") == std::vector<std::string>{"/initramfs-6.11.4-301.fc41.x86_64.img"});
  CHECK(e.options() == "root=UUID=abcd ro rhgb quiet $tuned_params");
  CHECK_FALSE(e.get("sort-key"));
  CHECK(parse_bls_entry(e.text()).lines == e.lines);
}

TEST_CASE("BLS entry: systemd-boot layout with two initrds") {
  auto e = parse_bls_entry("title Debian\nsort-key debian\nlinux /abc/6.1.0-56-amd64/linux\ninitrd /abc/6.1.0-56-amd64/initrd\ninitrd /abc/6.1.0-56-amd64/microcode\n");
  CHECK(e.paths("initrd").size() == 2);
  CHECK(e.get("sort-key") == "debian");
}
