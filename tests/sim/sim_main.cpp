// picket_sim: runs the deterministic simulation over a range of seeds.
//
//   picket_sim --seeds 1-2000 [--watchers 5] [--min-coverage]
//   picket_sim --seeds 4711 --trace          # replay one seed, print its trace
//
// Without --watchers, seed s runs with {3, 5, 6, 7}[s % 4] watchers. Prints the first
// failing seed with its violations and trace hash and exits 1; otherwise prints the
// summed coverage, seeds per second, and exits 0. --min-coverage fails the run when
// the summed coverage counters fall below minimums (a simulation that exercises
// nothing cannot pass).

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

#include "simulation.h"

namespace {

bool parse_range(const char* s, std::uint64_t& lo, std::uint64_t& hi) {
    char* end = nullptr;
    lo = std::strtoull(s, &end, 10);
    if (*end == '-') {
        hi = std::strtoull(end + 1, &end, 10);
    } else {
        hi = lo;
    }
    return *end == '\0' && lo >= 1 && hi >= lo;
}

}  // namespace

int main(int argc, char** argv) {
    std::uint64_t lo = 1, hi = 100;
    std::size_t watchers = 0;
    bool trace = false;
    bool min_coverage = false;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--seeds" && i + 1 < argc) {
            if (!parse_range(argv[++i], lo, hi)) {
                std::fprintf(stderr, "bad --seeds: want N or A-B\n");
                return 2;
            }
        } else if (a == "--watchers" && i + 1 < argc) {
            watchers = std::strtoul(argv[++i], nullptr, 10);
        } else if (a == "--trace") {
            trace = true;
        } else if (a == "--min-coverage") {
            min_coverage = true;
        } else {
            std::fprintf(stderr,
                         "usage: picket_sim [--seeds A-B] [--watchers N] [--trace] "
                         "[--min-coverage]\n");
            return 2;
        }
    }
    static constexpr std::size_t kSizes[] = {3, 5, 6, 7};
    picket::sim::Coverage total;
    picket::Duration slowest_failover{};
    std::uint64_t slowest_seed = 0;
    const auto start = std::chrono::steady_clock::now();
    for (std::uint64_t seed = lo; seed <= hi; ++seed) {
        picket::sim::SimConfig cfg;
        cfg.seed = seed;
        cfg.watchers = watchers != 0 ? watchers : kSizes[seed % 4];
        cfg.keep_trace = trace;
        auto r = picket::sim::run(cfg);
        if (trace) {
            for (const auto& line : r.trace) {
                std::printf("%s\n", line.c_str());
            }
        }
        total.add(r.coverage);
        if (r.failover_time > slowest_failover) {
            slowest_failover = r.failover_time;
            slowest_seed = seed;
        }
        if (!r.ok) {
            std::printf("FAILED seed %llu (%zu watchers), trace hash %016llx\n",
                        static_cast<unsigned long long>(seed), cfg.watchers,
                        static_cast<unsigned long long>(r.trace_hash));
            for (const auto& v : r.violations) {
                std::printf("  %s\n", v.c_str());
            }
            std::printf("replay: picket_sim --seeds %llu --watchers %zu --trace\n",
                        static_cast<unsigned long long>(seed), cfg.watchers);
            return 1;
        }
        if (trace) {
            std::printf("seed %llu ok, trace hash %016llx\n", static_cast<unsigned long long>(seed),
                        static_cast<unsigned long long>(r.trace_hash));
        }
    }
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const std::uint64_t n = hi - lo + 1;
    std::printf(
        "%llu seeds ok in %.1f s (%.1f seeds/s)\nliveness: slowest kill-to-promotion %lld ms "
        "(seed %llu)\ncoverage: %s\n",
        static_cast<unsigned long long>(n), secs, static_cast<double>(n) / secs,
        static_cast<long long>(picket::to_ms(slowest_failover)),
        static_cast<unsigned long long>(slowest_seed), total.to_string().c_str());
    if (min_coverage) {
        // Per seed on average, generous floors: what 1,000 seeds always reach. The rare
        // events (a few per 100 seeds) are only required of runs of 1,000 seeds or more
        // (the sanitizer stage runs 250 per ctest half).
        constexpr std::uint64_t kRare = 1000;
        const struct {
            const char* name;
            std::uint64_t value;
            std::uint64_t per_100_seeds;
            std::uint64_t min_seeds = 0;
        } floors[] = {
            {"elections", total.elections, 100},
            {"stepdowns", total.stepdowns, 10},
            {"restarts", total.restarts, 100},
            {"crashes_mid_output", total.crashes_mid_output, 10},
            {"pauses", total.pauses, 50},
            {"partitions", total.partitions, 100},
            {"dropped", total.dropped, 100},
            {"duplicated", total.duplicated, 10},
            {"auth_drops", total.auth_drops, 1, kRare},
            {"master_kills", total.master_kills, 100},
            {"redis_pauses", total.redis_pauses, 50},
            {"redis_partitions", total.redis_partitions, 100},
            {"sdowns", total.sdowns, 500},
            {"safe_modes", total.safe_modes, 50},
            {"odown", total.odown, 100},
            {"plan_waits", total.plan_waits, 100},
            {"plan_vetoes", total.plan_vetoes, 100},
            {"proposals", total.proposals, 100},
            {"adoptions", total.adoptions, 5},
            {"commands", total.commands, 100},
            {"held_commands", total.held_commands, 3, kRare},
            {"cas_refused", total.cas_refused, 1, kRare},
            {"force_votes_throttled", total.force_votes_throttled, 1, kRare},
            {"force_failed", total.force_failed, 10},
            {"takeovers", total.takeovers, 10},
            {"promotions", total.promotions, 100},
            {"failovers_verified", total.failovers_verified, 50},
            {"stale_rejected", total.stale_rejected, 1, kRare},
            {"candidate_switches", total.candidate_switches, 1, kRare},
            {"rejoins", total.rejoins, 50},
            {"lease_checks", total.lease_checks, 10000},
        };
        bool ok = true;
        for (const auto& f : floors) {
            if (n < f.min_seeds) {
                continue;
            }
            const std::uint64_t need = f.per_100_seeds * n / 100;
            if (f.value < need) {
                std::printf("coverage too low: %s = %llu < %llu\n", f.name,
                            static_cast<unsigned long long>(f.value),
                            static_cast<unsigned long long>(need));
                ok = false;
            }
        }
        if (!ok) {
            return 1;
        }
    }
    return 0;
}
