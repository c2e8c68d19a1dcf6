// Prints a populated exposition (every family with a series) for `promtool check metrics`.
#include <iostream>

#include "picket/metrics/metrics.h"

int main() {
    picket::metrics::Metrics m({"0.1.0", "test"});
    auto& n = m.node("127.0.0.1:7000");
    n.up->Set(1);
    n.ping_last_duration->Set(0.0002);
    m.observe_ping(0.0002);
    n.ping_attempts->Increment();
    m.count_ping_failure("127.0.0.1:7000", "refused");
    m.count_event("sdown");
    m.cluster_slots.Add({{"state", "ok"}}).Set(16384);
    m.event_loop_lag.Observe(0.001);
    std::cout << m.render();
    return 0;
}
