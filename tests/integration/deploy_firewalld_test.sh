#!/usr/bin/env bash
# deploy/firewalld/picket.xml: parsed by firewalld's own service reader when firewalld's
# Python package is installed (what `firewall-cmd --reload` and `--check-config` use);
# always: well-formed XML (xmllint) with the structure firewalld expects, exactly ports
# 7700/tcp (peers) and 7701/tcp (HTTP), and no admin port 7702.
#
#   deploy_firewalld_test.sh SOURCE_DIR
# Exit 0 pass, 1 fail, 77 skipped (neither xmllint nor firewalld is installed).
set -euo pipefail
src=$1
xml="$src/deploy/firewalld/picket.xml"
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
checked=0

if command -v xmllint >/dev/null 2>&1; then
    checked=1
    xmllint --noout "$xml" || fail "xmllint: not well-formed"
    q() { xmllint --xpath "$1" "$xml" 2>/dev/null || true; }
    [ "$(q 'name(/*)')" = service ] || fail "root element is not <service>"
    [ "$(q 'string(/service/short)')" = picket ] || fail "<short> is not 'picket'"
    [ -n "$(q 'string(/service/description)')" ] || fail "no <description>"
    [ "$(q 'count(/service/port)')" = 2 ] || fail "expected exactly 2 <port> elements"
    [ "$(q 'count(/service/port[@protocol="tcp" and @port="7700"])')" = 1 ] || fail "no 7700/tcp"
    [ "$(q 'count(/service/port[@protocol="tcp" and @port="7701"])')" = 1 ] || fail "no 7701/tcp"
    [ "$(q 'count(//*[@port="7702"])')" = 0 ] || fail "the admin port 7702 must not be opened"
    # Only elements firewalld's service format knows.
    others=$(q 'count(/service/*[not(self::short or self::description or self::port or self::protocol or self::source-port or self::module or self::destination or self::include or self::helper)])')
    [ "$others" = 0 ] || fail "$others element(s) unknown to firewalld's service format"
    echo "ok: xmllint structure checks"
fi

# firewalld's own parser (Debian: package firewalld, module python3-firewall).
fw_python=""
for py in /usr/bin/python3 python3; do
    if command -v "$py" >/dev/null 2>&1 && "$py" -c 'import firewall.core.io.service' 2>/dev/null; then
        fw_python=$py
        break
    fi
done
if [ -n "$fw_python" ]; then
    checked=1
    if out=$("$fw_python" - "$xml" <<'PY' 2>&1
import os, sys
from firewall.core.io.service import service_reader
path = sys.argv[1]
s = service_reader(os.path.basename(path), os.path.dirname(path))
assert s.name == "picket", s.name
assert sorted(s.ports) == [("7700", "tcp"), ("7701", "tcp")], s.ports
print("firewalld parsed service %s: %s" % (s.name, s.ports))
PY
    ); then
        echo "ok: $out"
    else
        fail "firewalld's service_reader rejected the file: $out"
    fi
else
    echo "info: firewalld's Python package is not installed; only the xmllint checks ran"
fi

if [ "$checked" = 0 ]; then
    echo "SKIP: neither xmllint (libxml2-utils) nor firewalld is installed"
    exit 77
fi
if [ "$failures" -ne 0 ]; then
    echo "$failures failure(s)"
    exit 1
fi
echo "PASS"
