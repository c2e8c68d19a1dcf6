#include "picket/failover/plan.h"

#include <algorithm>
#include <cassert>
#include <utility>

#include "format.h"

namespace picket::failover {

std::string_view to_string(Liveness l) {
    switch (l) {
        case Liveness::kReachable:
            return "reachable";
        case Liveness::kKnownDead:
            return "known_dead";
        case Liveness::kPossiblyAlive:
            return "possibly_alive";
    }
    return "unknown";
}

std::string_view to_string(VetoReason r) {
    switch (r) {
        case VetoReason::kNoEvidence:
            return "no_evidence";
        case VetoReason::kMaintenance:
            return "maintenance";
        case VetoReason::kCooldown:
            return "cooldown";
        case VetoReason::kRateLimited:
            return "rate_limited";
        case VetoReason::kSlotsMigrating:
            return "slots_migrating";
        case VetoReason::kReplicasSeeMaster:
            return "replicas_see_master";
        case VetoReason::kNoEligibleReplica:
            return "no_eligible_replica";
        case VetoReason::kTakeoverDisabled:
            return "takeover_disabled";
        case VetoReason::kTakeoverUnsafe:
            return "takeover_unsafe";
    }
    return "unknown";
}

std::string_view to_string(ReadinessProblem p) {
    switch (p) {
        case ReadinessProblem::kNoEligibleReplica:
            return "no_eligible_replica";
        case ReadinessProblem::kNoQuorum:
            return "no_quorum";
        case ReadinessProblem::kNoMajority:
            return "no_majority";
        case ReadinessProblem::kCooldown:
            return "cooldown";
        case ReadinessProblem::kMigration:
            return "migration";
        case ReadinessProblem::kMaintenance:
            return "maintenance";
    }
    return "unknown";
}

std::optional<FailedMaster> failed_master_from(const cluster::Topology& topology,
                                               std::string_view master_id) {
    const cluster::NodeModel* node = topology.node(master_id);
    if (node == nullptr || node->role != cluster::NodeRole::kMaster) {
        return std::nullopt;
    }
    FailedMaster m;
    m.id = node->id;
    m.address = node->address.endpoint();
    m.hostname = node->address.hostname;
    m.slots = node->slots;
    m.config_epoch = node->config_epoch;
    return m;
}

std::string shard_name(const std::vector<cluster::SlotRange>& slots) {
    std::string out;
    for (const auto& r : slots) {
        if (!out.empty()) {
            out += ',';
        }
        out += r.to_string();
    }
    return out;
}

proto::RecordKey record_key(const FailedMaster& master) {
    return proto::RecordKey{shard_name(master.slots), master.id, master.config_epoch};
}

std::vector<MasterLiveness> master_liveness(const cluster::Topology& topology,
                                            const NodeStatuses& nodes, const ChoiceIndex* index) {
    assert(index == nullptr || (index->topology() == &topology && index->nodes() == &nodes));
    std::vector<MasterLiveness> out;
    for (const auto& node : topology.nodes()) {
        if (node.role != cluster::NodeRole::kMaster || node.slots.empty()) {
            continue;
        }
        // A master whose every slot range another master claims at a higher config epoch
        // has lost its slots (to a failover): Redis no longer counts it among the masters
        // that vote, and neither may we. A stale view (e.g. the node's own, read before it
        // was cut off) still shows the claims; counting it would raise the majority and
        // turn a possible FORCE into a TAKEOVER (the chaos suite found this after a forced
        // TAKEOVER with two masters cut off).
        bool owns_any = false;
        for (const auto& r : node.slots) {
            const auto* owner = topology.shard_for_slot(r.first);
            owns_any = owns_any || owner == nullptr || owner->master_id == node.id;
        }
        if (!owns_any) {
            continue;
        }
        MasterLiveness m{node.id, Liveness::kPossiblyAlive};
        const std::string address = node.address.endpoint();
        const auto* s = index != nullptr ? index->find_status(node.id, address)
                                         : find_status(nodes, node.id, address);
        if (s != nullptr) {
            const auto o = s->last_outcome;
            if (s->state == detect::NodeState::kUp || s->state == detect::NodeState::kLoading) {
                // It answers us, so it answers the cluster bus too: it can vote.
                m.liveness = Liveness::kReachable;
            } else if (s->state == detect::NodeState::kSdown &&
                       s->probe_evidence == detect::Evidence::kDead &&
                       (o == detect::ProbeOutcome::kRefused || o == detect::ProbeOutcome::kReset ||
                        o == detect::ProbeOutcome::kClosed)) {
                // The "known dead": the host answers and Redis refuses. A master
                // only *testified* dead by its replicas (link down) may be alive and cut
                // off with them, so it stays possibly alive.
                m.liveness = Liveness::kKnownDead;
            }
        }
        out.push_back(std::move(m));
    }
    return out;
}

namespace {

void count_one(MasterCounts& c, Liveness liveness) {
    ++c.total;
    switch (liveness) {
        case Liveness::kReachable:
            ++c.reachable;
            break;
        case Liveness::kKnownDead:
            ++c.known_dead;
            break;
        case Liveness::kPossiblyAlive:
            ++c.possibly_alive;
            break;
    }
}

/// count_masters(with_master_lost(masters, failed_id)) without copying the list:
/// readiness() runs for every shard, and the list has every master.
MasterCounts count_with_master_lost(const std::vector<MasterLiveness>& masters,
                                    const std::string& failed_id) {
    MasterCounts c;
    bool found = false;
    for (const auto& m : masters) {
        Liveness l = m.liveness;
        if (m.id == failed_id) {
            found = true;
            if (l == Liveness::kReachable) {
                l = Liveness::kPossiblyAlive;
            }
        }
        count_one(c, l);
    }
    if (!found) {
        count_one(c, Liveness::kPossiblyAlive);
    }
    return c;
}

}  // namespace

MasterCounts count_masters(const std::vector<MasterLiveness>& masters) {
    MasterCounts c;
    for (const auto& m : masters) {
        count_one(c, m.liveness);
    }
    return c;
}

Duration timeouts_only_wait(const Policy& policy) {
    // A master cut off from the cluster keeps taking writes until it notices it is in a
    // minority, cluster-node-timeout after it lost contact. Promoting its replica before
    // then opens a split-brain window the cluster's own failover never opens; the extra
    // second covers the cluster's cron granularity (clusterCron runs every 100 ms, and the
    // minority check is done from it) and clock-rate differences. fast_on_timeouts trades
    // that safety for speed, by the operator's explicit choice.
    if (policy.fast_on_timeouts) {
        return policy.down_after_unresponsive;
    }
    return std::max(policy.down_after_unresponsive,
                    policy.cluster_node_timeout + std::chrono::seconds(1));
}

Duration takeover_fence(const Policy& policy) {
    // Every possibly-alive master in a minority stops serving cluster-node-timeout after
    // it lost the majority; 1.5 × plus 2 s leaves room for its cron, for our last-contact
    // estimate being late, and for clock-rate drift.
    return policy.cluster_node_timeout + policy.cluster_node_timeout / 2 + std::chrono::seconds(2);
}

std::optional<std::string> cluster_promotion(const cluster::Topology& topology,
                                             const FailedMaster& master) {
    for (const auto& range : master.slots) {
        const cluster::Shard* owner = topology.shard_for_slot(range.first);
        if (owner != nullptr && owner->master_id != master.id &&
            owner->config_epoch > master.config_epoch) {
            return owner->master_id;
        }
    }
    return std::nullopt;
}

bool shard_migrating(const cluster::Topology& topology, const FailedMaster& master,
                     const ChoiceIndex* index) {
    assert(index == nullptr || index->topology() == &topology);
    auto in_shard = [&master](cluster::Slot slot) {
        return std::any_of(master.slots.begin(), master.slots.end(),
                           [slot](const cluster::SlotRange& r) { return r.contains(slot); });
    };
    auto migrating = [&](const cluster::NodeModel& node) {
        const bool member = node.id == master.id || node.master_id == master.id;
        for (const auto& mig : node.migrations) {
            if (member || mig.node_id == master.id || in_shard(mig.slot)) {
                return true;
            }
        }
        return false;
    };
    if (index != nullptr) {
        const auto& nodes = index->migrating();
        return std::any_of(nodes.begin(), nodes.end(),
                           [&](const cluster::NodeModel* node) { return migrating(*node); });
    }
    return std::any_of(topology.nodes().begin(), topology.nodes().end(), migrating);
}

const std::string& Plan::reason() const {
    return std::visit([](const auto& d) -> const std::string& { return d.reason; }, decision);
}

namespace {

bool names_master(const std::set<std::string, std::less<>>& set, const FailedMaster& m) {
    return set.contains(m.id) || set.contains(m.address) ||
           (!m.hostname.empty() &&
            set.contains(detail::endpoint(m.hostname, detail::split_endpoint(m.address).second)));
}

/// The holistic veto's testimony (orchestrator's rule): a replica that, in fresh INFO,
/// reports its link to the master up and data from it *after* our last contact. Then the
/// master was alive after we lost it: our path to it is broken, not the master. Returns
/// the sentence, or empty when no replica testifies.
std::string replica_testimony(const PlanInput& in) {
    if (in.nodes == nullptr) {
        return {};
    }
    const TimePoint last_contact = in.now - in.since_last_contact;
    for (const auto& [address, s] : *in.nodes) {
        if (s.state != detect::NodeState::kUp || !s.replication || !s.replication_at) {
            continue;
        }
        const cluster::ReplicationInfo& r = *s.replication;
        // Stale INFO is no testimony about the present.
        if (in.now - *s.replication_at > in.policy.replica_report_max_age) {
            continue;
        }
        if (r.role != cluster::ReplicationRole::kReplica ||
            !detail::follows(r, in.master.address, in.master.hostname) ||
            r.master_link_status != cluster::MasterLinkStatus::kUp ||
            r.master_last_io_seconds_ago < 0) {
            continue;
        }
        // master_last_io_seconds_ago is truncated to whole seconds: the I/O happened no
        // earlier than (ago + 1) s before the INFO was read.
        const TimePoint io_at =
            *s.replication_at - std::chrono::seconds(r.master_last_io_seconds_ago + 1);
        if (io_at <= last_contact) {
            continue;
        }
        return "replica " + (s.node_id.empty() ? address : s.node_id) + " (" + address +
               ") reports its link to the master up with data " +
               std::to_string(r.master_last_io_seconds_ago) + "s ago, after our last contact " +
               detail::format(in.since_last_contact) +
               " ago: the master is alive and only our path to it is broken";
    }
    return {};
}

ChoiceInput choice_input(const FailedMaster& m, const cluster::Topology* topology,
                         const NodeStatuses* nodes,
                         const std::set<std::string, std::less<>>& maintenance,
                         std::optional<std::int64_t> master_offset, const Policy& policy,
                         const std::set<std::string, std::less<>>& failed = {}) {
    ChoiceInput c;
    c.master_id = m.id;
    c.master_address = m.address;
    c.master_hostname = m.hostname;
    c.topology = topology;
    c.nodes = nodes;
    c.maintenance = maintenance;
    c.failed_candidates = failed;
    c.master_offset = master_offset;
    c.policy = policy;
    return c;
}

/// The masters with the failed one counted as lost: it is ODOWN, so it cannot be
/// counted on to vote even if this watcher still reaches it; if the list lacks it (a
/// topology read after it lost its slots), it is added as possibly alive.
std::vector<MasterLiveness> with_master_lost(std::vector<MasterLiveness> masters,
                                             const std::string& failed_id) {
    bool found = false;
    for (auto& m : masters) {
        if (m.id == failed_id) {
            found = true;
            if (m.liveness == Liveness::kReachable) {
                m.liveness = Liveness::kPossiblyAlive;
            }
        }
    }
    if (!found) {
        masters.push_back({failed_id, Liveness::kPossiblyAlive});
    }
    return masters;
}

std::string counts_text(const MasterCounts& c) {
    return std::to_string(c.reachable) + " of " + std::to_string(c.total) +
           " slot-owning masters reachable (majority " + std::to_string(c.majority()) + "), " +
           std::to_string(c.known_dead) + " known dead, " + std::to_string(c.possibly_alive) +
           " possibly alive";
}

/// Sets the decision to a veto and hands the plan back. Takes the plan by reference so
/// the reason may be built from it (argument evaluation order is unspecified).
Plan veto(Plan& plan, VetoReason why, std::string reason) {
    plan.decision = Veto{why, std::move(reason)};
    return std::move(plan);
}

}  // namespace

Plan plan_failover(const PlanInput& in) {
    Plan plan;
    // 1. The cluster already promoted a replica (its own failover, or an operator's):
    //    acting again would fail over the new master. Record and report only.
    std::optional<std::string> promoted = in.facts.promoted_by_cluster;
    if (!promoted && in.topology != nullptr) {
        promoted = cluster_promotion(*in.topology, in.master);
    }
    if (promoted) {
        plan.decision =
            AlreadyDone{*promoted, "the cluster already promoted " + *promoted +
                                       " for the slots of " + in.master.id + ": nothing to do"};
        return plan;
    }
    const std::vector<MasterLiveness> masters = with_master_lost(in.masters, in.master.id);
    plan.masters = count_masters(masters);
    plan.choice = choose_replica(choice_input(in.master, in.topology, in.nodes, in.maintenance,
                                              in.master_offset, in.policy, in.failed_candidates));

    // 2. ODOWN without evidence cannot happen through consensus; refuse rather than guess.
    if (in.evidence == proto::Evidence::kNone) {
        return veto(plan, VetoReason::kNoEvidence, "no failure evidence for " + in.master.id);
    }
    // 3-6. The operator's and the shard's state, cheapest first. Each one is a reason not to
    //      touch the shard whatever the evidence says.
    if (in.facts.maintenance || names_master(in.maintenance, in.master)) {
        return veto(plan, VetoReason::kMaintenance,
                    "shard " + shard_name(in.master.slots) + " is in maintenance");
    }
    // Anti-flapping: a shard that failed over recently waits, or an operator acks.
    if (in.facts.in_cooldown) {
        return veto(plan, VetoReason::kCooldown,
                    "shard " + shard_name(in.master.slots) + " failed over recently: cooldown " +
                        detail::format(in.facts.cooldown_remaining) +
                        " left (picketctl ack lifts it)");
    }
    if (in.facts.rate_limited) {
        return veto(plan, VetoReason::kRateLimited,
                    "global failover rate limit (failover.max_failovers) reached");
    }
    // A failover in the middle of a resharding leaves slots half moved between the old
    // master, its importer and the promoted replica: refuse and let an operator finish it.
    if (in.facts.slots_migrating ||
        (in.topology != nullptr && shard_migrating(*in.topology, in.master))) {
        return veto(
            plan, VetoReason::kSlotsMigrating,
            "slots of shard " + shard_name(in.master.slots) + " are importing or migrating");
    }
    // 7. Timeouts only: we cannot tell a stall from a partition.
    if (in.evidence == proto::Evidence::kUnresponsive) {
        // 7a. Holistic veto: replicas still hear from the master.
        std::string testimony = replica_testimony(in);
        if (!testimony.empty()) {
            return veto(plan, VetoReason::kReplicasSeeMaster, std::move(testimony));
        }
        // 7b. Not before the minority master has fenced itself (timeouts_only_wait()).
        const Duration until = timeouts_only_wait(in.policy);
        if (in.since_last_contact < until) {
            plan.decision =
                Wait{until, "timeouts-only evidence: waiting until " + detail::format(until) +
                                " after the last contact (now " +
                                detail::format(in.since_last_contact) + ")" +
                                (in.policy.fast_on_timeouts
                                     ? " (fast_on_timeouts)"
                                     : ": a cut-off master serves until cluster-node-timeout")};
            return plan;
        }
    }
    // 8. Someone to promote.
    if (!plan.choice.chosen) {
        return veto(plan, VetoReason::kNoEligibleReplica, plan.choice.reason);
    }
    const std::string replica = *plan.choice.chosen;
    const MasterCounts c = plan.masters;
    // 9. FORCE while a majority of slot-owning masters can vote. A dead process serves
    //    nothing, and masters vote for FORCE even if they see the old master healthy.
    if (c.force_possible()) {
        plan.decision = Act{proto::FailoverMode::kForce, replica, Duration{}, Duration{},
                            "FORCE " + replica + ": " + counts_text(c) + "; " + plan.choice.reason};
        return plan;
    }
    // 10. No majority to vote: only TAKEOVER (no vote, a new epoch) can restore the slots.
    if (!in.policy.allow_takeover) {
        return veto(plan, VetoReason::kTakeoverDisabled,
                    "no majority of masters to vote for FORCE (" + counts_text(c) +
                        ") and failover.allow_takeover is off");
    }
    // 11. Possibly-alive masters that could be a majority among themselves may be serving
    //     writes together on the far side of a partition (the split brain Jepsen showed
    //     with Sentinel): TAKEOVER here would make two masters for the same slots.
    if (c.possibly_alive_majority() && !in.policy.takeover_when_unreachable) {
        return veto(plan, VetoReason::kTakeoverUnsafe,
                    "TAKEOVER refused: " + counts_text(c) +
                        "; the possibly-alive masters could form a majority and still serve "
                        "writes; an operator may force it (picketctl failover --force) or set "
                        "takeover_when_unreachable");
    }
    // 12. TAKEOVER. Known-dead masters need no fence. Possibly-alive ones are each in a
    //     minority (or the operator opted in) and stop serving cluster-node-timeout after
    //     losing the majority: wait takeover_fence() from the last contact first.
    Act act;
    act.mode = proto::FailoverMode::kTakeover;
    act.replica = replica;
    if (c.possibly_alive > 0) {
        act.fence_wait = takeover_fence(in.policy);
        act.fence_remaining = std::max(Duration{}, act.fence_wait - in.since_last_contact);
    }
    act.reason =
        "TAKEOVER " + replica + ": " + counts_text(c) +
        (c.possibly_alive == 0
             ? "; every lost master is known dead, no fence needed"
             : "; fenced after " + detail::format(act.fence_wait) + " from the last contact" +
                   (c.possibly_alive_majority() ? " (takeover_when_unreachable)" : "")) +
        "; " + plan.choice.reason;
    plan.decision = std::move(act);
    return plan;
}

CasResult still_valid(const proto::FailoverRecord& record, const cluster::Topology& fresh) {
    const std::string& master_id = record.key.failed_master;
    auto fail = [](std::string why) { return CasResult{false, std::move(why)}; };
    const cluster::NodeModel* master = fresh.node(master_id);
    if (master == nullptr) {
        return fail("failed master " + master_id + " is no longer in the cluster view");
    }
    if (master->role != cluster::NodeRole::kMaster) {
        return fail("failed master " + master_id + " is now " +
                    std::string(cluster::to_string(master->role)));
    }
    if (master->config_epoch != record.key.config_epoch) {
        return fail("failed master " + master_id + " is at config epoch " +
                    std::to_string(master->config_epoch) + ", the record is for epoch " +
                    std::to_string(record.key.config_epoch));
    }
    if (master->slots.empty()) {
        return fail("failed master " + master_id + " serves no slots any more");
    }
    for (const auto& range : master->slots) {
        const cluster::Shard* owner = fresh.shard_for_slot(range.first);
        if (owner == nullptr || owner->master_id != master_id) {
            return fail("slot " + std::to_string(range.first) + " is now served by " +
                        (owner == nullptr ? std::string("nobody") : owner->master_id));
        }
    }
    const cluster::NodeModel* target = fresh.node(record.replica);
    if (target == nullptr) {
        return fail("target " + record.replica + " is no longer in the cluster view");
    }
    if (target->role != cluster::NodeRole::kReplica) {
        return fail("target " + record.replica + " is now " +
                    std::string(cluster::to_string(target->role)));
    }
    if (target->master_id != master_id) {
        return fail("target " + record.replica + " now replicates " +
                    target->master_id.value_or("nobody"));
    }
    return CasResult{true, {}};
}

ViewAgreement view_shows_promotion(const cluster::ClusterView& view,
                                   const proto::FailoverRecord& record) {
    const std::string& target = record.replica;
    const auto* line = static_cast<const cluster::ClusterNode*>(nullptr);
    for (const auto& n : view.nodes) {
        if (n.id == target) {
            line = &n;
        }
    }
    const std::string who = "node " + view.reporter_id.substr(0, 8);
    if (line == nullptr) {
        return {false, who + " does not list " + target.substr(0, 8)};
    }
    if (!line->is_master()) {
        return {false, who + " still sees " + target.substr(0, 8) + " as a replica"};
    }
    if (line->config_epoch <= record.key.config_epoch) {
        return {false, who + " sees " + target.substr(0, 8) + " at config epoch " +
                           std::to_string(line->config_epoch) + ", not above the failed master's " +
                           std::to_string(record.key.config_epoch)};
    }
    const auto owned = cluster::normalize_slot_ranges(line->slots);
    if (shard_name(owned) != record.key.shard) {
        return {false, who + " sees " + target.substr(0, 8) + " serving [" + shard_name(owned) +
                           "], not the shard's [" + record.key.shard + "]"};
    }
    for (const auto& n : view.nodes) {
        if (n.id == target || !n.is_master()) {
            continue;
        }
        for (const auto& r : n.slots) {
            for (const auto& o : owned) {
                if (r.first <= o.last && o.first <= r.last) {
                    return {false, who + " still sees " + n.id.substr(0, 8) + " claiming slots " +
                                       r.to_string()};
                }
            }
        }
    }
    return {true, {}};
}

std::map<std::string, std::string> config_drift(
    const cluster::Topology& topology,
    const std::map<std::string, std::map<std::string, std::string, std::less<>>>& settings,
    Duration configured_node_timeout) {
    std::map<std::string, std::string> out;
    std::string no_coverage;
    std::map<std::string, std::vector<std::string>> timeouts;  // value -> nodes
    for (const auto& [address, values] : settings) {
        if (auto it = values.find("cluster-require-full-coverage");
            it != values.end() && it->second == "no") {
            no_coverage += (no_coverage.empty() ? "" : ", ") + address;
        }
        if (auto it = values.find("cluster-node-timeout"); it != values.end()) {
            timeouts[it->second].push_back(address);
        }
    }
    if (!no_coverage.empty()) {
        out["require_full_coverage"] =
            "cluster-require-full-coverage is no on " + no_coverage +
            ": a master cut off in a minority keeps serving, and TAKEOVER is not fenced";
    }
    const std::string configured = std::to_string(to_ms(configured_node_timeout));
    if (timeouts.size() > 1 || (timeouts.size() == 1 && timeouts.begin()->first != configured)) {
        std::string d;
        for (const auto& [value, nodes] : timeouts) {
            d += (d.empty() ? "" : "; ") + value + " ms on " + std::to_string(nodes.size()) +
                 " node(s) (" + nodes.front() + (nodes.size() > 1 ? ", ..." : "") + ")";
        }
        out["cluster_node_timeout"] = "cluster-node-timeout " + d +
                                      "; picket's failover.cluster_node_timeout is " + configured +
                                      " ms (its waits and fences rest on it)";
    }
    std::size_t with = 0;
    std::size_t without = 0;
    for (const auto& n : topology.nodes()) {
        if (n.role == cluster::NodeRole::kReplica) {
            (n.nofailover ? with : without) += 1;
        }
    }
    if (with > 0 && without > 0) {
        out["replica_no_failover"] = "cluster-replica-no-failover is set on " +
                                     std::to_string(with) + " replica(s) but not on " +
                                     std::to_string(without) +
                                     ": the cluster's own failover races picket for those";
    }
    return out;
}

Readiness readiness(const ReadinessInput& in) {
    Readiness out;
    std::vector<std::string> reasons;
    auto problem = [&](ReadinessProblem p, std::string why) {
        out.problems.push_back(p);
        reasons.push_back(std::string(to_string(p)) + ": " + std::move(why));
    };
    ChoiceInput choice_in =
        choice_input(in.master, in.topology, in.nodes, in.maintenance, in.master_offset, in.policy);
    choice_in.index = in.index;
    const Choice choice = choose_replica(choice_in);
    out.replica = choice.chosen;
    if (!choice.chosen) {
        problem(ReadinessProblem::kNoEligibleReplica, choice.reason);
    }
    // ODOWN needs `quorum` SDOWN opinions, and the record must reach a majority of voters.
    const std::size_t voter_majority = in.voter_count / 2 + 1;
    if (in.reachable_voters < in.quorum || in.reachable_voters < voter_majority) {
        problem(ReadinessProblem::kNoQuorum,
                std::to_string(in.reachable_voters) + " of " + std::to_string(in.voter_count) +
                    " watchers reachable; need " + std::to_string(in.quorum) + " for ODOWN and " +
                    std::to_string(voter_majority) + " to commit");
    }
    const MasterCounts c = count_with_master_lost(in.masters, in.master.id);
    if (!c.force_possible()) {
        if (!in.policy.allow_takeover) {
            problem(ReadinessProblem::kNoMajority,
                    counts_text(c) + " without this master; allow_takeover is off");
        } else if (c.possibly_alive_majority() && !in.policy.takeover_when_unreachable) {
            problem(ReadinessProblem::kNoMajority,
                    counts_text(c) + " without this master; TAKEOVER would be refused");
        }
    }
    if (in.facts.in_cooldown) {
        problem(ReadinessProblem::kCooldown,
                detail::format(in.facts.cooldown_remaining) + " of cooldown left");
    }
    if (in.facts.slots_migrating ||
        (in.topology != nullptr && shard_migrating(*in.topology, in.master, in.index))) {
        problem(ReadinessProblem::kMigration, "slots importing or migrating");
    }
    if (in.facts.maintenance || names_master(in.maintenance, in.master)) {
        problem(ReadinessProblem::kMaintenance, "in maintenance");
    }
    if (out.problems.empty()) {
        out.reason = "ready: would promote " + *choice.chosen +
                     (c.force_possible() ? " (FORCE)" : " (TAKEOVER)");
        return out;
    }
    for (const auto& r : reasons) {
        if (!out.reason.empty()) {
            out.reason += "; ";
        }
        out.reason += r;
    }
    return out;
}

}  // namespace picket::failover

namespace picket::failover {

SwitchVerdict switch_candidate(const SwitchInput& in) {
    SwitchVerdict v;
    const std::string who = "previous attempt's candidate " +
                            (in.replica_address.empty() ? in.replica : in.replica_address);
    // What became of the candidate, judged only by what was seen after the abort.
    const detect::NodeStatus* st =
        in.nodes == nullptr ? nullptr : find_status(*in.nodes, in.replica, in.replica_address);
    const bool fresh_probe = in.now - in.aborted_at >= in.probe_delay;
    std::string fate;
    v.candidate_up = st != nullptr && st->state == detect::NodeState::kUp;
    if (st != nullptr) {
        const bool refused = st->last_outcome == detect::ProbeOutcome::kRefused ||
                             st->last_outcome == detect::ProbeOutcome::kReset ||
                             st->last_outcome == detect::ProbeOutcome::kClosed;
        const cluster::NodeModel* model =
            in.topology == nullptr ? nullptr : in.topology->node(in.replica);
        if (refused && st->state != detect::NodeState::kUp && st->failing_since && fresh_probe) {
            v.dead = true;
            fate = who + " dead (" + std::string(detect::to_string(st->last_outcome)) +
                   ", failing for " + detail::format(in.now - *st->failing_since) + ")";
        } else if (st->replication && st->replication_at && *st->replication_at > in.aborted_at &&
                   st->replication->role == cluster::ReplicationRole::kReplica &&
                   (model == nullptr || model->role != cluster::NodeRole::kMaster)) {
            v.still_replica = true;
            fate = who + " not promoted: alive and answering as a replica after the abort";
        }
    }
    if (!v.dead && !v.still_replica) {
        v.reason = who + ": neither seen dead nor seen still a replica since the abort (" +
                   (st == nullptr        ? std::string("not probed by this watcher")
                    : st->reason.empty() ? std::string(detect::to_string(st->state))
                                         : st->reason) +
                   "); it may still act on a command it received";
        if (!fresh_probe) {
            v.wait = in.probe_delay - (in.now - in.aborted_at);
        }
        return v;
    }
    if (!in.abort_committed) {
        v.reason = fate + "; its abort is not yet held by a majority of watchers";
        return v;
    }
    const Duration throttle = 2 * in.cluster_node_timeout;
    TimePoint from = in.leader_since;
    if (in.command_sent_at && *in.command_sent_at > from) {
        from = *in.command_sent_at;
    }
    if (in.now - from < throttle) {
        v.wait = throttle - (in.now - from);
        v.reason = fate +
                   "; but a command for it may still land, and the masters refuse votes for "
                   "another replica, until 2 x cluster-node-timeout after the last command and "
                   "after this leader's election (" +
                   detail::format(v.wait) + " left)";
        return v;
    }
    v.may_switch = true;
    v.reason = fate;
    return v;
}

}  // namespace picket::failover
