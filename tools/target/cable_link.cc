#include "cable_link.h"

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "error.h"
#include "file_io.h"
#include "peer_lock.h"  // mac_text

namespace iscsi_target {

namespace {

constexpr uint16_t arp_request = 1;
constexpr size_t arp_length = 28;  // IPv4 over Ethernet

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

Error cable_error(const std::string& key, const CableAddress& cable, const std::string& what, int err) {
  return Error(key + "=" + cable.text() + " on " + cable.interface + ": " + what + ": " + std::strerror(err));
}

ifreq request_for(const std::string& interface) {
  ifreq request{};
  std::memcpy(request.ifr_name, interface.c_str(), std::min(interface.size(), sizeof request.ifr_name - 1));
  return request;
}

bool has_carrier(const std::string& interface) { return read_first_line("/sys/class/net/" + interface + "/carrier") == "1"; }

// RFC 5227: two probes 200 ms apart, then listen until 600 ms after the first. On a cable the other computer
// answers within milliseconds; dracut's arping waits 2 s for the same check.
std::optional<std::array<uint8_t, 6>> arp_conflict_on(const std::string& key, const CableAddress& cable, int ifindex,
                                                      const std::array<uint8_t, 6>& mac, const std::array<uint8_t, 4>& ip) {
  Fd sock(::socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, htons(ETH_P_ARP)));
  if (sock.get() < 0) throw cable_error(key, cable, "ARP socket", errno);
  sockaddr_ll link{};
  link.sll_family = AF_PACKET;
  link.sll_protocol = htons(ETH_P_ARP);
  link.sll_ifindex = ifindex;
  if (::bind(sock.get(), reinterpret_cast<sockaddr*>(&link), sizeof link) != 0) throw cable_error(key, cable, "ARP bind", errno);
  sockaddr_ll broadcast = link;
  broadcast.sll_halen = 6;
  std::memset(broadcast.sll_addr, 0xff, 6);
  const auto probe = arp_probe(mac, ip);
  const auto start = std::chrono::steady_clock::now();
  int sent = 0;
  for (;;) {
    const auto elapsed = std::chrono::steady_clock::now() - start;
    if (sent < 2 && elapsed >= std::chrono::milliseconds(200) * sent) {
      if (::sendto(sock.get(), probe.data(), probe.size(), 0, reinterpret_cast<sockaddr*>(&broadcast), sizeof broadcast) < 0)
        throw cable_error(key, cable, "ARP probe", errno);
      ++sent;
    }
    const auto left = std::chrono::milliseconds(600) - std::chrono::duration_cast<std::chrono::milliseconds>(elapsed);
    if (left.count() <= 0) return std::nullopt;
    pollfd p{sock.get(), POLLIN, 0};
    const int timeout = static_cast<int>(std::min<long>(left.count(), sent < 2 ? 200 : left.count()));
    if (::poll(&p, 1, timeout) <= 0) continue;
    uint8_t buffer[128];
    const ssize_t n = ::recv(sock.get(), buffer, sizeof buffer, 0);
    if (n <= 0) continue;
    if (auto packet = parse_arp(buffer, static_cast<size_t>(n)); packet && arp_conflict(*packet, ip, mac))
      return packet->sender_mac;
  }
}

}  // namespace

std::vector<uint8_t> arp_probe(const std::array<uint8_t, 6>& mac, const std::array<uint8_t, 4>& address) {
  std::vector<uint8_t> p = {0, 1, 0x08, 0x00, 6, 4, 0, arp_request};  // Ethernet, IPv4, request
  p.insert(p.end(), mac.begin(), mac.end());
  p.insert(p.end(), 4, 0);  // sender IP 0.0.0.0: a probe claims nothing yet
  p.insert(p.end(), 6, 0);
  p.insert(p.end(), address.begin(), address.end());
  return p;
}

std::optional<ArpPacket> parse_arp(const uint8_t* data, size_t length) {
  if (length < arp_length || data[0] != 0 || data[1] != 1 || data[2] != 0x08 || data[3] != 0x00 || data[4] != 6 || data[5] != 4)
    return std::nullopt;
  ArpPacket packet;
  packet.operation = static_cast<uint16_t>(data[6] << 8 | data[7]);
  std::memcpy(packet.sender_mac.data(), data + 8, 6);
  std::memcpy(packet.sender_ip.data(), data + 14, 4);
  std::memcpy(packet.target_ip.data(), data + 24, 4);
  return packet;
}

bool arp_conflict(const ArpPacket& packet, const std::array<uint8_t, 4>& address, const std::array<uint8_t, 6>& own_mac) {
  if (packet.sender_mac == own_mac) return false;  // our own probe, looped back
  if (packet.sender_ip == address) return true;    // it has the address
  constexpr std::array<uint8_t, 4> none{};
  return packet.operation == arp_request && packet.sender_ip == none && packet.target_ip == address;  // it probes too
}

std::string bring_up_cable(const std::string& key, const CableAddress& cable, std::chrono::milliseconds wait) {
  const auto deadline = std::chrono::steady_clock::now() + wait;
  unsigned ifindex = 0;
  while ((ifindex = ::if_nametoindex(cable.interface.c_str())) == 0) {
    if (std::chrono::steady_clock::now() >= deadline)
      throw Error(key + "=" + cable.text() + ": no interface " + cable.interface + " after " +
                  std::to_string(wait.count() / 1000) + " s (is the cable's NIC named so, e.g. with ifname=" +
                  cable.interface + ":MAC?)");
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }

  Fd sock(::socket(cable.ipv6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (sock.get() < 0) throw cable_error(key, cable, "socket", errno);
  ifreq flags = request_for(cable.interface);
  if (::ioctl(sock.get(), SIOCGIFFLAGS, &flags) != 0) throw cable_error(key, cable, "reading the link flags", errno);
  if (!(flags.ifr_flags & IFF_UP)) {
    flags.ifr_flags = static_cast<short>(flags.ifr_flags | IFF_UP);
    if (::ioctl(sock.get(), SIOCSIFFLAGS, &flags) != 0) throw cable_error(key, cable, "setting the link up", errno);
  }

  if (cable.ipv6) {
    // The kernel runs IPv6's duplicate address detection itself; the portal waits until the address is usable.
    struct {
      in6_addr address;
      uint32_t prefix_length;
      int ifindex;
    } request6{};  // struct in6_ifreq of <linux/ipv6.h>
    inet_pton(AF_INET6, cable.address.c_str(), &request6.address);
    request6.prefix_length = static_cast<uint32_t>(cable.prefix_length);
    request6.ifindex = static_cast<int>(ifindex);
    if (::ioctl(sock.get(), SIOCSIFADDR, &request6) != 0 && errno != EEXIST) throw cable_error(key, cable, "adding the address", errno);
    return cable.text() + " on " + cable.interface;
  }

  in_addr address{};
  inet_pton(AF_INET, cable.address.c_str(), &address);
  ifreq current = request_for(cable.interface);
  if (::ioctl(sock.get(), SIOCGIFADDR, &current) == 0) {
    // SIOCSIFADDR would replace it: an address set by someone else (dracut's ip= for the same NIC) stays.
    const in_addr have = reinterpret_cast<sockaddr_in*>(&current.ifr_addr)->sin_addr;
    if (have.s_addr == address.s_addr) return cable.text() + " on " + cable.interface + " (already set)";
    char text[INET_ADDRSTRLEN] = "?";
    inet_ntop(AF_INET, &have, text, sizeof text);
    throw Error(key + "=" + cable.text() + ": " + cable.interface + " already has " + text +
                " (from ip= for the same interface? give one of them)");
  }

  std::string note;
  const auto carrier_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  while (!has_carrier(cable.interface) && std::chrono::steady_clock::now() < carrier_deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  if (has_carrier(cable.interface)) {
    ifreq hardware = request_for(cable.interface);
    if (::ioctl(sock.get(), SIOCGIFHWADDR, &hardware) != 0) throw cable_error(key, cable, "reading the MAC address", errno);
    std::array<uint8_t, 6> mac{};
    std::memcpy(mac.data(), hardware.ifr_hwaddr.sa_data, 6);
    std::array<uint8_t, 4> ip{};
    std::memcpy(ip.data(), &address.s_addr, 4);
    if (auto other = arp_conflict_on(key, cable, static_cast<int>(ifindex), mac, ip))
      throw Error(key + "=" + cable.text() + " on " + cable.interface + ": the address is in use by " + mac_text(*other) +
                  " on this link (wrong network?); not set");
    note = ", no other host has it";
  } else {
    note = ", no carrier yet: plug the cable in any time";
  }

  ifreq set = request_for(cable.interface);
  auto* in = reinterpret_cast<sockaddr_in*>(&set.ifr_addr);
  in->sin_family = AF_INET;
  in->sin_addr = address;
  if (::ioctl(sock.get(), SIOCSIFADDR, &set) != 0) throw cable_error(key, cable, "adding the address", errno);
  const uint32_t mask = htonl(cable.prefix_length == 32 ? 0xffffffffU : ~(0xffffffffU >> cable.prefix_length));
  in->sin_addr.s_addr = mask;
  if (::ioctl(sock.get(), SIOCSIFNETMASK, &set) != 0) throw cable_error(key, cable, "setting the netmask", errno);
  in->sin_addr.s_addr = address.s_addr | ~mask;
  if (::ioctl(sock.get(), SIOCSIFBRDADDR, &set) != 0) throw cable_error(key, cable, "setting the broadcast address", errno);
  return cable.text() + " on " + cable.interface + note;
}

}  // namespace iscsi_target
