#include <catch2/catch.hpp>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "error.h"
#include "file_io.h"
#include "scratch_dir.h"
#include "iso_image.h"
#include "iso_menu.h"
#include "process.h"

using namespace iscsi_target;
namespace fs = std::filesystem;

namespace {

BootMenu sample_menu() {
  BootMenu menu;
  menu.title = "Boot Debian over iSCSI";
  menu.kernel = "/vmlinuz";
  menu.initrds = {"/initrd0.img", "/initrd1.img"};
  menu.cmdline = "console=ttyS0 netroot=iscsi:192.168.7.1::::iqn.2024-01.org.example:disk rd.iscsi.param=a=b";
  menu.timeout_seconds = 3;
  menu.marker = "iscsi-boot-0123456789abcdef";
  return menu;
}

void write_file(const fs::path& file, const std::string& text) { std::ofstream(file, std::ios::binary) << text; }

// A PE32+ header with an empty or filled certificate table (data directory 4), as in an EFI-stub kernel.
std::string fake_pe(bool signed_image) {
  std::string pe(1024, '\0');
  pe[0] = 'M', pe[1] = 'Z';
  pe[0x3c] = char(0x80);
  pe.replace(0x80, 4, std::string("PE\0\0", 4));
  pe[0x80 + 24] = 0x0b, pe[0x80 + 25] = 0x02;  // optional header magic 0x20b
  if (signed_image) pe[0x80 + 24 + 148] = 0x10;
  return pe;
}

bool have_iso_tools() { return missing_iso_tools({}).empty(); }

}  // namespace

TEST_CASE("iso menu: isolinux boots the kernel with all initrds, comma-separated, after the timeout") {
  const std::string cfg = isolinux_cfg(sample_menu());
  CHECK_THAT(cfg, Catch::Contains("UI menu.c32\n"));
  CHECK_THAT(cfg, Catch::Contains("TIMEOUT 30\n"));
  CHECK_THAT(cfg, Catch::Contains("MENU TITLE Boot Debian over iSCSI\n"));
  CHECK_THAT(cfg, Catch::Contains("  LINUX /vmlinuz\n"));
  CHECK_THAT(cfg, Catch::Contains("  APPEND initrd=/initrd0.img,/initrd1.img console=ttyS0 netroot=iscsi:192.168.7.1::::"
                                  "iqn.2024-01.org.example:disk rd.iscsi.param=a=b\n"));
  CHECK_THAT(cfg, !Catch::Contains("@"));
  BootMenu now = sample_menu();
  now.timeout_seconds = 0;
  CHECK_THAT(isolinux_cfg(now), Catch::Contains("TIMEOUT 1\n"));  // TIMEOUT 0 would wait for ever
}

TEST_CASE("iso menu: GRUB quotes every word so nothing is expanded, and lists the initrds in order") {
  BootMenu menu = sample_menu();
  menu.cmdline = "console=ttyS0  root=LABEL=$x;y  opt=\"a b\"";
  menu.title = "It's {iSCSI}";
  const std::string cfg = grub_cfg(menu);
  CHECK_THAT(cfg, Catch::Contains("set timeout=3\n"));
  CHECK_THAT(cfg, Catch::Contains("menuentry 'It'\\''s {iSCSI}' --id iscsi {\n"));
  CHECK_THAT(cfg, Catch::Contains("  linux '/vmlinuz' 'console=ttyS0' 'root=LABEL=$x;y' 'opt=a b'\n"));
  CHECK_THAT(cfg, Catch::Contains("  initrd '/initrd0.img' '/initrd1.img'\n"));
  CHECK_THAT(isolinux_cfg(menu), Catch::Contains("APPEND initrd=/initrd0.img,/initrd1.img console=ttyS0  root=LABEL=$x;y  opt=\"a b\"\n"));
}

TEST_CASE("iso menu: the early GRUB script finds the ISO by its own marker file") {
  const std::string cfg = grub_early_cfg(sample_menu());
  CHECK_THAT(cfg, Catch::Contains("search --no-floppy --file --set=root /.disk/iscsi-boot-0123456789abcdef; then"));
  CHECK_THAT(cfg, Catch::Contains("configfile $prefix/grub.cfg"));
}

TEST_CASE("iso menu: command lines that cannot pass both loaders unchanged are refused") {
  CHECK(kernel_cmdline_words(" a  b=\"c d\" \"e\" ") == std::vector<std::string>{"a", "b=c d", "e"});
  CHECK_THROWS_WITH(kernel_cmdline_words("a='b'"), Catch::Contains("the character ' cannot pass through GRUB"));
  CHECK_THROWS_WITH(kernel_cmdline_words("a=\\x"), Catch::Contains("the character \\ cannot pass"));
  CHECK_THROWS_WITH(kernel_cmdline_words("a\nb"), Catch::Contains("control characters"));
  CHECK_THROWS_WITH(kernel_cmdline_words("a=\"b"), "kernel command line: unbalanced double quote");
  CHECK_THROWS_WITH(kernel_cmdline_words(std::string(3000, 'x')), Catch::Contains("3000 bytes, the kernel takes at most 2047"));
  BootMenu menu = sample_menu();
  menu.timeout_seconds = 601;
  CHECK_THROWS_WITH(isolinux_cfg(menu), "ISO menu timeout 601 s: must be 0..600");
  menu = sample_menu();
  menu.title = "two\nlines";
  CHECK_THROWS_WITH(grub_cfg(menu), Catch::Contains("must be one line"));
  menu = sample_menu();
  menu.initrds.clear();
  CHECK_THROWS_WITH(grub_cfg(menu), Catch::Contains("at least one initrd"));
}

TEST_CASE("iso menu: templates fill every placeholder and leave other @ alone") {
  CHECK(fill_template("a @X@ b user@host @Y@", {{"X", "1"}, {"Y", "2"}}) == "a 1 b user@host 2");
  CHECK_THROWS_WITH(fill_template("@MISSING@", {}), "boot menu template: no value for @MISSING@");
}

TEST_CASE("iso: a PE image's certificate table tells a signed kernel") {
  ScratchDir dir("pe");
  write_file(dir.path / "signed", fake_pe(true));
  write_file(dir.path / "unsigned", fake_pe(false));
  write_file(dir.path / "text", "not a PE file");
  CHECK(pe_has_signature(dir.path / "signed"));
  CHECK_FALSE(pe_has_signature(dir.path / "unsigned"));
  CHECK_FALSE(pe_has_signature(dir.path / "text"));
  CHECK_FALSE(pe_has_signature(dir.path / "missing"));
}

TEST_CASE("iso: missing tools are named with their packages") {
  IsoHostFiles host;
  host.isolinux_bin = "/nonexistent/isolinux.bin";
  host.syslinux_bios_modules = "/nonexistent/bios";
  const auto missing = missing_iso_tools(host);
  CHECK(std::find(missing.begin(), missing.end(), "/nonexistent/isolinux.bin (package isolinux)") != missing.end());
  CHECK(std::find(missing.begin(), missing.end(), "/nonexistent/bios/ldlinux.c32 (package syslinux-common)") != missing.end());
  IsoImageSpec spec;
  spec.kernel = "/nonexistent/vmlinuz";
  spec.initrds = {"/nonexistent/initrd"};
  spec.output = "/nonexistent/out.iso";
  spec.host = host;
  CHECK_THROWS_WITH(build_iso(spec), Catch::StartsWith("building /nonexistent/out.iso: missing ") &&
                                         Catch::Contains("/nonexistent/isolinux.bin (package isolinux)"));
}

TEST_CASE("iso: a real build is hybrid, private, reproducible, and carries the extra initrd") {
  if (!have_iso_tools()) {
    WARN("xorriso, isolinux, syslinux-common, grub-efi-amd64-bin or mtools missing (test-vms/iso-deps.sh): skipped");
    return;
  }
  ScratchDir dir("iso");
  write_file(dir.path / "vmlinuz", fake_pe(false) + std::string(100000, 'k'));
  write_file(dir.path / "initrd.img", std::string(200000, 'i'));
  IsoImageSpec spec;
  spec.kernel = dir.path / "vmlinuz";
  spec.initrds = {dir.path / "initrd.img"};
  spec.extra_initrd = {CpioEntry::file("/etc/cmdline.d/90-iscsi-secrets.conf", "rd.iscsi.password=s3cret\n", 0600)};
  spec.cmdline = "console=ttyS0 iso.marker=XYZ";
  spec.output = dir.path / "new/dir/out.iso";
  spec.source_date_epoch = 1700000000;
  spec.secure_boot = SecureBootChoice::off;

  const IsoImageResult r = build_iso(spec);
  CHECK(r.output == spec.output);
  CHECK(r.bytes == fs::file_size(spec.output));
  CHECK(r.payload_bytes > 300000);
  CHECK(r.overhead_bytes == static_cast<int64_t>(r.bytes - r.payload_bytes));
  CHECK(r.overhead_bytes < 2500000);  // DESIGN.md §5: ~1.5–2 MB for isolinux + our GRUB core
  CHECK(r.source_date_epoch == 1700000000);
  CHECK_FALSE(r.secure_boot);
  CHECK(r.uefi_loader == "GRUB");
  CHECK_THAT(r.secure_boot_note, Catch::StartsWith("Secure Boot: no"));
  struct stat st {};
  REQUIRE(::stat(spec.output.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0600);
  REQUIRE(::stat((dir.path / "new").c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0700);
  REQUIRE(::stat((dir.path / "new/dir").c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0700);
  // Nothing left behind but the image.
  CHECK(std::distance(fs::directory_iterator(dir.path / "new/dir"), fs::directory_iterator()) == 1);

  // Same inputs, same bytes.
  IsoImageSpec again = spec;
  again.output = dir.path / "again.iso";
  build_iso(again);
  CHECK(read_file(spec.output) == read_file(again.output));

  // The tree and the El Torito entries.
  const auto listing = run_process({"xorriso", "-no_rc", "-indev", spec.output.string(), "-find", "/", "-type", "f"}).out;
  for (const char* file : {"/vmlinuz", "/initrd0.img", "/initrd1.img", "/isolinux/isolinux.bin", "/isolinux/ldlinux.c32",
                           "/isolinux/isolinux.cfg", "/boot/grub/grub.cfg", "/boot/grub/efi.img"})
    CHECK_THAT(listing, Catch::Contains(std::string("'") + file + "'"));
  CHECK_THAT(listing, Catch::Contains("/.disk/iscsi-boot-"));
  const auto report = run_process({"xorriso", "-no_rc", "-indev", spec.output.string(), "-report_el_torito", "plain"}).err +
                      run_process({"xorriso", "-no_rc", "-indev", spec.output.string(), "-report_el_torito", "plain"}).out;
  CHECK_THAT(report, Catch::Contains("BIOS"));
  CHECK_THAT(report, Catch::Contains("UEFI"));
  // The extra initrd holds the secret; the menus do not.
  run_process({"xorriso", "-no_rc", "-osirrox", "on", "-indev", spec.output.string(), "-extract", "/initrd1.img",
               (dir.path / "extra.img").string(), "-extract", "/isolinux/isolinux.cfg", (dir.path / "isolinux.cfg").string(),
               "-extract", "/boot/grub/grub.cfg", (dir.path / "grub.cfg").string()});
  CHECK_THAT(read_file(dir.path / "extra.img"), Catch::Contains("etc/cmdline.d/90-iscsi-secrets.conf"));
  CHECK_THAT(read_file(dir.path / "isolinux.cfg"), Catch::Contains("initrd=/initrd0.img,/initrd1.img console=ttyS0 iso.marker=XYZ"));
  CHECK_THAT(read_file(dir.path / "grub.cfg"), Catch::Contains("initrd '/initrd0.img' '/initrd1.img'"));
  CHECK_THAT(read_file(dir.path / "grub.cfg") + read_file(dir.path / "isolinux.cfg"), !Catch::Contains("s3cret"));
}

TEST_CASE("iso: with shim and signed GRUB present the EFI image carries them, and the note says why or why not") {
  if (!have_iso_tools()) {
    WARN("ISO tools missing: skipped");
    return;
  }
  ScratchDir dir("iso-sb");
  write_file(dir.path / "shim", "shim");
  write_file(dir.path / "grub", "grub");
  write_file(dir.path / "mm", "mm");
  write_file(dir.path / "signed-vmlinuz", fake_pe(true));
  write_file(dir.path / "vmlinuz", fake_pe(false));
  write_file(dir.path / "initrd.img", "initrd");
  IsoImageSpec spec;
  spec.kernel = dir.path / "signed-vmlinuz";
  spec.initrds = {dir.path / "initrd.img"};
  spec.cmdline = "quiet";
  spec.output = dir.path / "sb.iso";
  spec.host.shim = dir.path / "shim";
  spec.host.signed_grub = dir.path / "grub";
  spec.host.shim_mok_manager = dir.path / "mm";
  spec.source_date_epoch = 0;

  IsoImageResult r = build_iso(spec);
  CHECK(r.secure_boot);
  CHECK(r.uefi_loader == "shim + signed GRUB");
  CHECK_THAT(r.secure_boot_note, Catch::StartsWith("Secure Boot: yes"));
  run_process({"xorriso", "-no_rc", "-osirrox", "on", "-indev", spec.output.string(), "-extract", "/boot/grub/efi.img",
               (dir.path / "efi.img").string()});
  const auto efi = run_process({"mdir", "-i", (dir.path / "efi.img").string(), "-/", "-b", "::/EFI"}).out;
  CHECK_THAT(efi, Catch::Contains("::/EFI/BOOT/BOOTX64.EFI"));
  CHECK_THAT(efi, Catch::Contains("::/EFI/BOOT/grubx64.efi"));
  CHECK_THAT(efi, Catch::Contains("::/EFI/BOOT/mmx64.efi"));
  CHECK_THAT(efi, Catch::Contains("::/EFI/debian/grub.cfg"));

  spec.kernel = dir.path / "vmlinuz";
  r = build_iso(spec);
  CHECK_FALSE(r.secure_boot);
  CHECK_THAT(r.secure_boot_note, Catch::Contains("is not signed"));

  spec.host.shim = dir.path / "no-shim";
  spec.secure_boot = SecureBootChoice::required;
  CHECK_THROWS_WITH(build_iso(spec), Catch::Contains("Secure Boot required, but") && Catch::Contains("package shim-signed"));
  spec.secure_boot = SecureBootChoice::automatic;
  r = build_iso(spec);
  CHECK_FALSE(r.secure_boot);
  CHECK_THAT(r.secure_boot_note, Catch::Contains("install shim-signed and grub-efi-amd64-signed"));
}

TEST_CASE("iso: without SOURCE_DATE_EPOCH the date is the kernel file's mtime") {
  ScratchDir dir("iso-epoch");
  write_file(dir.path / "vmlinuz", "k");
  fs::last_write_time(dir.path / "vmlinuz", fs::file_time_type::clock::now());
  struct stat st {};
  REQUIRE(::stat((dir.path / "vmlinuz").c_str(), &st) == 0);
  CHECK(default_source_date_epoch(dir.path / "vmlinuz") == st.st_mtime);
  CHECK_THROWS_WITH(default_source_date_epoch(dir.path / "missing"), Catch::Contains("missing: No such file"));
}
