// The portal's address, before LIO binds to it: the target starts while dracut's initqueue is still bringing
// the network up, so a portal on a specific address may have to wait for that address.
#pragma once

#include <chrono>
#include <string>

#include "portal.h"

namespace iscsi_target {

// Whether a socket can bind to the portal's address now: always for the wildcard (0.0.0.0, ::); for another
// address once it is on an interface (an IPv6 address still in duplicate address detection is not yet).
// Returns 0 when it can, else the bind's errno.
int portal_address_bind_errno(const Portal& portal);

// Waits until the portal's address can be bound, polling every 50 ms for at most `wait`. Throws Error naming
// the key, the value, how long it waited and the bind's errno text.
void wait_for_portal_address(const std::string& key, const Portal& portal, std::chrono::milliseconds wait);

}  // namespace iscsi_target
