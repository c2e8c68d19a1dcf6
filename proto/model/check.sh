#!/usr/bin/env bash
# Checks proto/model/vote.pml exhaustively with spin (Debian package `spin`): the real
# model must satisfy every assert, and the mutant without the record merge must not.
# Usage: proto/model/check.sh [N] [MAXTERM]   (defaults 3 voters, terms up to 3)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
n=${1:-3}
maxterm=${2:-3}
if ! command -v spin >/dev/null; then
    echo "spin not installed (apt-get install spin)" >&2
    exit 2
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$here/vote.pml" "$work/"
cd "$work"

run() {  # run <label> <extra spin -D flags>
    local label=$1
    shift
    rm -f pan pan.* *.trail
    spin -a -DN="$n" -DMAXTERM="$maxterm" "$@" vote.pml >/dev/null
    cc -w -O2 -DSAFETY -DCOLLAPSE -DMEMLIM=2048 -o pan pan.c
    ./pan -m100000 >"$label.out" 2>&1 || true
    errors=$(grep -oE 'errors: [0-9]+' "$label.out" | grep -oE '[0-9]+')
    states=$(grep -oE '[0-9.e+]+ states, stored' "$label.out" | head -1)
    echo "$label: $states, errors $errors"
    if grep -q "search depth too small\|max search depth too small" "$label.out"; then
        echo "$label: search depth too small; raise -m" >&2
        exit 1
    fi
    [ "$errors" = 0 ]
}

echo "model: $n voters, terms up to $maxterm"
run vote
if run vote_without_adoption -DNO_ADOPTION; then
    echo "the mutant without the Paxos merge passed: the model checks nothing" >&2
    exit 1
fi
echo "ok: the model holds, and dropping the record merge breaks it as it should"
