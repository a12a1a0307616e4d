// What the user asked for, validated: the target mode's whole configuration as plain data.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "cable_address.h"
#include "cmdline.h"
#include "portal.h"

namespace iscsi_target {

// Command-line keys. The rd.iscsi.* ones are shared with dracut's initiator and the shell original.
namespace keys {
inline constexpr const char* dev = "rd.iscsi_target.dev";
inline constexpr const char* iqn = "rd.iscsi_target.iqn";
inline constexpr const char* initiator = "rd.iscsi.initiator";
inline constexpr const char* extra_initiator = "rd.iscsi_target.initiator";
inline constexpr const char* username = "rd.iscsi.username";
inline constexpr const char* password = "rd.iscsi.password";
inline constexpr const char* mutual_username = "rd.iscsi.in.username";
inline constexpr const char* mutual_password = "rd.iscsi.in.password";
inline constexpr const char* portal = "rd.iscsi_target.portal";
inline constexpr const char* wait = "rd.iscsi_target.wait";
inline constexpr const char* tuning = "rd.iscsi_target.tuning";
inline constexpr const char* auth = "rd.iscsi_target.auth";  // "none": the explicit opt-out of CHAP
inline constexpr const char* read_only = "rd.iscsi_target.read_only";
inline constexpr const char* address = "rd.iscsi_target.address";      // ADDR/PREFIX the target sets itself
inline constexpr const char* interface = "rd.iscsi_target.interface";  // on this interface
}  // namespace keys

struct ChapCredentials {
  std::string userid, password;                // the initiator proves itself with these
  std::string mutual_userid, mutual_password;  // the target proves itself with these (mutual CHAP)
  bool enabled() const { return !userid.empty(); }
  bool mutual() const { return !mutual_userid.empty(); }
  bool operator==(const ChapCredentials&) const = default;
};

enum class Tuning { tuned, lio_defaults };

struct TargetSettings {
  std::string iqn;
  std::vector<std::string> device_specs;  // LUN 0, 1, 2 … in this order
  std::vector<std::string> initiator_iqns;
  ChapCredentials chap;
  Portal portal{"0.0.0.0", 3260, false};
  int device_wait_seconds = 30;
  Tuning tuning = Tuning::tuned;
  // rd.iscsi_target.auth=none: serve without CHAP, the ACL by initiator IQN only. That IQN is no secret (it is
  // in the world-readable boot entry), so anyone on the cable who knows it can attach the disks.
  bool without_authentication = false;
  bool read_only = false;  // every LUN write-protected by LIO (backups, forensics)
  std::optional<CableAddress> cable;  // the address start sets on the cable itself (else dracut's ip= does)
  bool operator==(const TargetSettings&) const = default;
};

// True when the command line asks for target mode (any rd.iscsi_target.dev).
bool target_mode_requested(const Cmdline& cmdline);

// Reads and validates every target key; throws Error naming the first bad key and its value
// (secret values are never echoed). CHAP is required: without rd.iscsi.username/password the error names
// the missing key and the opt-out, rd.iscsi_target.auth=none (which with CHAP given is an error too).
TargetSettings settings_from_cmdline(const Cmdline& cmdline, const std::string& default_iqn);

// LIO keeps CHAP names and secrets in 256-byte buffers with a terminating NUL.
inline constexpr size_t max_chap_length = 255;

// Why a CHAP name or secret could not travel as the same bytes to LIO (configfs), to the target's command-line
// reader and to the initiator's iscsid.conf, or nullopt when it can: 1 to 255 printable ASCII characters,
// no space, no '"' (the command-line reader drops it) and no '\' (escapes differ between the readers).
// The reason never contains the value.
std::optional<std::string> chap_value_problem(const std::string& value);
// How a secret is named in messages: "<hidden 9 characters>".
std::string hidden_secret(const std::string& value);

// The writers, inverse of settings_from_cmdline (the boot side uses them; both sides share this contract).
// The non-secret keys as command-line words: rd.iscsi_target.iqn, rd.iscsi.initiator (further initiators as
// rd.iscsi_target.initiator), rd.iscsi_target.portal, rd.iscsi_target.dev in LUN order, and
// rd.iscsi_target.wait / rd.iscsi_target.tuning / rd.iscsi_target.auth / rd.iscsi_target.read_only=1 when not the
// defaults, rd.iscsi_target.address + rd.iscsi_target.interface when set. CHAP is left out: it is secret.
// A value that is not one command-line word (empty, spaces, quotes, control characters) throws Error naming
// the key; values are not otherwise validated (settings_from_cmdline does that).
std::string target_cmdline_text(const TargetSettings& settings);
// /etc/iscsi-target/target.conf, read by the target after its command line: a comment header, then
// rd.iscsi.username/password and, for mutual CHAP, rd.iscsi.in.username/password, one per line.
// Throws Error naming the key (never the secret) for a value chap_value_problem refuses.
std::string target_conf_text(const ChapCredentials& chap);

}  // namespace iscsi_target
