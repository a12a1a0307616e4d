#include "crng_warmup.h"

#include <catch2/catch.hpp>

#include <sys/random.h>

#include <cerrno>

using namespace iscsi_target;

TEST_CASE("crng warm-up: nothing to start once the kernel's CRNG is ready") {
  // This machine has been up long enough: its CRNG is ready, so no child may be forked.
  unsigned char byte = 0;
  REQUIRE(::getrandom(&byte, 1, GRND_NONBLOCK) == 1);
  CHECK(start_crng_warmup() == 0);
}
