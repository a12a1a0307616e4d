#include <catch2/catch.hpp>

#include "error.h"
#include "settings.h"

using namespace iscsi_target;

namespace {
const std::string base = "rd.iscsi_target.dev=/dev/vda rd.iscsi.initiator=iqn.2024-01.org.example:laptop ";
const std::string chap = "rd.iscsi.username=u rd.iscsi.password=secret123456 ";
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
  auto s = parse(base + chap);
  CHECK(s.iqn == "iqn.2024-01.org.example:default");
  CHECK(s.device_specs == std::vector<std::string>{"/dev/vda"});
  CHECK(s.initiator_iqns == std::vector<std::string>{"iqn.2024-01.org.example:laptop"});
  CHECK(s.portal.configfs_name() == "0.0.0.0:3260");
  CHECK(s.chap.enabled());
  CHECK_FALSE(s.without_authentication);
  CHECK(s.device_wait_seconds == 30);
  CHECK(s.tuning == Tuning::tuned);
  CHECK_FALSE(s.read_only);
}

TEST_CASE("rd.iscsi_target.read_only: 1, a bare key, yes/true turn it on; 0/no/false off; the last one wins") {
  CHECK(parse(base + chap + "rd.iscsi_target.read_only=1").read_only);
  CHECK(parse(base + chap + "rd.iscsi_target.read_only").read_only);
  CHECK(parse(base + chap + "rd.iscsi_target.read_only=yes").read_only);
  CHECK(parse(base + chap + "rd.iscsi_target.read_only=true").read_only);
  CHECK_FALSE(parse(base + chap + "rd.iscsi_target.read_only=0").read_only);
  CHECK_FALSE(parse(base + chap + "rd.iscsi_target.read_only=no").read_only);
  CHECK_FALSE(parse(base + chap + "rd.iscsi_target.read_only=1 rd.iscsi_target.read_only=0").read_only);
  CHECK(error_of(base + chap + "rd.iscsi_target.read_only=maybe") == "rd.iscsi_target.read_only=maybe: expected 1 (read-only export) or 0");
  CHECK(error_of(base + chap + "rd.iscsi_target.read_only=") == "rd.iscsi_target.read_only=: expected 1 (read-only export) or 0");
}

TEST_CASE("CHAP is required; rd.iscsi_target.auth=none is the only way around it") {
  CHECK(error_of(base) ==
        "rd.iscsi.username=: not set: CHAP is required (rd.iscsi.username and rd.iscsi.password, normally from the secrets "
        "initrd's /etc/iscsi-target/target.conf); to serve without authentication to anyone who knows the initiator IQN, "
        "give rd.iscsi_target.auth=none");
  auto open = parse(base + "rd.iscsi_target.auth=none");
  CHECK(open.without_authentication);
  CHECK_FALSE(open.chap.enabled());
  CHECK(error_of(base + "rd.iscsi_target.auth=chap") ==
        "rd.iscsi_target.auth=chap: expected 'none' (serve without CHAP), or leave the key out");
  CHECK(error_of(base + "rd.iscsi_target.auth") ==
        "rd.iscsi_target.auth=1: expected 'none' (serve without CHAP), or leave the key out");
  CHECK(error_of(base + chap + "rd.iscsi_target.auth=none") ==
        "rd.iscsi_target.auth=none: contradicts rd.iscsi.username (CHAP is configured; drop one of them)");
  // A half-given CHAP pair is still its own error, not "CHAP is required".
  CHECK(error_of(base + "rd.iscsi.password=secret123456").starts_with("rd.iscsi.username=: missing although rd.iscsi.password"));
}

TEST_CASE("devices keep their order; extra initiators are added once") {
  auto s = parse(base + chap + "rd.iscsi_target.dev=UUID=1234 rd.iscsi_target.dev=LABEL=data rd.iscsi_target.initiator=iqn.2024-01.org.example:two "
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
  CHECK(error_of(base + chap + "rd.iscsi_target.portal=300.1.1.1").find("rd.iscsi_target.portal=300.1.1.1: not an IPv4 address") == 0);
  CHECK(error_of(base + chap + "rd.iscsi_target.portal=10.0.0.1:0").find("port must be") != std::string::npos);
  CHECK(error_of(base + chap + "rd.iscsi_target.portal=fe80::1").find("brackets") != std::string::npos);
  CHECK(error_of(base + chap + "rd.iscsi_target.wait=soon").find("rd.iscsi_target.wait=soon") == 0);
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

namespace {
// What the target reads from its command line followed by target.conf (bin/commands.cc load_cmdline).
TargetSettings read_back(const TargetSettings& s) {
  auto args = parse_cmdline(target_cmdline_text(s));
  const auto conf = parse_cmdline(target_conf_text(s.chap));
  args.insert(args.end(), conf.begin(), conf.end());
  return settings_from_cmdline(Cmdline(std::move(args)), "iqn.2024-01.org.example:unused");
}
std::string writer_error(const TargetSettings& s) {
  try {
    target_cmdline_text(s);
    target_conf_text(s.chap);
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}
TargetSettings sample() {
  TargetSettings s;
  s.iqn = "iqn.2024-01.org.example:target";
  s.device_specs = {"/dev/disk/by-id/nvme-A"};
  s.initiator_iqns = {"iqn.2024-01.org.example:laptop"};
  return s;
}
}  // namespace

TEST_CASE("writer: the target's keys read back as the same settings") {
  TargetSettings minimal = sample();
  CHECK_THROWS_WITH(read_back(minimal), Catch::StartsWith("rd.iscsi.username=: not set: CHAP is required"));
  CHECK(target_cmdline_text(minimal) ==
        "rd.iscsi_target.iqn=iqn.2024-01.org.example:target rd.iscsi.initiator=iqn.2024-01.org.example:laptop "
        "rd.iscsi_target.portal=0.0.0.0:3260 rd.iscsi_target.dev=/dev/disk/by-id/nvme-A");
  minimal.without_authentication = true;
  CHECK(read_back(minimal) == minimal);
  CHECK(target_cmdline_text(minimal).ends_with(" rd.iscsi_target.dev=/dev/disk/by-id/nvme-A rd.iscsi_target.auth=none"));
  CHECK(target_conf_text(minimal.chap).find("rd.iscsi") == std::string::npos);

  TargetSettings full = sample();
  full.device_specs = {"/dev/vda", "UUID=1234", "LABEL=data", "PARTUUID=ab-01", "PARTLABEL=x"};
  full.initiator_iqns = {"iqn.2024-01.org.example:laptop", "iqn.2024-01.org.example:two", "eui.02004567a425678d"};
  full.chap = {"iscsi-initiator", "AAAAAAAAAAAAAAAAAAAAAAAA", "iscsi-target", "B-_~!$%&'()*+,./:;<=>?@[]^`{|}#"};
  full.portal = {"fe80::1", 3261, true};
  full.device_wait_seconds = 0;
  full.tuning = Tuning::lio_defaults;
  full.read_only = true;
  full.cable = CableAddress{"iscsi0", "fe80::1", 64, true};
  CHECK(read_back(full) == full);
  CHECK(target_cmdline_text(full).ends_with(" rd.iscsi_target.tuning=lio-defaults rd.iscsi_target.read_only=1"
                                            " rd.iscsi_target.address=fe80::1/64 rd.iscsi_target.interface=iscsi0"));

  TargetSettings one_way = sample();
  one_way.chap = {"u", std::string(255, 's'), "", ""};
  one_way.portal = {"10.251.73.1", 3260, false};
  one_way.device_wait_seconds = 3600;
  CHECK(read_back(one_way) == one_way);
  CHECK(target_conf_text(one_way.chap) == "# CHAP for iSCSI Target mode (read by iscsi-target only, after the command line)\n"
                                          "rd.iscsi.username=u\nrd.iscsi.password=" + std::string(255, 's') + "\n");
}

TEST_CASE("writer: refuses what would not read back as one word, never echoing a secret") {
  TargetSettings s = sample();
  s.device_specs = {"/dev/disk/by-label/my disk"};
  CHECK(writer_error(s) == "rd.iscsi_target.dev=/dev/disk/by-label/my disk: must not contain spaces, quotes or control characters (one command-line word)");
  s = sample();
  s.iqn = "";
  CHECK(writer_error(s) == "rd.iscsi_target.iqn=: must not be empty");
  s = sample();
  s.initiator_iqns = {"iqn.2024-01.org.example:\"x\""};
  CHECK(writer_error(s).starts_with("rd.iscsi.initiator="));
  s = sample();
  s.chap = {"u", "a b", "", ""};
  CHECK(writer_error(s) == "rd.iscsi.password=<hidden 3 characters>: must not contain spaces or control characters");
  s.chap = {"u", "good-secret", "t", "bad\"secret"};
  CHECK(writer_error(s).starts_with("rd.iscsi.in.password=<hidden 10 characters>: must not contain '\"'"));
  CHECK(writer_error(s).find("bad") == std::string::npos);
  s.chap = {"user name", "good-secret", "", ""};
  CHECK(writer_error(s) == "rd.iscsi.username=user name: must not contain spaces or control characters");
}

TEST_CASE("chap_value_problem: bytes both readers and LIO keep as they are") {
  CHECK_FALSE(chap_value_problem("AAAAAAAAAAAAAAAAAAAAAAAA"));
  CHECK_FALSE(chap_value_problem("x"));
  CHECK_FALSE(chap_value_problem(std::string(255, 'x')));
  CHECK_FALSE(chap_value_problem("a#b'c$d=e"));
  CHECK(chap_value_problem("") == "must not be empty");
  CHECK(chap_value_problem(std::string(256, 'x')) == "longer than 255 characters (LIO's limit)");
  CHECK(chap_value_problem("a b") == "must not contain spaces or control characters");
  CHECK(chap_value_problem("secret\r") == "must not contain spaces or control characters");
  CHECK(chap_value_problem("tab\there") == "must not contain spaces or control characters");
  CHECK(chap_value_problem(std::string("nul\0x", 5)) == "must not contain spaces or control characters");
  CHECK(chap_value_problem("del\x7f") == "must not contain spaces or control characters");
  CHECK(chap_value_problem("p\"q")->starts_with("must not contain '\"' or '\\'"));
  CHECK(chap_value_problem("p\\q")->starts_with("must not contain '\"' or '\\'"));
  CHECK(chap_value_problem("gr\xc3\xbc\xc3\x9f")->starts_with("must be ASCII"));
  CHECK(chap_value_problem("\xff\xfe")->starts_with("must be ASCII"));
  CHECK(hidden_secret("123456789") == "<hidden 9 characters>");
}

TEST_CASE("the parser uses the same CHAP check") {
  CHECK(error_of(base + "rd.iscsi.username=u rd.iscsi.password=a\\b") ==
        "rd.iscsi.password=<hidden 3 characters>: must not contain '\"' or '\\' (the command-line and iscsid.conf readers treat them differently)");
  CHECK(error_of(base + "rd.iscsi.username=u rd.iscsi.password=\"a b\"") == "rd.iscsi.password=<hidden 3 characters>: must not contain spaces or control characters");
}

TEST_CASE("rd.iscsi_target.address and .interface: the cable address the target sets itself") {
  const auto s = parse(base + chap + "rd.iscsi_target.address=10.77.0.1/24 rd.iscsi_target.interface=iscsi0");
  REQUIRE(s.cable);
  CHECK(*s.cable == CableAddress{"iscsi0", "10.77.0.1", 24, false});
  CHECK(s.cable->text() == "10.77.0.1/24");
  CHECK_FALSE(parse(base + chap).cable);
  CHECK(error_of(base + chap + "rd.iscsi_target.address=10.77.0.1/24") ==
        "rd.iscsi_target.interface=: not set: rd.iscsi_target.address needs the interface it is for");
  CHECK(error_of(base + chap + "rd.iscsi_target.interface=iscsi0") == "rd.iscsi_target.interface=iscsi0: given without rd.iscsi_target.address");
  CHECK(error_of(base + chap + "rd.iscsi_target.address=10.77.0.1 rd.iscsi_target.interface=iscsi0") ==
        "rd.iscsi_target.address=10.77.0.1: expected ADDRESS/PREFIX, e.g. 10.77.0.1/24");
  CHECK(error_of(base + chap + "rd.iscsi_target.address=10.77.0.300/24 rd.iscsi_target.interface=iscsi0") ==
        "rd.iscsi_target.address=10.77.0.300/24: '10.77.0.300' is neither an IPv4 nor an IPv6 address");
  CHECK(error_of(base + chap + "rd.iscsi_target.address=10.77.0.1/33 rd.iscsi_target.interface=iscsi0") ==
        "rd.iscsi_target.address=10.77.0.1/33: prefix length must be a number from 1 to 32");
  CHECK(error_of(base + chap + "rd.iscsi_target.address=fd00::1/129 rd.iscsi_target.interface=iscsi0") ==
        "rd.iscsi_target.address=fd00::1/129: prefix length must be a number from 1 to 128");
  CHECK(error_of(base + chap + "rd.iscsi_target.address=10.77.0.1/24 rd.iscsi_target.interface=a/b") ==
        "rd.iscsi_target.interface=a/b: not an interface name");
  CHECK(error_of(base + chap + "rd.iscsi_target.address=10.77.0.1/24 rd.iscsi_target.interface=averyveryverylongname") ==
        "rd.iscsi_target.interface=averyveryverylongname: not an interface name");
}
