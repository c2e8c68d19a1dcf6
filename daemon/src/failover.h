#pragma once
// The failover shell (issue #5): on the leader, turns ODOWN masters into failover
// records through the pure decisions of lib/failover and the vote, and executes the
// committed ones in Redis — compare-and-set against a fresh CLUSTER NODES of the target,
// inside the leader's lease, CLUSTER FAILOVER FORCE (or TAKEOVER), then verification —
// reporting every phase with its time.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "picket/config/config.h"
#include "picket/consensus/consensus.h"
#include "picket/failover/choice.h"
#include "picket/watch/watcher.h"
#include "vote.h"

namespace picket::daemon {

class FailoverService {
  public:
    using Report = std::function<void(const std::string& kind, const std::string& detail,
                                      const std::string& node_id, const std::string& shard)>;

    FailoverService(boost::asio::any_io_executor executor, const config::Config& config,
                    const watch::Watcher& watcher, VoteService& vote, Report report);

    /// Leader work on every tick: plan and propose failovers for ODOWN masters.
    void on_tick(TimePoint now);
    /// A committed record to execute (from the vote).
    void on_action(const consensus::Action& action);
    /// Called with (phase, seconds) when a failover completes a phase: "decided" (failure
    /// to decision), "command_sent" (decision to command), "promoted" (command to master).
    void set_phase_observer(std::function<void(const std::string&, double)> observer) {
        on_phase_ = std::move(observer);
    }
    /// Results so far by (shard, result): succeeded, failed, vetoed, blocked.
    const std::map<std::pair<std::string, std::string>, std::uint64_t>& results() const {
        return results_;
    }
    /// The "failover" section of /v1/status.
    nlohmann::json status(TimePoint now) const;

    /// What happened to one failure, for status and the timeline.
    struct Attempt {
        proto::FailoverRecord record;
        std::string state;   ///< waiting, vetoed, proposed, executing, promoted, failed, ...
        std::string reason;  ///< the decision's words
        std::string replica_address;
        std::optional<TimePoint> decided_at;
        std::optional<TimePoint> sent_at;
        std::optional<TimePoint> promoted_at;
        Duration down_for_at_decision{};
    };

  private:
    boost::asio::awaitable<void> execute(consensus::Action action);
    failover::Policy policy() const;
    void set_state(Attempt& a, const std::string& state, const std::string& reason,
                   const std::string& event);

    boost::asio::any_io_executor executor_;
    const config::Config& config_;
    const watch::Watcher& watcher_;
    VoteService& vote_;
    Report report_;
    std::map<proto::RecordKey, Attempt> attempts_;
    std::set<proto::RecordKey> executing_;
    /// Last successful promotion per shard (for the cooldown).
    std::map<std::string, TimePoint> last_success_;
    std::map<std::pair<std::string, std::string>, std::uint64_t> results_;
    std::function<void(const std::string&, double)> on_phase_;
};

}  // namespace picket::daemon
