#include "saveconfig.h"

#include <algorithm>
#include <limits>
#include <type_traits>

#include "error.h"

namespace iscsi_target {
using nlohmann::json;

namespace {

// rtslib writes numeric attributes as JSON numbers and parameters as strings.
json attributes_to_json(const AttributeMap& attributes, bool numeric) {
  json out = json::object();
  for (const auto& [key, value] : attributes) {
    bool digits = numeric && !value.empty() && std::all_of(value.begin(), value.end(), ::isdigit) && value.size() < 20;
    out[key] = digits ? json(std::stoull(value)) : json(value);
  }
  return out;
}

AttributeMap attributes_from_json(const json& j, const std::string& where) {
  AttributeMap out;
  if (j.is_null()) return out;
  if (!j.is_object()) throw Error(where + ": expected an object");
  for (const auto& [key, value] : j.items()) {
    if (value.is_string()) out[key] = value.get<std::string>();
    else if (value.is_boolean()) out[key] = value.get<bool>() ? "1" : "0";
    else if (value.is_number_integer() || value.is_number_unsigned()) out[key] = value.dump();
    else throw Error(where + "." + key + ": expected a number or string");
  }
  return out;
}

template <typename T>
T field(const json& j, const char* key, const std::string& where) {
  if (!j.contains(key)) throw Error(where + ": missing \"" + key + "\"");
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    // nlohmann converts any number with a cast: 1e300, -1.5 or 2^64 (stored as a double) would be undefined
    // behaviour, and -1 would wrap. Only whole numbers that fit.
    const json& value = j.at(key);
    if (value.is_number_unsigned() && value.get<uint64_t>() <= std::numeric_limits<T>::max()) return static_cast<T>(value.get<uint64_t>());
    if (value.is_number_integer() && !value.is_number_unsigned()) {
      if (const int64_t v = value.get<int64_t>(); v >= 0 && static_cast<uint64_t>(v) <= std::numeric_limits<T>::max()) return static_cast<T>(v);
    }
    throw Error(where + "." + key + ": expected a whole number from 0 to " + std::to_string(std::numeric_limits<T>::max()));
  }
  try {
    return j.at(key).get<T>();
  } catch (const json::exception&) {
    throw Error(where + "." + key + ": wrong type");
  }
}

template <typename T>
T field_or(const json& j, const char* key, T fallback, const std::string& where) {
  return j.contains(key) && !j.at(key).is_null() ? field<T>(j, key, where) : fallback;
}

// Names become configfs directory and link names: each must be exactly one path component, or a restore
// could create or link objects outside the LIO tree ("../../..").
std::string path_component(const std::string& name, const std::string& where) {
  const bool bad_char = std::any_of(name.begin(), name.end(), [](unsigned char c) { return c == '/' || c < 0x20 || c == 0x7f; });
  if (name.empty() || name == "." || name == ".." || bad_char || name.size() > 255)
    throw Error(where + ": '" + name + "' is not a single configfs name (no '/', '.', '..' or control characters)");
  return name;
}

const json& array_or_empty(const json& j, const char* key) {
  static const json empty = json::array();
  return j.contains(key) && j.at(key).is_array() ? j.at(key) : empty;
}

}  // namespace

json saveconfig_from_lio(const LioConfig& config) {
  json out;
  out["fabric_modules"] = json::array();
  out["storage_objects"] = json::array();
  for (const auto& so : config.storage_objects) {
    json j{{"name", so.name}, {"plugin", so.plugin}, {"dev", so.dev}, {"wwn", so.wwn},
           {"readonly", so.readonly}, {"write_back", so.write_back},
           {"attributes", attributes_to_json(so.attributes, true)}};
    if (so.plugin == "fileio") j["size"] = so.size;
    out["storage_objects"].push_back(j);
  }
  out["targets"] = json::array();
  for (const auto& target : config.targets) {
    json t{{"wwn", target.wwn}, {"fabric", target.fabric}, {"tpgs", json::array()}};
    for (const auto& tpg : target.tpgs) {
      json g{{"tag", tpg.tag}, {"enable", tpg.enable},
             {"attributes", attributes_to_json(tpg.attributes, true)},
             {"parameters", attributes_to_json(tpg.parameters, false)},
             {"luns", json::array()}, {"portals", json::array()}, {"node_acls", json::array()}};
      for (const auto& lun : tpg.luns)
        g["luns"].push_back({{"index", lun.index}, {"storage_object", lun.storage_object}, {"alias", lun.alias}});
      for (const auto& portal : tpg.portals)
        g["portals"].push_back({{"ip_address", portal.address}, {"port", portal.port}, {"iser", false}, {"offload", false}});
      for (const auto& acl : tpg.node_acls) {
        json a{{"node_wwn", acl.node_wwn}, {"attributes", attributes_to_json(acl.attributes, true)}, {"mapped_luns", json::array()}};
        if (!acl.chap_userid.empty()) a["chap_userid"] = acl.chap_userid;
        if (!acl.chap_password.empty()) a["chap_password"] = acl.chap_password;
        if (!acl.chap_mutual_userid.empty()) a["chap_mutual_userid"] = acl.chap_mutual_userid;
        if (!acl.chap_mutual_password.empty()) a["chap_mutual_password"] = acl.chap_mutual_password;
        for (const auto& mapped : acl.mapped_luns)
          a["mapped_luns"].push_back({{"index", mapped.index}, {"tpg_lun", mapped.tpg_lun}, {"write_protect", mapped.write_protect}});
        g["node_acls"].push_back(a);
      }
      t["tpgs"].push_back(g);
    }
    out["targets"].push_back(t);
  }
  return out;
}

LioConfig lio_from_saveconfig(const json& j) {
  if (!j.is_object()) throw Error("saveconfig: top level must be an object");
  LioConfig config;
  const auto& sos = array_or_empty(j, "storage_objects");
  for (size_t i = 0; i < sos.size(); ++i) {
    const std::string where = "storage_objects[" + std::to_string(i) + "]";
    const auto& s = sos[i];
    StorageObject so;
    so.name = path_component(field<std::string>(s, "name", where), where + ".name");
    so.plugin = field<std::string>(s, "plugin", where);
    if (so.plugin != "block" && so.plugin != "fileio") throw Error(where + ".plugin: '" + so.plugin + "' is not supported (block and fileio are)");
    so.dev = field<std::string>(s, "dev", where);
    so.wwn = field_or<std::string>(s, "wwn", "", where);
    so.readonly = field_or<bool>(s, "readonly", false, where);
    so.write_back = field_or<bool>(s, "write_back", false, where);
    so.size = field_or<uint64_t>(s, "size", 0, where);
    so.attributes = attributes_from_json(s.value("attributes", json()), where + ".attributes");
    config.storage_objects.push_back(std::move(so));
  }
  const auto& targets = array_or_empty(j, "targets");
  for (size_t i = 0; i < targets.size(); ++i) {
    const std::string where = "targets[" + std::to_string(i) + "]";
    Target target;
    target.wwn = path_component(field<std::string>(targets[i], "wwn", where), where + ".wwn");
    target.fabric = field_or<std::string>(targets[i], "fabric", "iscsi", where);
    const auto& tpgs = array_or_empty(targets[i], "tpgs");
    for (size_t k = 0; k < tpgs.size(); ++k) {
      const std::string tw = where + ".tpgs[" + std::to_string(k) + "]";
      const auto& g = tpgs[k];
      Tpg tpg;
      tpg.tag = field_or<unsigned>(g, "tag", 1, tw);
      tpg.enable = field_or<bool>(g, "enable", true, tw);
      tpg.attributes = attributes_from_json(g.value("attributes", json()), tw + ".attributes");
      tpg.parameters = attributes_from_json(g.value("parameters", json()), tw + ".parameters");
      for (const auto& l : array_or_empty(g, "luns"))
        tpg.luns.push_back({field<unsigned>(l, "index", tw + ".luns"), field<std::string>(l, "storage_object", tw + ".luns"),
                            field_or<std::string>(l, "alias", "", tw + ".luns")});
      for (const auto& lun : tpg.luns)
        if (!lun.alias.empty()) path_component(lun.alias, tw + ".luns.alias");
      for (const auto& p : array_or_empty(g, "portals")) {
        auto address = field<std::string>(p, "ip_address", tw + ".portals");
        auto port = field_or<unsigned>(p, "port", 3260, tw + ".portals");
        bool v6 = address.find(':') != std::string::npos;
        tpg.portals.push_back(parse_portal(tw + ".portals", (v6 ? "[" + address + "]" : address) + ":" + std::to_string(port)));
      }
      for (const auto& a : array_or_empty(g, "node_acls")) {
        const std::string aw = tw + ".node_acls";
        NodeAcl acl;
        acl.node_wwn = path_component(field<std::string>(a, "node_wwn", aw), aw + ".node_wwn");
        acl.attributes = attributes_from_json(a.value("attributes", json()), aw + ".attributes");
        acl.chap_userid = field_or<std::string>(a, "chap_userid", "", aw);
        acl.chap_password = field_or<std::string>(a, "chap_password", "", aw);
        acl.chap_mutual_userid = field_or<std::string>(a, "chap_mutual_userid", "", aw);
        acl.chap_mutual_password = field_or<std::string>(a, "chap_mutual_password", "", aw);
        for (const auto& m : array_or_empty(a, "mapped_luns"))
          acl.mapped_luns.push_back({field<unsigned>(m, "index", aw + ".mapped_luns"), field<unsigned>(m, "tpg_lun", aw + ".mapped_luns"),
                                     field_or<bool>(m, "write_protect", false, aw + ".mapped_luns")});
        tpg.node_acls.push_back(std::move(acl));
      }
      target.tpgs.push_back(std::move(tpg));
    }
    config.targets.push_back(std::move(target));
  }
  return config;
}

}  // namespace iscsi_target
