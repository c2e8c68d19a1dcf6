#!/usr/bin/env bash
# The .deb and .rpm (cmake/Packaging.cmake): cpack builds both from this build directory;
# their file lists hold exactly the expected paths; /etc/picket/picket.yml is a conffile /
# %config(noreplace); the install scripts create the picket user; the .deb extracted into a
# temporary root runs (`picketd --version`, `picketd --check-config` on the installed example
# configuration, `picketctl --help`). In a PICKET_PORTABLE=ON build every shipped ELF binary
# must also pass check_portable.sh (RHEL 9: NEEDED libraries, GLIBC <= 2.34), and the checker
# itself is shown to reject binaries that would not run there.
#
# The install scripts run in a private mount namespace over overlays of /etc (section 5).
#
#   package_test.sh BUILD_DIR SOURCE_DIR PORTABLE(ON|OFF)
# Exit 0 pass, 1 fail, 77 skipped (a packaging tool is missing; the reason is printed).
set -euo pipefail
build=$1
src=$2
portable=$3
here=$(cd "$(dirname "$0")" && pwd)
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

for tool in cpack dpkg-deb rpmbuild rpm readelf; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "SKIP: $tool not found (deploy/install-deps.sh installs it: cmake, dpkg, rpm, binutils)"
        exit 77
    fi
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
version=$(sed -nE 's/^set\(CPACK_PACKAGE_VERSION "([^"]+)"\)/\1/p' "$build/CPackConfig.cmake")

# 1. Build both packages (the install step of this build dir, stripped; nothing is rebuilt).
start=$SECONDS
if ! (cd "$tmp" && cpack --config "$build/CPackConfig.cmake" -G "DEB;RPM" -B "$tmp/out" \
        >"$tmp/cpack.log" 2>&1); then
    cat "$tmp/cpack.log"
    fail "cpack failed"
    exit 1
fi
deb=$(ls "$tmp"/out/picket_*.deb)
rpm=$(ls "$tmp"/out/picket-*.rpm)
echo "ok: cpack built $(basename "$deb") ($(du -k "$deb" | cut -f1) KiB) and" \
    "$(basename "$rpm") ($(du -k "$rpm" | cut -f1) KiB) in $((SECONDS - start)) s"

# 2. Contents: the same files in both, every one expected, nothing else.
expected_files=(
    /usr/bin/picketd /usr/bin/picketctl
    /etc/picket/picket.yml
    /usr/lib/systemd/system/picketd.service
    /usr/lib/sysusers.d/picket.conf
    /usr/lib/firewalld/services/picket.xml
    /usr/share/picket/dashboards/picket.json
    /usr/share/picket/grafana/provisioning/dashboards/picket.yaml
    /usr/share/picket/grafana/provisioning/datasources/picket.yaml
    /usr/share/picket/prometheus/picket.rules.yml
    /usr/share/picket/redis/acl.conf
    /usr/share/doc/picket/README.md
    /usr/share/doc/picket/deploy.md
    /usr/share/doc/picket/operations.md
    /usr/share/doc/picket/configuration.md
    /usr/share/doc/picket/metrics.md
    /usr/share/doc/picket/alerts.md
    /usr/share/doc/picket/selinux.md
    /usr/share/doc/picket/examples/prometheus.yml
    /usr/share/doc/picket/examples/alertmanager.yml
    /usr/share/doc/picket/examples/six-vms/picket-redis-1.yml
    /usr/share/doc/picket/examples/six-vms/picket-witness.yml
)
# Only regular files (rpm -qlp also lists the directories the package owns).
dpkg-deb -c "$deb" | awk '$1 ~ /^-/ {print $6}' | sed 's#^\./#/#' | sort >"$tmp/deb.files"
rpm -qlp "$rpm" 2>/dev/null | sort >"$tmp/rpm.list"
for f in "${expected_files[@]}"; do
    grep -qxF "$f" "$tmp/deb.files" || fail ".deb lacks $f"
    grep -qxF "$f" "$tmp/rpm.list" || fail ".rpm lacks $f"
done
# Every file of the .deb is in the .rpm, and the .rpm owns no directory of the system
# (filesystem, systemd, firewalld own those; owning them would conflict on RHEL).
while read -r f; do grep -qxF "$f" "$tmp/rpm.list" || fail ".rpm lacks $f (in the .deb)"; done \
    <"$tmp/deb.files"
for d in /etc /usr /usr/bin /usr/lib /usr/lib/systemd /usr/lib/systemd/system /usr/lib/sysusers.d \
    /usr/lib/firewalld /usr/lib/firewalld/services /usr/share /usr/share/doc; do
    if grep -qxF "$d" "$tmp/rpm.list"; then fail ".rpm owns the system directory $d"; fi
done
# Nothing of the build tree leaks in: no tests, no static libraries, no headers.
if grep -E '\.(a|h|o)$|test' "$tmp/deb.files"; then fail "unexpected files in the .deb"; fi
echo "ok: $(wc -l <"$tmp/deb.files") files in the .deb, $(wc -l <"$tmp/rpm.list") paths in the .rpm, ${#expected_files[@]} expected ones checked"

# 3. Metadata: conffile, install scripts, dependencies.
dpkg-deb -e "$deb" "$tmp/control"
grep -qxF /etc/picket/picket.yml "$tmp/control/conffiles" || fail ".deb: picket.yml is not a conffile"
grep -q 'systemd-sysusers picket.conf' "$tmp/control/postinst" || fail ".deb postinst creates no user"
grep -q 'useradd' "$tmp/control/postinst" || fail ".deb postinst has no useradd fallback"
[ -x "$tmp/control/postinst" ] || fail ".deb postinst is not executable"
rpm -qp --configfiles "$rpm" 2>/dev/null | grep -qxF /etc/picket/picket.yml ||
    fail ".rpm: picket.yml is not %config"
rpm -qp --qf '[%{FILEFLAGS:fflags} %{FILENAMES}\n]' "$rpm" 2>/dev/null |
    grep -qE '^cn /etc/picket/picket.yml$' || fail ".rpm: picket.yml is not %config(noreplace)"
rpm -qp --scripts "$rpm" 2>/dev/null >"$tmp/rpm.scripts"
grep -q 'useradd -r -g picket' "$tmp/rpm.scripts" || fail ".rpm %pre creates no user"
grep -q 'disable --now picketd.service' "$tmp/rpm.scripts" || fail ".rpm %preun does not stop picketd"
depends=$(dpkg-deb -f "$deb" Depends)
rpm -qp --requires "$rpm" 2>/dev/null >"$tmp/rpm.requires"
echo "info: .deb Depends: $depends"
echo "info: .rpm Requires: $(grep -v '^rpmlib' "$tmp/rpm.requires" | tr '\n' ' ')"
if [ "$portable" = ON ]; then
    for lib in hiredis yaml-cpp spdlog fmt prometheus stdc++; do
        if grep -qi "$lib" "$tmp/rpm.requires" || grep -qi "$lib" <<<"$depends"; then
            fail "the portable package depends on $lib"
        fi
    done
    # rpmbuild derives Requires from the ELF files: GLIBC symbol versions must stay <= 2.34.
    if grep -E 'GLIBC_2\.(3[5-9]|[4-9][0-9])' "$tmp/rpm.requires"; then
        fail ".rpm requires a glibc newer than 2.34"
    fi
fi
echo "ok: conffile, install scripts, dependencies"

# 4. The .deb unpacked into a temporary root runs from there.
root=$tmp/root
dpkg-deb -x "$deb" "$root"
if out=$("$root/usr/bin/picketd" --version 2>&1); then
    echo "ok: picketd --version: $(head -n 1 <<<"$out")"
    grep -qF "$version" <<<"$out" || fail "picketd --version does not say $version: $out"
else
    fail "installed picketd --version failed: $out"
fi
# As installed, the example names secret files the operator creates (docs/deploy.md): those
# must be its only complaints. With them created (here under the temporary root, the
# configuration's /etc/picket paths rewritten to it), the configuration is valid.
conf=$root/etc/picket/picket.yml
if out=$("$root/usr/bin/picketd" --check-config --config "$conf" 2>&1); then
    fail "picketd --check-config accepted the example without its secret files"
else
    others=$(grep -E "^$conf:[0-9]+:[0-9]+: " <<<"$out" | grep -vE "_file: cannot use '/etc/picket/[a-z.]+': no such file" || true)
    count=$(grep -cE "^$conf:[0-9]+:[0-9]+: " <<<"$out" || true)
    if [ -n "$others" ] || [ "$count" -eq 0 ]; then
        fail "the installed example has problems other than missing secret files: $out"
    else
        echo "ok: as installed, --check-config asks only for the $count secret files of docs/deploy.md"
    fi
fi
sed "s#/etc/picket/#$root/etc/picket/#g" "$conf" >"$tmp/picket.yml"
grep -oE "$root/etc/picket/[a-z.]+" "$tmp/picket.yml" | sort -u | while read -r secret; do
    (umask 077 && openssl rand -hex 32 >"$secret")
done
if out=$("$root/usr/bin/picketd" --check-config --config "$tmp/picket.yml" 2>&1); then
    echo "ok: picketd --check-config accepts the installed /etc/picket/picket.yml with its secrets"
else
    fail "picketd --check-config rejected the installed example configuration: $out"
fi
if ! out=$("$root/usr/bin/picketctl" --help 2>&1); then fail "installed picketctl --help failed: $out"; fi
# The unit starts the installed binary on the installed configuration.
grep -qxF 'ExecStart=/usr/bin/picketd --config /etc/picket/picket.yml' \
    "$root/usr/lib/systemd/system/picketd.service" || fail "the unit's ExecStart does not match the package"
[ -x "$root/usr/bin/picketd" ] || fail "/usr/bin/picketd is not executable"
# The packaged files are the repository's, unchanged.
for pair in deploy/systemd/picketd.service:usr/lib/systemd/system/picketd.service \
    deploy/examples/picket.yml:etc/picket/picket.yml \
    deploy/firewalld/picket.xml:usr/lib/firewalld/services/picket.xml \
    deploy/redis/acl.conf:usr/share/picket/redis/acl.conf \
    dashboards/picket.json:usr/share/picket/dashboards/picket.json; do
    cmp -s "$src/${pair%%:*}" "$root/${pair#*:}" || fail "/${pair#*:} differs from ${pair%%:*}"
done
grep -qE '^u picket ' "$root/usr/lib/sysusers.d/picket.conf" || fail "sysusers.d defines no picket user"

# 5. The install scripts create the picket user, twice without error (an upgrade), each in a
#    private mount namespace whose /etc and /usr/lib/sysusers.d are overlays on the host's:
#    the host's users are never touched. Cases: the .deb's postinst with systemd-sysusers, the
#    same with its useradd fallback (systemd-sysusers not on PATH), and the .rpm's %pre.
#    /run/systemd is hidden so no script reaches the host's systemd.
rpm -qp --qf '%{PREIN}\n' "$rpm" 2>/dev/null >"$tmp/rpm-pre"
mkdir -p "$tmp/bin"
for t in sh getent groupadd useradd; do ln -s "$(command -v "$t")" "$tmp/bin/$t"; done
install_scripts_case() {  # NAME PATH COMMAND: prints the picket passwd line, or fails
    local name=$1 path=$2 cmd=$3 ns=$tmp/ns-$1
    mkdir -p "$ns/etc-up" "$ns/etc-work" "$ns/su-up" "$ns/su-work"
    # shellcheck disable=SC2016  # expanded by the inner bash, from its arguments
    unshare --mount --propagation private bash -c '
        set -e
        mount -t overlay overlay -o "lowerdir=/etc,upperdir=$1/etc-up,workdir=$1/etc-work" /etc
        mkdir -p /usr/lib/sysusers.d
        mount -t overlay overlay -o "lowerdir=/usr/lib/sysusers.d,upperdir=$1/su-up,workdir=$1/su-work" /usr/lib/sysusers.d
        cp "$2/usr/lib/sysusers.d/picket.conf" /usr/lib/sysusers.d/picket.conf
        if [ -d /run/systemd ]; then mount -t tmpfs tmpfs /run/systemd; fi
        if getent passwd picket >/dev/null; then echo "picket exists before the script"; exit 1; fi
        PATH=$3 sh -c "$4" && PATH=$3 sh -c "$4"
        getent passwd picket; getent group picket >/dev/null
    ' _ "$ns" "$root" "$path" "$cmd" >"$ns/out" 2>&1
}
if unshare --mount --propagation private true 2>/dev/null; then
    cases=("deb-sysusers|$PATH|$tmp/control/postinst configure"
           "deb-useradd|$tmp/bin|$tmp/control/postinst configure"
           "rpm-pre|$tmp/bin|sh $tmp/rpm-pre 1")
    command -v systemd-sysusers >/dev/null || echo "info: no systemd-sysusers here: deb-sysusers runs the fallback"
    for c in "${cases[@]}"; do
        IFS='|' read -r name path cmd <<<"$c"
        if install_scripts_case "$name" "$path" "$cmd" &&
            line=$(grep '^picket:' "$tmp/ns-$name/out") &&
            [[ "$line" =~ ^picket:x:([0-9]+):[0-9]+:[^:]*:/var/lib/picket:/usr/sbin/nologin$ ]] &&
            [ "${BASH_REMATCH[1]}" -lt 1000 ]; then
            echo "ok: $name creates the system user: $line"
        else
            cat "$tmp/ns-$name/out"
            fail "$name did not create the picket system user (home /var/lib/picket, /usr/sbin/nologin)"
        fi
    done
    getent passwd picket >/dev/null && fail "the host now has a picket user: a script escaped its namespace"
else
    echo "info: no private mount namespace here (unshare --mount): install scripts not run"
fi

# 6. Portability (PICKET_PORTABLE=ON builds, which CI's build is): the shipped ELF files.
if [ "$portable" = ON ]; then
    mapfile -t elfs < <(find "$root" -type f -exec sh -c 'head -c 4 "$1" | grep -q ELF' _ {} \; -print)
    [ ${#elfs[@]} -ge 2 ] || fail "expected at least picketd and picketctl as ELF files, found ${#elfs[@]}"
    "$here/check_portable.sh" "${elfs[@]}" || fail "a shipped binary would not run on RHEL 9"
    # The checker is not vacuous: it rejects a binary needing arc4random (GLIBC_2.36) and one
    # linking libstdc++ dynamically.
    printf '#include <stdlib.h>\nint main(void) { return (int)(arc4random() & 1u); }\n' >"$tmp/new.c"
    printf '#include <string>\nint main(int argc, char**) { return (int)std::to_string(argc).size(); }\n' >"$tmp/cxx.cpp"
    if cc -o "$tmp/new" "$tmp/new.c" && c++ -o "$tmp/cxx" "$tmp/cxx.cpp"; then
        if "$here/check_portable.sh" "$tmp/new" >"$tmp/neg1" 2>&1 || ! grep -q 'GLIBC_2.36' "$tmp/neg1"; then
            cat "$tmp/neg1"; fail "check_portable.sh accepted a binary needing GLIBC_2.36"
        fi
        if "$here/check_portable.sh" "$tmp/cxx" >"$tmp/neg2" 2>&1 || ! grep -q 'libstdc++' "$tmp/neg2"; then
            cat "$tmp/neg2"; fail "check_portable.sh accepted a binary needing libstdc++.so.6"
        fi
        echo "ok: check_portable.sh rejects GLIBC_2.36 and a shared libstdc++"
    else
        fail "could not compile the checker's negative controls"
    fi
else
    echo "info: not a PICKET_PORTABLE build: the RHEL 9 checks are not run (CI's build is portable)"
fi

if [ "$failures" -ne 0 ]; then
    echo "$failures failure(s)"
    exit 1
fi
echo "PASS"
