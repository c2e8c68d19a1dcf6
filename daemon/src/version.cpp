#include "version.h"

#include <hiredis/hiredis.h>
#include <openssl/opensslv.h>
#include <spdlog/version.h>

#include <boost/version.hpp>
#include <nlohmann/json.hpp>

#include "picket_version.h"

namespace picket::daemon {

std::string version() {
    return PICKET_VERSION;
}
std::string git_revision() {
    return PICKET_GIT_REVISION;
}

std::string version_text(const std::string& program) {
    auto v = [](auto a, auto b, auto c) {
        return std::to_string(a) + "." + std::to_string(b) + "." + std::to_string(c);
    };
    return program + " " + version() + " (git " + git_revision() + ")\n" + "boost " +
           v(BOOST_VERSION / 100000, BOOST_VERSION / 100 % 1000, BOOST_VERSION % 100) +
           ", hiredis " + v(HIREDIS_MAJOR, HIREDIS_MINOR, HIREDIS_PATCH) + ", prometheus-cpp " +
           PICKET_PROMETHEUS_CPP_VERSION + ", spdlog " +
           v(SPDLOG_VER_MAJOR, SPDLOG_VER_MINOR, SPDLOG_VER_PATCH) + ", yaml-cpp " +
           PICKET_YAML_CPP_VERSION + ", nlohmann-json " +
           v(NLOHMANN_JSON_VERSION_MAJOR, NLOHMANN_JSON_VERSION_MINOR,
             NLOHMANN_JSON_VERSION_PATCH) +
           ", " + OPENSSL_VERSION_TEXT + "\n";
}

}  // namespace picket::daemon
