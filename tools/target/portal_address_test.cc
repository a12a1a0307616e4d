#include "portal_address.h"

#include <catch2/catch.hpp>

#include <cerrno>

#include "error.h"

using namespace iscsi_target;

TEST_CASE("portal address: the wildcards never wait") {
  CHECK(portal_address_bind_errno(parse_portal("k", "0.0.0.0")) == 0);
  CHECK(portal_address_bind_errno(parse_portal("k", "[::]:3260")) == 0);
  CHECK_NOTHROW(wait_for_portal_address("k", parse_portal("k", "0.0.0.0"), std::chrono::milliseconds(0)));
}

TEST_CASE("portal address: an address on an interface is usable") {
  CHECK(portal_address_bind_errno(parse_portal("k", "127.0.0.1:3260")) == 0);
  CHECK_NOTHROW(wait_for_portal_address("k", parse_portal("k", "127.0.0.1"), std::chrono::milliseconds(0)));
}

TEST_CASE("portal address: an address on no interface fails after the wait, naming key, value and errno") {
  const Portal absent = parse_portal("rd.iscsi_target.portal", "192.0.2.77:3261");  // TEST-NET-1, never local
  CHECK(portal_address_bind_errno(absent) == EADDRNOTAVAIL);
  const auto started = std::chrono::steady_clock::now();
  try {
    wait_for_portal_address("rd.iscsi_target.portal", absent, std::chrono::milliseconds(120));
    FAIL("no error");
  } catch (const Error& e) {
    const std::string message = e.what();
    CHECK(message.starts_with("rd.iscsi_target.portal=192.0.2.77:3261: address not usable"));
    CHECK(message.find("Cannot assign requested address") != std::string::npos);
  }
  CHECK(std::chrono::steady_clock::now() - started >= std::chrono::milliseconds(120));
}
