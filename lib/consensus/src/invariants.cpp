#include "picket/consensus/invariants.h"

#include <algorithm>

namespace picket::consensus {

std::vector<std::string> Invariants::check(const Consensus& c, TimePoint now) {
    ++checks_;
    std::vector<std::string> bad;
    auto fail = [&](std::string what) {
        bad.push_back(c.config_.self + " (term " + std::to_string(c.term_) + ", " +
                      std::string(to_string(c.role_)) + "): " + std::move(what));
    };

    // Terms never decrease (§5.1), even across restarts.
    if (last_term_ && c.term_ < *last_term_) {
        fail("term went back from " + std::to_string(*last_term_));
    }
    last_term_ = std::max(last_term_.value_or(0), c.term_);
    // One vote per term (§5.2), even across restarts.
    if (c.voted_for_) {
        auto [it, inserted] = votes_.emplace(c.term_, *c.voted_for_);
        if (!inserted && it->second != *c.voted_for_) {
            fail("voted for " + *c.voted_for_ + " after voting for " + it->second);
        }
    }

    switch (c.role_) {
        case Role::kLeader:
            if (c.voted_for_ != c.config_.self || c.leader_ != c.config_.self) {
                fail("a leader must have voted for itself and lead itself");
            }
            if (c.votes_.size() != 0 || !c.vote_records_.empty()) {
                fail("a leader holds election state");
            }
            for (const auto& [key, r] : c.records_) {
                if (r.term != c.term_) {
                    fail("a leader's record is not in its term: " + key.failed_master);
                }
                if (!c.commit_round_.contains(key)) {
                    fail("a leader's record has no commit round: " + key.failed_master);
                } else if (r.committed && c.commit_round_.at(key) > c.majority_acked_round()) {
                    fail("record committed before a majority acknowledged it: " +
                         key.failed_master);
                }
            }
            for (const auto& key : c.acted_) {
                auto it = c.records_.find(key);
                if (it != c.records_.end() && !it->second.committed) {
                    fail("acted on an uncommitted record: " + key.failed_master);
                }
            }
            for (const auto& [p, st] : c.peer_state_) {
                if (st.acked_round > c.round_) {
                    fail("peer " + p + " acknowledged a round never sent");
                }
            }
            if (c.lease_valid(now) && c.lease_until_ > now + c.config_.lease_duration()) {
                fail("lease extends beyond one lease duration from now");
            }
            for (const auto& [node, st] : c.odown_) {
                if (st.sdown_watchers.size() < c.config_.effective_quorum()) {
                    fail("ODOWN without quorum: " + node);
                }
            }
            break;
        case Role::kCandidate:
            if (c.voted_for_ != c.config_.self) {
                fail("a candidate must have voted for itself");
            }
            [[fallthrough]];
        case Role::kPreCandidate:
            if (!c.votes_.contains(c.config_.self)) {
                fail("a (pre-)candidate must count its own vote");
            }
            [[fallthrough]];
        case Role::kFollower:
            if (c.leader_ == c.config_.self) {
                fail("a non-leader believes it leads");
            }
            if (c.lease_valid(now) || !c.odown_.empty() || !c.peer_state_.empty() ||
                !c.acted_.empty() || !c.opinions_.empty()) {
                fail("a non-leader holds leader state");
            }
            for (const auto& [key, r] : c.records_) {
                if (r.term > c.term_) {
                    fail("a record from a future term: " + key.failed_master);
                }
            }
            break;
    }
    if (c.role_ != Role::kFollower && c.role_ != Role::kLeader && c.leader_) {
        fail("a candidate knows a leader");
    }
    for (const auto& [key, r] : c.records_) {
        if (!(r.key == key)) {
            fail("record stored under the wrong key");
        }
    }
    if (c.records_.size() > proto::Limits::kMaxRecords) {
        fail("more records than the wire limit");
    }
    return bad;
}

}  // namespace picket::consensus
