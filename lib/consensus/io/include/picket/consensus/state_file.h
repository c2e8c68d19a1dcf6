#pragma once
// The consensus state file on disk. The shell calls save_state() with every
// Output::persist BEFORE sending that output's messages, and load_state() at start-up.

#include <optional>
#include <string>
#include <string_view>

#include "picket/base/expected.h"
#include "picket/consensus/persistent_state.h"

namespace picket::consensus {

/// Writes `bytes` to `path` so that after a crash at any point the file holds either the
/// old or the new content, never a mix: `path`.tmp, write, fsync, rename over `path`,
/// fsync the directory. Errors name the failing step and errno text.
Expected<void, std::string> write_file_atomically(const std::string& path, std::string_view bytes);

/// The whole file, or nullopt when it does not exist.
Expected<std::optional<std::string>, std::string> read_whole_file(const std::string& path);

/// encode_state() + write_file_atomically().
Expected<void, std::string> save_state(const std::string& path, const PersistentState& state);

/// A missing file is a first start (a fresh state). An unreadable, truncated or corrupt
/// file is an error that says so and how to recover: picketd must refuse to start.
Expected<PersistentState, std::string> load_state(const std::string& path);

/// What reset_state_file() did.
struct ResetReport {
    /// Why the old file was unusable (decode_state()'s message).
    std::string problem;
    /// Where the old bytes were kept for inspection: `path`.corrupt-<floor>.
    std::string kept_as;
    /// The incarnation read from the damaged file or its temp file, if any.
    std::optional<std::uint64_t> salvaged;
    /// The fresh state written (term 0, no vote, no records).
    PersistentState state;
};

/// The operator's recovery from an unusable state file (`picketd --reset-state`): keeps
/// a copy of the damaged bytes, then writes reset_state(salvaged, floor) atomically. A
/// missing file or one that decodes is refused (there is nothing to reset; an intact
/// file holds votes and records that must not be thrown away) and nothing changes.
Expected<ResetReport, std::string> reset_state_file(const std::string& path, std::uint64_t floor);

}  // namespace picket::consensus
