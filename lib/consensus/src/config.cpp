#include "picket/consensus/config.h"

#include <algorithm>
#include <set>

#include "picket/proto/codec.h"

namespace picket::consensus {

Duration Config::lease_duration() const {
    const auto drift = election_timeout_min * max_drift_ppm / 1'000'000;
    return election_timeout_min - drift - lease_margin;
}

Duration Config::effective_opinion_validity() const {
    return opinion_validity > Duration::zero() ? opinion_validity : 3 * heartbeat_interval;
}

Expected<ConfigCheck, std::string> validate(const Config& c) {
    ConfigCheck check;
    if (c.voters.empty()) {
        return unexpected(std::string("no voters configured"));
    }
    std::set<std::string> seen;
    for (const auto& v : c.voters) {
        if (v.empty() || v.size() > proto::Limits::kMaxIdBytes) {
            return unexpected("voter id '" + v + "' is empty or longer than " +
                              std::to_string(proto::Limits::kMaxIdBytes) + " bytes");
        }
        if (!seen.insert(v).second) {
            return unexpected("voter '" + v + "' is listed twice");
        }
    }
    if (!seen.contains(c.self)) {
        return unexpected("this watcher '" + c.self + "' is not one of the voters");
    }
    const std::size_t n = c.voters.size();
    if (n > 64) {
        return unexpected(std::string("more than 64 voters"));
    }
    if (n > 1 && c.quorum > n - 1) {
        return unexpected("quorum " + std::to_string(c.quorum) +
                          " > N - 1 = " + std::to_string(n - 1) +
                          ": the watcher on a dead master's VM dies with it, so such a quorum "
                          "could never be reached when it matters");
    }
    if (c.quorum > c.majority()) {
        check.warnings.push_back("quorum " + std::to_string(c.quorum) + " is above the majority " +
                                 std::to_string(c.majority()) +
                                 ": failures need more watchers to agree, and fewer watcher "
                                 "losses are tolerated before no failover is possible");
    }
    if (n % 2 == 0) {
        check.warnings.push_back(std::to_string(n) +
                                 " voters tolerate no more watcher failures than " +
                                 std::to_string(n - 1) + "; add a witness or remove one");
    }
    if (c.heartbeat_interval <= Duration::zero()) {
        return unexpected(std::string("heartbeat interval must be positive"));
    }
    if (c.election_timeout_min < 2 * c.heartbeat_interval) {
        return unexpected(
            std::string("election_timeout_min must be at least 2 heartbeat intervals"));
    }
    if (c.election_timeout_max <= c.election_timeout_min) {
        return unexpected(std::string("election_timeout_max must exceed election_timeout_min"));
    }
    if (c.max_drift_ppm >= 500'000) {
        return unexpected(std::string("max_drift_ppm must be below 500000"));
    }
    if (c.lease_duration() <= c.heartbeat_interval) {
        return unexpected(
            std::string("lease (election_timeout_min x (1 - drift) - margin) must exceed a "
                        "heartbeat interval"));
    }
    return check;
}

}  // namespace picket::consensus
