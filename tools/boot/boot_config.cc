#include "boot_config.h"

#include <arpa/inet.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <map>
#include <sstream>

#include "cmdline.h"
#include "error.h"
#include "text.h"
#include "iqn.h"
#include "settings.h"

namespace iscsi_target {

namespace {


std::vector<std::string> words(const std::string& text) {
  std::istringstream in(text);
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

bool parse_bool(const std::string& where, const std::string& key, const std::string& value) {
  if (value == "yes" || value == "true" || value == "1") return true;
  if (value == "no" || value == "false" || value == "0") return false;
  throw setting_error(where + key, value, "expected yes or no");
}

std::string ipv4(const std::string& where, const std::string& key, const std::string& value) {
  in_addr addr{};
  if (inet_pton(AF_INET, value.c_str(), &addr) != 1) throw setting_error(where + key, value, "not an IPv4 address");
  return value;
}

template <typename T>
T number(const std::string& where, const std::string& key, const std::string& value, T min, T max) {
  T out{};
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), out);
  if (ec != std::errc() || end != value.data() + value.size() || out < min || out > max)
    throw setting_error(where + key, value, "expected a number from " + std::to_string(min) + " to " + std::to_string(max));
  return out;
}

bool is_mac(const std::string& value) {
  if (value.size() != 17) return false;
  for (size_t i = 0; i < value.size(); ++i)
    if (i % 3 == 2 ? value[i] != ':' : !std::isxdigit(static_cast<unsigned char>(value[i]))) return false;
  return true;
}

// What the kernel accepts as an interface name (IFNAMSIZ 16 with the NUL), limited to the usual characters.
bool is_interface_name(const std::string& value) {
  return !value.empty() && value.size() <= 15 && std::all_of(value.begin(), value.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '_' || c == '.' || c == '-';
  });
}

bool is_shell_name(std::string_view name) {
  return !name.empty() && !std::isdigit(static_cast<unsigned char>(name[0])) &&
         std::all_of(name.begin(), name.end(), [](unsigned char c) { return std::isalnum(c) || c == '_'; });
}

void set(BootConfig& c, const std::string& where, const std::string& key, const std::string& value) {
  if (key == "devices") c.devices = words(value);
  else if (key == "nic") {
    if (!is_mac(value) && !is_interface_name(value))
      throw setting_error(where + key, value, "expected a MAC address (aa:bb:cc:dd:ee:ff) or an interface name");
    c.nic = value;
  } else if (key == "target_address") {
    auto slash = value.find('/');
    c.target_address = ipv4(where, key, value.substr(0, slash));
    if (slash != std::string::npos) c.prefix = number<unsigned>(where, key, value.substr(slash + 1), 8, 30);
  } else if (key == "initiator_address") c.initiator_address = ipv4(where, key, value);
  else if (key == "port") c.port = number<uint16_t>(where, key, value, 1, 65535);
  else if (key == "target_iqn" || key == "initiator_iqn") {
    if (auto problem = iscsi_name_problem(value)) throw setting_error(where + key, value, *problem);
    (key == "target_iqn" ? c.target_iqn : c.initiator_iqn) = value;
  } else if (key == "target_cmdline") c.target_cmdline = value;
  else if (key == "initiator_cmdline") c.initiator_cmdline = value;
  else if (key == "initiator_root") c.initiator_root = value;
  else if (key == "usb_devices") c.usb_devices = words(value);
  else if (key == "boot_entries") c.boot_entries = parse_bool(where, key, value);
  else if (key == "iso") c.iso = parse_bool(where, key, value);
  else if (key == "mutual_chap") c.mutual_chap = parse_bool(where, key, value);
  else if (key == "read_only") c.read_only = parse_bool(where, key, value);
  else throw setting_error(where + key, value, "unknown setting (see the comments in iscsi-target.conf)");
}

// Shell assignments as the original's template writes them: name="a "\ <newline> "b" and $name references.
// A value may reference earlier ones ($a$a): cap what doubling could grow to.
constexpr size_t max_legacy_value = size_t{64} * 1024;

std::map<std::string, std::string> shell_assignments(const std::string& text, const std::string& source) {
  std::string joined;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    const std::string t = trim(line);
    if (t.starts_with("#")) continue;
    if (t.ends_with("\\")) joined += t.substr(0, t.size() - 1);
    else joined += t + "\n";
  }
  std::map<std::string, std::string> vars;
  std::istringstream lines(joined);
  for (std::string line; std::getline(lines, line);) {
    const size_t eq = line.find('=');
    if (eq == std::string::npos || !is_shell_name(std::string_view(line).substr(0, eq))) continue;  // not NAME=VALUE
    const std::string name = line.substr(0, eq), raw = line.substr(eq + 1);
    std::string value;
    for (size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '"' || raw[i] == '\'') continue;
      if (raw[i] == '$') {
        size_t j = i + 1;
        bool braced = j < raw.size() && raw[j] == '{';
        if (braced) ++j;
        size_t start = j;
        while (j < raw.size() && (isalnum(static_cast<unsigned char>(raw[j])) || raw[j] == '_')) ++j;
        value += vars[raw.substr(start, j - start)];
        i = braced ? j : j - 1;
        continue;
      }
      value += raw[i];
      if (value.size() > max_legacy_value)
        throw Error(source + ": " + name + ": value longer than " + std::to_string(max_legacy_value) + " bytes");
    }
    if (value.size() > max_legacy_value) throw Error(source + ": " + name + ": value longer than " + std::to_string(max_legacy_value) + " bytes");
    vars[name] = value;
  }
  return vars;
}

// The shell original read these from its own file; they now reach LIO and iscsid.conf, so they get the
// target's check. The shell unquoting above may have joined words: a space shows here.
std::string legacy_chap_value(const std::string& source, const std::string& name, const std::string& value, bool secret) {
  if (auto problem = chap_value_problem(value))
    throw setting_error(source + ": " + name, secret ? hidden_secret(value) : value, *problem);
  return value;
}

}  // namespace

BootConfig parse_boot_config(const std::string& text, const std::string& source) {
  BootConfig config;
  std::istringstream in(text);
  int number_of_line = 0;
  for (std::string line; std::getline(in, line);) {
    ++number_of_line;
    line = trim(line);
    if (line.empty() || line[0] == '#') continue;
    const std::string where = source + ":" + std::to_string(number_of_line) + ": ";
    const auto eq = line.find('=');
    if (eq == std::string::npos) throw Error(where + "expected 'key = value', got '" + line + "'");
    const std::string key = trim(line.substr(0, eq));
    std::string value = trim(line.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
    set(config, where, key, value);
  }
  return config;
}

void apply_legacy_config(const std::string& shell_text, BootConfig& config, const std::string& source) {
  auto vars = shell_assignments(shell_text, source);
  auto get = [&](const char* name) -> std::optional<std::string> {
    auto found = vars.find(name);
    if (found == vars.end() || found->second.empty()) return std::nullopt;
    return found->second;
  };
  if (auto v = get("dracut_iscsi_target_bootentries")) config.boot_entries = (*v == "yes");
  if (auto v = get("dracut_iscsi_target_iqn"); v && !config.target_iqn) config.target_iqn = v;
  if (auto v = get("dracut_iscsi_target_username")) config.legacy_chap_username = legacy_chap_value(source, "dracut_iscsi_target_username", *v, false);
  if (auto v = get("dracut_iscsi_target_password")) config.legacy_chap_password = legacy_chap_value(source, "dracut_iscsi_target_password", *v, true);
  // Their kernel arguments carried the devices, the NIC and the addresses; the rest are extra options.
  static const std::vector<std::string> generated = {"ip", "ifname", keys::dev, keys::iqn, "rd.neednet",
                                                     keys::initiator, "netroot", "root", "rd.lvm", "rd.luks", "rd.shell"};
  std::vector<std::string> legacy_devices;
  auto split = [&](const std::string& args, bool initiator) {
    std::string extra;
    for (const auto& arg : parse_cmdline(args)) {
      const std::string value = arg.value.value_or("");
      if (arg.key == keys::dev && !initiator) legacy_devices.push_back(value);
      else if (arg.key == "ifname" && !initiator && !config.nic && value.find(':') != std::string::npos) config.nic = value.substr(value.find(':') + 1);
      else if (arg.key == "ip") {
        auto fields = value.substr(0, value.find(':'));
        if (initiator && !config.initiator_address) config.initiator_address = fields;
        if (!initiator && !config.target_address) config.target_address = fields;
      } else if (arg.key == keys::initiator && !config.initiator_iqn) config.initiator_iqn = value;
      else if (arg.key == "root" && initiator && !config.initiator_root) config.initiator_root = "root=" + value;
      else if (std::find(generated.begin(), generated.end(), arg.key) == generated.end())
        extra += (extra.empty() ? "" : " ") + arg.key + (arg.value ? "=" + value : "");
    }
    auto& slot = initiator ? config.initiator_cmdline : config.target_cmdline;
    if (!slot && !extra.empty()) slot = extra;
  };
  if (auto v = get("dracut_iscsi_target_kernelargs")) split(*v, false);
  if (auto v = get("dracut_iscsi_target_client_kernelargs")) split(*v, true);
  if (config.devices.empty()) config.devices = legacy_devices;
}

std::optional<std::string> legacy_secret_warning(const std::filesystem::path& file, const BootConfig& config) {
  struct stat st {};
  if (!config.legacy_chap_password || ::stat(file.c_str(), &st) != 0 || !(st.st_mode & S_IROTH)) return std::nullopt;
  return "warning: " + file.string() + " holds dracut_iscsi_target_password and is readable by every user (chmod 600 it)";
}

}  // namespace iscsi_target
