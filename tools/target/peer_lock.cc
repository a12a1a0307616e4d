#include "peer_lock.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <linux/fib_rules.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "error.h"
#include "text.h"

namespace iscsi_target {

std::optional<std::string> next_locked_peer(const std::optional<std::string>& current,
                                            const std::vector<std::string>& logged_in_peers) {
  if (logged_in_peers.empty()) return std::nullopt;
  if (current && std::find(logged_in_peers.begin(), logged_in_peers.end(), *current) != logged_in_peers.end())
    return current;
  return logged_in_peers.front();
}

std::string mac_text(const std::array<uint8_t, 6>& mac) {
  char text[18];
  std::snprintf(text, sizeof text, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
  return text;
}

std::optional<Neighbour> find_arp_entry(const std::string& proc_net_arp, const std::string& address) {
  // "IP address       HW type     Flags       HW address            Mask     Device"
  const auto lines = lines_of(proc_net_arp);
  for (size_t l = 1; l < lines.size(); ++l) {  // lines[0]: the header
    const auto words = split_fields(lines[l], whitespace);
    if (words.size() < 6 || words[0] != address) continue;
    const std::string flags(words[2]), hw_address(words[3]), device(words[5]);
    const unsigned long flag_bits = std::strtoul(flags.c_str(), nullptr, 16);
    if (!(flag_bits & 0x2)) continue;  // ATF_COM: the MAC is known
    Neighbour n{device, {}};
    unsigned b[6];
    if (std::sscanf(hw_address.c_str(), "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) != 6) continue;
    for (int i = 0; i < 6; ++i) n.mac[i] = static_cast<uint8_t>(b[i]);
    if (n.mac == std::array<uint8_t, 6>{}) continue;
    return n;
  }
  return std::nullopt;
}

std::vector<uint16_t> portal_ports(const std::vector<std::string>& portal_names) {
  std::vector<uint16_t> out;
  for (const auto& name : portal_names) {
    const auto colon = name.rfind(':');
    if (colon == std::string::npos) continue;
    const std::string digits = name.substr(colon + 1);
    if (digits.empty() || digits.size() > 5 || digits.find_first_not_of("0123456789") != std::string::npos) continue;
    const unsigned long port = std::stoul(digits);
    if (port == 0 || port > 65535) continue;
    if (std::find(out.begin(), out.end(), port) == out.end()) out.push_back(static_cast<uint16_t>(port));
  }
  return out;
}

namespace netlink_messages {
namespace {

struct Address {
  int family = AF_UNSPEC;
  std::array<uint8_t, 16> bytes{};
  size_t length = 0;
};

Address parse_address(const std::string& text) {
  Address a;
  std::string t = text;
  if (t.size() > 2 && t.front() == '[' && t.back() == ']') t = t.substr(1, t.size() - 2);
  if (inet_pton(AF_INET, t.c_str(), a.bytes.data()) == 1) a.family = AF_INET, a.length = 4;
  else if (inet_pton(AF_INET6, t.c_str(), a.bytes.data()) == 1) a.family = AF_INET6, a.length = 16;
  else throw Error("peer address '" + text + "' is neither IPv4 nor IPv6");
  return a;
}

class Message {
 public:
  Message(uint16_t type, uint16_t flags, uint32_t sequence) {
    nlmsghdr header{};
    header.nlmsg_type = type;
    header.nlmsg_flags = static_cast<uint16_t>(NLM_F_REQUEST | NLM_F_ACK | flags);
    header.nlmsg_seq = sequence;
    append(&header, sizeof header);
  }
  template <typename T>
  void body(const T& value) { append(&value, sizeof value); }
  void attribute(uint16_t type, const void* data, size_t length) {
    rtattr attr{};
    attr.rta_len = static_cast<unsigned short>(RTA_LENGTH(length));
    attr.rta_type = type;
    append(&attr, sizeof attr);
    append(data, length);
  }
  std::vector<uint8_t> finish() {
    const auto length = static_cast<uint32_t>(bytes_.size());
    std::memcpy(bytes_.data() + offsetof(nlmsghdr, nlmsg_len), &length, sizeof length);
    return bytes_;
  }

 private:
  void append(const void* data, size_t length) {
    const auto* p = static_cast<const uint8_t*>(data);
    bytes_.insert(bytes_.end(), p, p + length);
    bytes_.resize(NLMSG_ALIGN(bytes_.size()), 0);
  }
  std::vector<uint8_t> bytes_;
};

}  // namespace

std::vector<uint8_t> allow_rule(bool add, int family, const std::string& peer, uint32_t sequence) {
  Message m(add ? RTM_NEWRULE : RTM_DELRULE, add ? NLM_F_CREATE : 0, sequence);
  fib_rule_hdr header{};
  header.family = static_cast<uint8_t>(family);
  header.action = FR_ACT_TO_TBL;
  header.table = RT_TABLE_MAIN;
  std::optional<Address> address;
  if (!peer.empty()) {
    address = parse_address(peer);
    if (address->family != family) throw Error("peer address '" + peer + "' is not of the rule's family");
    header.dst_len = static_cast<uint8_t>(address->length * 8);
  }
  m.body(header);
  const uint32_t priority = allow_priority;
  m.attribute(FRA_PRIORITY, &priority, sizeof priority);
  if (address) m.attribute(FRA_DST, address->bytes.data(), address->length);
  return m.finish();
}

std::vector<uint8_t> block_rule(bool add, int family, uint16_t port, uint32_t sequence) {
  Message m(add ? RTM_NEWRULE : RTM_DELRULE, add ? NLM_F_CREATE : 0, sequence);
  fib_rule_hdr header{};
  header.family = static_cast<uint8_t>(family);
  header.action = FR_ACT_PROHIBIT;
  m.body(header);
  const uint32_t priority = block_priority;
  m.attribute(FRA_PRIORITY, &priority, sizeof priority);
  if (port != 0) {
    const uint8_t protocol = IPPROTO_TCP;
    m.attribute(FRA_IP_PROTO, &protocol, sizeof protocol);
    const fib_rule_port_range range{port, port};
    m.attribute(FRA_SPORT_RANGE, &range, sizeof range);
  }
  return m.finish();
}

std::vector<uint8_t> neighbour(bool add, int ifindex, const std::string& peer, const std::array<uint8_t, 6>& mac,
                               uint32_t sequence) {
  const Address address = parse_address(peer);
  Message m(add ? RTM_NEWNEIGH : RTM_DELNEIGH, add ? NLM_F_CREATE | NLM_F_REPLACE : 0, sequence);
  ndmsg header{};
  header.ndm_family = static_cast<uint8_t>(address.family);
  header.ndm_ifindex = ifindex;
  header.ndm_state = add ? NUD_PERMANENT : 0;
  m.body(header);
  m.attribute(NDA_DST, address.bytes.data(), address.length);
  if (add) m.attribute(NDA_LLADDR, mac.data(), mac.size());
  return m.finish();
}

}  // namespace netlink_messages

PeerLock::PeerLock() : socket_(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE)) {
  if (socket_ < 0) throw Error("rtnetlink socket: " + std::string(std::strerror(errno)));
}

PeerLock::~PeerLock() {
  if (socket_ >= 0) ::close(socket_);
}

bool PeerLock::request(const std::vector<uint8_t>& message, bool ignore_missing) {
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (::sendto(socket_, message.data(), message.size(), 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) < 0)
    throw Error("rtnetlink send: " + std::string(std::strerror(errno)));
  uint32_t sequence = 0;
  std::memcpy(&sequence, message.data() + offsetof(nlmsghdr, nlmsg_seq), sizeof sequence);
  alignas(nlmsghdr) uint8_t buffer[8192];
  for (;;) {
    const ssize_t n = ::recv(socket_, buffer, sizeof buffer, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw Error("rtnetlink receive: " + std::string(std::strerror(errno)));
    }
    size_t left = static_cast<size_t>(n);
    for (auto* h = reinterpret_cast<nlmsghdr*>(buffer); NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
      if (h->nlmsg_seq != sequence || h->nlmsg_type != NLMSG_ERROR) continue;
      const auto* e = static_cast<const nlmsgerr*>(NLMSG_DATA(h));
      const int error = -e->error;
      if (error == 0 || error == EEXIST) return true;
      // Nothing to delete, or an address family this kernel does not have (nothing to answer on it either).
      if (ignore_missing && (error == ENOENT || error == ESRCH || error == EADDRNOTAVAIL || error == EAFNOSUPPORT))
        return false;
      throw Error(std::string(std::strerror(error)) + " (errno " + std::to_string(error) + ")");
    }
  }
}

std::string PeerLock::lock(const std::string& peer, const std::vector<uint16_t>& ports,
                           const std::string& proc_net_arp) {
  unlock();
  const int peer_family = peer.find(':') != std::string::npos ? AF_INET6 : AF_INET;
  try {
    request(netlink_messages::allow_rule(true, peer_family, peer, ++sequence_), false);
    for (uint16_t port : ports) request(netlink_messages::block_rule(true, peer_family, port, ++sequence_), false);
  } catch (const Error& e) {
    unlock();
    throw Error("routing rules for " + peer + ": " + e.what());
  }
  const int other_family = peer_family == AF_INET ? AF_INET6 : AF_INET;
  try {
    for (uint16_t port : ports) request(netlink_messages::block_rule(true, other_family, port, ++sequence_), true);
  } catch (const Error& e) {
    unlock();
    throw Error("routing rules for the other address family: " + std::string(e.what()));
  }
  std::string description = peer;
  if (peer_family == AF_INET) {
    if (const auto entry = find_arp_entry(proc_net_arp, peer)) {
      const int ifindex = static_cast<int>(if_nametoindex(entry->device.c_str()));
      try {
        if (ifindex == 0) throw Error(std::string(std::strerror(errno)));
        request(netlink_messages::neighbour(true, ifindex, peer, entry->mac, ++sequence_), false);
      } catch (const Error& e) {
        unlock();
        throw Error("pinning the neighbour " + peer + " to " + mac_text(entry->mac) + " on " + entry->device + ": " +
                    e.what());
      }
      pinned_ = std::make_pair(ifindex, peer);
      description += " (" + mac_text(entry->mac) + " on " + entry->device + ")";
    }
  }
  return description;
}

void PeerLock::unlock() {
  // Delete until none is left (a killed earlier run may have left some); a refusal other than "none left"
  // (e.g. EPERM) is an error: the caller must not announce the disk free while the rules stand.
  for (int family : {AF_INET, AF_INET6}) {
    for (int i = 0; i < 16 && request(netlink_messages::block_rule(false, family, 0, ++sequence_), true); ++i) {
    }
    for (int i = 0; i < 16 && request(netlink_messages::allow_rule(false, family, "", ++sequence_), true); ++i) {
    }
  }
  if (pinned_) {
    request(netlink_messages::neighbour(false, pinned_->first, pinned_->second, {}, ++sequence_), true);
    pinned_.reset();
  }
}

}  // namespace iscsi_target
