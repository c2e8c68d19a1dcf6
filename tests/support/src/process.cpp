#include "picket/testing/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <utility>

#include "picket/testing/temp_dir.h"

namespace picket::testing {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kMaxCapture = 16u << 20;
constexpr milliseconds kReapPoll{2};

[[noreturn]] void throw_errno(const std::string& what) {
    throw std::system_error(errno, std::generic_category(), what);
}

bool is_executable(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
           ::access(path.c_str(), X_OK) == 0;
}

std::string resolve(const std::string& arg0) {
    if (arg0.find('/') != std::string::npos) {
        return arg0;
    }
    return find_executable(arg0);
}

/// Runs in the child between fork() and exec: async-signal-safe calls only (the parent
/// may have other threads holding locks).
[[noreturn]] void exec_child(const char* path, char* const* argv, int out_fd, int err_fd,
                             pid_t parent) {
    // Die with the test process (see the header): no leaked redis-server, ever.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) {
        ::_exit(127);  // the parent died before prctl took effect
    }
    sigset_t none;
    ::sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGPIPE, SIG_DFL);
    const int in_fd = ::open("/dev/null", O_RDONLY);
    if (in_fd < 0 || ::dup2(in_fd, 0) < 0 || ::dup2(out_fd, 1) < 0 || ::dup2(err_fd, 2) < 0) {
        ::_exit(127);
    }
    ::close_range(3, ~0u, 0);  // whatever the test holds open stays with the test
    ::execv(path, argv);
    ::_exit(127);
}

/// fork + exec of `path` with argv; the child's stdout and stderr go to out_fd / err_fd.
pid_t fork_exec(const std::string& path, const std::vector<std::string>& args, int out_fd,
                int err_fd) {
    // Everything the child needs is built before fork().
    std::vector<char*> argv;
    argv.reserve(args.size() + 1);
    for (const auto& a : args) {
        argv.push_back(const_cast<char*>(a.c_str()));
    }
    argv.push_back(nullptr);
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) {
        throw_errno("fork " + path);
    }
    if (pid == 0) {
        exec_child(path.c_str(), argv.data(), out_fd, err_fd, parent);
    }
    return pid;
}

/// Blocking reap after SIGKILL (a killed process always exits; EINTR is retried a bounded
/// number of times).
int reap_blocking(pid_t pid) {
    int status = 0;
    for (int i = 0; i < 1000; ++i) {
        if (::waitpid(pid, &status, 0) == pid) {
            return status;
        }
        if (errno != EINTR) {
            break;
        }
    }
    return -1;
}

/// Polls waitpid(WNOHANG) until `deadline`; the status if the child exited.
std::optional<int> reap_until(pid_t pid, Clock::time_point deadline) {
    const auto max_polls =
        std::chrono::duration_cast<milliseconds>(deadline - Clock::now()) / kReapPoll + 2;
    for (long i = 0; i < max_polls; ++i) {
        int status = 0;
        const pid_t r = ::waitpid(pid, &status, WNOHANG);
        if (r == pid) {
            return status;
        }
        if (r < 0 && errno != EINTR) {
            return -1;  // not our child any more (should not happen)
        }
        if (Clock::now() >= deadline) {
            break;
        }
        std::this_thread::sleep_for(kReapPoll);
    }
    return std::nullopt;
}

void fill_status(ProcessResult& r, int status) {
    if (status >= 0 && WIFEXITED(status)) {
        r.exit_code = WEXITSTATUS(status);
    } else if (status >= 0 && WIFSIGNALED(status)) {
        r.term_signal = WTERMSIG(status);
    }
}

struct Pipe {
    int read = -1;
    int write = -1;
    Pipe() {
        int fds[2];
        if (::pipe2(fds, O_CLOEXEC) != 0) {
            throw_errno("pipe2");
        }
        read = fds[0];
        write = fds[1];
    }
    ~Pipe() {
        close_read();
        close_write();
    }
    Pipe(const Pipe&) = delete;
    Pipe& operator=(const Pipe&) = delete;
    void close_read() {
        if (read >= 0) {
            ::close(read);
            read = -1;
        }
    }
    void close_write() {
        if (write >= 0) {
            ::close(write);
            write = -1;
        }
    }
};

}  // namespace

std::string ProcessResult::describe() const {
    std::string s;
    if (timed_out) {
        s = "timed out";
    } else if (term_signal != 0) {
        s = "killed by signal " + std::to_string(term_signal);
    } else {
        s = "exit " + std::to_string(exit_code);
    }
    if (!err.empty()) {
        s += ", stderr: " + err;
    }
    if (!out.empty()) {
        s += ", stdout: " + out.substr(0, 4000);
    }
    return s;
}

std::string find_executable(std::string_view name, const char* env_override) {
    if (env_override != nullptr) {
        const char* v = std::getenv(env_override);
        if (v != nullptr && *v != '\0') {
            if (!is_executable(v)) {
                throw std::runtime_error(std::string(env_override) + "=" + v +
                                         " is not an executable file");
            }
            return v;
        }
    }
    const char* path_env = std::getenv("PATH");
    std::string_view dirs = path_env != nullptr ? path_env : "/usr/local/bin:/usr/bin:/bin";
    while (true) {
        const auto colon = dirs.find(':');
        std::string dir(dirs.substr(0, colon));
        if (dir.empty()) {
            dir = ".";
        }
        std::string candidate = dir + "/" + std::string(name);
        if (is_executable(candidate)) {
            return candidate;
        }
        if (colon == std::string_view::npos) {
            break;
        }
        dirs.remove_prefix(colon + 1);
    }
    throw std::runtime_error("executable not found in PATH: " + std::string(name));
}

ProcessResult run_process(const std::vector<std::string>& argv, milliseconds timeout) {
    if (argv.empty()) {
        throw std::invalid_argument("run_process: empty argv");
    }
    const std::string path = resolve(argv[0]);
    Pipe out_pipe;
    Pipe err_pipe;
    const auto deadline = Clock::now() + timeout;
    const pid_t pid = fork_exec(path, argv, out_pipe.write, err_pipe.write);
    out_pipe.close_write();
    err_pipe.close_write();

    ProcessResult result;
    std::array<char, 16384> buf{};
    // Each iteration reads data, sees EOF or ends at the deadline; the cap is a backstop.
    for (int iteration = 0; iteration < 1'000'000; ++iteration) {
        std::array<pollfd, 2> fds{};
        nfds_t n = 0;
        std::array<std::pair<Pipe*, std::string*>, 2> which{};
        for (auto [p, s] : {std::pair{&out_pipe, &result.out}, std::pair{&err_pipe, &result.err}}) {
            if (p->read >= 0) {
                fds[n] = pollfd{p->read, POLLIN, 0};
                which[n] = {p, s};
                ++n;
            }
        }
        if (n == 0) {
            break;
        }
        const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
        if (left.count() <= 0) {
            result.timed_out = true;
            break;
        }
        const int wait_ms = static_cast<int>(std::min<long>(left.count() + 1, 1000));
        const int ready = ::poll(fds.data(), n, wait_ms);
        if (ready < 0 && errno != EINTR) {
            break;
        }
        for (nfds_t i = 0; i < n && ready > 0; ++i) {
            if (fds[i].revents == 0) {
                continue;
            }
            const ssize_t got = ::read(fds[i].fd, buf.data(), buf.size());
            if (got > 0) {
                std::string& sink = *which[i].second;
                const auto room = kMaxCapture - std::min(kMaxCapture, sink.size());
                sink.append(buf.data(), std::min(room, static_cast<std::size_t>(got)));
            } else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
                which[i].first->close_read();
            }
        }
    }

    std::optional<int> status;
    if (!result.timed_out) {
        // Both pipes hit EOF: the child is exiting (or a grandchild kept them open, and
        // the deadline still bounds us).
        status = reap_until(pid, std::max(deadline, Clock::now() + milliseconds(100)));
        result.timed_out = !status.has_value();
    }
    if (!status) {
        ::kill(pid, SIGKILL);
        status = reap_blocking(pid);
    }
    fill_status(result, *status);
    return result;
}

bool process_exists(pid_t pid) {
    return pid > 0 && (::kill(pid, 0) == 0 || errno == EPERM);
}

char process_state(pid_t pid) {
    if (pid <= 0) {
        return '\0';
    }
    const std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
    // "pid (comm) S ...": comm may contain spaces and parentheses, so find the last ')'.
    const auto close = stat.rfind(')');
    if (close == std::string::npos || close + 2 >= stat.size()) {
        return '\0';
    }
    return stat[close + 2];
}

ChildProcess ChildProcess::spawn(const std::vector<std::string>& argv,
                                 const std::string& output_path) {
    if (argv.empty()) {
        throw std::invalid_argument("ChildProcess::spawn: empty argv");
    }
    const std::string path = resolve(argv[0]);
    const int fd = ::open(output_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) {
        throw_errno("open " + output_path);
    }
    pid_t pid = 0;
    try {
        pid = fork_exec(path, argv, fd, fd);
    } catch (...) {
        ::close(fd);
        throw;
    }
    ::close(fd);
    return ChildProcess(pid);
}

ChildProcess::~ChildProcess() {
    stop(std::chrono::seconds(5));
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept
    : pid_(std::exchange(other.pid_, 0)), last_status_(other.last_status_) {}

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
    if (this != &other) {
        stop(std::chrono::seconds(5));
        pid_ = std::exchange(other.pid_, 0);
        last_status_ = other.last_status_;
    }
    return *this;
}

void ChildProcess::reaped(int status) {
    pid_ = 0;
    last_status_ = status;
}

bool ChildProcess::running() {
    if (pid_ <= 0) {
        return false;
    }
    int status = 0;
    const pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
        reaped(status);
        return false;
    }
    if (r < 0 && errno == ECHILD) {
        reaped(-1);
        return false;
    }
    return true;
}

bool ChildProcess::send_signal(int sig) {
    // pid_ > 0 always: kill(0, ...) would signal our whole process group.
    return pid_ > 0 && ::kill(pid_, sig) == 0;
}

bool ChildProcess::wait_exit(milliseconds timeout) {
    if (pid_ <= 0) {
        return true;
    }
    if (auto status = reap_until(pid_, Clock::now() + timeout)) {
        reaped(*status);
        return true;
    }
    return false;
}

void ChildProcess::kill_and_reap() {
    if (pid_ <= 0) {
        return;
    }
    ::kill(pid_, SIGKILL);
    reaped(reap_blocking(pid_));
}

void ChildProcess::stop(milliseconds grace) {
    if (pid_ <= 0) {
        return;
    }
    send_signal(SIGCONT);
    send_signal(SIGTERM);
    if (!wait_exit(grace)) {
        kill_and_reap();
    }
}

}  // namespace picket::testing
