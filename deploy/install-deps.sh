#!/usr/bin/env bash
# Installs every build and test dependency of picket from Debian 12's packages.
#
# Idempotent: packages already present are skipped, and when nothing is missing no
# network access happens at all. No system service is left running by the install:
# a policy-rc.d that denies every start is in place while apt runs (redis-server,
# redis-sentinel, prometheus and alertmanager all ship services that would start).
set -euo pipefail

packages=(
    # toolchain
    g++ cmake ninja-build pkg-config make git
    clang clang-format clang-tidy libclang-rt-14-dev llvm
    # libraries
    libboost1.81-dev libhiredis-dev prometheus-cpp-dev libspdlog-dev libfmt-dev
    libyaml-cpp-dev nlohmann-json3-dev libssl-dev libgtest-dev libgmock-dev
    # real components used by integration tests, benchmarks and the demo
    redis-server redis-tools redis-sentinel prometheus prometheus-alertmanager
    openssl iproute2 iptables nftables procps psmisc curl ca-certificates python3
    # the chaos suite's wall-clock jumps (tests/chaos, scenario j: libfaketime)
    faketime
    # deploy-file checks: systemd-analyze, xmllint, firewalld's parser, YAML in scripts
    systemd libxml2-utils firewalld python3-yaml shellcheck
    # packages: cpack's .deb (dpkg-deb) and .rpm (rpmbuild, from Debian's rpm)
    dpkg-dev rpm
    # model checking of the vote (proto/model)
    spin
)

missing=()
for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$p")
    fi
done

if [ "$(id -u)" -ne 0 ]; then
    SUDO=sudo
else
    SUDO=
fi

# Debian's source package of prometheus-cpp, for PICKET_PORTABLE builds (cmake/Portable.cmake):
# Debian 12 ships no static libprometheus-cpp-core.a, so the packaged binaries compile its
# core from Debian's own source package — fetched and verified by apt (the Sources index is
# signed, the .dsc lists the tarballs' checksums) and unpacked by dpkg-source with Debian's
# patches — into a cache outside the repository. Idempotent: nothing happens when present.
debian_src_dir=${PICKET_DEBIAN_SRC_DIR:-/var/cache/picket/debian-src}
fetch_debian_sources() {
    local want=prometheus-cpp-1.0.1
    if [ -f "$debian_src_dir/$want/core/src/registry.cc" ]; then
        return 0
    fi
    echo "install-deps: fetching Debian's source package prometheus-cpp into $debian_src_dir"
    local work
    work=$(mktemp -d)
    mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/parts"
    # A private deb-src list for this one download: the machine's sources stay as they are.
    local uri suite
    uri=$(sed -n 's/^URIs: *\(http[^ ]*debian\)$/\1/p' /etc/apt/sources.list.d/debian.sources \
        2>/dev/null | head -n 1)
    uri=${uri:-http://deb.debian.org/debian}
    suite=bookworm
    printf 'Types: deb-src\nURIs: %s\nSuites: %s\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
        "$uri" "$suite" >"$work/parts/src.sources"
    local opts=(-o "Dir::Etc::SourceList=/dev/null" -o "Dir::Etc::SourceParts=$work/parts"
        -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache" -o "APT::Sandbox::User=root")
    apt-get "${opts[@]}" update -q >/dev/null
    (cd "$work" && apt-get "${opts[@]}" source --download-only -q prometheus-cpp=1.0.1-1 >/dev/null)
    (cd "$work" && dpkg-source --no-check -x prometheus-cpp_1.0.1-1.dsc "$want" >/dev/null)
    $SUDO mkdir -p "$debian_src_dir"
    $SUDO rm -rf "${debian_src_dir:?}/$want"
    $SUDO cp -a "$work/$want" "$debian_src_dir/$want"
    rm -rf "$work"
    echo "install-deps: $debian_src_dir/$want ready"
}

if [ ${#missing[@]} -eq 0 ]; then
    echo "install-deps: all ${#packages[@]} packages present"
    fetch_debian_sources
    exit 0
fi

echo "install-deps: installing ${missing[*]}"
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
    $SUDO chmod 755 "$policy"
    created_policy=1
fi
cleanup() { if [ "$created_policy" = 1 ]; then $SUDO rm -f "$policy"; fi; }
trap cleanup EXIT

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"

# Some packages start their service even through policy-rc.d on machines without
# systemd as PID 1 (their postinst calls the init script directly). Stop any that
# did, so the machine's ports stay free for the tests' own servers.
for svc in redis-server redis-sentinel prometheus prometheus-alertmanager prometheus-node-exporter firewalld; do
    if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$svc" 2>/dev/null; then
        $SUDO systemctl stop "$svc" || true
        $SUDO systemctl disable "$svc" >/dev/null 2>&1 || true
    fi
done
for bin in redis-server redis-sentinel prometheus prometheus-alertmanager prometheus-node-exporter; do
    # Only daemons started by a package (owned by a system user), never a test's own.
    pkill -u redis -x "$bin" 2>/dev/null || true
    pkill -u prometheus -x "$bin" 2>/dev/null || true
done
fetch_debian_sources
echo "install-deps: done"
