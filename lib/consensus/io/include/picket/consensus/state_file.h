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

}  // namespace picket::consensus
