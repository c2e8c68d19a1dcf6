#pragma once
// Scratch directories for integration tests, and small file helpers.

#include <cstddef>
#include <string>
#include <string_view>

namespace picket::testing {

/// A fresh directory made with mkdtemp under $TMPDIR (or /tmp), removed with everything in
/// it when the TempDir is destroyed. With PICKET_KEEP_TMP=1 in the environment the directory
/// is kept and its path printed to stderr, for looking at redis logs after a failure.
/// Owned by whoever creates it; move-only.
class TempDir {
  public:
    /// `prefix` names the directory: "<prefix>-XXXXXX". Throws std::system_error on failure.
    explicit TempDir(std::string_view prefix = "picket");
    ~TempDir();
    TempDir(TempDir&& other) noexcept;
    TempDir& operator=(TempDir&& other) noexcept;
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    /// Absolute path of the directory; empty after a move.
    const std::string& path() const { return path_; }
    /// `path()/name`.
    std::string file(std::string_view name) const;

  private:
    void remove() noexcept;

    std::string path_;
};

/// Writes `content` to `path`, replacing the file. Throws std::runtime_error on failure.
void write_file(const std::string& path, std::string_view content);

/// The whole file, or "" when it cannot be read.
std::string read_file(const std::string& path);

/// The last `max_lines` lines of a text file (at most its last 256 KiB), or "" when it
/// cannot be read. Meant for failure messages.
std::string tail_file(const std::string& path, std::size_t max_lines);

}  // namespace picket::testing
