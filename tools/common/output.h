// Writing to standard output and standard error without iostreams.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace iscsi_target {

// The whole text in write(2) calls on fd 1 / fd 2, nothing buffered: a line is out before a fork, an exec or a
// poweroff, as std::endl made sure. Errors are dropped as an ostream drops them (a closed pipe still raises
// SIGPIPE). Why not <iostream>: it costs the initramfs binary every locale facet (tools/README.md, size).
void write_stdout(std::string_view text);
void write_stderr(std::string_view text);

// One line typed on fd 0, without its newline; nullopt at end of input with nothing typed (std::getline).
// Reads a byte at a time so that nothing after the newline is taken from a terminal or pipe shared with others.
std::optional<std::string> read_stdin_line();

}  // namespace iscsi_target
