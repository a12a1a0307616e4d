// Running another program with an argv vector (no shell), capturing what it prints.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace iscsi_target {

struct ProcessOptions {
  // Added to (or replacing in) this process's environment, e.g. {"SOURCE_DATE_EPOCH", "1700000000"}.
  std::map<std::string, std::string> env;
  std::filesystem::path cwd;  // empty: this process's working directory
  bool check = true;          // throw Error unless the program exits with status 0
};

struct ProcessResult {
  int exit_status = 0;  // 0..255; 128+N when killed by signal N (as a shell reports it)
  std::string out;
  std::string err;
};

// Runs argv[0] (looked up in PATH) with stdin from /dev/null. Throws Error when it cannot be started
// ("xorriso: not found in PATH") and, with check, when it fails: "xorriso failed (exit status 5): <the last
// lines it wrote to stderr>".
ProcessResult run_process(const std::vector<std::string>& argv, const ProcessOptions& options = {});

// The full path of a program found in PATH, or empty.
std::string find_program(const std::string& name);

// The last `count` non-empty lines of text, joined with "; " (for one-line error messages).
std::string last_lines(const std::string& text, size_t count);

}  // namespace iscsi_target
