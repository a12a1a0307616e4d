#include "iso_menu.h"

#include "error.h"
#include "iso_templates.h"

namespace iscsi_target {

namespace {

bool has_control_character(const std::string& text) {
  for (unsigned char c : text)
    if (c < 0x20 || c == 0x7f) return true;
  return false;
}

std::string joined(const std::vector<std::string>& parts, const std::string& separator) {
  std::string out;
  for (const auto& part : parts) out += (out.empty() ? "" : separator) + part;
  return out;
}

}  // namespace

std::vector<std::string> kernel_cmdline_words(const std::string& cmdline) {
  if (has_control_character(cmdline)) throw Error("kernel command line: control characters (newline, tab) are not allowed");
  for (char c : {'\'', '\\'})
    if (cmdline.find(c) != std::string::npos)
      throw Error(std::string("kernel command line: the character ") + c +
                  " cannot pass through GRUB unchanged (GRUB escapes it; the kernel does not unescape)");
  if (cmdline.size() > max_kernel_cmdline)
    throw Error("kernel command line: " + std::to_string(cmdline.size()) + " bytes, the kernel takes at most " +
                std::to_string(max_kernel_cmdline));
  std::vector<std::string> words;
  std::string word;
  bool in_quote = false, in_word = false;
  for (char c : cmdline) {
    if (c == '"') {
      in_quote = !in_quote;
      in_word = true;
    } else if (c == ' ' && !in_quote) {
      if (in_word) words.push_back(word);
      word.clear();
      in_word = false;
    } else {
      word += c;
      in_word = true;
    }
  }
  if (in_quote) throw Error("kernel command line: unbalanced double quote");
  if (in_word) words.push_back(word);
  return words;
}

void validate_boot_menu(const BootMenu& menu) {
  if (menu.title.empty() || has_control_character(menu.title)) throw Error("ISO title '" + menu.title + "': must be one line of text");
  if (menu.timeout_seconds < 0 || menu.timeout_seconds > 600)
    throw Error("ISO menu timeout " + std::to_string(menu.timeout_seconds) + " s: must be 0..600");
  if (menu.marker.empty() || menu.marker.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") != std::string::npos)
    throw Error("ISO marker '" + menu.marker + "': lowercase letters, digits and '-' only");
  kernel_cmdline_words(menu.cmdline);
  if (menu.kernel.empty() || menu.initrds.empty()) throw Error("ISO boot menu: needs a kernel and at least one initrd");
  const std::string isolinux_line = "initrd=" + joined(menu.initrds, ",") + " " + menu.cmdline;
  if (isolinux_line.size() > max_kernel_cmdline)
    throw Error("kernel command line with initrd=" + joined(menu.initrds, ",") + ": longer than " +
                std::to_string(max_kernel_cmdline) + " bytes");
}

std::string grub_quote(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string fill_template(std::string_view text, const std::vector<std::pair<std::string, std::string>>& values) {
  std::string out;
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t at = text.find('@', pos);
    const size_t end = at == std::string_view::npos ? std::string_view::npos : text.find('@', at + 1);
    if (end == std::string_view::npos) {
      out += text.substr(pos);
      break;
    }
    const std::string name(text.substr(at + 1, end - at - 1));
    out += text.substr(pos, at - pos);
    bool found = false;
    for (const auto& [key, value] : values)
      if (key == name) out += value, found = true;
    if (!found) {
      if (!name.empty() && name.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ_") == std::string::npos)
        throw Error("boot menu template: no value for @" + name + "@");
      out += '@';  // a lone '@' in the text
      pos = at + 1;
      continue;
    }
    pos = end + 1;
  }
  return out;
}

std::string isolinux_cfg(const BootMenu& menu) {
  validate_boot_menu(menu);
  // TIMEOUT 0 would wait for ever: one tenth of a second boots at once.
  const int deciseconds = menu.timeout_seconds == 0 ? 1 : menu.timeout_seconds * 10;
  // isolinux passes the APPEND line to the kernel as written.
  const size_t first = menu.cmdline.find_first_not_of(' '), last = menu.cmdline.find_last_not_of(' ');
  const std::string cmdline = first == std::string::npos ? "" : menu.cmdline.substr(first, last - first + 1);
  return fill_template(iso_templates::isolinux_cfg, {{"TIMEOUT_DECISECONDS", std::to_string(deciseconds)},
                                                     {"TITLE", menu.title},
                                                     {"KERNEL", menu.kernel},
                                                     {"INITRDS_COMMA", joined(menu.initrds, ",")},
                                                     {"CMDLINE", cmdline}});
}

std::string grub_cfg(const BootMenu& menu) {
  validate_boot_menu(menu);
  // Each word single-quoted, so GRUB expands nothing ($, ;, {}); GRUB puts double quotes back around a word
  // with a space in it, which the kernel reads as the same value.
  std::vector<std::string> words;
  for (const auto& word : kernel_cmdline_words(menu.cmdline)) words.push_back(grub_quote(word));
  std::vector<std::string> initrds;
  for (const auto& initrd : menu.initrds) initrds.push_back(grub_quote(initrd));
  return fill_template(iso_templates::grub_cfg, {{"TIMEOUT", std::to_string(menu.timeout_seconds)},
                                                 {"TITLE", grub_quote(menu.title)},
                                                 {"KERNEL", grub_quote(menu.kernel)},
                                                 {"CMDLINE", joined(words, " ")},
                                                 {"INITRDS", joined(initrds, " ")}});
}

std::string grub_early_cfg(const BootMenu& menu) {
  validate_boot_menu(menu);
  return fill_template(iso_templates::grub_early_cfg, {{"MARKER", menu.marker}});
}

}  // namespace iscsi_target
