// Where the kernel's and the distribution's trees live; tests point them at fake trees.
#pragma once

#include <filesystem>

namespace iscsi_target {

struct SystemRoots {
  std::filesystem::path etc = "/etc";
  std::filesystem::path usr_lib = "/usr/lib";
  std::filesystem::path sys = "/sys";
  std::filesystem::path dev = "/dev";
  std::filesystem::path proc = "/proc";

  std::filesystem::path mountinfo() const { return proc / "self/mountinfo"; }
  std::filesystem::path swaps() const { return proc / "swaps"; }
};

}  // namespace iscsi_target
