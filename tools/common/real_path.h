// A path with every symlink resolved, through realpath(3).
#pragma once

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>

namespace iscsi_target {

// nullopt (errno in err) when the path or a part of it does not exist. What std::filesystem::canonical does,
// without its ≈ 6 KB in the initramfs binary (tools/README.md, size).
inline std::optional<std::filesystem::path> real_path(const std::filesystem::path& path, int& err) {
  const std::unique_ptr<char, decltype(&std::free)> real(::realpath(path.c_str(), nullptr), &std::free);
  err = real ? 0 : errno;
  if (!real) return std::nullopt;
  return std::filesystem::path(real.get());
}

}  // namespace iscsi_target
