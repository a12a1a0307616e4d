#include "unit_serial.h"

#include <cstdint>
#include <cstdio>

namespace iscsi_target {

namespace {

// FNV-1a, 64 bit: tiny, well known and stable across versions (std::hash is not).
uint64_t fnv1a(const std::string& text, uint64_t hash) {
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

}  // namespace

std::string unit_serial_from_identity(const std::string& identity) {
  const uint64_t high = fnv1a(identity, 0xcbf29ce484222325ULL);
  const uint64_t low = fnv1a("dracut-iscsi-target:" + identity, high);
  char buf[33];
  std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(high), static_cast<unsigned long long>(low));
  return buf;
}

}  // namespace iscsi_target
