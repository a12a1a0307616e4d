#include "portal_address.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <thread>

#include "error.h"

namespace iscsi_target {

int portal_address_bind_errno(const Portal& portal) {
  sockaddr_storage storage{};
  socklen_t length = 0;
  const int family = portal.ipv6 ? AF_INET6 : AF_INET;
  if (portal.ipv6) {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&storage);
    in6->sin6_family = AF_INET6;
    if (inet_pton(AF_INET6, portal.address.c_str(), &in6->sin6_addr) != 1) return EINVAL;
    if (IN6_IS_ADDR_UNSPECIFIED(&in6->sin6_addr)) return 0;
    length = sizeof(sockaddr_in6);
  } else {
    auto* in4 = reinterpret_cast<sockaddr_in*>(&storage);
    in4->sin_family = AF_INET;
    if (inet_pton(AF_INET, portal.address.c_str(), &in4->sin_addr) != 1) return EINVAL;
    if (in4->sin_addr.s_addr == htonl(INADDR_ANY)) return 0;
    length = sizeof(sockaddr_in);
  }
  // Port 0: the kernel picks a free one, so only the address decides (LIO's own bind to the portal port comes later).
  const int fd = ::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno;
  const int result = ::bind(fd, reinterpret_cast<const sockaddr*>(&storage), length) == 0 ? 0 : errno;
  ::close(fd);
  return result;
}

void wait_for_portal_address(const std::string& key, const Portal& portal, std::chrono::milliseconds wait) {
  const auto deadline = std::chrono::steady_clock::now() + wait;
  for (;;) {
    const int err = portal_address_bind_errno(portal);
    if (err == 0) return;
    if (std::chrono::steady_clock::now() >= deadline)
      throw setting_error(key, portal.configfs_name(),
                          "address not usable on this machine after " + std::to_string(wait.count() / 1000) +
                              " s (bind: " + std::strerror(err) + "; is ip= set for the cable's interface?)");
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

}  // namespace iscsi_target
