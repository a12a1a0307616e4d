#include "cmdline.h"

#include <algorithm>

#include "error.h"
#include "file_io.h"

namespace iscsi_target {
namespace fs = std::filesystem;

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

CmdlineArg split_word(const std::string& word) {
  auto eq = word.find('=');
  if (eq == std::string::npos) return {word, std::nullopt};
  return {word.substr(0, eq), word.substr(eq + 1)};
}

void append_file(std::vector<CmdlineArg>& out, const fs::path& file) {
  auto args = parse_cmdline(read_file(file));
  out.insert(out.end(), args.begin(), args.end());
}

}  // namespace

std::vector<CmdlineArg> parse_cmdline(std::string_view text) {
  std::vector<CmdlineArg> args;
  std::string word;
  bool in_word = false, in_quotes = false, at_line_start = true;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (at_line_start && !in_quotes && c == '#') {  // comment line in a cmdline.d file
      while (i < text.size() && text[i] != '\n') ++i;
      continue;
    }
    at_line_start = (c == '\n') && !in_quotes;
    if (c == '"') {
      in_quotes = !in_quotes;
      in_word = true;
      continue;
    }
    if (is_space(c) && !in_quotes) {
      if (in_word) args.push_back(split_word(word));
      word.clear();
      in_word = false;
      continue;
    }
    word += c;
    in_word = true;
  }
  if (in_word) args.push_back(split_word(word));
  return args;
}

Cmdline Cmdline::load(const fs::path& etc_dir, const fs::path& proc_cmdline,
                      const std::optional<std::string>& proc_cmdline_text) {
  std::vector<CmdlineArg> args;
  std::error_code ec;
  std::vector<fs::path> confs;
  for (const auto& entry : fs::directory_iterator(etc_dir / "cmdline.d", ec))
    if (entry.path().extension() == ".conf") confs.push_back(entry.path());
  std::sort(confs.begin(), confs.end());
  for (const auto& conf : confs) append_file(args, conf);
  if (fs::exists(etc_dir / "cmdline")) append_file(args, etc_dir / "cmdline");
  if (proc_cmdline_text) {
    auto extra = parse_cmdline(*proc_cmdline_text);
    args.insert(args.end(), extra.begin(), extra.end());
  } else if (fs::exists(proc_cmdline)) {
    append_file(args, proc_cmdline);
  }
  return Cmdline(std::move(args));
}

bool Cmdline::append_file_if_exists(const fs::path& file) {
  if (!fs::exists(file)) return false;
  append_file(args_, file);
  return true;
}

std::optional<std::string> Cmdline::get(std::string_view key) const {
  std::optional<std::string> found;
  for (const auto& arg : args_)
    if (arg.key == key) found = arg.value.value_or("1");
  return found;
}

std::vector<std::string> Cmdline::get_all(std::string_view key) const {
  std::vector<std::string> values;
  for (const auto& arg : args_)
    if (arg.key == key) values.push_back(arg.value.value_or("1"));
  return values;
}

}  // namespace iscsi_target
