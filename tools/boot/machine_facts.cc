#include "machine_facts.h"

#include <nlohmann/json.hpp>

#include "cmdline.h"
#include "error.h"
#include "file_io.h"
#include "text.h"

namespace iscsi_target {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

bool initiator_key(const std::string& key) {
  return key == "ip" || key == "netroot" || key == "ifname" || key == "bootdev" || key == "rd.neednet" || key.starts_with("rd.iscsi.");
}

}  // namespace

bool booted_over_iscsi(const std::string& proc_cmdline) {
  for (const auto& arg : parse_cmdline(proc_cmdline)) {
    const std::string value = arg.value.value_or("");
    if ((arg.key == "netroot" || arg.key == "root") && value.starts_with("iscsi:")) return true;
    if (arg.key == "rd.iscsi.firmware" || arg.key == "rd.iscsi.ibft") return value.empty() || value == "1";
  }
  return false;
}

std::string initiator_only_options(const std::string& cmdline) {
  std::string out;
  for (const auto& arg : parse_cmdline(cmdline))
    if (initiator_key(arg.key)) out += (out.empty() ? "" : " ") + arg.key + (arg.value ? "=" + *arg.value : "");
  return out;
}

std::string machine_facts_json(const SystemFacts& facts) {
  json nics = json::array();
  for (const auto& n : facts.wired_nics) nics.push_back({{"name", n.name}, {"mac", n.mac}});
  const json doc = {{"root_disks", facts.root_disks},
                    {"wired_nics", nics},
                    {"cmdline", facts.cmdline},
                    {"cmdline_source", facts.cmdline_source}};
  // A command line is bytes, not necessarily UTF-8 (JSON's only encoding): invalid sequences become U+FFFD
  // rather than an exception that would fail the kernel installation.
  return doc.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

SystemFacts parse_machine_facts(const std::string& text, const std::string& origin) {
  try {
    const json doc = json::parse(text);
    SystemFacts facts;
    facts.root_disks = doc.at("root_disks").get<std::vector<std::string>>();
    for (const auto& n : doc.at("wired_nics")) facts.wired_nics.push_back({n.at("name").get<std::string>(), n.at("mac").get<std::string>()});
    facts.cmdline = doc.at("cmdline").get<std::string>();
    facts.cmdline_source = "the machine's own " + doc.at("cmdline_source").get<std::string>() + " (saved in " + origin + ")";
    return facts;
  } catch (const json::exception& e) {
    throw Error(origin + ": not a saved machine facts file: " + e.what());
  }
}

FactsChoice choose_machine_facts(const SystemFacts& probed, const std::string& proc_cmdline, const fs::path& saved_file,
                                 bool config_names_hardware) {
  FactsChoice choice;
  choice.facts = probed;
  if (!booted_over_iscsi(proc_cmdline)) {
    choice.save = true;
    return choice;
  }
  choice.over_iscsi = true;
  if (!fs::exists(saved_file)) {
    if (config_names_hardware) {
      // The config names disk and NIC; only a probed command line that is the initiator's own must not leak.
      choice.facts.root_disks.clear();
      choice.facts.wired_nics.clear();
      choice.note = "booted over iSCSI: devices and nic from iscsi-target.conf, no " + saved_file.string();
      return choice;
    }
    throw Error("booted over iSCSI (" + initiator_only_options(proc_cmdline) + ") and " + saved_file.string() +
                " is missing: the disks and NIC here are another computer's; run `iscsi-target-boot add` once on the machine "
                "itself, or set devices = and nic = in iscsi-target.conf");
  }
  const SystemFacts saved = parse_machine_facts(read_text_or_empty(saved_file), saved_file.string());
  choice.facts.root_disks = saved.root_disks;
  choice.facts.wired_nics = saved.wired_nics;
  choice.facts.cmdline = saved.cmdline;
  choice.facts.cmdline_source = saved.cmdline_source;
  choice.note = "booted over iSCSI: using the disks, NIC and command line the machine itself saved in " + saved_file.string();
  return choice;
}

}  // namespace iscsi_target
