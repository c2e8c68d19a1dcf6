#pragma once
// Version and build facts for --version, picket_build_info and /v1/status.

#include <string>

namespace picket::daemon {

std::string version();
std::string git_revision();
/// "picketd 0.1.0 (git abc123)\nboost 1.81.0, hiredis 0.14.1, ..." for --version.
std::string version_text(const std::string& program);

}  // namespace picket::daemon
