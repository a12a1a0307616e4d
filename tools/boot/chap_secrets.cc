#include "chap_secrets.h"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <iostream>
#include <sstream>

#include "error.h"
#include "file_io.h"

namespace iscsi_target {
namespace fs = std::filesystem;

std::string random_secret() {
  static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  unsigned char bytes[24];
  size_t got = 0;
  while (got < sizeof bytes) {
    ssize_t n = getrandom(bytes + got, sizeof bytes - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw system_error("cannot read random bytes from", "getrandom(2)", errno);
    got += static_cast<size_t>(n);
  }
  std::string out;
  for (unsigned char b : bytes) out += alphabet[b & 63];  // 6 bits per character, 64 symbols: no bias
  return out;
}

std::string chap_secrets_text(const ChapCredentials& chap) {
  std::string text = "# CHAP credentials for iSCSI Target mode, generated once. Root only (0600).\n"
                     "# Delete this file to generate new ones (then rebuild: kernel-install add).\n";
  text += "username=" + chap.userid + "\npassword=" + chap.password + "\n";
  if (chap.mutual()) text += "mutual_username=" + chap.mutual_userid + "\nmutual_password=" + chap.mutual_password + "\n";
  return text;
}

namespace {

// Non-secret text for a message: as is when every byte is printable ASCII, else only its length, so a
// message stays one line.
std::string printable_or_hidden(const std::string& text) {
  for (unsigned char c : text)
    if (c < ' ' || c >= 0x7f) return hidden_secret(text);
  return text;
}

}  // namespace

ChapCredentials parse_chap_secrets(const std::string& text, const std::string& source) {
  ChapCredentials chap;
  std::istringstream in(text);
  int number = 0;
  for (std::string line; std::getline(in, line);) {
    ++number;
    if (line.empty() || line[0] == '#') continue;
    if (line == "\r") throw Error(source + ":" + std::to_string(number) + ": carriage return: the file has Windows (CRLF) line endings");
    auto eq = line.find('=');
    const std::string key = line.substr(0, eq), value = eq == std::string::npos ? "" : line.substr(eq + 1);
    const std::string where = source + ":" + std::to_string(number);
    if (eq == std::string::npos || value.empty()) throw Error(where + ": expected key=value");
    std::string* slot = key == "username"          ? &chap.userid
                        : key == "password"        ? &chap.password
                        : key == "mutual_username" ? &chap.mutual_userid
                        : key == "mutual_password" ? &chap.mutual_password
                                                   : nullptr;
    if (!slot) throw Error(where + ": unknown key '" + printable_or_hidden(key) + "'");
    // The same check as the target's (settings.h), so a value that passes here also logs in there.
    if (auto problem = chap_value_problem(value)) {
      const bool secret = key.ends_with("password");
      throw Error(where + ": " + key + "=" + (secret ? hidden_secret(value) : printable_or_hidden(value)) + ": " + *problem);
    }
    *slot = value;
  }
  if (chap.userid.empty() || chap.password.empty()) throw Error(source + ": needs username= and password=");
  if (chap.mutual_userid.empty() != chap.mutual_password.empty())
    throw Error(source + ": mutual_username= and mutual_password= go together");
  // RFC 3720 §8.2.1, refused by the target too: one secret must not authenticate both sides.
  if (chap.mutual() && chap.mutual_password == chap.password) throw Error(source + ": mutual_password must differ from password");
  return chap;
}

ChapCredentials load_or_create_chap_secrets(const fs::path& file, bool mutual, const std::string& warn_prefix) {
  if (fs::exists(file)) {
    struct stat st {};
    if (::stat(file.c_str(), &st) == 0 && (st.st_mode & 077)) {
      std::cerr << warn_prefix << file.string() << " was readable by others; now 0600" << std::endl;
      ::chmod(file.c_str(), 0600);
    }
    return parse_chap_secrets(read_file(file), file.string());
  }
  ChapCredentials chap{"iscsi-initiator", random_secret(), "", ""};
  if (mutual) chap.mutual_userid = "iscsi-target", chap.mutual_password = random_secret();
  std::error_code ec;
  fs::create_directories(file.parent_path(), ec);
  if (ec) throw Error("cannot create " + file.parent_path().string() + ": " + ec.message());
  // keep: two installs racing must not end with two different secrets on the two sides.
  write_file_atomic(file, chap_secrets_text(chap), 0600, IfExists::keep);
  return chap;
}

}  // namespace iscsi_target
