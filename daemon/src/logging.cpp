#include "logging.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <chrono>
#include <nlohmann/json.hpp>

namespace picket::daemon {

namespace {

/// {"ts":"2026-11-25T01:02:03.456Z","level":"info","msg":"..."} per line.
class JsonFormatter : public spdlog::formatter {
  public:
    void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
        const auto t = std::chrono::system_clock::to_time_t(msg.time);
        const auto ms =
            std::chrono::duration_cast<std::chrono::milliseconds>(msg.time.time_since_epoch())
                .count() %
            1000;
        std::tm tm{};
        gmtime_r(&t, &tm);
        char ts[64];
        std::snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                      tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                      static_cast<int>(ms));
        nlohmann::json j;
        j["ts"] = ts;
        const auto level = spdlog::level::to_string_view(msg.level);
        j["level"] = std::string(level.data(), level.size());
        j["msg"] = std::string(msg.payload.data(), msg.payload.size());
        // Invalid UTF-8 (a peer's bytes in a message) is replaced, never thrown.
        const auto line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        dest.append(line.data(), line.data() + line.size());
        dest.push_back('\n');
    }
    std::unique_ptr<spdlog::formatter> clone() const override {
        return std::make_unique<JsonFormatter>();
    }
};

}  // namespace

spdlog::level::level_enum to_spdlog(config::LogLevel level) {
    switch (level) {
        case config::LogLevel::kTrace:
            return spdlog::level::trace;
        case config::LogLevel::kDebug:
            return spdlog::level::debug;
        case config::LogLevel::kInfo:
            return spdlog::level::info;
        case config::LogLevel::kWarn:
            return spdlog::level::warn;
        case config::LogLevel::kError:
            return spdlog::level::err;
    }
    return spdlog::level::info;
}

void setup_logging(config::LogLevel level, config::LogFormat format) {
    auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    if (format == config::LogFormat::kJson) {
        sink->set_formatter(std::make_unique<JsonFormatter>());
    } else {
        sink->set_formatter(
            std::make_unique<spdlog::pattern_formatter>("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v"));
    }
    auto logger = std::make_shared<spdlog::logger>("picket", sink);
    logger->set_level(to_spdlog(level));
    logger->flush_on(spdlog::level::info);
    spdlog::set_default_logger(logger);
}

void set_log_level(config::LogLevel level) {
    spdlog::default_logger()->set_level(to_spdlog(level));
}

}  // namespace picket::daemon
