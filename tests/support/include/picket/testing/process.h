#pragma once
// Child processes for tests: run a program to completion with a timeout and captured
// output (redis-cli, openssl), or keep one running (redis-server).
//
// Every child is started with fork + execv and, before exec, asks the kernel to SIGKILL
// it when its parent dies (prctl PR_SET_PDEATHSIG): a test binary that crashes or is
// killed cannot leak servers. Caveat of PR_SET_PDEATHSIG: "parent" is the *thread* that
// forked, so start long-lived children from a thread that outlives them (gtest runs
// tests on the main thread). No signal handlers are installed.

#include <sys/types.h>

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

namespace picket::testing {

/// What a finished (or timed-out) program did.
struct ProcessResult {
    /// Exit status; -1 when it was killed by a signal (including our timeout kill).
    int exit_code = -1;
    /// The signal that ended it, 0 when it exited.
    int term_signal = 0;
    /// We killed it because it ran past its timeout.
    bool timed_out = false;
    /// Captured standard output and error (each capped at 16 MiB).
    std::string out;
    std::string err;

    bool exited_ok() const { return !timed_out && term_signal == 0 && exit_code == 0; }
    /// One line for failure messages: "exit 1: <stderr>" / "timed out after ...".
    std::string describe() const;
};

/// Absolute path of an executable: the environment variable `env_override` if set and
/// non-empty (e.g. PICKET_REDIS_SERVER), else `name` searched in $PATH. Throws
/// std::runtime_error when not found.
std::string find_executable(std::string_view name, const char* env_override = nullptr);

/// Runs argv (argv[0] is searched in $PATH unless it contains '/') with stdin /dev/null,
/// capturing stdout and stderr, and waits at most `timeout` before SIGKILLing it. Always
/// reaps the child. Throws std::system_error only when fork/pipe fail.
ProcessResult run_process(const std::vector<std::string>& argv, std::chrono::milliseconds timeout);

/// Whether a process with this pid exists (kill(pid, 0)); a zombie still counts.
bool process_exists(pid_t pid);

/// The state letter from /proc/<pid>/stat ('R', 'S', 'T' stopped, 'Z' zombie, ...), or
/// '\0' when there is no such process.
char process_state(pid_t pid);

/// A long-running child whose stdout and stderr are appended to a file. The owner stops
/// and reaps it: the destructor sends SIGCONT and SIGTERM, waits up to 5 s, then SIGKILLs
/// and reaps. Move-only; not thread-safe.
class ChildProcess {
  public:
    ChildProcess() = default;
    /// Starts argv (argv[0] as in run_process). Throws std::system_error / runtime_error.
    static ChildProcess spawn(const std::vector<std::string>& argv, const std::string& output_path);
    ~ChildProcess();
    ChildProcess(ChildProcess&& other) noexcept;
    ChildProcess& operator=(ChildProcess&& other) noexcept;
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;

    /// The pid while the child has not been reaped, 0 after.
    pid_t pid() const { return pid_; }
    /// Reaps the child if it has exited; true while it has not. A stopped child runs.
    bool running();
    /// The raw wait status of the last reaped child (see WIFEXITED), -1 if none.
    int last_wait_status() const { return last_status_; }
    /// kill(pid, sig); false when there is no child.
    bool send_signal(int sig);
    /// Polls until the child exits (and reaps it) or `timeout` passes; true if it exited.
    bool wait_exit(std::chrono::milliseconds timeout);
    /// SIGKILL, then a blocking reap. No-op without a child.
    void kill_and_reap();
    /// SIGCONT + SIGTERM, wait up to `grace`, then kill_and_reap(). No-op without a child.
    void stop(std::chrono::milliseconds grace);

  private:
    explicit ChildProcess(pid_t pid) : pid_(pid) {}
    void reaped(int status);

    pid_t pid_ = 0;
    int last_status_ = -1;
};

}  // namespace picket::testing
