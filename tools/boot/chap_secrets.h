// CHAP credentials for both directions, generated once and kept in a root-only file
// (/etc/iscsi-target/chap-secrets, mode 0600). Never written to boot entries or logs.
#pragma once

#include <filesystem>
#include <string>

#include "settings.h"

namespace iscsi_target {

// 24 characters from a 64-symbol alphabet: 144 random bits from getrandom(2).
std::string random_secret();

// Loads the file, or creates it with fresh credentials. A file readable by others is tightened to 0600.
// Throws Error naming the file on malformed content or I/O failure.
ChapCredentials load_or_create_chap_secrets(const std::filesystem::path& file, bool mutual, const std::string& warn_prefix);

std::string chap_secrets_text(const ChapCredentials& chap);
ChapCredentials parse_chap_secrets(const std::string& text, const std::string& source);

}  // namespace iscsi_target
