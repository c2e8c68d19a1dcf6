#include "picket/metrics/process_collector.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string_view>

namespace picket::metrics {

namespace {

prometheus::MetricFamily gauge(const std::string& name, const std::string& help, double value,
                               prometheus::MetricType type = prometheus::MetricType::Gauge) {
    prometheus::MetricFamily f;
    f.name = name;
    f.help = help;
    f.type = type;
    prometheus::ClientMetric m;
    if (type == prometheus::MetricType::Counter) {
        m.counter.value = value;
    } else {
        m.gauge.value = value;
    }
    f.metric.push_back(m);
    return f;
}

/// System boot time in seconds since the epoch (/proc/stat "btime").
double boot_time() {
    std::ifstream in("/proc/stat");
    std::string key;
    while (in >> key) {
        if (key == "btime") {
            double t = 0;
            in >> t;
            return t;
        }
        in.ignore(1 << 20, '\n');
    }
    return 0;
}

}  // namespace

ProcessCollector::ProcessCollector(std::string proc_dir)
    : proc_dir_(std::move(proc_dir)), boot_time_(boot_time()) {}

std::vector<prometheus::MetricFamily> ProcessCollector::Collect() const {
    std::vector<prometheus::MetricFamily> out;
    const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
    const double page = static_cast<double>(sysconf(_SC_PAGESIZE));

    std::ifstream stat_file(proc_dir_ + "/stat");
    std::string stat((std::istreambuf_iterator<char>(stat_file)), std::istreambuf_iterator<char>());
    // Fields after the command name, which is in parentheses and may contain spaces.
    const auto close = stat.rfind(')');
    if (close != std::string::npos) {
        std::istringstream rest(stat.substr(close + 2));
        std::vector<std::string> f;
        std::string field;
        while (rest >> field) {
            f.push_back(field);
        }
        // Field numbers of proc(5), minus 3 (pid, comm, and 1-based).
        if (f.size() > 21) {
            const double utime = std::stod(f[11]);
            const double stime = std::stod(f[12]);
            const double starttime = std::stod(f[19]);
            const double vsize = std::stod(f[20]);
            const double rss = std::stod(f[21]);
            out.push_back(gauge("process_cpu_seconds_total",
                                "Total user and system CPU time spent in seconds.",
                                (utime + stime) / ticks, prometheus::MetricType::Counter));
            out.push_back(
                gauge("process_virtual_memory_bytes", "Virtual memory size in bytes.", vsize));
            out.push_back(gauge("process_resident_memory_bytes", "Resident memory size in bytes.",
                                rss * page));
            out.push_back(gauge("process_start_time_seconds",
                                "Start time of the process since unix epoch in seconds.",
                                boot_time_ + starttime / ticks));
        }
    }
    // readdir, not std::filesystem: a path object per entry made this 1.5 ms of every scrape
    // at 1,000 nodes (one connection each).
    if (DIR* dir = opendir((proc_dir_ + "/fd").c_str()); dir != nullptr) {
        double fds = 0;
        while (const dirent* e = readdir(dir)) {
            const std::string_view name = e->d_name;
            fds += name == "." || name == ".." ? 0 : 1;
        }
        closedir(dir);
        out.push_back(gauge("process_open_fds", "Number of open file descriptors.", fds));
    }
    rlimit lim{};
    if (getrlimit(RLIMIT_NOFILE, &lim) == 0) {
        out.push_back(gauge("process_max_fds", "Maximum number of open file descriptors.",
                            static_cast<double>(lim.rlim_cur)));
    }
    return out;
}

}  // namespace picket::metrics
