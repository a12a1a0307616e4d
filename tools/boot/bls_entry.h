// Boot Loader Specification type #1 entries (loader/entries/*.conf): "key value" lines.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace iscsi_target {

struct BlsEntry {
  std::vector<std::pair<std::string, std::string>> lines;  // in file order; keys may repeat (initrd, options)

  std::optional<std::string> get(const std::string& key) const;  // first value
  std::vector<std::string> get_all(const std::string& key) const;
  // linux/initrd: only the first field (Fedora 41 appends " $tuned_initrd" to initrd lines).
  std::vector<std::string> paths(const std::string& key) const;
  std::string options() const;  // all options lines joined with spaces
  std::string text() const;
};

BlsEntry parse_bls_entry(const std::string& text);
BlsEntry read_bls_entry(const std::filesystem::path& file);  // throws Error naming the file

}  // namespace iscsi_target
