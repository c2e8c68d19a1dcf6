#pragma once
// The vote's shell (issue #4): loads and persists the consensus state, drives the pure
// consensus::Consensus with this watcher's opinions and the peers' messages, and carries
// out its output in order — persist (fsync) first, then send, then report. Owns the peer
// transport and the vote's timer.
//
// Failover execution (issue #5) is not wired yet: committed failover records are logged
// as "would fail over" and nothing is sent to Redis.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "picket/config/config.h"
#include "picket/consensus/consensus.h"
#include "picket/peer/network.h"
#include "picket/watch/watcher.h"

namespace picket::daemon {

/// Builds the consensus configuration from picketd's (voters, quorum, timings).
consensus::Config consensus_config(const config::Config& config);

class VoteService {
  public:
    /// `report(kind, detail, node_id)` gets every vote event (for logs, metrics, status);
    /// `fatal(message)` is called when the state cannot be persisted: the daemon must stop.
    VoteService(
        boost::asio::any_io_executor executor, const config::Config& config,
        const watch::Watcher& watcher,
        std::function<void(const std::string&, const std::string&, const std::string&)> report,
        std::function<void(const std::string&)> fatal);
    ~VoteService();

    /// Loads (or creates) the state file, bumps and persists the incarnation, binds the
    /// peer port. Errors are for the operator (corrupt state file, port taken).
    Expected<void, std::string> start();
    void stop();

    const consensus::Consensus* consensus() const { return consensus_.get(); }

    /// Where committed failover records go (the failover executor). Without one they
    /// are only logged.
    void set_action_handler(std::function<void(const consensus::Action&)> handler) {
        on_action_ = std::move(handler);
    }
    /// The detector's opinions changed (a node went SDOWN or recovered): hand them to
    /// the vote now rather than at its next timer period, so a follower's Opinion leaves
    /// and the leader's ODOWN check runs within microseconds of the detection.
    void opinions_changed();
    /// Leader only: proposes a failover record (see consensus::Consensus::propose).
    Expected<proto::FailoverRecord, consensus::ProposeError> propose(proto::FailoverRecord record);
    /// Leader only: opens the next attempt at a failure (consensus::propose_attempt).
    Expected<proto::FailoverRecord, consensus::ProposeError> propose_attempt(
        proto::FailoverRecord record);
    /// Leader only: execution progress of a record.
    bool report_progress(const proto::RecordKey& key, proto::RecordPhase phase,
                         std::optional<std::uint32_t> attempt = std::nullopt);
    /// Leader only: a maintenance window on or off (consensus::set_maintenance).
    Expected<void, consensus::ProposeError> set_maintenance(proto::MaintenanceEntry entry, bool on);
    const peer::Network* network() const { return network_.get(); }
    std::string state_path() const;
    /// The "vote" section of /v1/status.
    nlohmann::json status(TimePoint now) const;
    /// Text for `PICKET INFO` on the peer port.
    std::string info_text() const;

  private:
    boost::asio::awaitable<void> timer_loop();
    void feed_local(TimePoint now);
    void process(TimePoint now);

    boost::asio::any_io_executor executor_;
    const config::Config& config_;
    const watch::Watcher& watcher_;
    std::function<void(const std::string&, const std::string&, const std::string&)> report_;
    std::function<void(const std::string&)> fatal_;
    std::function<void(const consensus::Action&)> on_action_;
    std::unique_ptr<consensus::Consensus> consensus_;
    std::unique_ptr<peer::Network> network_;
    boost::asio::steady_timer timer_;
    /// Nodes last fed to the vote as SDOWN (proto keys: node id, else address).
    std::set<std::string> fed_sdown_;
    bool running_ = false;
    bool failed_ = false;
    std::shared_ptr<bool> alive_;
};

}  // namespace picket::daemon
