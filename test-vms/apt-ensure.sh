#!/bin/bash
# test-vms/apt-ensure.sh NAME PACKAGE... — install the Debian packages that are missing (none: do nothing).
# Used by install-deps.sh, deps.sh and iso-deps.sh; NAME prefixes its messages.
set -euo pipefail
name=$1; shift
missing=()
for p in "$@"; do
    [[ $(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null) == installed ]] || missing+=("$p")
done
((${#missing[@]} > 0)) || exit 0
echo "$name: installing ${missing[*]}"
if [[ $(id -u) -ne 0 ]]; then
    echo "$name: need root to install ${missing[*]}" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# Other jobs on the machine may hold the dpkg lock for a while: wait for it instead of failing.
apt-get -o DPkg::Lock::Timeout=600 update -qq
apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}"
