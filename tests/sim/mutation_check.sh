#!/usr/bin/env bash
# Checks that the simulation (and the unit tests) can fail: builds a copy of the tree with
# one-line bugs planted, one at a time, in lib/consensus/src/consensus.cpp, in the
# compare-and-set of lib/failover/src/plan.cpp and in the simulation's watcher shell
# (which mirrors daemon/src/failover.cpp), and expects each mutant to be caught. Not part
# of CI (it rebuilds once per mutant); run it after changing the simulation or the
# invariants.
#   tests/sim/mutation_check.sh [seeds] [pattern]   (default 10000 seeds per mutant; only
#                                                    the mutants whose line has `pattern`)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
seeds=${1:-10000}
only=${2:-}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
git -C "$root" archive HEAD | tar -x -C "$work"
for d in lib/consensus lib/failover tests/sim tests/consensus; do
    cp -a "$root/$d/." "$work/$d/"
done
cmake -S "$work" -B "$work/build" -G Ninja -DPICKET_BUILD_IO=OFF >/dev/null

# file|original line (exact)|replacement
mutants=(
'lib/consensus/src/consensus.cpp|    records_ = std::move(vote_records_);|    vote_records_.clear();'
'lib/consensus/src/consensus.cpp|    if (!voted_for_ \|\| *voted_for_ == from) {|    if (true) {'
'lib/consensus/src/consensus.cpp|        lease_until_ = std::max(lease_until_, it->second + config_.lease_duration());|        lease_until_ = std::max(lease_until_, now + config_.lease_duration());'
'lib/consensus/src/consensus.cpp|    return last_leader_contact_ && now < *last_leader_contact_ + config_.election_timeout_min;|    return false;'
'lib/consensus/src/consensus.cpp|    withhold_votes_until_ = now + config_.election_timeout_max;|    withhold_votes_until_ = now;'
'lib/consensus/src/consensus.cpp|    return acked[config_.majority() - 1];|    return acked.size() > 1 ? acked[1] : acked[0];'
'lib/consensus/src/consensus.cpp|    if (active < config_.majority()) {|    if (false) {'
'tests/sim/simulation.cpp|        if (auto cas = failover::still_valid(r, fresh); !cas) {|        if (auto cas = failover::CasResult{true, {}}; !cas) {'
'lib/failover/src/plan.cpp|    if (master->config_epoch != record.key.config_epoch) {|    if (false) {'
'tests/sim/simulation.cpp|                w.c->report_progress(v.key, RecordPhase::kAborted, local, v.attempt);|                (void)local;'
'tests/sim/simulation.cpp|            r != w.c->records().end() && r->second.phase != RecordPhase::kAborted) {|            r != w.c->records().end()) {'
'tests/sim/simulation.cpp|        if (!w.c->odown().contains(r.key.failed_master)) {|        if (false) {'
'lib/failover/src/plan.cpp|        if (in.since_last_contact < until) {|        if (false) {'
'lib/failover/src/plan.cpp|    if (!v.dead && !v.still_replica) {|    if (false) {'
'lib/failover/src/plan.cpp|    if (in.now - from < throttle) {|    if (false) {'
'lib/consensus/src/consensus.cpp|    if (!abort_committed(record.key)) {|    if (false) {'
)
status=0
for m in "${mutants[@]}"; do
    if [ -n "$only" ] && [[ "$m" != *"$only"* ]]; then
        continue
    fi
    IFS='|' read -r file from to <<<"$(echo "$m" | sed 's/\\|/\x01/g')"
    from=${from//$'\x01'/|}
    to=${to//$'\x01'/|}
    src="$work/$file"
    [ -f "$src.orig" ] || cp "$src" "$src.orig"
    python3 - "$src.orig" "$src" "$from" "$to" <<'PY'
import sys
orig, dst, a, b = sys.argv[1:]
s = open(orig).read()
assert a in s, "mutation anchor not found: " + a
open(dst, "w").write(s.replace(a, b))
PY
    cmake --build "$work/build" --target picket_sim consensus_unit_test failover_unit_test >/dev/null
    caught=""
    if ! "$work/build/tests/sim/picket_sim" --seeds "1-$seeds" >"$work/sim.out" 2>&1; then
        caught="sim: $(grep -m1 -A1 FAILED "$work/sim.out" | tail -1 | sed 's/^ *//')"
    elif ! "$work/build/tests/consensus/consensus_unit_test" >"$work/unit.out" 2>&1; then
        caught="unit: $(grep -m1 '^\[  FAILED' "$work/unit.out")"
    elif ! "$work/build/tests/failover/failover_unit_test" >"$work/unit.out" 2>&1; then
        caught="unit: $(grep -m1 '^\[  FAILED' "$work/unit.out")"
    fi
    cp "$src.orig" "$src"
    name="$(basename "$file"): ${from#"${from%%[![:space:]]*}"}"
    if [ -n "$caught" ]; then
        echo "caught   $name ($caught)"
    else
        echo "MISSED   $name"
        status=1
    fi
done
exit $status
