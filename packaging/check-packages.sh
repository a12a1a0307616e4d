#!/bin/bash
# packaging/check-packages.sh BUILD_DIR — cpack's .deb and .rpm of a built tree hold every file where dracut,
# kernel-install, Debian's kernel hooks and GRUB look for it (nothing under /usr/local), with the settings
# file marked as a configuration file in both. One PASS/FAIL line per check; exit 1 on any failure.
set -euo pipefail
build=$(cd "${1:?usage: $0 BUILD_DIR}" && pwd)
out=$(mktemp -d "${TMPDIR:-/tmp}/iscsi-target-packages.XXXXXX")
trap 'rm -rf "$out"' EXIT
failed=0
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; failed=1; }

if ! (cd "$build" && cpack -G "DEB;RPM" -B "$out") >"$out/cpack.log" 2>&1; then
    tail -n 30 "$out/cpack.log"
    echo "FAIL: cpack -G DEB;RPM in $build"
    exit 1
fi
debs=("$out"/*.deb) rpms=("$out"/*.rpm)
[[ -e ${debs[0]} && -e ${rpms[0]} ]] || { echo "FAIL: cpack made no .deb and .rpm in $out"; exit 1; }
dpkg-deb -c "${debs[0]}" | awk '$1 !~ /^d/ { print $NF }' | sed 's|^\./|/|' | sort >"$out/deb.files"
rpm -qlp "${rpms[0]}" 2>/dev/null | sort >"$out/rpm.files"

expected=(
    /usr/sbin/iscsi-target /usr/sbin/iscsi-target-boot
    /usr/lib/dracut/modules.d/95iscsi-target/module-setup.sh /usr/lib/dracut/modules.d/95iscsi-target/parse-iscsi-target.sh
    /usr/lib/dracut/modules.d/95iscsi-target/iscsi-target-hold.sh /usr/lib/dracut/modules.d/95iscsi-target/iscsi-target-generator.sh
    /usr/lib/dracut/modules.d/95iscsi-target/iscsi-target-prepare.sh
    /usr/lib/dracut/modules.d/95iscsi-target/iscsi-target.target /usr/lib/dracut/modules.d/95iscsi-target/iscsi-target.service
    /usr/lib/dracut/modules.d/95iscsi-target/iscsi-target-shell.service
    /usr/lib/dracut/dracut.conf.d/90-iscsi-target.conf /usr/lib/kernel/install.d/95-iscsi-target.install
    /etc/kernel/postinst.d/iscsi-target /etc/kernel/postrm.d/iscsi-target /etc/grub.d/42_iscsi-target
    /etc/iscsi-target/iscsi-target.conf
)
for kind in deb rpm; do
    missing=$(printf '%s\n' "${expected[@]}" | sort | comm -23 - "$out/$kind.files" | tr '\n' ' ')
    if [[ -z $missing ]]; then pass "$kind: all ${#expected[@]} files where the system looks for them"; else fail "$kind: missing $missing"; fi
    stray=$(grep -E '^/usr/local|^/opt' "$out/$kind.files" | tr '\n' ' ' || true)
    if [[ -z $stray ]]; then pass "$kind: nothing under /usr/local or /opt"; else fail "$kind: stray files $stray"; fi
done
# Listed into variables first: `grep -q` quitting early would SIGPIPE the lister and, with pipefail, fail.
deb_conffiles=$(dpkg-deb -I "${debs[0]}" conffiles 2>/dev/null || true)
rpm_configs=$(rpm -qcp "${rpms[0]}" 2>/dev/null || true)
if grep -qx /etc/iscsi-target/iscsi-target.conf <<<"$deb_conffiles"; then
    pass "deb: /etc/iscsi-target/iscsi-target.conf is a conffile"
else
    fail "deb: /etc/iscsi-target/iscsi-target.conf is not a conffile"
fi
if grep -qx /etc/iscsi-target/iscsi-target.conf <<<"$rpm_configs"; then
    pass "rpm: /etc/iscsi-target/iscsi-target.conf is %config"
else
    fail "rpm: /etc/iscsi-target/iscsi-target.conf is not %config"
fi
modes=$(dpkg-deb -c "${debs[0]}" | awk '$NF ~ /(sbin\/iscsi-target(-boot)?|95-iscsi-target\.install|postinst\.d\/iscsi-target|42_iscsi-target)$/ { print $1 }' | sort -u | tr '\n' ' ')
if [[ $modes == "-rwxr-xr-x " ]]; then pass "deb: tools and hooks are executable"; else fail "deb: tool/hook modes: $modes"; fi
deps=$(dpkg-deb -f "${debs[0]}" Depends)
if [[ $deps == *"dracut (>= 059)"* && $deps == *open-iscsi* && $deps == *xorriso* ]]; then pass "deb: depends on dracut, open-iscsi, xorriso ($deps)"; else fail "deb: Depends: $deps"; fi
exit "$failed"
