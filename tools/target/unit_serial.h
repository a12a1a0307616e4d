// A VPD unit serial derived from a disk's own identity, so initiators see the same /dev/disk/by-id names on
// every boot (rtslib uses a random uuid4 instead).
#pragma once

#include <string>

namespace iscsi_target {

// 32 lowercase hex digits: LIO builds the NAA designator of VPD page 0x83 from the serial's hex digits, so
// an all-hex serial gives a designator with full entropy. Not a security property; just stable and unique.
std::string unit_serial_from_identity(const std::string& identity);

}  // namespace iscsi_target
