#pragma once
// Logging set-up: spdlog to stderr (journald adds its own timestamps), as text or as
// JSON lines (one object per line, strings escaped by nlohmann-json).

#include <spdlog/spdlog.h>

#include "picket/config/config.h"

namespace picket::daemon {

/// Installs the default logger with this level and format.
void setup_logging(config::LogLevel level, config::LogFormat format);
void set_log_level(config::LogLevel level);
spdlog::level::level_enum to_spdlog(config::LogLevel level);

}  // namespace picket::daemon
