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

ChapCredentials parse_chap_secrets(const std::string& text, const std::string& source) {
  ChapCredentials chap;
  std::istringstream in(text);
  int number = 0;
  for (std::string line; std::getline(in, line);) {
    ++number;
    if (line.empty() || line[0] == '#') continue;
    auto eq = line.find('=');
    const std::string key = line.substr(0, eq), value = eq == std::string::npos ? "" : line.substr(eq + 1);
    const std::string where = source + ":" + std::to_string(number);
    if (eq == std::string::npos || value.empty()) throw Error(where + ": expected key=value");
    if (value.size() > max_chap_length) throw Error(where + ": " + key + " longer than 255 characters (LIO's limit)");
    if (key == "username") chap.userid = value;
    else if (key == "password") chap.password = value;
    else if (key == "mutual_username") chap.mutual_userid = value;
    else if (key == "mutual_password") chap.mutual_password = value;
    else throw Error(where + ": unknown key '" + key + "'");
  }
  if (chap.userid.empty() || chap.password.empty()) throw Error(source + ": needs username= and password=");
  if (chap.mutual_userid.empty() != chap.mutual_password.empty())
    throw Error(source + ": mutual_username= and mutual_password= go together");
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
