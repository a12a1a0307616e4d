// `iscsi-target guard`: runs beside the target in target mode and keeps a second computer off the disk while
// one computer is logged in (target/peer_lock.h tells why and how).
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "acl_sessions.h"
#include "commands.h"
#include "configfs.h"
#include "error.h"
#include "file_io.h"
#include "peer_lock.h"

namespace iscsi_target {
namespace {

std::atomic<bool> stop_requested{false};
extern "C" void request_stop(int /*signal*/) { stop_requested = true; }

// Fast enough that a computer that has just logged in is locked in before it could mount anything (a mount
// takes seconds after the login: SCSI scan, partition table, udev), slow enough to cost nothing.
constexpr auto poll_interval = std::chrono::milliseconds(200);

}  // namespace

int cmd_guard(const Options& o) {
  struct sigaction action {};
  action.sa_handler = request_stop;
  for (int signal : {SIGTERM, SIGINT, SIGHUP}) sigaction(signal, &action, nullptr);

  const ConfigFs configfs(o.configfs_root);
  PeerLock lock;
  try {
    lock.unlock();  // what a killed earlier run left
  } catch (const Error& e) {
    print_error("guard: cannot remove the rules an earlier run left: " + std::string(e.what()));
  }
  std::optional<std::string> locked;
  print_info("guard: while a computer is logged in, the target answers that computer only");
  while (!stop_requested) {
    std::vector<std::string> peers;
    std::string initiator;
    for (const auto& session : read_acl_sessions(configfs)) {
      if (session.peer_address.empty()) continue;
      if (peers.empty()) initiator = session.initiator_iqn;
      peers.push_back(session.peer_address);
    }
    const auto next = next_locked_peer(locked, peers);
    if (next != locked) {
      if (next) {
        try {
          const std::string who = lock.lock(*next, portal_ports(read_portal_names(configfs)), read_text_or_empty("/proc/net/arp"));
          print_info("disk in use by " + who + " as " + initiator +
                     ": no other computer gets an answer until it logs out or its connection times out");
        } catch (const Error& e) {
          print_error("cannot keep other computers off while " + *next + " uses the disk: " + e.what());
        }
      } else {
        try {
          lock.unlock();
          print_info(*locked + " logged out or its connection timed out: another computer may log in now");
        } catch (const Error& e) {
          print_error("guard: " + *locked + " logged out, but its lock could not be removed: " + e.what());
        }
      }
      locked = next;
    }
    for (auto waited = std::chrono::milliseconds(0); waited < poll_interval && !stop_requested;
         waited += std::chrono::milliseconds(50))
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  lock.unlock();
  return 0;
}

}  // namespace iscsi_target
