// open-iscsi's /etc/iscsi/iscsid.conf, read back the way iscsid reads it, so the boot side can check that the
// initiator's CHAP values arrive as the bytes it meant.
#pragma once

#include <map>
#include <string>

namespace iscsi_target {

// "name = value" lines: leading blanks skipped, '#' starts a comment line, the name ends at a blank or '=',
// blanks and '=' after it are skipped, the value is the rest of the line without trailing blanks (a '#'
// inside it is part of it). Lines without a value are ignored. For a name given twice the last line wins.
std::map<std::string, std::string> parse_iscsid_conf(const std::string& text);

}  // namespace iscsi_target
