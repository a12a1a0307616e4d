#include "iso_image.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>

#include "error.h"
#include "file_io.h"
#include "iso_menu.h"
#include "process.h"

namespace iscsi_target {
namespace fs = std::filesystem;

namespace {

// GRUB modules of our own UEFI core: find the ISO by a file, read its menu, boot Linux; the EFI console
// drivers so the kernel gets a frame buffer; serial for headless machines.
const char* const grub_modules[] = {"iso9660", "part_msdos", "part_gpt", "search", "configfile", "normal", "linux",
                                    "echo", "test", "sleep", "serial", "terminal", "efi_gop", "efi_uga"};
const char* const syslinux_modules[] = {"ldlinux.c32", "menu.c32", "libutil.c32", "libcom32.c32"};
constexpr const char* volume_id = "ISCSI_BOOT";
constexpr uint32_t fat_serial = 0x15C51B00;  // fixed so the same inputs give the same bytes

struct Program {
  const char* name;
  const char* package;
};
const Program programs[] = {{"xorriso", "xorriso"}, {"mformat", "mtools"}, {"mmd", "mtools"}, {"mcopy", "mtools"},
                            {"grub-mkimage", "grub-common"}};

// A private directory next to the output, removed with everything in it when the build ends.
struct WorkDir {
  fs::path path;
  explicit WorkDir(const fs::path& output) {
    std::string pattern = (output.parent_path() / ("." + output.filename().string() + ".tmp-XXXXXX")).string();
    if (!::mkdtemp(pattern.data())) throw system_error("creating a work directory in", output.parent_path().string(), errno);
    path = pattern;
  }
  ~WorkDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

// mkdir -p, but each directory it creates is 0700: the image may hold CHAP secrets.
void create_private_directories(const fs::path& dir) {
  if (dir.empty() || fs::exists(dir)) return;
  create_private_directories(dir.parent_path());
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) throw system_error("creating directory", dir.string(), errno);
}

uint64_t regular_file_size(const fs::path& file) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) throw system_error("reading", file.string(), errno);
  if (!S_ISREG(st.st_mode)) throw Error(file.string() + ": not a regular file");
  return static_cast<uint64_t>(st.st_size);
}

// 64-bit FNV-1a over 8-byte words: not cryptographic, only tells this image's marker from another image's.
struct Fingerprint {
  uint64_t hash = 0xcbf29ce484222325ULL;
  void add(const char* data, size_t size) {
    size_t i = 0;
    for (; i + 8 <= size; i += 8) {
      uint64_t word;
      std::memcpy(&word, data + i, 8);
      hash = (hash ^ word) * 0x100000001b3ULL;
    }
    for (; i < size; ++i) hash = (hash ^ static_cast<unsigned char>(data[i])) * 0x100000001b3ULL;
  }
  void add(const std::string& text) { add(text.data(), text.size()), add("\0", 1); }
  void add_file(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) throw system_error("reading", file.string(), errno);
    std::vector<char> buffer(1 << 20);
    while (in) {
      in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
      add(buffer.data(), static_cast<size_t>(in.gcount()));
    }
    if (in.bad()) throw system_error("reading", file.string(), errno);
  }
  std::string hex() const {
    char text[17];
    std::snprintf(text, sizeof text, "%016" PRIx64, hash);
    return text;
  }
};

// xorriso's -graft-points syntax: "=" and "\" in a path are escaped with "\".
std::string graft_escape(const std::string& path) {
  std::string out;
  for (char c : path) {
    if (c == '=' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

std::string utc_timestamp(int64_t epoch) {  // YYYYMMDDhhmmsscc, as xorriso's --modification-date wants
  const time_t t = static_cast<time_t>(epoch);
  struct tm tm {};
  gmtime_r(&t, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y%m%d%H%M%S00", &tm);
  return text;
}

struct EfiFile {
  fs::path source;
  std::string target;  // in the FAT image, e.g. "::/EFI/BOOT/BOOTX64.EFI"
};

// The FAT image the firmware boots from: files plus room for the FAT, directories and cluster slack.
void make_fat_image(const fs::path& image, const std::vector<EfiFile>& files, const ProcessOptions& env) {
  uint64_t bytes = uint64_t{128} * 1024;
  for (const auto& f : files) bytes += (regular_file_size(f.source) + 4095) / 4096 * 4096;
  bytes = (bytes + 65535) / 65536 * 65536;  // whole 2-head, 32-sector cylinders: mformat then needs no guessing
  write_file_atomic(image, "", 0600);  // created private, then made sparse: mformat fills it
  fs::resize_file(image, bytes);
  char serial[16];
  std::snprintf(serial, sizeof serial, "%08X", fat_serial);
  run_process({"mformat", "-i", image.string(), "-T", std::to_string(bytes / 512), "-h", "2", "-s", "32", "-N", serial,
               "-v", "ISCSI_EFI", "::"},
              env);
  std::vector<std::string> dirs;
  for (const auto& f : files)
    for (size_t slash = f.target.find('/', 4); slash != std::string::npos; slash = f.target.find('/', slash + 1))
      if (std::find(dirs.begin(), dirs.end(), f.target.substr(0, slash)) == dirs.end()) dirs.push_back(f.target.substr(0, slash));
  std::vector<std::string> mmd = {"mmd", "-i", image.string()};
  mmd.insert(mmd.end(), dirs.begin(), dirs.end());
  run_process(mmd, env);
  for (const auto& f : files) run_process({"mcopy", "-i", image.string(), f.source.string(), f.target}, env);
}

}  // namespace

std::vector<std::string> missing_iso_tools(const IsoHostFiles& host) {
  std::vector<std::string> missing;
  for (const auto& p : programs)
    if (find_program(p.name).empty()) missing.push_back(std::string(p.name) + " (package " + p.package + ")");
  auto need = [&](const fs::path& file, const char* package) {
    if (!fs::exists(file)) missing.push_back(file.string() + " (package " + package + ")");
  };
  need(host.isohybrid_mbr, "isolinux");
  need(host.isolinux_bin, "isolinux");
  for (const char* module : syslinux_modules) need(host.syslinux_bios_modules / module, "syslinux-common");
  need(host.grub_efi_modules / "linux.mod", "grub-efi-amd64-bin");
  return missing;
}

bool pe_has_signature(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  auto read_at = [&](std::streamoff offset, void* out, size_t size) {
    in.seekg(offset);
    in.read(static_cast<char*>(out), static_cast<std::streamsize>(size));
    return static_cast<size_t>(in.gcount()) == size;
  };
  uint32_t pe_offset = 0, signature = 0, cert_size = 0;
  uint16_t magic = 0;
  if (!read_at(0x3c, &pe_offset, 4) || !read_at(pe_offset, &signature, 4) || signature != 0x00004550) return false;
  const std::streamoff optional_header = pe_offset + 4 + 20;  // after "PE\0\0" and the COFF header
  if (!read_at(optional_header, &magic, 2)) return false;
  // Data directory 4 (certificate table): size field at 148 (PE32+) or 132 (PE32) into the optional header.
  const std::streamoff cert_dir_size = optional_header + (magic == 0x20b ? 148 : 132);
  return read_at(cert_dir_size, &cert_size, 4) && cert_size > 0;
}

int64_t default_source_date_epoch(const fs::path& kernel) {
  struct stat st {};
  if (::stat(kernel.c_str(), &st) != 0) throw system_error("reading", kernel.string(), errno);
  return static_cast<int64_t>(st.st_mtime);
}

namespace {

int64_t source_date_epoch(const IsoImageSpec& spec) {
  int64_t epoch = 0;
  if (spec.source_date_epoch) {
    epoch = *spec.source_date_epoch;
  } else if (const char* env = std::getenv("SOURCE_DATE_EPOCH"); env && *env) {
    char* end = nullptr;
    epoch = std::strtoll(env, &end, 10);
    if (*end) throw Error(std::string("SOURCE_DATE_EPOCH=") + env + ": not a number of seconds");
  } else {
    epoch = default_source_date_epoch(spec.kernel);
  }
  // The cpio header and FAT dates hold 32 bits.
  if (epoch < 0 || epoch > UINT32_MAX) throw Error("source date epoch " + std::to_string(epoch) + ": out of range");
  return epoch;
}

// Which UEFI loader goes on the image, and what that means for Secure Boot, in one line for the user.
void choose_uefi_loader(const IsoImageSpec& spec, IsoImageResult& result, bool& use_signed) {
  const bool have_signed = fs::exists(spec.host.shim) && fs::exists(spec.host.signed_grub);
  if (spec.secure_boot == SecureBootChoice::required && !have_signed)
    throw Error("Secure Boot required, but " + spec.host.shim.string() + " (package shim-signed) or " +
                spec.host.signed_grub.string() + " (package grub-efi-amd64-signed) is missing");
  use_signed = have_signed && spec.secure_boot != SecureBootChoice::off;
  result.uefi_loader = use_signed ? "shim + signed GRUB" : "GRUB";
  if (!use_signed) {
    result.secure_boot_note = spec.secure_boot == SecureBootChoice::off
                                  ? "Secure Boot: no (not asked for); on UEFI this ISO boots only with Secure Boot off"
                                  : "Secure Boot: no; on UEFI this ISO boots only with Secure Boot off (install "
                                    "shim-signed and grub-efi-amd64-signed and build again for Secure Boot)";
  } else if (!pe_has_signature(spec.kernel)) {
    result.secure_boot_note = "Secure Boot: no; shim and signed GRUB are on the ISO, but the kernel " +
                              spec.kernel.string() + " is not signed, so it boots only with Secure Boot off";
  } else {
    result.secure_boot = true;
    result.secure_boot_note = "Secure Boot: yes (shim + distribution-signed GRUB; the kernel is signed, and must be "
                              "by a key shim trusts)";
  }
}

// The FAT image's files: shim + signed GRUB + our early script, or our own GRUB core with the script built in.
std::vector<EfiFile> uefi_files(const IsoImageSpec& spec, bool use_signed, const fs::path& work, const ProcessOptions& env) {
  if (use_signed) {
    // shim loads grubx64.efi from its own directory; Debian's signed GRUB then reads $prefix/grub.cfg with
    // prefix /EFI/debian on the device it came from (its built-in script), which is our early script.
    std::vector<EfiFile> files = {{spec.host.shim, "::/EFI/BOOT/BOOTX64.EFI"},
                                  {spec.host.signed_grub, "::/EFI/BOOT/grubx64.efi"},
                                  {work / "grub-early.cfg", "::/EFI/debian/grub.cfg"}};
    // MokManager, for enrolling a key when the kernel is signed by one shim does not know yet. Not fbx64.efi:
    // shim would run it from a removable medium and it would add boot entries to the firmware.
    if (fs::exists(spec.host.shim_mok_manager)) files.push_back({spec.host.shim_mok_manager, "::/EFI/BOOT/mmx64.efi"});
    return files;
  }
  std::vector<std::string> mkimage = {"grub-mkimage", "-O", "x86_64-efi", "-d", spec.host.grub_efi_modules.string(),
                                      "-o", (work / "bootx64.efi").string(), "-p", "/boot/grub", "-c",
                                      (work / "grub-early.cfg").string()};
  mkimage.insert(mkimage.end(), std::begin(grub_modules), std::end(grub_modules));
  run_process(mkimage, env);
  return {{work / "bootx64.efi", "::/EFI/BOOT/BOOTX64.EFI"}};
}

std::vector<std::string> xorriso_command(const IsoImageSpec& spec, int64_t epoch, const fs::path& work,
                                         const std::string& marker,
                                         const std::vector<std::pair<std::string, fs::path>>& payload,
                                         const fs::path& iso) {
  std::vector<std::string> xorriso = {
      "xorriso", "-no_rc", "-as", "mkisofs", "-r", "-V", volume_id,
      "--modification-date=" + utc_timestamp(epoch), "--set_all_file_dates", "=" + std::to_string(epoch),
      // BIOS: isolinux from El Torito (CD) or from the isohybrid MBR (disk).
      "-isohybrid-mbr", spec.host.isohybrid_mbr.string(), "-b", "isolinux/isolinux.bin", "-c", "isolinux/boot.cat",
      "-no-emul-boot", "-boot-load-size", "4", "-boot-info-table",
      // UEFI: the FAT image as El Torito EFI entry (CD) and as a GPT/MBR partition (disk), stored once.
      "-eltorito-alt-boot", "-e", "boot/grub/efi.img", "-no-emul-boot", "-isohybrid-gpt-basdat",
      // No padding to whole 1 MiB "cylinders" (up to 1 MiB more); SeaBIOS and OVMF boot it as a disk.
      "-partition_cyl_align", "off", "-o", iso.string(), "-graft-points"};
  auto graft = [&](const std::string& target, const fs::path& source) {
    xorriso.push_back(graft_escape(target) + "=" + graft_escape(fs::absolute(source).string()));
  };
  graft("/isolinux/isolinux.bin", spec.host.isolinux_bin);
  for (const char* module : syslinux_modules) graft(std::string("/isolinux/") + module, spec.host.syslinux_bios_modules / module);
  graft("/isolinux/isolinux.cfg", work / "isolinux.cfg");
  graft("/boot/grub/grub.cfg", work / "grub.cfg");
  graft("/boot/grub/efi.img", work / "efi.img");
  graft("/.disk/" + marker, work / "marker");
  for (const auto& [name, source] : payload) graft(name, source);
  return xorriso;
}

}  // namespace

IsoImageResult build_iso(const IsoImageSpec& spec) {
  const auto start = std::chrono::steady_clock::now();
  const fs::path output = fs::absolute(spec.output);
  try {
    if (spec.kernel.empty()) throw Error("no kernel given");
    if (spec.initrds.empty()) throw Error("no initrd given");
    if (auto missing = missing_iso_tools(spec.host); !missing.empty()) {
      std::string list;
      for (const auto& m : missing) list += (list.empty() ? "" : ", ") + m;
      throw Error("missing " + list);
    }

    BootMenu menu;  // checked before any work; the initrd names and the marker are filled in below
    menu.title = spec.title;
    menu.kernel = "/vmlinuz";
    menu.initrds = {"/initrd0.img"};
    menu.cmdline = spec.cmdline;
    menu.timeout_seconds = spec.timeout_seconds;
    menu.marker = "iscsi-boot-";
    validate_boot_menu(menu);

    IsoImageResult result;
    result.output = output;
    result.payload_bytes = regular_file_size(spec.kernel);
    for (const auto& initrd : spec.initrds) result.payload_bytes += regular_file_size(initrd);

    result.source_date_epoch = source_date_epoch(spec);
    const std::string epoch = std::to_string(result.source_date_epoch);
    // Every tool dates what it writes from SOURCE_DATE_EPOCH; UTC so the local time zone changes nothing.
    ProcessOptions env;
    env.env = {{"SOURCE_DATE_EPOCH", epoch}, {"TZ", "UTC"}, {"MTOOLSRC", "/dev/null"}, {"LC_ALL", "C"}};
    bool use_signed = false;
    choose_uefi_loader(spec, result, use_signed);

    create_private_directories(output.parent_path());
    WorkDir work(output);

    std::vector<std::pair<std::string, fs::path>> payload = {{"/vmlinuz", spec.kernel}};
    for (size_t i = 0; i < spec.initrds.size(); ++i)
      payload.emplace_back("/initrd" + std::to_string(i) + ".img", spec.initrds[i]);
    if (!spec.extra_initrd.empty()) {
      const fs::path extra = work.path / "extra-initrd.img";
      write_cpio_newc(extra, spec.extra_initrd, static_cast<uint32_t>(result.source_date_epoch));
      result.payload_bytes += regular_file_size(extra);
      payload.emplace_back("/initrd" + std::to_string(spec.initrds.size()) + ".img", extra);
    }

    Fingerprint fingerprint;
    for (const auto& [name, source] : payload) fingerprint.add(name), fingerprint.add_file(source);
    fingerprint.add(spec.cmdline), fingerprint.add(spec.title), fingerprint.add(epoch);
    fingerprint.add(std::to_string(spec.timeout_seconds) + (use_signed ? "signed" : ""));

    menu.initrds.clear();
    for (size_t i = 1; i < payload.size(); ++i) menu.initrds.push_back(payload[i].first);
    menu.marker = "iscsi-boot-" + fingerprint.hex();
    validate_boot_menu(menu);

    write_file_atomic(work.path / "isolinux.cfg", isolinux_cfg(menu), 0644);
    write_file_atomic(work.path / "grub.cfg", grub_cfg(menu), 0644);
    write_file_atomic(work.path / "grub-early.cfg", grub_early_cfg(menu), 0644);
    write_file_atomic(work.path / "marker", spec.title + "\n", 0644);

    make_fat_image(work.path / "efi.img", uefi_files(spec, use_signed, work.path, env), env);
    const fs::path iso = work.path / "out.iso";
    run_process(xorriso_command(spec, result.source_date_epoch, work.path, menu.marker, payload, iso), env);

    if (::chmod(iso.c_str(), 0600) != 0) throw system_error("chmod 0600", iso.string(), errno);
    result.bytes = regular_file_size(iso);
    if (::rename(iso.c_str(), output.c_str()) != 0) throw system_error("renaming the image to", output.string(), errno);
    result.overhead_bytes = static_cast<int64_t>(result.bytes) - static_cast<int64_t>(result.payload_bytes);
    result.build_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return result;
  } catch (const Error& e) {
    throw Error("building " + output.string() + ": " + e.what());
  }
}

}  // namespace iscsi_target
