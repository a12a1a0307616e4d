#include <catch2/catch.hpp>
#include <regex>

#include "lio_read.h"
#include "unit_serial.h"

using namespace iscsi_target;

TEST_CASE("unit serial: stable, hex, distinct per identity") {
  auto a = unit_serial_from_identity("serial:QM00001");
  CHECK(a == unit_serial_from_identity("serial:QM00001"));
  CHECK(std::regex_match(a, std::regex("[0-9a-f]{32}")));
  CHECK(a != unit_serial_from_identity("serial:QM00002"));
  CHECK(a != unit_serial_from_identity("serial:QM00001:part1"));
  // Pinned: a change here renames every exported disk under the initiator's /dev/disk/by-id.
  CHECK(a == "fbdb8acc5fab892ac8e39275805f3aba");
}

TEST_CASE("VPD unit serial as configfs shows it") {
  CHECK(parse_vpd_unit_serial("T10 VPD Unit Serial Number: 0123abcd\n") == "0123abcd");
  CHECK(parse_vpd_unit_serial("") == "");
}
