#pragma once
// Internal consistency checks of one watcher's Consensus, run after every step of every
// test and simulation (LogCabin's RaftConsensusInvariants). Cheap enough for that.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "picket/base/time.h"
#include "picket/consensus/consensus.h"

namespace picket::consensus {

/// Checks one watcher, across its restarts: keep one Invariants per watcher id and call
/// check() on whichever Consensus object currently embodies it. Remembers the highest
/// term and the vote of every term seen, so it also catches a term going backwards or a
/// second vote in a term after a restart (that is, a persistence bug).
class Invariants {
  public:
    /// Every violated invariant, as text; empty when all hold.
    std::vector<std::string> check(const Consensus& c, TimePoint now);

    /// Number of check() calls (the simulation's coverage counters).
    std::uint64_t checks() const { return checks_; }

  private:
    /// Highest term observed.
    std::optional<Term> last_term_;
    /// The vote cast in each term observed (only terms where a vote was seen).
    std::map<Term, WatcherId> votes_;
    std::uint64_t checks_ = 0;
};

}  // namespace picket::consensus
