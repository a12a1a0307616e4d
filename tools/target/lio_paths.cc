#include "lio_paths.h"

#include <array>
#include <charconv>
#include <string_view>

namespace iscsi_target::lio_paths {

namespace {

struct Backstore {
  std::string_view plugin, prefix;
};

// rtslib's bs_params: saveconfig plugin name and configfs directory prefix of every LIO backstore kind.
constexpr std::array<Backstore, 5> backstores{{
    {"block", "iblock"}, {"fileio", "fileio"}, {"pscsi", "pscsi"}, {"ramdisk", "rd_mcp"}, {"user", "user"}}};

// "<prefix><N>" -> N, canonical decimal only.
std::optional<unsigned> index_after(std::string_view name, std::string_view prefix) {
  if (!name.starts_with(prefix)) return std::nullopt;
  const std::string_view digits = name.substr(prefix.size());
  if (digits.empty() || (digits.size() > 1 && digits.front() == '0')) return std::nullopt;
  unsigned value = 0;
  const char* end = digits.data() + digits.size();
  auto [stop, ec] = std::from_chars(digits.data(), end, value);
  if (ec != std::errc() || stop != end) return std::nullopt;
  return value;
}

}  // namespace

std::string core() { return "target/core"; }

std::optional<std::string> hba_prefix_for_plugin(const std::string& plugin) {
  for (const auto& b : backstores)
    if (b.plugin == plugin) return std::string(b.prefix);
  return std::nullopt;
}

std::optional<HbaDir> parse_hba_dir_name(const std::string& name) {
  const auto underscore = name.rfind('_');
  if (underscore == std::string::npos) return std::nullopt;
  const std::string_view prefix = std::string_view(name).substr(0, underscore);
  for (const auto& b : backstores)
    if (b.prefix == prefix)
      if (auto index = index_after(name, name.substr(0, underscore + 1)))
        return HbaDir{std::string(b.plugin), std::string(b.prefix), *index};
  return std::nullopt;
}

std::string hba(const std::string& prefix, unsigned index) { return core() + "/" + prefix + "_" + std::to_string(index); }

StorageObjectDir storage_object(const std::string& hba_dir, const std::string& name) { return {hba_dir + "/" + name}; }

std::string iscsi() { return "target/iscsi"; }

std::string target(const std::string& iqn) { return iscsi() + "/" + iqn; }

bool is_target_name(const std::string& name) {
  return name.starts_with("iqn.") || name.starts_with("eui.") || name.starts_with("naa.");
}

MappedLunDir AclDir::mapped_lun(unsigned index) const { return {dir + "/lun_" + std::to_string(index)}; }

LunDir TpgDir::lun(unsigned index) const { return {lun_dir() + "/lun_" + std::to_string(index)}; }

TpgDir tpg(const std::string& iqn, unsigned tag) { return {target(iqn) + "/tpgt_" + std::to_string(tag)}; }

std::optional<unsigned> parse_tpgt_name(const std::string& name) { return index_after(name, "tpgt_"); }

std::optional<unsigned> parse_lun_name(const std::string& name) { return index_after(name, "lun_"); }

std::optional<unsigned> lun_index_of_link(const std::string& link_target) {
  const auto slash = link_target.rfind('/');
  return parse_lun_name(slash == std::string::npos ? link_target : link_target.substr(slash + 1));
}

}  // namespace iscsi_target::lio_paths
