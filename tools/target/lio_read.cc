// Reading LIO's state back from configfs: the mirror image of lio_apply.cc.
#include <sys/stat.h>

#include <algorithm>
#include <regex>

#include "error.h"
#include "text.h"
#include "lio.h"

namespace iscsi_target {

namespace {


std::string read_trimmed(const ConfigFs& fs, const std::string& rel) { return trim(fs.read(rel).value_or("")); }

// Only writable attributes belong in a saved configuration: read-only ones (hw_*) describe the device.
AttributeMap read_attributes(const ConfigFs& fs, const std::string& dir) {
  AttributeMap attributes;
  for (const auto& name : fs.list(dir)) {
    struct stat st {};
    if (::stat(fs.path(dir + "/" + name).c_str(), &st) != 0 || !S_ISREG(st.st_mode) || !(st.st_mode & S_IWUSR)) continue;
    if (auto value = fs.read(dir + "/" + name)) attributes[name] = trim(*value);
  }
  return attributes;
}

unsigned index_after(const std::string& name, const std::string& prefix) {
  return static_cast<unsigned>(std::stoul(name.substr(prefix.size())));
}

}  // namespace

std::string parse_vpd_unit_serial(const std::string& text) {
  static const std::string label = "T10 VPD Unit Serial Number:";
  auto at = text.find(label);
  std::string serial = at == std::string::npos ? text : text.substr(at + label.size());
  serial.erase(0, serial.find_first_not_of(' '));
  return trim(serial);
}

LioConfig read_lio_config(const ConfigFs& fs, bool with_secrets) {
  LioConfig config;
  std::map<std::string, std::string> so_by_dir;  // configfs dir (absolute) -> saveconfig path
  static const std::regex hba_name(R"((iblock|fileio)_([0-9]+))");
  for (const auto& hba : fs.list("target/core")) {
    std::smatch m;
    if (!std::regex_match(hba, m, hba_name)) continue;
    for (const auto& name : fs.list("target/core/" + hba)) {
      const std::string dir = "target/core/" + hba + "/" + name;
      if (!fs.exists(dir + "/udev_path")) continue;
      StorageObject so;
      so.name = name;
      so.plugin = m[1] == "iblock" ? "block" : "fileio";
      so.dev = read_trimmed(fs, dir + "/udev_path");
      so.wwn = parse_vpd_unit_serial(fs.read(dir + "/wwn/vpd_unit_serial").value_or(""));
      const std::string info = fs.read(dir + "/info").value_or("");
      so.readonly = info.find("readonly: 1") != std::string::npos;
      if (so.plugin == "fileio") {
        so.write_back = info.find("Buffered-WCE") != std::string::npos;
        static const std::regex size_re(R"(File Size: ([0-9]+))");
        std::smatch sm;
        if (std::regex_search(info, sm, size_re)) so.size = std::stoull(sm[1]);
      }
      so.attributes = read_attributes(fs, dir + "/attrib");
      so_by_dir[fs.path(dir).string()] = so.saveconfig_path();
      config.storage_objects.push_back(std::move(so));
    }
  }

  for (const auto& iqn : fs.list(lio_paths::iscsi())) {
    if (!(iqn.starts_with("iqn.") || iqn.starts_with("eui.") || iqn.starts_with("naa."))) continue;
    Target target;
    target.wwn = iqn;
    for (const auto& tpgt : fs.list(lio_paths::target(iqn))) {
      if (!tpgt.starts_with("tpgt_")) continue;
      const std::string dir = lio_paths::target(iqn) + "/" + tpgt;
      Tpg tpg;
      tpg.tag = index_after(tpgt, "tpgt_");
      tpg.enable = read_trimmed(fs, dir + "/enable") == "1";
      tpg.attributes = read_attributes(fs, dir + "/attrib");
      tpg.parameters = read_attributes(fs, dir + "/param");
      std::map<std::string, unsigned> lun_by_alias;
      for (const auto& lun_name : fs.list(dir + "/lun")) {
        if (!lun_name.starts_with("lun_")) continue;
        Lun lun;
        lun.index = index_after(lun_name, "lun_");
        for (const auto& entry : fs.list(dir + "/lun/" + lun_name)) {
          auto link = fs.read_link(dir + "/lun/" + lun_name + "/" + entry);
          if (!link) continue;
          lun.alias = entry;
          auto so = so_by_dir.find(*link);
          lun.storage_object = so != so_by_dir.end() ? so->second : *link;
        }
        tpg.luns.push_back(lun);
      }
      for (const auto& np : fs.list(dir + "/np")) tpg.portals.push_back(portal_from_configfs_name(np));
      for (const auto& initiator : fs.list(dir + "/acls")) {
        const std::string adir = dir + "/acls/" + initiator;
        NodeAcl acl;
        acl.node_wwn = initiator;
        acl.attributes = read_attributes(fs, adir + "/attrib");
        acl.chap_userid = read_trimmed(fs, adir + "/auth/userid");
        acl.chap_mutual_userid = read_trimmed(fs, adir + "/auth/userid_mutual");
        if (with_secrets) {
          acl.chap_password = read_trimmed(fs, adir + "/auth/password");
          acl.chap_mutual_password = read_trimmed(fs, adir + "/auth/password_mutual");
        }
        for (const auto& mapped_name : fs.list(adir)) {
          if (!mapped_name.starts_with("lun_")) continue;
          MappedLun mapped;
          mapped.index = index_after(mapped_name, "lun_");
          mapped.write_protect = read_trimmed(fs, adir + "/" + mapped_name + "/write_protect") == "1";
          for (const auto& entry : fs.list(adir + "/" + mapped_name))
            if (auto link = fs.read_link(adir + "/" + mapped_name + "/" + entry)) {
              auto slash = link->rfind("/lun_");
              if (slash != std::string::npos) mapped.tpg_lun = index_after(link->substr(slash + 1), "lun_");
            }
          acl.mapped_luns.push_back(mapped);
        }
        tpg.node_acls.push_back(std::move(acl));
      }
      target.tpgs.push_back(std::move(tpg));
    }
    config.targets.push_back(std::move(target));
  }
  return config;
}

}  // namespace iscsi_target
