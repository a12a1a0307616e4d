// Errors that say what was being done, to which object, and why.
#pragma once

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace iscsi_target {

// One line a user can act on: "<context>: <reason>".
struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A setting that is malformed or inconsistent: names the key and the value.
inline Error setting_error(const std::string& key, const std::string& value, const std::string& reason) {
  return Error(key + "=" + value + ": " + reason);
}

// A failed system call on a path, with the errno text.
inline Error system_error(const std::string& action, const std::string& path, int err) {
  return Error(action + " " + path + ": " + std::strerror(err));
}

}  // namespace iscsi_target
