#include "picket/consensus/state_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace picket::consensus {

namespace {

std::string describe(const std::string& what, const std::string& path) {
    return what + " " + path + ": " + std::strerror(errno);
}

/// Closes a file descriptor on scope exit.
struct Fd {
    int fd = -1;
    ~Fd() {
        if (fd >= 0) {
            ::close(fd);
        }
    }
};

std::string directory_of(const std::string& path) {
    const auto slash = path.rfind('/');
    if (slash == std::string::npos) {
        return ".";
    }
    return slash == 0 ? "/" : path.substr(0, slash);
}

}  // namespace

Expected<void, std::string> write_file_atomically(const std::string& path, std::string_view bytes) {
    const std::string tmp = path + ".tmp";
    {
        Fd f{::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)};
        if (f.fd < 0) {
            return unexpected(describe("cannot create", tmp));
        }
        std::size_t done = 0;
        while (done < bytes.size()) {
            const ssize_t n = ::write(f.fd, bytes.data() + done, bytes.size() - done);
            if (n < 0) {
                if (errno == EINTR) {
                    continue;
                }
                return unexpected(describe("cannot write", tmp));
            }
            done += static_cast<std::size_t>(n);
        }
        if (::fsync(f.fd) != 0) {
            return unexpected(describe("cannot fsync", tmp));
        }
        const int fd = f.fd;
        f.fd = -1;
        if (::close(fd) != 0) {
            return unexpected(describe("cannot close", tmp));
        }
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        return unexpected(describe("cannot rename onto", path));
    }
    const std::string dir = directory_of(path);
    Fd d{::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
    if (d.fd < 0) {
        return unexpected(describe("cannot open directory", dir));
    }
    if (::fsync(d.fd) != 0) {
        return unexpected(describe("cannot fsync directory", dir));
    }
    return {};
}

Expected<std::optional<std::string>, std::string> read_whole_file(const std::string& path) {
    Fd f{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
    if (f.fd < 0) {
        if (errno == ENOENT) {
            return std::optional<std::string>{};
        }
        return unexpected(describe("cannot open", path));
    }
    std::string out;
    char buf[65536];
    while (true) {
        const ssize_t n = ::read(f.fd, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return unexpected(describe("cannot read", path));
        }
        if (n == 0) {
            break;
        }
        out.append(buf, static_cast<std::size_t>(n));
        if (out.size() > (64u << 20)) {
            return unexpected("state file " + path + " is larger than 64 MiB");
        }
    }
    return std::optional<std::string>(std::move(out));
}

Expected<void, std::string> save_state(const std::string& path, const PersistentState& state) {
    return write_file_atomically(path, encode_state(state));
}

Expected<PersistentState, std::string> load_state(const std::string& path) {
    auto bytes = read_whole_file(path);
    if (!bytes) {
        return unexpected(bytes.error());
    }
    if (!bytes->has_value()) {
        return PersistentState{};
    }
    auto state = decode_state(**bytes);
    if (!state) {
        return unexpected("state file " + path + " is unusable: " + state.error().message +
                          ". picketd will not start with it. If the file cannot be restored, "
                          "run `picketd --reset-state --config FILE` with this watcher's "
                          "configuration (docs/operations.md, \"Recovery: an unusable state "
                          "file\"); this watcher then withholds its vote for one election "
                          "period.");
    }
    return std::move(*state);
}

Expected<ResetReport, std::string> reset_state_file(const std::string& path, std::uint64_t floor) {
    auto bytes = read_whole_file(path);
    if (!bytes) {
        return unexpected(bytes.error());
    }
    if (!bytes->has_value()) {
        return unexpected("no state file at " + path +
                          ": nothing to reset (picketd starts from a fresh state without one)");
    }
    auto decoded = decode_state(**bytes);
    if (decoded) {
        return unexpected("state file " + path + " is intact (term " +
                          std::to_string(decoded->term) + ", incarnation " +
                          std::to_string(decoded->incarnation) +
                          "): --reset-state only replaces an unusable file; nothing changed");
    }
    ResetReport report;
    report.problem = decoded.error().message;
    report.salvaged = salvage_incarnation(**bytes);
    // An interrupted save leaves the newer state in the temp file: its incarnation counts.
    if (auto tmp = read_whole_file(path + ".tmp"); tmp && tmp->has_value()) {
        if (auto t = salvage_incarnation(**tmp); t && (!report.salvaged || *t > *report.salvaged)) {
            report.salvaged = t;
        }
    }
    report.kept_as = path + ".corrupt-" + std::to_string(floor);
    if (auto kept = write_file_atomically(report.kept_as, **bytes); !kept) {
        return unexpected("cannot keep a copy of the damaged file: " + kept.error() +
                          "; nothing changed");
    }
    report.state = reset_state(report.salvaged, floor);
    if (auto saved = save_state(path, report.state); !saved) {
        return unexpected("cannot write the fresh state: " + saved.error());
    }
    return report;
}

}  // namespace picket::consensus
