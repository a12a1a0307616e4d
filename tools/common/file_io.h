// Reading and writing whole files: the one reader and the one writer every tool uses.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>

namespace iscsi_target {

// The reader under the ones below: the bytes read until end of file; nullopt when open(2) fails (errno in err).
// A read(2) error after the open sets err and returns what was read until then, as an ifstream would (a
// configfs or sysfs attribute whose show() fails reads as what it gave). err is 0 on a full read.
std::optional<std::string> read_file_raw(const std::filesystem::path& file, int& err);

// The whole file. Throws Error "cannot read FILE: <errno text>" (a directory in its place: "Is a directory").
std::string read_file(const std::filesystem::path& file);

// nullopt when the file does not exist; any other failure throws as read_file does (a config the user
// wrote but that cannot be read must not be dropped without a word).
std::optional<std::string> read_file_if_exists(const std::filesystem::path& file);

// Best effort for what the kernel or the OS may lack (/proc, /sys, os-release): empty when unreadable.
std::string read_text_or_empty(const std::filesystem::path& file);

// The first line, trimmed; empty when missing or unreadable (sysfs attributes, machine-id).
std::string read_first_line(const std::filesystem::path& file);

enum class IfExists { replace, keep };

// Writes the file so that a reader, a crash or a power cut sees either the old file or the whole new one:
// a temporary file beside it (O_EXCL, never following a link), its mode set before any content is written
// (secrets are never readable by others, not even for a moment), fsync, rename over the old name (a symlink
// there is replaced, not followed), fsync of the directory. IfExists::keep fails with EEXIST instead of
// replacing. Afterwards the mode on disk is checked: a file system that ignores chmod (FAT mounted with
// fmask=0022) would leave a secret readable by others; then the file is removed and that is an Error naming it.
// Throws Error naming the file and errno; on failure nothing is left behind but the old file, if any.
void write_file_atomic(const std::filesystem::path& file, const std::string& content, mode_t mode,
                       IfExists if_exists = IfExists::replace);

}  // namespace iscsi_target
