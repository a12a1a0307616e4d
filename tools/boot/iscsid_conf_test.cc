#include <catch2/catch.hpp>

#include "iscsid_conf.h"

using namespace iscsi_target;

TEST_CASE("iscsid.conf: name = value lines as iscsid reads them") {
  auto conf = parse_iscsid_conf(
      "# comment = no\n"
      "   # indented comment\n"
      "\n"
      "node.startup = onboot\n"
      "\tnode.session.auth.username=u\n"
      "node.session.auth.password =  p#not-a-comment  \r\n"
      "node.session.auth.username_in =\n"
      "node.startup = manual\n");
  CHECK(conf.size() == 3);
  CHECK(conf["node.startup"] == "manual");
  CHECK(conf["node.session.auth.username"] == "u");
  CHECK(conf["node.session.auth.password"] == "p#not-a-comment");
  CHECK(conf.count("node.session.auth.username_in") == 0);
  CHECK(conf.count("comment") == 0);
}
