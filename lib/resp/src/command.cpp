#include "picket/resp/command.h"

#include <algorithm>
#include <cctype>

namespace picket::resp {

Command::Command(std::initializer_list<std::string_view> args) {
    args_.reserve(args.size());
    for (auto a : args) {
        args_.emplace_back(a);
    }
}

namespace {

std::string upper(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    return out;
}

}  // namespace

std::string Command::name() const {
    if (args_.empty()) {
        return {};
    }
    std::string n = upper(args_[0]);
    // Container commands are named by their subcommand too; AUTH's arguments are secret.
    static constexpr std::string_view kContainers[] = {"CLUSTER", "CLIENT",  "CONFIG",
                                                       "ACL",     "COMMAND", "SENTINEL"};
    if (args_.size() > 1 &&
        std::find(std::begin(kContainers), std::end(kContainers), n) != std::end(kContainers)) {
        n += ' ';
        n += upper(args_[1]);
    }
    return n;
}

void Command::encode_to(std::string& out) const {
    out += '*';
    out += std::to_string(args_.size());
    out += "\r\n";
    for (const auto& a : args_) {
        out += '$';
        out += std::to_string(a.size());
        out += "\r\n";
        out += a;
        out += "\r\n";
    }
}

std::string Command::encode() const {
    std::string out;
    encode_to(out);
    return out;
}

}  // namespace picket::resp
