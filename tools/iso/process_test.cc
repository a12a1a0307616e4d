#include <catch2/catch.hpp>

#include "error.h"
#include "scratch_dir.h"
#include "process.h"

using namespace iscsi_target;

TEST_CASE("process: captures stdout and stderr separately, with the exit status") {
  ProcessOptions options;
  options.check = false;
  auto r = run_process({"sh", "-c", "echo out; echo err >&2; exit 3"}, options);
  CHECK(r.out == "out\n");
  CHECK(r.err == "err\n");
  CHECK(r.exit_status == 3);
}

TEST_CASE("process: argv is passed as is, without a shell") {
  auto r = run_process({"printf", "%s|", "a b", "$HOME", "'q'", ""});
  CHECK(r.out == "a b|$HOME|'q'||");
}

TEST_CASE("process: a failure names the program, the exit status and the last lines of stderr") {
  CHECK_THROWS_WITH(run_process({"sh", "-c", "echo one >&2; echo two >&2; echo three >&2; echo four >&2; exit 5"}),
                    "sh failed (exit status 5): two; three; four");
  CHECK_THROWS_WITH(run_process({"false"}), "false failed (exit status 1)");
  CHECK_THROWS_WITH(run_process({"sh", "-c", "echo only-stdout; exit 2"}), "sh failed (exit status 2): only-stdout");
  CHECK_THROWS_WITH(run_process({"sh", "-c", "kill -TERM $$"}), Catch::StartsWith("sh failed (killed by signal 15"));
}

TEST_CASE("process: a missing program is told apart from a failing one") {
  CHECK_THROWS_WITH(run_process({"no-such-program-xyz"}), "no-such-program-xyz: not found in PATH");
  CHECK(find_program("sh").ends_with("/sh"));
  CHECK(find_program("no-such-program-xyz").empty());
}

TEST_CASE("process: environment overrides and working directory reach the child; stdin is empty") {
  ScratchDir dir("process-cwd");
  ProcessOptions options;
  options.env = {{"SOURCE_DATE_EPOCH", "1700000000"}, {"TZ", "UTC"}};
  options.cwd = dir.path;
  auto r = run_process({"sh", "-c", "echo $SOURCE_DATE_EPOCH $TZ; pwd; cat"}, options);
  CHECK(r.out == "1700000000 UTC\n" + dir.path.string() + "\n");
}

TEST_CASE("process: large output on both pipes does not block") {
  auto r = run_process({"sh", "-c", "head -c 300000 /dev/zero; head -c 300000 /dev/zero >&2"});
  CHECK(r.out.size() == 300000);
  CHECK(r.err.size() == 300000);
}

TEST_CASE("process: last_lines skips empty lines and joins with '; '") {
  CHECK(last_lines("a\n\nb\r\nc  \n\n", 2) == "b; c");
  CHECK(last_lines("", 3).empty());
}
