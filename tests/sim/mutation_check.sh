#!/usr/bin/env bash
# Checks that the simulation (and the unit tests) can fail: builds copies of the tree
# with one-line bugs planted in lib/consensus/src/consensus.cpp and expects each mutant
# to be caught. Not part of CI (it builds once per mutant); run it after changing the
# simulation or the invariants.
#   tests/sim/mutation_check.sh [seeds]        (default 10000 seeds per mutant)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
seeds=${1:-10000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
git -C "$root" archive HEAD | tar -x -C "$work"
cp -a "$root/lib/consensus/." "$work/lib/consensus/"
cp -a "$root/tests/sim/." "$work/tests/sim/"
cp -a "$root/tests/consensus/." "$work/tests/consensus/"
src="$work/lib/consensus/src/consensus.cpp"
cp "$src" "$work/consensus.orig"
cmake -S "$work" -B "$work/build" -G Ninja -DPICKET_BUILD_IO=OFF >/dev/null

# name|original line (exact)|replacement
mutants=(
'no_adoption|    records_ = std::move(vote_records_);|    vote_records_.clear();'
'vote_twice|    if (!voted_for_ \|\| *voted_for_ == from) {|    if (true) {'
'lease_from_receive|        lease_until_ = std::max(lease_until_, it->second + config_.lease_duration());|        lease_until_ = std::max(lease_until_, now + config_.lease_duration());'
'no_stickiness|    return last_leader_contact_ && now < *last_leader_contact_ + config_.election_timeout_min;|    return false;'
'no_withholding|    withhold_votes_until_ = now + config_.election_timeout_max;|    withhold_votes_until_ = now;'
'commit_on_first_ack|    return acked[config_.majority() - 1];|    return acked.size() > 1 ? acked[1] : acked[0];'
'no_check_quorum|    if (active < config_.majority()) {|    if (false) {'
)
status=0
for m in "${mutants[@]}"; do
    IFS='|' read -r name from to <<<"$(echo "$m" | sed 's/\\|/\x01/g')"
    from=${from//$'\x01'/|}
    to=${to//$'\x01'/|}
    python3 - "$work/consensus.orig" "$src" "$from" "$to" <<'PY'
import sys
orig, dst, a, b = sys.argv[1:]
s = open(orig).read()
assert a in s, "mutation anchor not found: " + a
open(dst, "w").write(s.replace(a, b))
PY
    cmake --build "$work/build" --target picket_sim consensus_unit_test >/dev/null
    caught=""
    if ! "$work/build/tests/sim/picket_sim" --seeds "1-$seeds" >"$work/sim.out" 2>&1; then
        caught="sim: $(grep -m1 -A1 FAILED "$work/sim.out" | tail -1 | sed 's/^ *//')"
    elif ! "$work/build/tests/consensus/consensus_unit_test" >"$work/unit.out" 2>&1; then
        caught="unit: $(grep -m1 '^\[  FAILED' "$work/unit.out")"
    fi
    if [ -n "$caught" ]; then
        echo "caught   $name ($caught)"
    else
        echo "MISSED   $name"
        status=1
    fi
done
exit $status
