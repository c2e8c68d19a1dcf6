#pragma once
// The systemd notify protocol, implemented directly (no libsystemd): one datagram to the
// unix socket named by $NOTIFY_SOCKET ("@..." = abstract namespace). A no-op when the
// variable is unset (not started by systemd with Type=notify).

#include <chrono>
#include <optional>
#include <string_view>

namespace picket::daemon {

/// Sends e.g. "READY=1" or "STATUS=watching 6 nodes". Returns false when not under
/// systemd or the send failed (never fatal).
bool sd_notify(std::string_view state);

/// The watchdog period from $WATCHDOG_USEC (checked against $WATCHDOG_PID when set), or
/// nullopt when no watchdog is configured.
std::optional<std::chrono::microseconds> sd_watchdog_interval();

}  // namespace picket::daemon
