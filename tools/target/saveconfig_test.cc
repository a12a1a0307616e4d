#include <catch2/catch.hpp>
#include <fstream>
#include <functional>

#include "error.h"
#include "saveconfig.h"

using namespace iscsi_target;
using nlohmann::json;

namespace {
json load(const std::string& name) {
  std::ifstream in(std::string(TEST_DATA_DIR) + "/" + name);
  REQUIRE(in);
  return json::parse(in);
}
}  // namespace

TEST_CASE("targetcli saveconfig.json: every field we model survives a round trip") {
  const json original = load("targetcli-saveconfig.json");
  const LioConfig config = lio_from_saveconfig(original);
  REQUIRE(config.storage_objects.size() == 2);
  CHECK(config.storage_objects[0].plugin == "block");
  CHECK(config.storage_objects[0].dev == "/dev/vdb");
  CHECK(config.storage_objects[0].attributes.at("emulate_tpu") == "1");
  CHECK(config.storage_objects[1].plugin == "fileio");
  CHECK(config.storage_objects[1].size == 104857600);
  CHECK(config.storage_objects[1].write_back);
  const auto& tpg = config.targets.at(0).tpgs.at(0);
  CHECK(tpg.parameters.at("MaxRecvDataSegmentLength") == "8192");
  CHECK(tpg.attributes.at("authentication") == "1");
  CHECK(tpg.luns.at(1).storage_object == "/backstores/fileio/file1");
  CHECK(tpg.portals.at(1).ipv6);
  CHECK(tpg.node_acls.at(0).chap_mutual_password == "mutualsecret2");
  CHECK(tpg.node_acls.at(0).mapped_luns.at(1).write_protect);

  const json written = saveconfig_from_lio(config);
  // Compare field by field against the original (we drop what we do not model: alua_tpgs, iser, offload).
  for (size_t i = 0; i < original["storage_objects"].size(); ++i) {
    const auto& o = original["storage_objects"][i];
    const auto& w = written["storage_objects"][i];
    for (const char* key : {"name", "plugin", "dev", "wwn", "readonly", "write_back", "attributes"}) {
      if (!o.contains(key)) continue;  // rtslib leaves readonly out for fileio
      INFO("storage_objects[" << i << "]." << key);
      CHECK(o[key] == w[key]);
    }
  }
  const auto& ot = original["targets"][0]["tpgs"][0];
  const auto& wt = written["targets"][0]["tpgs"][0];
  for (const char* key : {"tag", "enable", "attributes", "parameters"}) {
    INFO("tpgs[0]." << key);
    CHECK(ot[key] == wt[key]);
  }
  for (size_t i = 0; i < ot["luns"].size(); ++i)
    for (const char* key : {"index", "storage_object", "alias"}) CHECK(ot["luns"][i][key] == wt["luns"][i][key]);
  for (size_t i = 0; i < ot["portals"].size(); ++i)
    for (const char* key : {"ip_address", "port"}) CHECK(ot["portals"][i][key] == wt["portals"][i][key]);
  const auto& oa = ot["node_acls"][0];
  const auto& wa = wt["node_acls"][0];
  for (const char* key : {"node_wwn", "chap_userid", "chap_password", "chap_mutual_userid", "chap_mutual_password", "attributes"})
    CHECK(oa[key] == wa[key]);
  for (size_t i = 0; i < oa["mapped_luns"].size(); ++i)
    for (const char* key : {"index", "tpg_lun", "write_protect"}) CHECK(oa["mapped_luns"][i][key] == wa["mapped_luns"][i][key]);
  // Second trip is a fixed point.
  CHECK(saveconfig_from_lio(lio_from_saveconfig(written)) == written);
}

TEST_CASE("malformed saveconfig names the JSON path") {
  CHECK_THROWS_WITH(lio_from_saveconfig(json::parse(R"({"storage_objects":[{"plugin":"block","dev":"/dev/x"}]})")),
                    "storage_objects[0]: missing \"name\"");
  CHECK_THROWS_WITH(lio_from_saveconfig(json::parse(R"({"targets":[{"wwn":"iqn.2024-01.a:b","tpgs":[{"luns":[{"index":"zero","storage_object":"/b"}]}]}]})")),
                    Catch::Contains("targets[0].tpgs[0].luns.index: expected a whole number"));
  CHECK_THROWS_AS(lio_from_saveconfig(json::array()), Error);
}

TEST_CASE("every name in a saveconfig must be one configfs name: nothing outside the LIO tree") {
  const json original = load("targetcli-saveconfig.json");
  auto refused = [&](const std::function<void(json&)>& change, const std::string& where) {
    json j = original;
    change(j);
    CHECK_THROWS_WITH(lio_from_saveconfig(j), Catch::Contains(where) && Catch::Contains("not a single configfs name"));
  };
  refused([](json& j) { j["storage_objects"][0]["name"] = "../../../../tmp/x"; }, "storage_objects[0].name");
  refused([](json& j) { j["storage_objects"][0]["name"] = ".."; }, "storage_objects[0].name");
  refused([](json& j) { j["targets"][0]["wwn"] = "iqn.2024-01.org.example:a/../../b"; }, "targets[0].wwn");
  refused([](json& j) { j["targets"][0]["tpgs"][0]["node_acls"][0]["node_wwn"] = "../x"; }, "node_acls.node_wwn");
  refused([](json& j) { j["targets"][0]["tpgs"][0]["luns"][0]["alias"] = "a/b"; }, "luns.alias");
  refused([](json& j) { j["storage_objects"][0]["name"] = std::string("a\nb"); }, "storage_objects[0].name");
  json j = original;
  j["storage_objects"][0]["plugin"] = "pscsi";
  CHECK_THROWS_WITH(lio_from_saveconfig(j), Catch::Contains("storage_objects[0].plugin: 'pscsi' is not supported"));
}

TEST_CASE("numbers in a saveconfig: whole and in range, or one error naming the field (found by fuzzing)") {
  const json original = load("targetcli-saveconfig.json");
  for (const char* bad : {"1e300", "18446744073709551616", "-1", "-1.5", "2.5"}) {
    json j = original;
    j["targets"][0]["tpgs"][0]["tag"] = json::parse(bad);
    CHECK_THROWS_WITH(lio_from_saveconfig(j), Catch::Contains("tpgs[0].tag: expected a whole number from 0 to 4294967295"));
    j = original;
    j["storage_objects"][1]["size"] = json::parse(bad);
    if (std::string(bad) != "18446744073709551616")  // fits no uint64 either, but nlohmann reads it as a double
      CHECK_THROWS_WITH(lio_from_saveconfig(j), Catch::Contains("storage_objects[1].size: expected a whole number"));
  }
  json j = original;
  j["storage_objects"][1]["size"] = json::parse("18446744073709551615");
  CHECK(lio_from_saveconfig(j).storage_objects[1].size == 18446744073709551615ULL);
}
