#include "read_back.h"

#include <algorithm>

#include "cmdline.h"
#include "error.h"
#include "iscsid_conf.h"
#include "settings.h"

namespace iscsi_target {

namespace {

std::string joined(const std::vector<std::string>& values) {
  std::string out;
  for (const auto& v : values) out += (out.empty() ? "" : " ") + v;
  return out;
}

Error differs(const std::string& what, const std::string& got, const std::string& meant, const std::string& hint) {
  return Error("iSCSI Target entry: " + what + " reads back as '" + got + "', not '" + meant + "'" + hint);
}

void compare(const TargetSettings& got, const TargetSettings& meant) {
  const std::string hint = " (set it in iscsi-target.conf, not in target_cmdline)";
  if (got.iqn != meant.iqn) throw differs(keys::iqn, got.iqn, meant.iqn, hint);
  // Further initiators from target_cmdline are allowed after ours.
  const auto& initiators = got.initiator_iqns;
  if (initiators.size() < meant.initiator_iqns.size() || !std::equal(meant.initiator_iqns.begin(), meant.initiator_iqns.end(), initiators.begin()))
    throw differs(keys::initiator, joined(initiators), joined(meant.initiator_iqns), hint);
  if (got.device_specs != meant.device_specs) throw differs(keys::dev, joined(got.device_specs), joined(meant.device_specs), hint);
  if (got.portal != meant.portal) throw differs(keys::portal, got.portal.configfs_name(), meant.portal.configfs_name(), hint);
  // Read-only is the config file's read_only: target_cmdline may neither drop it nor add it behind its back.
  if (got.read_only != meant.read_only)
    throw differs(keys::read_only, got.read_only ? "1" : "0", meant.read_only ? "1" : "0", " (set read_only in iscsi-target.conf, not in target_cmdline)");
  const std::string chap_hint = " (CHAP comes from chap-secrets only)";
  if (got.chap.userid != meant.chap.userid) throw differs(keys::username, got.chap.userid, meant.chap.userid, chap_hint);
  if (got.chap.mutual_userid != meant.chap.mutual_userid)
    throw differs(keys::mutual_username, got.chap.mutual_userid, meant.chap.mutual_userid, chap_hint);
  if (got.chap.password != meant.chap.password)
    throw Error(std::string("iSCSI Target entry: ") + keys::password + " reads back differently from the one meant" + chap_hint);
  if (got.chap.mutual_password != meant.chap.mutual_password)
    throw Error(std::string("iSCSI Target entry: ") + keys::mutual_password + " reads back differently from the one meant" + chap_hint);
}

}  // namespace

void verify_target_files(const BootSettings& s) {
  const TargetSettings meant = target_settings_of(s);
  std::vector<CmdlineArg> args;
  std::string secrets;
  try {
    args = parse_cmdline(target_options(s));
    secrets = target_secrets_file(s);
  } catch (const Error& e) {
    throw Error(std::string("iSCSI Target entry: ") + e.what());
  }
  for (const auto& arg : args)
    if (arg.key == keys::password || arg.key == keys::mutual_password)
      throw Error(std::string("iSCSI Target entry: ") + arg.key + " must not be on the command line, dracut logs it (CHAP comes from chap-secrets)");
  const auto secret_args = parse_cmdline(secrets);
  args.insert(args.end(), secret_args.begin(), secret_args.end());
  TargetSettings got;
  try {
    got = settings_from_cmdline(Cmdline(std::move(args)), "");  // no fallback: a missing rd.iscsi_target.iqn is an error
  } catch (const Error& e) {
    throw Error(std::string("iSCSI Target entry: ") + e.what());
  }
  compare(got, meant);
}

void verify_initiator_files(const BootSettings& s) {
  const auto conf = parse_iscsid_conf(initiator_iscsid_conf(s));
  auto value = [&](const std::string& name) {
    auto found = conf.find(name);
    return found == conf.end() ? std::string() : found->second;
  };
  const std::string where = std::string("ISO ") + initiator_iscsid_conf_path + ": ";
  if (value("node.session.auth.authmethod") != "CHAP") throw Error(where + "node.session.auth.authmethod reads back as '" + value("node.session.auth.authmethod") + "', not 'CHAP'");
  struct Expected {
    const char* name;
    const std::string& meant;
    bool secret, wanted;
  };
  const Expected expected[] = {{"node.session.auth.username", s.chap.userid, false, s.chap.enabled()},
                               {"node.session.auth.password", s.chap.password, true, s.chap.enabled()},
                               {"node.session.auth.username_in", s.chap.mutual_userid, false, s.chap.mutual()},
                               {"node.session.auth.password_in", s.chap.mutual_password, true, s.chap.mutual()}};
  for (const auto& e : expected) {
    const std::string got = value(e.name);
    if (!e.wanted && got.empty()) continue;
    if (!e.wanted) throw Error(where + e.name + " is set although not meant");
    if (auto problem = chap_value_problem(e.meant))
      throw setting_error(where + e.name, e.secret ? hidden_secret(e.meant) : e.meant, *problem);
    if (got != e.meant) {
      if (e.secret) throw Error(where + e.name + " reads back differently from the one meant");
      throw Error(where + e.name + " reads back as '" + got + "', not '" + e.meant + "'");
    }
  }
}

}  // namespace iscsi_target
