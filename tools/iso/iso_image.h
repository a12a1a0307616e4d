// The initiator ISO: a hybrid image that boots one kernel + initrds on BIOS (isolinux) and UEFI (GRUB, or
// shim + Debian-signed GRUB for Secure Boot), from a CD and when written to a USB stick or disk.
//
// Layout (xorriso + isolinux + a FAT EFI image: the smallest reproducible hybrid of those measured, see iso/README.md):
//   /vmlinuz, /initrd0.img … /initrdN.img   the payload, stored once
//   /isolinux/{isolinux.bin,ldlinux.c32,menu.c32,libutil.c32,libcom32.c32,isolinux.cfg}   BIOS, El Torito
//   /boot/grub/efi.img   FAT image, El Torito EFI entry and (isohybrid) GPT/MBR ESP; holds /EFI/BOOT/BOOTX64.EFI
//   /boot/grub/grub.cfg  UEFI menu; GRUB finds the ISO's file system by /.disk/<marker>
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "cpio_newc.h"

namespace iscsi_target {

// Where the boot loader files come from (Debian and Ubuntu paths); tests and other distributions override.
struct IsoHostFiles {
  std::filesystem::path isohybrid_mbr = "/usr/lib/ISOLINUX/isohdpfx.bin";                // package isolinux
  std::filesystem::path isolinux_bin = "/usr/lib/ISOLINUX/isolinux.bin";                 // package isolinux
  std::filesystem::path syslinux_bios_modules = "/usr/lib/syslinux/modules/bios";        // syslinux-common
  std::filesystem::path grub_efi_modules = "/usr/lib/grub/x86_64-efi";                   // grub-efi-amd64-bin
  std::filesystem::path shim = "/usr/lib/shim/shimx64.efi.signed";                       // shim-signed
  std::filesystem::path shim_mok_manager = "/usr/lib/shim/mmx64.efi.signed";             // shim-helpers-amd64-signed
  std::filesystem::path signed_grub = "/usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed";  // grub-efi-amd64-signed
};

enum class SecureBootChoice {
  automatic,  // shim + signed GRUB when both are installed, else our own (unsigned) GRUB
  off,        // always our own GRUB: ~5 MB smaller, boots only with Secure Boot off
  required,   // fail unless shim + signed GRUB are installed
};

struct IsoImageSpec {
  std::filesystem::path kernel;
  std::vector<std::filesystem::path> initrds;  // loaded in this order
  // Packed as one more initrd after the others, e.g. /etc/iscsi/iscsid.conf with the CHAP credentials
  // (mode 0600): never on the kernel command line. Not /etc/cmdline.d: dracut logs that to the kernel log.
  std::vector<CpioEntry> extra_initrd;
  std::string cmdline;
  std::filesystem::path output;  // written with mode 0600; missing directories are created with 0700
  std::string title = "iSCSI boot";
  int timeout_seconds = 3;
  // Every date in the image; else $SOURCE_DATE_EPOCH; else the kernel file's mtime. Same inputs → same bytes.
  std::optional<int64_t> source_date_epoch;
  SecureBootChoice secure_boot = SecureBootChoice::automatic;
  IsoHostFiles host;
};

struct IsoImageResult {
  std::filesystem::path output;
  uint64_t bytes = 0;
  uint64_t payload_bytes = 0;  // kernel + initrds + extra initrd
  int64_t overhead_bytes = 0;  // bytes - payload_bytes: boot loaders, menus, file system
  double build_seconds = 0;
  int64_t source_date_epoch = 0;
  std::string uefi_loader;     // "GRUB" (our own core) or "shim + signed GRUB"
  bool secure_boot = false;    // boots with Secure Boot on
  std::string secure_boot_note;  // one line for the user, e.g. why it will not
};

// Builds the image. Throws Error naming the output, and what was missing or which program failed and why.
IsoImageResult build_iso(const IsoImageSpec& spec);

// What build_iso needs and does not find, each as "xorriso (package xorriso)"; empty when all is there.
std::vector<std::string> missing_iso_tools(const IsoHostFiles& host);

// Whether a PE image (an EFI kernel) carries an Authenticode signature (a non-empty certificate table).
bool pe_has_signature(const std::filesystem::path& file);

// The epoch build_iso uses when spec.source_date_epoch is unset.
int64_t default_source_date_epoch(const std::filesystem::path& kernel);

}  // namespace iscsi_target
