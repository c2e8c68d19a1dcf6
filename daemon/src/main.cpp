// picketd: parses flags, loads the configuration, runs the Daemon. Nothing else.

#include <chrono>
#include <cstring>
#include <iostream>
#include <string>

#include "daemon.h"
#include "logging.h"
#include "picket/config/config.h"
#include "picket/consensus/state_file.h"
#include "picket/io/tls.h"
#include "version.h"

namespace {

constexpr const char* kUsage = R"(usage: picketd --config FILE [options]

  --config FILE          configuration file (YAML; see docs/configuration.md)
  --check-config         validate FILE, print the effective configuration, exit 0 or 1;
                         binds nothing, contacts nothing
  --reset-state          replace an unusable vote state file (state_dir/vote.state) with a
                         fresh one (term 0, a higher incarnation), keeping the damaged
                         bytes beside it; refuses an intact or missing file. The watcher
                         then withholds its vote for one election period after it starts
                         (docs/operations.md, "Recovery: an unusable state file")
  --log-level LEVEL      trace|debug|info|warn|error (overrides log.level)
  --log-format FORMAT    text|json (overrides log.format)
  --version              print version, git revision and dependency versions
  --help                 this text

Signals: SIGHUP reloads the configuration (keys that need a restart are reported and not
applied); SIGTERM/SIGINT stop cleanly.
)";

int usage_error(const std::string& what) {
    std::cerr << "picketd: " << what << "\n\n" << kUsage;
    return 2;
}

/// picketd --reset-state: the operator's recovery from an unusable state file.
int reset_state(const picket::config::Config& config) {
    using namespace picket;
    const std::string path = config.watcher.state_dir + "/vote.state";  // as VoteService
    const auto floor =
        static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                       std::chrono::system_clock::now().time_since_epoch())
                                       .count());
    auto report = consensus::reset_state_file(path, floor);
    if (!report) {
        std::cerr << "picketd: --reset-state: " << report.error() << "\n";
        return 1;
    }
    std::cout << "picketd: state file " << path << " was unusable (" << report->problem
              << ").\n  damaged bytes kept in " << report->kept_as
              << "\n  incarnation read from the damaged file: "
              << (report->salvaged ? std::to_string(*report->salvaged) : std::string("none"))
              << "\n  wrote a fresh state: term 0, no vote, no records, incarnation "
              << report->state.incarnation
              << "\n  after it starts, this watcher withholds its vote for "
              << to_ms(config.election.timeout_max)
              << " ms (election.timeout_max) and learns the term and the failover records "
                 "from the leader.\n";
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    using namespace picket;
    daemon::DaemonOptions options;
    bool check_only = false;
    bool reset = false;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        auto value = [&](const char* flag) -> const char* {
            if (i + 1 >= argc) {
                return nullptr;
            }
            (void)flag;
            return argv[++i];
        };
        if (arg == "--help" || arg == "-h") {
            std::cout << kUsage;
            return 0;
        }
        if (arg == "--version") {
            std::cout << daemon::version_text("picketd");
            return 0;
        }
        if (arg == "--check-config") {
            check_only = true;
        } else if (arg == "--reset-state") {
            reset = true;
        } else if (arg == "--config") {
            const char* v = value("--config");
            if (v == nullptr) {
                return usage_error("--config needs a file");
            }
            options.config_path = v;
        } else if (arg == "--log-level") {
            const char* v = value("--log-level");
            auto level = v ? config::parse_log_level(v) : std::nullopt;
            if (!level) {
                return usage_error("--log-level needs one of trace, debug, info, warn, error");
            }
            options.log_level = level;
        } else if (arg == "--log-format") {
            const char* v = value("--log-format");
            auto format = v ? config::parse_log_format(v) : std::nullopt;
            if (!format) {
                return usage_error("--log-format needs text or json");
            }
            options.log_format = format;
        } else {
            return usage_error("unknown argument '" + arg + "'");
        }
    }
    if (options.config_path.empty()) {
        return usage_error("--config FILE is required");
    }
    auto loaded = config::load_config(options.config_path);
    if (!loaded) {
        std::cerr << loaded.error().to_string();
        std::cerr << "picketd: configuration " << options.config_path << " is invalid ("
                  << loaded.error().errors.size() << " error(s))\n";
        return 1;
    }
    if (loaded->cluster.tls.enabled) {
        // The loader does not open TLS files; building the context does, with clear errors.
        const auto& t = loaded->cluster.tls;
        auto ctx = io::make_client_context(io::TlsClientOptions{t.enabled, t.ca_file, t.cert_file,
                                                                t.key_file, t.server_name,
                                                                t.verify_peer, t.verify_hostname});
        if (!ctx) {
            std::cerr << options.config_path << ": cluster.tls: " << ctx.error() << "\n";
            return 1;
        }
    }
    if (check_only && reset) {
        return usage_error("--check-config and --reset-state exclude each other");
    }
    if (reset) {
        return reset_state(*loaded);
    }
    if (check_only) {
        for (const auto& w : loaded->warnings) {
            std::cerr << "warning: " << w.to_string() << "\n";
        }
        std::cout << config::render_effective(*loaded);
        std::cerr << "picketd: configuration " << options.config_path << " is valid\n";
        return 0;
    }
    daemon::setup_logging(options.log_level.value_or(loaded->log.level),
                          options.log_format.value_or(loaded->log.format));
    daemon::Daemon d(options, std::move(*loaded));
    return d.run();
}
