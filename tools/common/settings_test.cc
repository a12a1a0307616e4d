#include <catch2/catch.hpp>

#include "error.h"
#include "settings.h"

using namespace iscsi_target;

namespace {
const std::string base = "rd.iscsi_target.dev=/dev/vda rd.iscsi.initiator=iqn.2024-01.org.example:laptop ";
TargetSettings parse(const std::string& text) { return settings_from_cmdline(Cmdline(parse_cmdline(text)), "iqn.2024-01.org.example:default"); }
std::string error_of(const std::string& text) {
  try {
    parse(text);
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}
}  // namespace

TEST_CASE("a minimal command line gives defaults") {
  auto s = parse(base);
  CHECK(s.iqn == "iqn.2024-01.org.example:default");
  CHECK(s.device_specs == std::vector<std::string>{"/dev/vda"});
  CHECK(s.initiator_iqns == std::vector<std::string>{"iqn.2024-01.org.example:laptop"});
  CHECK(s.portal.configfs_name() == "0.0.0.0:3260");
  CHECK_FALSE(s.chap.enabled());
  CHECK(s.device_wait_seconds == 30);
  CHECK(s.tuning == Tuning::tuned);
}

TEST_CASE("devices keep their order; extra initiators are added once") {
  auto s = parse(base + "rd.iscsi_target.dev=UUID=1234 rd.iscsi_target.dev=LABEL=data rd.iscsi_target.initiator=iqn.2024-01.org.example:two "
                 "rd.iscsi_target.initiator=iqn.2024-01.org.example:laptop rd.iscsi_target.portal=[::]:3261 rd.iscsi_target.wait=5");
  CHECK(s.device_specs == std::vector<std::string>{"/dev/vda", "UUID=1234", "LABEL=data"});
  CHECK(s.initiator_iqns.size() == 2);
  CHECK(s.portal.configfs_name() == "[::]:3261");
  CHECK(s.device_wait_seconds == 5);
}

TEST_CASE("CHAP one-way and mutual") {
  auto s = parse(base + "rd.iscsi.username=u rd.iscsi.password=secret123456 rd.iscsi.in.username=t rd.iscsi.in.password=other1234567");
  CHECK(s.chap.enabled());
  CHECK(s.chap.mutual());
  CHECK(s.chap.password == "secret123456");
}

TEST_CASE("bad settings name the key and value, never a secret") {
  CHECK(error_of("rd.iscsi.initiator=iqn.2024-01.org.example:x") == "rd.iscsi_target.dev=: no device to export (give rd.iscsi_target.dev=DEVICE, repeatable)");
  CHECK(error_of(base + "rd.iscsi_target.dev=/dev/vda").find("rd.iscsi_target.dev=/dev/vda: given twice") == 0);
  CHECK(error_of(base + "rd.iscsi_target.dev=vdb").find("rd.iscsi_target.dev=vdb: expected a device path") == 0);
  CHECK(error_of(base + "rd.iscsi_target.iqn=IQN.Bad").find("rd.iscsi_target.iqn=IQN.Bad: not an iSCSI name") == 0);
  CHECK(error_of(base + "rd.iscsi_target.iqn=iqn.2024-13.org.example").find("rd.iscsi_target.iqn=iqn.2024-13.org.example: malformed") == 0);
  CHECK(error_of("rd.iscsi_target.dev=/dev/vda").find("rd.iscsi.initiator=: not set") == 0);
  CHECK(error_of(base + "rd.iscsi_target.portal=300.1.1.1").find("rd.iscsi_target.portal=300.1.1.1: not an IPv4 address") == 0);
  CHECK(error_of(base + "rd.iscsi_target.portal=10.0.0.1:0").find("port must be") != std::string::npos);
  CHECK(error_of(base + "rd.iscsi_target.portal=fe80::1").find("brackets") != std::string::npos);
  CHECK(error_of(base + "rd.iscsi_target.wait=soon").find("rd.iscsi_target.wait=soon") == 0);
  CHECK(error_of(base + "rd.iscsi.username=u").find("rd.iscsi.password=: missing") == 0);
  CHECK(error_of(base + "rd.iscsi.in.username=t rd.iscsi.in.password=x").find("mutual CHAP needs one-way") != std::string::npos);

  const std::string long_secret(256, 's');
  auto too_long = error_of(base + "rd.iscsi.username=u rd.iscsi.password=" + long_secret);
  CHECK(too_long == "rd.iscsi.password=<hidden 256 characters>: longer than 255 characters (LIO's limit)");
  CHECK(too_long.find(long_secret) == std::string::npos);
  CHECK(error_of(base + "rd.iscsi.username=u rd.iscsi.password=" + std::string(255, 's')) == "no error");
  auto same = error_of(base + "rd.iscsi.username=u rd.iscsi.password=samesecret12 rd.iscsi.in.username=t rd.iscsi.in.password=samesecret12");
  CHECK(same.find("must differ") != std::string::npos);
  CHECK(same.find("samesecret12") == std::string::npos);
  CHECK(error_of(base + "rd.iscsi.initiator=iqn.2024-01.org.example:default").find("equals the target's own name") != std::string::npos);
}
