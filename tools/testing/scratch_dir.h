// A scratch directory removed at scope exit, for fake configfs and sysfs trees.
#pragma once

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <string>

struct ScratchDir {
  std::filesystem::path path;
  explicit ScratchDir(const std::string& name) {
    static std::atomic<int> counter{0};
    path = std::filesystem::temp_directory_path() /
           (name + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};
