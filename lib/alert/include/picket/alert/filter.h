#pragma once
// A receiver's event filter: event names ("node_odown") and prefixes ending in '*'
// ("failover_*"), as in `alerts.receivers[].events`. An empty filter passes every event.

#include <string>
#include <string_view>
#include <vector>

#include "picket/alert/event.h"
#include "picket/base/expected.h"

namespace picket::alert {

/// Which event types one receiver wants.
class EventFilter {
  public:
    /// Every event.
    EventFilter() = default;

    /// Parses patterns: `[a-z0-9_]+` optionally ending in one '*', at most 256 of them, each
    /// at most 64 bytes. A pattern that matches no known event is an error naming it (the
    /// config loader checks syntax only; this is where the vocabulary lives).
    static Expected<EventFilter, std::string> parse(const std::vector<std::string>& patterns);

    bool matches(EventType t) const;
    /// The patterns as given (for status and logs).
    const std::vector<std::string>& patterns() const { return patterns_; }

  private:
    std::vector<std::string> patterns_;
    std::vector<bool> allowed_;  ///< by EventType; empty = every event
};

/// True when `pattern` ("failover_*", "node_sdown") matches `name`.
bool pattern_matches(std::string_view pattern, std::string_view name);

}  // namespace picket::alert
