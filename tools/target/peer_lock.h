// Keeps a second computer off a disk while one computer uses it.
//
// LIO cannot tell two computers apart when both present the same initiator IQN and CHAP secret (two copies of
// the ISO have both), and a login with the same IQN and ISID even reinstates the session: it drops the first
// computer's connection. Two kernels writing one ext4 destroy it. So while a computer is logged in, the
// target's iSCSI port answers that computer only, through two routing rules per address family:
//   1000: to PEER lookup main                     (the computer that is logged in)
//   1001: ipproto tcp sport PORTAL_PORT prohibit  (every other one: its TCP handshake never completes)
// and the peer's neighbour entry is pinned to its MAC (NUD_PERMANENT), so a computer that takes the same
// address (a second copy of the ISO) gets no answer either. Nothing but the iSCSI port is affected.
// The same computer rebooting (same address, same MAC) logs in again at once, reinstating its dead session.
// The lock goes when LIO has no session left (logout, or the dead connection timed out).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace iscsi_target {

// Which peer to lock to, given the current lock and the peers LIO shows logged in now: keep a lock while its
// peer is logged in; take the first peer when there is no lock; release it when nobody is logged in.
std::optional<std::string> next_locked_peer(const std::optional<std::string>& current,
                                            const std::vector<std::string>& logged_in_peers);

struct Neighbour {
  std::string device;
  std::array<uint8_t, 6> mac{};
};
// The TCP ports of LIO portal names ("0.0.0.0:3260", "[::]:3261"), each once.
std::vector<uint16_t> portal_ports(const std::vector<std::string>& portal_names);

// The complete IPv4 entry for ADDRESS in /proc/net/arp's text, if any.
std::optional<Neighbour> find_arp_entry(const std::string& proc_net_arp, const std::string& address);
std::string mac_text(const std::array<uint8_t, 6>& mac);

// The rtnetlink messages, built apart from the socket so tests can check them.
namespace netlink_messages {
inline constexpr uint32_t allow_priority = 1000;  // before "lookup main" (32766), after "lookup local" (0)
inline constexpr uint32_t block_priority = 1001;
// RTM_NEWRULE/RTM_DELRULE `to PEER/32|128 lookup main`; deleting without PEER matches any of ours.
std::vector<uint8_t> allow_rule(bool add, int family, const std::string& peer, uint32_t sequence);
// RTM_NEWRULE/RTM_DELRULE `ipproto tcp sport PORT prohibit`; deleting with PORT 0 matches any of ours.
std::vector<uint8_t> block_rule(bool add, int family, uint16_t port, uint32_t sequence);
// RTM_NEWNEIGH (pin, NUD_PERMANENT) or RTM_DELNEIGH for an IPv4 PEER on interface IFINDEX.
std::vector<uint8_t> neighbour(bool add, int ifindex, const std::string& peer, const std::array<uint8_t, 6>& mac,
                               uint32_t sequence);
}  // namespace netlink_messages

// Applies and removes the lock through rtnetlink. Throws Error (with errno) when the kernel refuses.
class PeerLock {
 public:
  PeerLock();
  ~PeerLock();
  PeerLock(const PeerLock&) = delete;
  PeerLock& operator=(const PeerLock&) = delete;

  // Returns a description of what was pinned, e.g. "10.77.0.2 (52:54:00:12:34:56 on eth1)".
  std::string lock(const std::string& peer, const std::vector<uint16_t>& portal_ports, const std::string& proc_net_arp);
  // Removes every rule of ours (also those a killed earlier run left) and the pinned neighbour. Throws Error
  // when the kernel refuses a deletion.
  void unlock();

 private:
  // Sends MESSAGE and waits for its acknowledgement. Returns false when IGNORE_MISSING and the kernel had
  // nothing to act on (ENOENT and kin); throws Error for any other refusal.
  bool request(const std::vector<uint8_t>& message, bool ignore_missing);
  int socket_ = -1;
  uint32_t sequence_ = 0;
  std::optional<std::pair<int, std::string>> pinned_;  // ifindex, address
};

}  // namespace iscsi_target
