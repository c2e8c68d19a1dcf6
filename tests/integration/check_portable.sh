#!/usr/bin/env bash
# Does an ELF binary run on a RHEL 9-class system (glibc 2.34, GCC 11's libgcc_s, OpenSSL 3.0)?
# Checks, from the binary alone (readelf):
#   - every NEEDED library is one RHEL 9's base system has: glibc's (libc, libm, libpthread,
#     libdl, librt, ld-linux), libgcc_s, libz, OpenSSL 3 (libssl.so.3, libcrypto.so.3);
#     in particular no libstdc++ (GLIBCXX_3.4.30 of GCC 12 is not on RHEL 9) and none of
#     the third-party libraries picket uses (hiredis, yaml-cpp, spdlog, fmt, prometheus-cpp);
#   - the highest GLIBC_x.y symbol version it needs is <= 2.34 (RHEL 9's glibc);
#   - the highest GCC_x.y (libgcc_s) version is <= 7.0.0 (what GCC 11's libgcc_s has);
#   - the highest OPENSSL_x.y.z version is <= 3.0.0 (RHEL 9.0 ships OpenSSL 3.0.1).
#
#   check_portable.sh ELF...
# Prints one line per binary and exits 1 if any binary fails.
set -euo pipefail
allowed_needed=(libc.so.6 libm.so.6 libpthread.so.0 libdl.so.2 librt.so.1 ld-linux-x86-64.so.2
                libgcc_s.so.1 libz.so.1 libssl.so.3 libcrypto.so.3)
max_glibc=2.34
max_gcc=7.0.0
max_openssl=3.0.0
status=0

version_le() { [ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | head -n 1)" = "$1" ]; }

for elf in "$@"; do
    problems=()
    if ! header=$(readelf -h "$elf" 2>/dev/null) || ! grep -q 'ELF64' <<<"$header"; then
        echo "FAIL $elf: not an ELF64 file"
        status=1
        continue
    fi
    needed=$(readelf -d -W "$elf" | sed -nE 's/.*\(NEEDED\).*\[(.*)\]/\1/p' | sort -u)
    for lib in $needed; do
        ok=0
        for a in "${allowed_needed[@]}"; do [ "$lib" = "$a" ] && ok=1; done
        [ "$ok" = 1 ] || problems+=("needs $lib")
    done
    # Version needs (.gnu.version_r): "Name: GLIBC_2.34  Flags: none  Version: 5".
    versions=$(readelf -V -W "$elf" | sed -nE 's/.*Name: ([A-Z]+_[0-9][0-9.]*).*/\1/p' | sort -u)
    highest() { grep -E "^$1_" <<<"$versions" | sed "s/^$1_//" | sort -V | tail -n 1 || true; }
    glibc=$(highest GLIBC)
    gcc=$(highest GCC)
    openssl=$(highest OPENSSL)
    if [ -n "$glibc" ] && ! version_le "$glibc" "$max_glibc"; then
        problems+=("needs GLIBC_$glibc (> $max_glibc): $(readelf -W --dyn-syms "$elf" |
            grep -oE "[A-Za-z0-9_]+@GLIBC_$glibc" | sort -u | head -n 5 | tr '\n' ' ')")
    fi
    if [ -n "$gcc" ] && ! version_le "$gcc" "$max_gcc"; then problems+=("needs GCC_$gcc (> $max_gcc)"); fi
    if [ -n "$openssl" ] && ! version_le "$openssl" "$max_openssl"; then
        problems+=("needs OPENSSL_$openssl (> $max_openssl)")
    fi
    if grep -qE '^(GLIBCXX|CXXABI)_' <<<"$versions"; then
        problems+=("needs libstdc++ symbol versions ($(grep -E '^(GLIBCXX|CXXABI)_' <<<"$versions" | sort -V | tail -n 1))")
    fi
    summary="NEEDED: $(tr '\n' ' ' <<<"$needed")| GLIBC_${glibc:-none} GCC_${gcc:-none} OPENSSL_${openssl:-none}"
    if [ ${#problems[@]} -eq 0 ]; then
        echo "ok   $elf: $summary"
    else
        echo "FAIL $elf: $summary"
        for p in "${problems[@]}"; do echo "     - $p"; done
        status=1
    fi
done
exit $status
