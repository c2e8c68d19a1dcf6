#pragma once
// Encoding commands as RESP arrays of bulk strings (what every Redis client sends).

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace picket::resp {

/// One command: its arguments, binary-safe. `Command{"CLUSTER", "NODES"}`.
class Command {
  public:
    Command() = default;
    Command(std::initializer_list<std::string_view> args);
    explicit Command(std::vector<std::string> args) : args_(std::move(args)) {}

    Command& arg(std::string_view a) {
        args_.emplace_back(a);
        return *this;
    }
    Command& arg(std::int64_t v) {
        args_.push_back(std::to_string(v));
        return *this;
    }

    const std::vector<std::string>& args() const { return args_; }
    bool empty() const { return args_.empty(); }

    /// The name for logs and metrics: first argument upper-cased, plus the second for
    /// container commands ("CLUSTER NODES"). Never includes secrets (AUTH's arguments).
    std::string name() const;

    /// Appends the RESP encoding to `out`.
    void encode_to(std::string& out) const;
    std::string encode() const;

  private:
    std::vector<std::string> args_;
};

}  // namespace picket::resp
