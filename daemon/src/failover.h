#pragma once
// The failover shell (issue #5): on the leader, turns ODOWN masters into failover
// records through the pure decisions of lib/failover and the vote, and executes the
// committed ones in Redis — compare-and-set against a fresh CLUSTER NODES of the target,
// inside the leader's lease, CLUSTER FAILOVER FORCE (or TAKEOVER), then verification —
// reporting every phase with its time.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <deque>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>

#include "picket/config/config.h"
#include "picket/consensus/consensus.h"
#include "picket/failover/choice.h"
#include "picket/failover/plan.h"
#include "picket/watch/watcher.h"
#include "vote.h"

namespace picket::daemon {

class FailoverService {
  public:
    using Report = std::function<void(const std::string& kind, const std::string& detail,
                                      const std::string& node_id, const std::string& shard)>;

    FailoverService(boost::asio::any_io_executor executor, const config::Config& config,
                    const watch::Watcher& watcher, VoteService& vote, Report report);

    /// Every tick: readiness of every shard (every watcher); on the leader, plan and
    /// propose failovers for ODOWN masters; notice old masters rejoining.
    void on_tick(TimePoint now);
    /// Loads the failover history kept in the state directory (missing file: empty).
    /// A damaged history is set aside (renamed *.bad) with a warning, never fatal.
    void load_history();
    /// A committed record to execute (from the vote).
    void on_action(const consensus::Action& action);
    /// Called with (phase, seconds) when a failover completes a phase: "decided" (failure
    /// to decision), "command_sent" (decision to command), "promoted" (command to master),
    /// "converged" (master to every reachable node agreeing).
    void set_phase_observer(std::function<void(const std::string&, double)> observer) {
        on_phase_ = std::move(observer);
    }
    /// Results so far by (shard, result): succeeded, failed, vetoed, blocked.
    const std::map<std::pair<std::string, std::string>, std::uint64_t>& results() const {
        return results_;
    }
    /// The "failover" section of /v1/status.
    nlohmann::json status(TimePoint now) const;
    /// Finished failovers, oldest first (GET /v1/history, `picketctl history`).
    nlohmann::json history() const;
    // --- Operator actions (admin API). Each returns a sentence for the operator, or an
    // error sentence (refused, with the reason); `who` is logged and kept.

    /// Leader only. Maintenance on or off for "cluster", a shard (its slot ranges, or its
    /// master's id or address) or a node (id or ip:port); `duration` zero = until turned
    /// off. Cluster state: the vote replicates it to every watcher (persisted in their
    /// state files), and a new leader starts from it. Automatic failovers of what it
    /// covers are vetoed; replicas in maintenance are never promoted.
    Expected<std::string, std::string> set_maintenance(const std::string& target, bool on,
                                                       Duration duration, const std::string& who,
                                                       TimePoint now);
    /// Lifts the cooldown of a shard after a failover (a flap block).
    Expected<std::string, std::string> acknowledge(const std::string& shard,
                                                   const std::string& who);
    /// Leader only. The shard's master must be ODOWN: fail it over now, overriding the
    /// cooldown, the rate limit, the timeouts-only wait and the TAKEOVER safety refusal
    /// (the operator vouches that the lost masters are not serving). Valid for one minute.
    Expected<std::string, std::string> force_failover(const std::string& shard,
                                                      const std::string& who, TimePoint now);
    /// Leader only. Graceful CLUSTER FAILOVER (no FORCE: master and replica cooperate,
    /// no acknowledged write is lost) of a healthy shard to `to` or the best replica.
    Expected<std::string, std::string> switchover(const std::string& shard, const std::string& to,
                                                  const std::string& who, TimePoint now);
    /// The maintenance entries, for status (every watcher: what the vote replicated).
    nlohmann::json maintenance_status(TimePoint now) const;
    /// Maintenance used to be kept per watcher in <state_dir>/maintenance.json: if that
    /// file is still there, says that it is no longer read and what it held.
    void check_old_maintenance_file() const;

    /// Per shard (slot ranges): can it be failed over right now, and if not why.
    const std::map<std::string, failover::Readiness>& readiness() const { return readiness_; }

    /// What happened to one failure, for status and the timeline.
    struct Attempt {
        proto::FailoverRecord record;
        std::string state;   ///< waiting, vetoed, proposed, executing, promoted, failed, ...
        std::string reason;  ///< the decision's words
        std::string replica_address;
        std::optional<TimePoint> decided_at;
        std::optional<TimePoint> sent_at;
        std::optional<TimePoint> promoted_at;
        std::optional<TimePoint> converged_at;
        std::optional<TimePoint> rejoined_at;
        Duration down_for_at_decision{};
        /// Wall clock of the decision (history is read by people).
        double decided_unix = 0;
        /// Per-candidate verdicts of the replica choice.
        std::string choice;
        /// Earlier attempts' candidates and why the failure moved on from each.
        std::vector<std::string> failed_candidates;
        bool in_history = false;
    };

  private:
    boost::asio::awaitable<void> execute(consensus::Action action);
    /// After a promotion: polls every known node's CLUSTER NODES until each that answers
    /// agrees on the new master (failover::view_shows_promotion), bounded by
    /// failover.timeout.
    boost::asio::awaitable<void> converge(proto::RecordKey key);
    void update_readiness(TimePoint now);
    void notice_rejoins(TimePoint now);
    /// Leader, failback on: a preferred master that is a healthy, in-sync replica for
    /// failback_after while nothing is wrong anywhere gets its shard back by switchover.
    void consider_failback(TimePoint now);
    /// Why another failover must not be planned yet (empty when it may): a failover or
    /// switchover is in flight, or a recent promotion is not yet in this watcher's model
    /// (a half-updated model miscounts the voting masters: FORCE looked impossible right
    /// after a TAKEOVER, and the next shard got an unasked-for TAKEOVER).
    std::string settling(const proto::RecordKey& except, TimePoint now) const;
    /// Appends a finished attempt to the history and rewrites the file.
    void remember(Attempt& a);
    std::string history_path() const;
    boost::asio::awaitable<void> run_switchover(proto::FailoverRecord record, std::string who);
    /// Runs a hook (argv from the config) with the record in PICKET_* environment
    /// variables, bounded by failover.hook_timeout (then SIGKILL). Returns "" when it
    /// exited 0, otherwise why not.
    boost::asio::awaitable<std::string> run_hook(std::vector<std::string> argv, Attempt attempt,
                                                 std::string phase, std::string result);
    /// Failures whose pre-failover hook vetoed: not planned again until forced.
    std::set<proto::RecordKey> hook_vetoed_;
    /// When this watcher last sent CLUSTER FAILOVER FORCE for a failure: the masters
    /// refuse votes for that master's replicas for 2 × cluster-node-timeout after voting,
    /// so a retry before then cannot win an election.
    std::map<proto::RecordKey, TimePoint> force_sent_;
    /// When this watcher's last failover command (either mode) for a failure left without
    /// a refusal; and when it (as leader) first saw the failure's current attempt aborted.
    /// Inputs of failover::switch_candidate().
    std::map<proto::RecordKey, TimePoint> last_command_;
    std::map<proto::RecordKey, TimePoint> aborted_seen_;
    /// Failed masters (node ids) whose last look was silent although the evidence said
    /// dead: planned as timeouts only while they stay ODOWN.
    std::set<std::string> silent_last_look_;
    /// Failback: since when each preferred node has been a calm, in-sync replica; and the
    /// last failback per shard (one per failover.cooldown).
    std::map<std::string, TimePoint> preferred_calm_since_;
    std::map<std::string, TimePoint> last_failback_;
    /// The shard (slot ranges name) `ref` names: its slots, its master's id or address.
    std::optional<failover::FailedMaster> resolve_shard(const std::string& ref) const;
    /// Maintenance facts for a master: the cluster or its shard is in maintenance; and
    /// the node ids in maintenance. Read from the vote's replicated maintenance set.
    bool shard_in_maintenance(const failover::FailedMaster& master, TimePoint now) const;
    std::set<std::string, std::less<>> nodes_in_maintenance(TimePoint now) const;
    std::vector<proto::MaintenanceEntry> maintenance_now(TimePoint now) const;
    /// Leader: reports windows that ended on their own (maintenance_off), by diffing the
    /// set it saw at the previous tick.
    void notice_maintenance_ends(TimePoint now);
    /// Target -> kind of the windows seen at the previous tick (leader only).
    std::map<std::string, std::string> maintenance_seen_;
    /// Forced failovers by shard, valid until.
    std::map<std::string, TimePoint> forced_;
    failover::Policy policy() const;
    void set_state(Attempt& a, const std::string& state, const std::string& reason,
                   const std::string& event);

    /// Plans again `after` from now (a timeouts-only wait or a TAKEOVER fence that ends
    /// between ticks): the decision follows the end of the wait, not the next tick.
    void wake_after(Duration after);

    boost::asio::any_io_executor executor_;
    boost::asio::steady_timer wake_timer_;
    std::optional<std::chrono::steady_clock::time_point> wake_at_;
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
    std::map<std::string, failover::Readiness> readiness_;
    /// When readiness_ was last computed (once a second).
    std::optional<TimePoint> readiness_at_;
    std::deque<nlohmann::json> history_;
};

}  // namespace picket::daemon
