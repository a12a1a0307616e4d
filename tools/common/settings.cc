#include "settings.h"

#include <algorithm>
#include <charconv>

#include "error.h"
#include "iqn.h"

namespace iscsi_target {

namespace {

std::string require_iscsi_name(const std::string& key, const std::string& value) {
  if (auto problem = iscsi_name_problem(value)) throw setting_error(key, value, *problem);
  return value;
}

std::string require_chap_value(const std::string& key, const std::string& value, bool secret) {
  if (auto problem = chap_value_problem(value)) throw setting_error(key, secret ? hidden_secret(value) : value, *problem);
  return value;
}

// One command-line word that parse_cmdline reads back unchanged.
std::string word(const char* key, const std::string& value) {
  if (value.empty()) throw setting_error(key, value, "must not be empty");
  if (std::any_of(value.begin(), value.end(), [](unsigned char c) { return c <= ' ' || c == 0x7f || c == '"'; }))
    throw setting_error(key, value, "must not contain spaces, quotes or control characters (one command-line word)");
  return std::string(key) + "=" + value;
}

void append_word(std::string& out, const char* key, const std::string& value) {
  out += (out.empty() ? "" : " ") + word(key, value);
}

std::string conf_line(const char* key, const std::string& value, bool secret) {
  require_chap_value(key, value, secret);
  return std::string(key) + "=" + value + "\n";
}

ChapCredentials chap_from(const Cmdline& cmdline) {
  auto get = [&](const char* key) { return cmdline.get(key); };
  ChapCredentials chap;
  auto user = get(keys::username), pass = get(keys::password);
  auto muser = get(keys::mutual_username), mpass = get(keys::mutual_password);
  if (user || pass) {
    if (!user) throw setting_error(keys::username, "", std::string("missing although ") + keys::password + " is set");
    if (!pass) throw setting_error(keys::password, "", std::string("missing although ") + keys::username + " is set");
    chap.userid = require_chap_value(keys::username, *user, false);
    chap.password = require_chap_value(keys::password, *pass, true);
  }
  if (muser || mpass) {
    if (!chap.enabled())
      throw setting_error(keys::mutual_username, muser.value_or(""),
                          std::string("mutual CHAP needs one-way CHAP too (") + keys::username + ")");
    if (!muser) throw setting_error(keys::mutual_username, "", std::string("missing although ") + keys::mutual_password + " is set");
    if (!mpass) throw setting_error(keys::mutual_password, "", std::string("missing although ") + keys::mutual_username + " is set");
    chap.mutual_userid = require_chap_value(keys::mutual_username, *muser, false);
    chap.mutual_password = require_chap_value(keys::mutual_password, *mpass, true);
    // RFC 3720 §8.2.1: a secret used to authenticate the initiator must not authenticate the target.
    if (chap.mutual_password == chap.password)
      throw setting_error(keys::mutual_password, "<hidden>", std::string("must differ from ") + keys::password);
  }
  return chap;
}

int wait_seconds_from(const Cmdline& cmdline) {
  const auto given = cmdline.get(keys::wait);
  if (!given) return TargetSettings{}.device_wait_seconds;
  const std::string& text = *given;
  int value = -1;
  const char* last = text.data() + text.size();
  auto [end, ec] = std::from_chars(text.data(), last, value);
  if (ec != std::errc() || end != last || value < 0 || value > 3600)
    throw setting_error(keys::wait, text, "must be a number of seconds from 0 to 3600");
  return value;
}

// CHAP is always on unless the command line opts out in so many words: the initiator IQN alone is public.
bool without_authentication(const Cmdline& cmdline, const ChapCredentials& chap) {
  const auto auth = cmdline.get(keys::auth);
  if (auth && *auth != "none") throw setting_error(keys::auth, *auth, "expected 'none' (serve without CHAP), or leave the key out");
  if (auth && chap.enabled())
    throw setting_error(keys::auth, *auth, std::string("contradicts ") + keys::username + " (CHAP is configured; drop one of them)");
  if (!auth && !chap.enabled())
    throw setting_error(keys::username, "",
                        std::string("not set: CHAP is required (") + keys::username + " and " + keys::password +
                            ", normally from the secrets initrd's /etc/iscsi-target/target.conf); to serve without "
                            "authentication to anyone who knows the initiator IQN, give " + keys::auth + "=none");
  return auth.has_value();
}

// "1" (also a bare rd.iscsi_target.read_only) or "0"; yes/no and true/false as in the config file.
bool read_only_from(const Cmdline& cmdline) {
  const auto given = cmdline.get(keys::read_only);
  if (!given) return false;
  if (*given == "1" || *given == "yes" || *given == "true") return true;
  if (*given == "0" || *given == "no" || *given == "false") return false;
  throw setting_error(keys::read_only, *given, "expected 1 (read-only export) or 0");
}

}  // namespace

// CHAP values travel to LIO through configfs as exact bytes and reach the initiator through iscsid.conf;
// anything a reader on the way could split, strip, unquote, unescape or re-encode is refused.
std::optional<std::string> chap_value_problem(const std::string& value) {
  if (value.empty()) return "must not be empty";
  if (value.size() > max_chap_length) return "longer than " + std::to_string(max_chap_length) + " characters (LIO's limit)";
  for (unsigned char c : value) {
    if (c <= ' ' || c == 0x7f) return "must not contain spaces or control characters";
    if (c >= 0x80) return "must be ASCII (other bytes may be re-encoded on the way)";
    if (c == '"' || c == '\\') return "must not contain '\"' or '\\' (the command-line and iscsid.conf readers treat them differently)";
  }
  return std::nullopt;
}

std::string hidden_secret(const std::string& value) { return "<hidden " + std::to_string(value.size()) + " characters>"; }

std::string target_cmdline_text(const TargetSettings& settings) {
  std::string out;
  append_word(out, keys::iqn, settings.iqn);
  for (size_t i = 0; i < settings.initiator_iqns.size(); ++i)
    append_word(out, i == 0 ? keys::initiator : keys::extra_initiator, settings.initiator_iqns[i]);
  append_word(out, keys::portal, settings.portal.configfs_name());
  for (const auto& spec : settings.device_specs) append_word(out, keys::dev, spec);
  if (settings.device_wait_seconds != TargetSettings{}.device_wait_seconds)
    append_word(out, keys::wait, std::to_string(settings.device_wait_seconds));
  if (settings.tuning == Tuning::lio_defaults) append_word(out, keys::tuning, "lio-defaults");
  if (settings.without_authentication) append_word(out, keys::auth, "none");
  if (settings.read_only) append_word(out, keys::read_only, "1");
  if (settings.cable) {
    append_word(out, keys::address, settings.cable->text());
    append_word(out, keys::interface, settings.cable->interface);
  }
  return out;
}

std::string target_conf_text(const ChapCredentials& chap) {
  std::string text = "# CHAP for iSCSI Target mode (read by iscsi-target only, after the command line)\n";
  if (chap.enabled()) text += conf_line(keys::username, chap.userid, false) + conf_line(keys::password, chap.password, true);
  if (chap.mutual())
    text += conf_line(keys::mutual_username, chap.mutual_userid, false) + conf_line(keys::mutual_password, chap.mutual_password, true);
  return text;
}

bool target_mode_requested(const Cmdline& cmdline) { return cmdline.get(keys::dev).has_value(); }

TargetSettings settings_from_cmdline(const Cmdline& cmdline, const std::string& default_iqn) {
  TargetSettings settings;
  settings.device_specs = cmdline.get_all(keys::dev);
  if (settings.device_specs.empty())
    throw setting_error(keys::dev, "", "no device to export (give rd.iscsi_target.dev=DEVICE, repeatable)");
  for (size_t i = 0; i < settings.device_specs.size(); ++i) {
    const auto& spec = settings.device_specs[i];
    const bool known_form = spec.starts_with("/") || spec.starts_with("UUID=") || spec.starts_with("PARTUUID=") ||
                            spec.starts_with("LABEL=") || spec.starts_with("PARTLABEL=");
    if (!known_form) throw setting_error(keys::dev, spec, "expected a device path, UUID=, PARTUUID=, LABEL= or PARTLABEL=");
    if (std::find(settings.device_specs.begin(), settings.device_specs.begin() + static_cast<long>(i), spec) !=
        settings.device_specs.begin() + static_cast<long>(i))
      throw setting_error(keys::dev, spec, "given twice");
  }

  settings.iqn = require_iscsi_name(keys::iqn, cmdline.get(keys::iqn).value_or(default_iqn));

  if (auto initiator = cmdline.get(keys::initiator)) settings.initiator_iqns.push_back(require_iscsi_name(keys::initiator, *initiator));
  for (const auto& extra : cmdline.get_all(keys::extra_initiator)) {
    require_iscsi_name(keys::extra_initiator, extra);
    if (std::find(settings.initiator_iqns.begin(), settings.initiator_iqns.end(), extra) == settings.initiator_iqns.end())
      settings.initiator_iqns.push_back(extra);
  }
  if (settings.initiator_iqns.empty())
    throw setting_error(keys::initiator, "", "not set: name the initiator IQN that may log in");
  if (std::find(settings.initiator_iqns.begin(), settings.initiator_iqns.end(), settings.iqn) != settings.initiator_iqns.end())
    throw setting_error(keys::initiator, settings.iqn, std::string("equals the target's own name ") + keys::iqn);

  settings.chap = chap_from(cmdline);
  settings.without_authentication = without_authentication(cmdline, settings.chap);
  if (auto portal = cmdline.get(keys::portal)) settings.portal = parse_portal(keys::portal, *portal);
  settings.device_wait_seconds = wait_seconds_from(cmdline);
  if (auto tuning = cmdline.get(keys::tuning)) {
    if (*tuning == "lio-defaults") settings.tuning = Tuning::lio_defaults;
    else if (*tuning != "tuned" && *tuning != "1") throw setting_error(keys::tuning, *tuning, "expected 'tuned' or 'lio-defaults'");
  }
  settings.read_only = read_only_from(cmdline);
  if (auto address = cmdline.get(keys::address))
    settings.cable = parse_cable_address(keys::address, *address, keys::interface, cmdline.get(keys::interface).value_or(""));
  else if (auto interface = cmdline.get(keys::interface))
    throw setting_error(keys::interface, *interface, std::string("given without ") + keys::address);
  return settings;
}

}  // namespace iscsi_target
