// The boot menus of the initiator ISO: one entry that boots the kernel with the given command line and all
// initrds in order, after a short timeout. isolinux on BIOS, GRUB on UEFI; both from templates in iso/.
#pragma once

#include <string>
#include <vector>

namespace iscsi_target {

struct BootMenu {
  std::string title = "iSCSI boot";
  std::string kernel;                 // path on the ISO, e.g. "/vmlinuz"
  std::vector<std::string> initrds;   // paths on the ISO, loaded in this order
  std::string cmdline;                // kernel command line, as the kernel parses it
  int timeout_seconds = 3;
  std::string marker;                 // file name under /.disk/ that only this image has
};

// Longest command line the kernel takes on x86 (COMMAND_LINE_SIZE), counting what isolinux adds.
constexpr size_t max_kernel_cmdline = 2047;

// The command line split the way the kernel splits it: at spaces outside double quotes, quotes removed.
// Throws Error for what cannot pass through both boot loaders unchanged: control characters, ' and \,
// an unbalanced quote, or a line longer than max_kernel_cmdline.
std::vector<std::string> kernel_cmdline_words(const std::string& cmdline);

// Throws Error for a title or timeout the menus cannot show (control characters; timeout outside 0..600 s).
void validate_boot_menu(const BootMenu& menu);

std::string isolinux_cfg(const BootMenu& menu);
std::string grub_cfg(const BootMenu& menu);
std::string grub_early_cfg(const BootMenu& menu);

// A GRUB script word that GRUB reads back as exactly `text`.
std::string grub_quote(const std::string& text);

// Replaces each @NAME@ of the template; throws Error for a placeholder left without a value.
std::string fill_template(std::string_view text, const std::vector<std::pair<std::string, std::string>>& values);

}  // namespace iscsi_target
