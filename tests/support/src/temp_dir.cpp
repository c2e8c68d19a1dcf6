#include "picket/testing/temp_dir.h"

#include <stdlib.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>
#include <system_error>
#include <utility>
#include <vector>

namespace picket::testing {
namespace {

bool keep_tmp() {
    const char* keep = std::getenv("PICKET_KEEP_TMP");
    return keep != nullptr && std::string_view(keep) == "1";
}

std::string tmp_root() {
    const char* tmpdir = std::getenv("TMPDIR");
    if (tmpdir != nullptr && *tmpdir != '\0') {
        return tmpdir;
    }
    return "/tmp";
}

}  // namespace

TempDir::TempDir(std::string_view prefix) {
    std::string pattern = tmp_root() + "/" + std::string(prefix) + "-XXXXXX";
    std::vector<char> buf(pattern.begin(), pattern.end());
    buf.push_back('\0');
    if (::mkdtemp(buf.data()) == nullptr) {
        throw std::system_error(errno, std::generic_category(), "mkdtemp " + pattern);
    }
    path_ = buf.data();
}

TempDir::~TempDir() {
    remove();
}

TempDir::TempDir(TempDir&& other) noexcept : path_(std::exchange(other.path_, {})) {}

TempDir& TempDir::operator=(TempDir&& other) noexcept {
    if (this != &other) {
        remove();
        path_ = std::exchange(other.path_, {});
    }
    return *this;
}

std::string TempDir::file(std::string_view name) const {
    return path_ + "/" + std::string(name);
}

void TempDir::remove() noexcept {
    if (path_.empty()) {
        return;
    }
    if (keep_tmp()) {
        std::fprintf(stderr, "picket: PICKET_KEEP_TMP=1, keeping %s\n", path_.c_str());
    } else {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
        if (ec) {
            std::fprintf(stderr, "picket: could not remove %s: %s\n", path_.c_str(),
                         ec.message().c_str());
        }
    }
    path_.clear();
}

void write_file(const std::string& path, std::string_view content) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    out.close();
    if (!out) {
        throw std::runtime_error("cannot write " + path);
    }
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        return {};
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::string tail_file(const std::string& path, std::size_t max_lines) {
    constexpr std::streamoff kMaxBytes = 256 * 1024;
    std::ifstream in(path, std::ios::binary | std::ios::ate);
    if (!in) {
        return {};
    }
    const std::streamoff size = in.tellg();
    const std::streamoff start = size > kMaxBytes ? size - kMaxBytes : 0;
    in.seekg(start);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    // Walk back over max_lines newlines (ignoring a final one).
    std::size_t end = text.size();
    if (end > 0 && text[end - 1] == '\n') {
        --end;
    }
    std::size_t pos = end;
    for (std::size_t lines = 0; lines < max_lines && pos > 0; ++lines) {
        const std::size_t nl = text.rfind('\n', pos - 1);
        if (nl == std::string::npos) {
            pos = 0;
            break;
        }
        pos = nl;
    }
    if (pos > 0 || (pos == 0 && !text.empty() && text[0] == '\n')) {
        ++pos;
    }
    return text.substr(pos, end - pos);
}

}  // namespace picket::testing
