#pragma once
// process_* metrics from /proc/self, as the Prometheus client libraries of other
// languages export them (prometheus-cpp 1.0 has none): CPU seconds, resident and virtual
// memory, open and max file descriptors, start time.

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <string>
#include <vector>

namespace picket::metrics {

/// A Collectable registered with the registry; reads /proc on every scrape.
class ProcessCollector : public prometheus::Collectable {
  public:
    /// `proc_dir` is "/proc/self" except in tests.
    explicit ProcessCollector(std::string proc_dir = "/proc/self");
    std::vector<prometheus::MetricFamily> Collect() const override;

  private:
    std::string proc_dir_;
    /// System boot time (/proc/stat btime): read once, it does not change.
    double boot_time_;
};

}  // namespace picket::metrics
