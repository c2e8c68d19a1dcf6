// The strict loader: YamlTree → Config, collecting every error with its position.
//
// The walk is schema-driven: each section reads the keys it knows from a Section (which
// remembers which keys were used and reports the rest as unknown), converts and range-
// checks them, and records each value's position so the cross-key checks at the end can
// point at the right line. A value that failed to parse keeps its default and is marked
// failed, so cross-key checks involving it stay quiet instead of adding noise.

#include "picket/config/config.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <map>
#include <set>
#include <sstream>
#include <system_error>
#include <utility>

#include "picket/base/strings.h"
#include "yaml_tree.h"

namespace picket::config {

using detail::Mark;
using detail::YamlNode;
using detail::YamlTree;

namespace {

constexpr std::size_t kMaxReportedErrors = 100;
/// Errors kept for sorting; beyond this they are only counted (hostile input).
constexpr std::size_t kMaxKeptErrors = 1000;
constexpr std::size_t kMinKeyBytes = 16;

std::string quote_value(std::string_view s) {
    constexpr std::size_t kMax = 64;
    std::string out = "'";
    for (char c : s.substr(0, kMax)) {
        const auto u = static_cast<unsigned char>(c);
        out += (u < 0x20 || u == 0x7f) ? '?' : c;
    }
    if (s.size() > kMax) {
        out += "...";
    }
    return out + "'";
}

std::string_view kind_name(YamlNode::Kind kind) {
    switch (kind) {
        case YamlNode::Kind::kNull:
            return "nothing (null)";
        case YamlNode::Kind::kScalar:
            return "a single value";
        case YamlNode::Kind::kSequence:
            return "a list";
        case YamlNode::Kind::kMap:
            return "a mapping";
    }
    return "?";
}

/// Levenshtein distance, for "did you mean" on unknown keys (short strings only).
std::size_t edit_distance(std::string_view a, std::string_view b) {
    if (a.size() > 64 || b.size() > 64) {
        return 99;
    }
    std::vector<std::size_t> prev(b.size() + 1);
    std::vector<std::size_t> cur(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) {
        prev[j] = j;
    }
    for (std::size_t i = 1; i <= a.size(); ++i) {
        cur[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
            cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
        }
        std::swap(prev, cur);
    }
    return prev[b.size()];
}

bool is_identifier(std::string_view s) {
    if (s.empty() || s.size() > 64) {
        return false;
    }
    for (char c : s) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
        if (!ok) {
            return false;
        }
    }
    return true;
}

bool is_event_filter(std::string_view s) {
    if (s == "*") {
        return true;
    }
    if (!s.empty() && s.back() == '*') {
        s.remove_suffix(1);
    }
    if (s.empty() || s.size() > 64) {
        return false;
    }
    for (char c : s) {
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) {
            return false;
        }
    }
    return true;
}

std::string strip_one_newline(std::string s) {
    if (!s.empty() && s.back() == '\n') {
        s.pop_back();
        if (!s.empty() && s.back() == '\r') {
            s.pop_back();
        }
    }
    return s;
}

class Checker;

/// One YAML mapping being read: which keys it has, which were used, where each is.
class Section {
  public:
    /// `node` null = the section is absent; `at` is where to point for the section itself.
    Section(Checker& checker, const YamlTree& tree, const YamlNode* node, std::string path,
            Mark at);

    /// The value of `key`, marking the key used; nullptr when absent.
    const YamlNode* get(std::string_view key);
    /// True when the key is present (without marking it used).
    bool has(std::string_view key) const;
    /// Where `key` itself is written (or this section's mark when absent).
    Mark key_mark(std::string_view key) const;
    /// The dotted path of a key in this section: "detection.safe_mode.hold".
    std::string path_of(std::string_view key) const {
        return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
    }
    const std::string& path() const { return path_; }
    /// Where this section's key is (or its parent's, when it is absent).
    Mark mark() const { return mark_; }
    /// False when the section's key was absent (not when it was given empty).
    bool present() const { return present_; }
    /// Where `key`'s value is; for a null value, where the key is (yaml-cpp places a null
    /// at the next token, which may be on the next line).
    Mark value_mark(std::string_view key) const;
    /// Reports an inline secret key with the file key to use instead.
    void forbid_inline(std::string_view key, std::string_view use_instead);
    /// Reports every key not used, with a suggestion when one is close.
    void finish();

  private:
    struct Entry {
        std::string name;
        Mark key_mark;
        const YamlNode* value;
        bool used = false;
    };
    Checker& checker_;
    std::string path_;
    Mark mark_;
    bool present_;
    std::vector<Entry> entries_;
    std::vector<std::string> asked_;  ///< every key looked up: the keys this section knows
};

/// Collects diagnostics, positions of values, and reads typed values.
class Checker {
  public:
    Checker(const YamlTree& tree, std::string file, std::filesystem::path base_dir,
            const SecretReader& reader)
        : tree_(tree), file_(std::move(file)), base_dir_(std::move(base_dir)), reader_(reader) {}

    const YamlTree& tree() const { return tree_; }
    const std::string& file() const { return file_; }

    void error(Mark at, const std::string& path, const std::string& message) {
        if (errors_.size() >= kMaxKeptErrors) {
            ++dropped_errors_;  // bounded memory on hostile input; only counted
            return;
        }
        errors_.push_back(make(at, path, message));
    }
    /// Errors found so far (kept or only counted).
    std::size_t error_count() const { return errors_.size() + dropped_errors_; }
    void warning(Mark at, const std::string& path, const std::string& message) {
        warnings_.push_back(make(at, path, message));
    }
    /// Marks a key's value as failed (so cross-key checks skip it) and reports it.
    void fail(Mark at, const std::string& path, const std::string& message) {
        failed_.insert(path);
        error(at, path, message);
    }
    bool failed(const std::string& path) const { return failed_.count(path) != 0; }

    /// Where a key's value was, or the fallback (its section) when it was not given.
    Mark mark_of(const std::string& path, Mark fallback) const {
        const auto it = marks_.find(path);
        return it == marks_.end() ? fallback : it->second;
    }
    bool given(const std::string& path) const { return marks_.count(path) != 0; }

    std::vector<Diagnostic> take_errors() { return sorted(std::move(errors_)); }
    std::vector<Diagnostic> take_warnings() { return sorted(std::move(warnings_)); }
    bool has_errors() const { return !errors_.empty(); }

    // --- typed readers: false (and an error) when present but invalid ---------------

    /// A scalar value; errors on another kind. `what` names the expected type.
    const YamlNode* scalar(Section& s, std::string_view key, std::string_view what) {
        const YamlNode* node = s.get(key);
        if (node == nullptr) {
            return nullptr;
        }
        const auto path = s.path_of(key);
        const Mark at = s.value_mark(key);
        marks_[path] = at;
        if (node->kind != YamlNode::Kind::kScalar) {
            fail(at, path,
                 "expected " + std::string(what) + ", got " + std::string(kind_name(node->kind)));
            return nullptr;
        }
        return node;
    }

    /// Reports a missing key, unless the whole section is missing (reported once, above).
    void required(Section& s, std::string_view key) {
        if (s.present() && !s.has(key)) {
            const auto path = s.path_of(key);
            fail(s.mark(), path, "missing required key '" + std::string(key) + "'");
        }
    }

    bool read_string(Section& s, std::string_view key, std::string& out) {
        const YamlNode* node = scalar(s, key, "a string");
        if (node == nullptr) {
            return false;
        }
        if (node->scalar.empty()) {
            fail(node->mark, s.path_of(key), "must not be empty");
            return false;
        }
        out = node->scalar;
        return true;
    }

    void read_identifier(Section& s, std::string_view key, std::string& out) {
        std::string value;
        if (!read_string(s, key, value)) {
            return;
        }
        if (!is_identifier(value)) {
            fail(mark_of(s.path_of(key), s.mark()), s.path_of(key),
                 quote_value(value) + " is not a valid id (1 to 64 of A-Z a-z 0-9 _ . -)");
            return;
        }
        out = std::move(value);
    }

    void read_bool(Section& s, std::string_view key, bool& out) {
        const YamlNode* node = scalar(s, key, "true or false");
        if (node == nullptr) {
            return;
        }
        const auto& v = node->scalar;
        if (node->plain && (v == "true" || v == "True" || v == "TRUE")) {
            out = true;
        } else if (node->plain && (v == "false" || v == "False" || v == "FALSE")) {
            out = false;
        } else {
            fail(
                node->mark, s.path_of(key),
                "expected true or false, got " + quote_value(v) + (node->plain ? "" : " (quoted)"));
        }
    }

    void read_uint(Section& s, std::string_view key, std::uint32_t& out, std::uint32_t min,
                   std::uint32_t max) {
        const YamlNode* node = scalar(s, key, "a whole number");
        if (node == nullptr) {
            return;
        }
        const auto v = node->plain ? parse_integer<std::uint64_t>(node->scalar) : std::nullopt;
        if (!v) {
            fail(node->mark, s.path_of(key),
                 "expected a whole number, got " + quote_value(node->scalar));
            return;
        }
        if (*v < min || *v > max) {
            fail(node->mark, s.path_of(key),
                 std::to_string(*v) + " is out of range " + std::to_string(min) + ".." +
                     std::to_string(max));
            return;
        }
        out = static_cast<std::uint32_t>(*v);
    }

    void read_fraction(Section& s, std::string_view key, double& out, double min, double max) {
        const YamlNode* node = scalar(s, key, "a number");
        if (node == nullptr) {
            return;
        }
        const auto v = node->plain ? parse_double(node->scalar) : std::nullopt;
        if (!v || !std::isfinite(*v)) {
            fail(node->mark, s.path_of(key), "expected a number, got " + quote_value(node->scalar));
            return;
        }
        if (*v < min || *v > max) {
            fail(node->mark, s.path_of(key),
                 node->scalar + " is out of range " + format_number(min) + ".." +
                     format_number(max));
            return;
        }
        out = *v;
    }

    void read_duration(Section& s, std::string_view key, Duration& out, Duration min,
                       Duration max) {
        const YamlNode* node = scalar(s, key, "a duration such as 100ms or 1s");
        if (node == nullptr) {
            return;
        }
        auto d = parse_duration(node->scalar);
        if (!d) {
            fail(node->mark, s.path_of(key), d.error());
            return;
        }
        if (*d < min || *d > max) {
            fail(node->mark, s.path_of(key),
                 format_duration(*d) + " is out of range " + format_duration(min) + ".." +
                     format_duration(max));
            return;
        }
        out = *d;
    }

    void read_size(Section& s, std::string_view key, std::uint64_t& out, std::uint64_t min,
                   std::uint64_t max) {
        const YamlNode* node = scalar(s, key, "a size such as 65536 or 64KiB");
        if (node == nullptr) {
            return;
        }
        auto v = parse_size(node->scalar);
        if (!v) {
            fail(node->mark, s.path_of(key), v.error());
            return;
        }
        if (*v < min || *v > max) {
            fail(
                node->mark, s.path_of(key),
                format_size(*v) + " is out of range " + format_size(min) + ".." + format_size(max));
            return;
        }
        out = *v;
    }

    /// An address to dial: host name or IP literal.
    bool parse_address_at(const YamlNode& node, const std::string& path, Address& out) {
        if (node.kind != YamlNode::Kind::kScalar) {
            fail(node.mark, path, "expected host:port, got " + std::string(kind_name(node.kind)));
            return false;
        }
        auto a = parse_address(node.scalar);
        if (!a) {
            fail(node.mark, path, a.error());
            return false;
        }
        out = std::move(*a);
        return true;
    }

    void read_address(Section& s, std::string_view key, Address& out) {
        const YamlNode* node = scalar(s, key, "host:port");
        if (node != nullptr) {
            parse_address_at(*node, s.path_of(key), out);
        }
    }

    /// An address to listen on: an IP literal.
    void read_listen(Section& s, std::string_view key, Address& out) {
        const YamlNode* node = scalar(s, key, "ip:port");
        if (node == nullptr) {
            return;
        }
        Address a;
        if (!parse_address_at(*node, s.path_of(key), a)) {
            return;
        }
        if (!a.is_ip_literal()) {
            fail(node->mark, s.path_of(key),
                 "a listen address must be an IP address, not the name " + quote_value(a.host) +
                     " (e.g. 127.0.0.1, 0.0.0.0 or [::])");
            return;
        }
        out = std::move(a);
    }

    /// A file path, made absolute against the configuration file's directory.
    void read_path(Section& s, std::string_view key, std::string& out) {
        std::string value;
        if (read_string(s, key, value)) {
            out = resolve(value);
        }
    }

    std::string resolve(const std::string& path) const {
        std::filesystem::path p(path);
        if (p.is_relative() && !base_dir_.empty()) {
            p = base_dir_ / p;
        }
        return p.lexically_normal().string();
    }

    /// Reads a secret file named by `key`; `min_bytes` after stripping one newline.
    void read_secret(Section& s, std::string_view key, Secret& out, std::size_t min_bytes) {
        std::string file;
        read_path(s, key, file);
        if (file.empty()) {
            return;
        }
        const auto path = s.path_of(key);
        const Mark at = mark_of(path, s.mark());
        auto content = read_file_content(file);
        if (!content) {
            fail(at, path, content.error());
            return;
        }
        std::string value = strip_one_newline(std::move(*content));
        if (value.empty()) {
            fail(at, path, "secret file " + quote_value(file) + " is empty");
            return;
        }
        if (value.size() < min_bytes) {
            fail(at, path,
                 "secret in " + quote_value(file) + " is shorter than " +
                     std::to_string(min_bytes) + " bytes (use e.g. `openssl rand -hex 32`)");
            return;
        }
        out.file = std::move(file);
        out.set_value(std::move(value));
    }

    Expected<std::string, std::string> read_file_content(const std::string& file) const {
        if (!reader_) {
            return unexpected("cannot read " + quote_value(file) + ": no secret reader");
        }
        auto r = reader_(file);
        if (!r) {
            return unexpected("cannot use " + quote_value(file) + ": " + r.error());
        }
        return std::move(*r);
    }

    /// The sequence at `key` with its path in `path`; nullptr when null or absent (an
    /// empty list) or when it is not a list (reported).
    const YamlNode* list_at(Section& s, std::string_view key, std::string& path) {
        const YamlNode* node = s.get(key);
        if (node == nullptr || node->kind == YamlNode::Kind::kNull) {
            return nullptr;
        }
        path = s.path_of(key);
        marks_[path] = node->mark;
        if (node->kind != YamlNode::Kind::kSequence) {
            fail(node->mark, path, "expected a list, got " + std::string(kind_name(node->kind)));
            return nullptr;
        }
        return node;
    }

    /// A list of scalar strings; null or absent = empty.
    void read_string_list(Section& s, std::string_view key, std::vector<std::string>& out,
                          std::vector<Mark>* marks = nullptr) {
        std::string path;
        const YamlNode* node = list_at(s, key, path);
        if (node == nullptr) {
            return;
        }
        std::size_t i = 0;
        for (const auto child : node->children) {
            const YamlNode& item = tree_.nodes[child];
            const auto item_path = path + "[" + std::to_string(i++) + "]";
            if (item.kind != YamlNode::Kind::kScalar || item.scalar.empty()) {
                fail(item.mark, item_path,
                     "expected a non-empty string, got " +
                         std::string(item.kind == YamlNode::Kind::kScalar
                                         ? std::string_view("an empty string")
                                         : kind_name(item.kind)));
                continue;
            }
            out.push_back(item.scalar);
            if (marks != nullptr) {
                marks->push_back(item.mark);
            }
        }
    }

    /// A list of mappings (null or absent = empty): calls `each(section, index)` for each.
    template <class F>
    void read_map_list(Section& s, std::string_view key, F&& each) {
        std::string path;
        const YamlNode* node = list_at(s, key, path);
        if (node == nullptr) {
            return;
        }
        std::size_t i = 0;
        for (const auto child : node->children) {
            const YamlNode& item = tree_.nodes[child];
            const auto item_path = path + "[" + std::to_string(i) + "]";
            if (item.kind != YamlNode::Kind::kMap) {
                fail(item.mark, item_path,
                     "expected a mapping, got " + std::string(kind_name(item.kind)));
            } else {
                Section sub(*this, tree_, &item, item_path, item.mark);
                each(sub, i);
                sub.finish();
            }
            ++i;
        }
    }

    /// A sub-section (a mapping, or null/absent = defaults). `hint` follows a type error.
    Section section(Section& parent, std::string_view key, std::string_view hint = {}) {
        const YamlNode* node = parent.get(key);
        const auto path = parent.path_of(key);
        if (node != nullptr) {
            marks_[path] = parent.key_mark(key);
            if (node->kind != YamlNode::Kind::kMap && node->kind != YamlNode::Kind::kNull) {
                fail(parent.value_mark(key), path,
                     "expected a mapping of keys, got " + std::string(kind_name(node->kind)) +
                         std::string(hint));
                node = nullptr;
            }
        }
        return Section(*this, tree_, node, path, parent.key_mark(key));
    }

    void set_mark(const std::string& path, Mark at) { marks_[path] = at; }

    static std::string format_number(double v) {
        char buf[32];
        auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
        return ec == std::errc{} ? std::string(buf, end) : std::string("?");
    }

  private:
    Diagnostic make(Mark at, const std::string& path, const std::string& message) const {
        Diagnostic d;
        d.file = file_;
        d.line = at.line;
        d.column = at.column;
        d.message = path.empty() ? message : path + ": " + message;
        return d;
    }

    static std::vector<Diagnostic> sorted(std::vector<Diagnostic> v) {
        std::stable_sort(v.begin(), v.end(), [](const Diagnostic& a, const Diagnostic& b) {
            return a.line != b.line ? a.line < b.line : a.column < b.column;
        });
        return v;
    }

    const YamlTree& tree_;
    std::string file_;
    std::filesystem::path base_dir_;
    const SecretReader& reader_;
    std::vector<Diagnostic> errors_;
    std::size_t dropped_errors_ = 0;
    std::vector<Diagnostic> warnings_;
    std::map<std::string, Mark> marks_;
    std::set<std::string> failed_;
};

Section::Section(Checker& checker, const YamlTree& tree, const YamlNode* node, std::string path,
                 Mark at)
    : checker_(checker), path_(std::move(path)), mark_(at), present_(node != nullptr) {
    if (node == nullptr || node->kind != YamlNode::Kind::kMap) {
        return;
    }
    // Name (a view into the tree, which outlives this) → entry, to find duplicates fast.
    std::map<std::string_view, std::size_t> index;
    entries_.reserve(node->children.size() / 2);
    for (std::size_t i = 0; i + 1 < node->children.size(); i += 2) {
        const YamlNode& key = tree.nodes[node->children[i]];
        const YamlNode& value = tree.nodes[node->children[i + 1]];
        if (key.kind != YamlNode::Kind::kScalar) {
            checker_.error(key.mark, path_,
                           "keys must be plain names, got " + std::string(kind_name(key.kind)));
            continue;
        }
        const auto [first, inserted] = index.emplace(key.scalar, entries_.size());
        if (!inserted) {
            checker_.error(key.mark, path_of(key.scalar),
                           "duplicate key (first at line " +
                               std::to_string(entries_[first->second].key_mark.line) + ")");
            continue;
        }
        entries_.push_back(Entry{key.scalar, key.mark, &value, false});
    }
}

const YamlNode* Section::get(std::string_view key) {
    if (std::find(asked_.begin(), asked_.end(), key) == asked_.end()) {
        asked_.emplace_back(key);
    }
    for (auto& e : entries_) {
        if (e.name == key) {
            e.used = true;
            return e.value;
        }
    }
    return nullptr;
}

Mark Section::key_mark(std::string_view key) const {
    for (const auto& e : entries_) {
        if (e.name == key) {
            return e.key_mark;
        }
    }
    return mark_;
}

Mark Section::value_mark(std::string_view key) const {
    for (const auto& e : entries_) {
        if (e.name == key) {
            return e.value->kind == YamlNode::Kind::kNull ? e.key_mark : e.value->mark;
        }
    }
    return mark_;
}

bool Section::has(std::string_view key) const {
    return std::any_of(entries_.begin(), entries_.end(),
                       [&](const Entry& e) { return e.name == key; });
}

void Section::forbid_inline(std::string_view key, std::string_view use_instead) {
    for (auto& e : entries_) {
        if (e.name == key) {
            e.used = true;
            checker_.error(e.key_mark, path_of(key),
                           "secrets are never written inline: put it in a file readable only by "
                           "picket and name that file with '" +
                               std::string(use_instead) + "'");
        }
    }
}

void Section::finish() {
    for (const auto& e : entries_) {
        if (e.used) {
            continue;
        }
        std::string message = "unknown key";
        if (checker_.error_count() >= kMaxReportedErrors) {
            checker_.error(e.key_mark, path_of(e.name), message);  // no costly suggestions
            continue;
        }
        std::string_view best;
        std::size_t best_distance = 3;  // suggest only close matches
        for (const auto& known : asked_) {
            const auto d = edit_distance(e.name, known);
            if (d < best_distance) {
                best_distance = d;
                best = known;
            }
        }
        if (!best.empty()) {
            message += " (did you mean '" + std::string(best) + "'?)";
        } else if (!asked_.empty()) {
            message += " (known keys: ";
            for (std::size_t i = 0; i < asked_.size(); ++i) {
                message += (i == 0 ? "" : ", ") + asked_[i];
            }
            message += ")";
        }
        checker_.error(e.key_mark, path_of(e.name), message);
    }
}

// ---------------------------------------------------------------------------------------
// Sections. Each reads its keys (the list of keys a section accepts is exactly the keys
// it reads), then checks what it can check alone.
// ---------------------------------------------------------------------------------------

void read_watcher(Checker& c, Section& s, WatcherConfig& w) {
    c.required(s, "id");
    c.read_identifier(s, "id", w.id);
    c.read_listen(s, "peer_listen", w.peer_listen);
    c.read_listen(s, "http_listen", w.http_listen);
    c.read_path(s, "state_dir", w.state_dir);
}

void read_peers(Checker& c, Section& s, PeersConfig& p) {
    s.forbid_inline("secret", "secret_file");
    c.read_map_list(s, "members", [&](Section& m, std::size_t) {
        PeerConfig peer;
        c.required(m, "id");
        c.required(m, "address");
        c.read_identifier(m, "id", peer.id);
        c.read_address(m, "address", peer.address);
        p.members.push_back(std::move(peer));
    });
    c.read_secret(s, "secret_file", p.secret, kMinKeyBytes);
    if (!p.members.empty() && !s.has("secret_file")) {
        c.fail(s.mark(), s.path_of("secret_file"),
               "missing required key 'secret_file' (the peers' shared HMAC secret)");
    }
}

void read_tls(Checker& c, Section& s, TlsSettings& t) {
    c.read_bool(s, "enabled", t.enabled);
    c.read_path(s, "ca_file", t.ca_file);
    c.read_path(s, "cert_file", t.cert_file);
    c.read_path(s, "key_file", t.key_file);
    c.read_string(s, "server_name", t.server_name);
    c.read_bool(s, "verify_peer", t.verify_peer);
    c.read_bool(s, "verify_hostname", t.verify_hostname);
    if (t.cert_file.empty() != t.key_file.empty()) {
        c.error(s.mark(), s.path(), "cert_file and key_file go together: set both or neither");
    }
    if (t.enabled && !t.verify_peer) {
        c.warning(c.mark_of(s.path_of("verify_peer"), s.mark()), s.path_of("verify_peer"),
                  "certificate verification is off: anyone on the path can impersonate Redis");
    }
    if (!t.enabled && !s.has("enabled") &&
        (!t.ca_file.empty() || !t.cert_file.empty() || !t.server_name.empty())) {
        c.warning(s.mark(), s.path(), "TLS settings are given but 'enabled' is not true");
    }
}

void read_cluster(Checker& c, Section& s, ClusterConfig& k) {
    c.required(s, "name");
    c.required(s, "seeds");
    c.read_identifier(s, "name", k.name);
    std::vector<std::string> seeds;
    std::vector<Mark> marks;
    c.read_string_list(s, "seeds", seeds, &marks);
    for (std::size_t i = 0; i < seeds.size(); ++i) {
        const auto path = s.path_of("seeds") + "[" + std::to_string(i) + "]";
        auto a = parse_address(seeds[i]);
        if (!a) {
            c.fail(marks[i], path, a.error());
        } else if (std::find(k.seeds.begin(), k.seeds.end(), *a) != k.seeds.end()) {
            c.error(marks[i], path, "duplicate seed " + a->to_string());
        } else {
            k.seeds.push_back(std::move(*a));
        }
    }
    if (s.has("seeds") && seeds.empty() && !c.failed(s.path_of("seeds"))) {
        c.error(c.mark_of(s.path_of("seeds"), s.mark()), s.path_of("seeds"),
                "needs at least one host:port");
    }
    c.read_string(s, "user", k.user);
    s.forbid_inline("password", "password_file");
    c.read_secret(s, "password_file", k.password, 1);
    auto tls = c.section(s, "tls");
    read_tls(c, tls, k.tls);
    tls.finish();
    c.read_duration(s, "connect_timeout", k.connect_timeout, std::chrono::milliseconds(10),
                    std::chrono::minutes(1));
}

void read_detection(Checker& c, Section& s, DetectionConfig& d) {
    using std::chrono::hours;
    using std::chrono::milliseconds;
    using std::chrono::minutes;
    using std::chrono::seconds;
    c.read_duration(s, "ping_interval", d.ping_interval, milliseconds(10), seconds(10));
    c.read_duration(s, "ping_timeout", d.ping_timeout, milliseconds(10), minutes(1));
    c.read_duration(s, "down_after", d.down_after, milliseconds(10), hours(1));
    c.read_duration(s, "down_after_unresponsive", d.down_after_unresponsive, milliseconds(10),
                    hours(1));
    c.read_duration(s, "loading_grace", d.loading_grace, seconds(0), hours(24));
    c.read_duration(s, "info_interval", d.info_interval, milliseconds(100), minutes(1));
    c.read_duration(s, "nodes_interval", d.nodes_interval, milliseconds(100), minutes(1));
    c.read_uint(s, "nodes_sample", d.nodes_sample, 1, 100);
    c.read_uint(s, "quorum", d.quorum, 0, 1000);
    auto safe = c.section(s, "safe_mode");
    c.read_duration(safe, "loop_lag", d.safe_mode.loop_lag, milliseconds(10), minutes(1));
    c.read_duration(safe, "hold", d.safe_mode.hold, seconds(0), hours(1));
    safe.finish();
}

void read_election(Checker& c, Section& s, ElectionConfig& e) {
    using std::chrono::milliseconds;
    using std::chrono::minutes;
    using std::chrono::seconds;
    c.read_duration(s, "timeout_min", e.timeout_min, milliseconds(50), minutes(1));
    c.read_duration(s, "timeout_max", e.timeout_max, milliseconds(50), minutes(1));
    c.read_duration(s, "heartbeat_interval", e.heartbeat_interval, milliseconds(10), seconds(10));
    c.read_fraction(s, "lease_drift", e.lease_drift, 0.0, 0.5);
    c.read_duration(s, "lease_margin", e.lease_margin, milliseconds(0), seconds(10));
    c.read_duration(s, "opinion_max_age", e.opinion_max_age, milliseconds(10), minutes(1));
}

void read_node_refs(Checker& c, Section& s, std::string_view key, std::vector<NodeRef>& out) {
    std::vector<std::string> items;
    std::vector<Mark> marks;
    c.read_string_list(s, key, items, &marks);
    for (std::size_t i = 0; i < items.size(); ++i) {
        const auto path = s.path_of(key) + "[" + std::to_string(i) + "]";
        NodeRef ref;
        if (is_node_id(items[i])) {
            ref.node_id = items[i];
        } else if (auto a = parse_address(items[i])) {
            ref.address = std::move(*a);
        } else {
            c.fail(marks[i], path,
                   quote_value(items[i]) + " is neither a node id (40 hex digits) nor host:port (" +
                       a.error() + ")");
            continue;
        }
        if (std::find(out.begin(), out.end(), ref) != out.end()) {
            c.error(marks[i], path, "duplicate node " + ref.to_string());
            continue;
        }
        out.push_back(std::move(ref));
        c.set_mark(path, marks[i]);
    }
}

void read_command(Checker& c, Section& s, std::string_view key, std::vector<std::string>& out) {
    std::vector<Mark> marks;
    c.read_string_list(s, key, out, &marks);
    if (!out.empty() && out[0].front() != '/') {
        c.fail(marks[0], s.path_of(key),
               "the command must start with an absolute path, got " + quote_value(out[0]) +
                   " (it runs without a shell: write a list, e.g. [\"/usr/local/bin/hook\", "
                   "\"--flag\"])");
        out.clear();
    }
}

void read_failover(Checker& c, Section& s, FailoverConfig& f) {
    using std::chrono::hours;
    using std::chrono::milliseconds;
    using std::chrono::minutes;
    using std::chrono::seconds;
    c.read_bool(s, "enabled", f.enabled);
    c.read_bool(s, "observe_only", f.observe_only);
    c.read_bool(s, "fast_on_timeouts", f.fast_on_timeouts);
    c.read_bool(s, "allow_takeover", f.allow_takeover);
    c.read_bool(s, "takeover_when_unreachable", f.takeover_when_unreachable);
    c.read_size(s, "max_lag_on_failover", f.max_lag_on_failover, 0, std::uint64_t{1} << 50);
    c.read_duration(s, "replica_max_link_down", f.replica_max_link_down, seconds(0), hours(24));
    read_node_refs(c, s, "never_promote", f.never_promote);
    c.read_duration(s, "cooldown", f.cooldown, seconds(0), hours(24));
    c.read_uint(s, "max_failovers", f.max_failovers, 1, 1000);
    c.read_duration(s, "max_failovers_window", f.max_failovers_window, minutes(1), hours(24 * 7));
    c.read_duration(s, "timeout", f.timeout, seconds(1), minutes(10));
    c.read_duration(s, "cluster_node_timeout", f.cluster_node_timeout, milliseconds(100), hours(1));
    c.read_bool(s, "verify_write", f.verify_write);
    read_command(c, s, "pre_failover_command", f.pre_failover_command);
    read_command(c, s, "post_failover_command", f.post_failover_command);
    c.read_duration(s, "hook_timeout", f.hook_timeout, milliseconds(100), minutes(10));
    read_node_refs(c, s, "preferred_masters", f.preferred_masters);
    c.read_bool(s, "failback", f.failback);
    c.read_duration(s, "failback_after", f.failback_after, seconds(0), hours(24 * 7));

    const auto mark = [&](std::string_view key) { return c.mark_of(s.path_of(key), s.mark()); };
    if (f.takeover_when_unreachable && !f.allow_takeover) {
        c.error(mark("takeover_when_unreachable"), s.path_of("takeover_when_unreachable"),
                "needs allow_takeover: true");
    }
    if (f.takeover_when_unreachable && f.allow_takeover) {
        c.warning(mark("takeover_when_unreachable"), s.path_of("takeover_when_unreachable"),
                  "TAKEOVER may promote a replica while the lost masters still serve on the "
                  "far side of a partition (split brain); see docs/configuration.md");
    }
    if (f.fast_on_timeouts) {
        c.warning(mark("fast_on_timeouts"), s.path_of("fast_on_timeouts"),
                  "failing over on timeouts before cluster_node_timeout can promote a replica "
                  "while a partitioned master still accepts writes (lost writes)");
    }
    if (f.failback && f.preferred_masters.empty()) {
        c.error(mark("failback"), s.path_of("failback"), "needs preferred_masters");
    }
    for (std::size_t i = 0; i < f.preferred_masters.size(); ++i) {
        const auto& ref = f.preferred_masters[i];
        if (std::find(f.never_promote.begin(), f.never_promote.end(), ref) !=
            f.never_promote.end()) {
            const auto path = s.path_of("preferred_masters") + "[" + std::to_string(i) + "]";
            c.error(c.mark_of(path, mark("preferred_masters")), path,
                    ref.to_string() + " is also in never_promote");
        }
    }
    if (f.observe_only && !f.enabled) {
        c.warning(mark("observe_only"), s.path_of("observe_only"),
                  "has no effect while failover is disabled");
    }
}

void read_url(Checker& c, Section& s, std::string_view key, Url& out) {
    const YamlNode* node = c.scalar(s, key, "a URL");
    if (node == nullptr) {
        return;
    }
    auto u = parse_url(node->scalar);
    if (!u) {
        c.fail(node->mark, s.path_of(key), u.error());
        return;
    }
    out = std::move(*u);
}

void read_receiver(Checker& c, Section& s, ReceiverConfig& r) {
    using std::chrono::milliseconds;
    using std::chrono::minutes;
    c.required(s, "name");
    c.read_identifier(s, "name", r.name);
    s.forbid_inline("secret", "secret_file");
    if (s.has("url") == s.has("url_file")) {
        c.error(s.mark(), s.path(), "set exactly one of 'url' and 'url_file'");
    }
    read_url(c, s, "url", r.url);
    c.read_path(s, "url_file", r.url_file);
    if (!r.url_file.empty()) {
        const auto path = s.path_of("url_file");
        const Mark at = c.mark_of(path, s.mark());
        auto content = c.read_file_content(r.url_file);
        if (!content) {
            c.fail(at, path, content.error());
        } else {
            // The URL may carry a token: never quote it in a message.
            auto u = parse_url(trim(*content));
            if (!u) {
                c.fail(at, path,
                       "the content of " + quote_value(r.url_file) + " is not a valid http(s) URL");
            } else {
                r.url = std::move(*u);
            }
        }
    }
    c.read_secret(s, "secret_file", r.secret, 1);
    c.read_duration(s, "timeout", r.timeout, milliseconds(100), minutes(1));
    std::vector<Mark> marks;
    c.read_string_list(s, "events", r.events, &marks);
    for (std::size_t i = 0; i < r.events.size(); ++i) {
        if (!is_event_filter(r.events[i])) {
            c.fail(marks[i], s.path_of("events") + "[" + std::to_string(i) + "]",
                   quote_value(r.events[i]) +
                       " is not an event name (lower-case a-z 0-9 _, optionally ending in '*')");
        }
    }
    c.read_bool(s, "send_resolved", r.send_resolved);
    c.read_uint(s, "queue_size", r.queue_size, 1, 100000);
    c.read_path(s, "ca_file", r.ca_file);
}

void read_alerts(Checker& c, Section& s, AlertsConfig& a) {
    using std::chrono::hours;
    using std::chrono::milliseconds;
    using std::chrono::minutes;
    using std::chrono::seconds;
    std::map<std::string, std::size_t> names;
    c.read_map_list(s, "receivers", [&](Section& r, std::size_t i) {
        ReceiverConfig receiver;
        read_receiver(c, r, receiver);
        if (!receiver.name.empty()) {
            const auto [it, inserted] = names.emplace(receiver.name, i);
            if (!inserted) {
                c.error(c.mark_of(r.path_of("name"), r.mark()), r.path_of("name"),
                        "duplicate receiver name " + quote_value(receiver.name));
            }
        }
        a.receivers.push_back(std::move(receiver));
    });
    if (s.has("alertmanager")) {
        auto am = c.section(s, "alertmanager");
        AlertmanagerConfig cfg;
        c.required(am, "url");
        read_url(c, am, "url", cfg.url);
        c.read_duration(am, "timeout", cfg.timeout, milliseconds(100), minutes(1));
        c.read_duration(am, "resend_interval", cfg.resend_interval, seconds(1), hours(1));
        c.read_path(am, "ca_file", cfg.ca_file);
        am.finish();
        a.alertmanager = std::move(cfg);
    }
    Url url;
    read_url(c, s, "runbook_base_url", url);
    a.runbook_base_url = url.text;
    Url external;
    read_url(c, s, "external_url", external);
    a.external_url = external.text;
}

void read_http(Checker& c, Section& s, HttpConfig& h) {
    using std::chrono::hours;
    using std::chrono::milliseconds;
    using std::chrono::minutes;
    if (const YamlNode* node = c.scalar(s, "admin_listen", "ip:port or unix:/path")) {
        const auto path = s.path_of("admin_listen");
        const std::string_view v = node->scalar;
        if (v.rfind("unix:", 0) == 0) {
            const auto socket = v.substr(5);
            if (socket.empty() || socket[0] != '/') {
                c.fail(node->mark, path, "unix socket path must be absolute (unix:/run/...)");
            } else if (socket.size() > 107) {
                c.fail(node->mark, path, "unix socket path is longer than 107 bytes");
            } else {
                h.admin_listen = Endpoint{{}, std::string(socket)};
            }
        } else if (auto a = parse_address(v); !a) {
            c.fail(node->mark, path, a.error());
        } else if (!a->is_ip_literal()) {
            c.fail(node->mark, path,
                   "a listen address must be an IP address, not the name " + quote_value(a->host));
        } else {
            h.admin_listen = Endpoint{std::move(*a), {}};
        }
    }
    if (const YamlNode* node = c.scalar(s, "admin_socket_mode", "\"0600\" or \"0660\"")) {
        const std::string_view v = node->scalar;
        if (v == "0600" || v == "600") {
            h.admin_socket_mode = 0600;
        } else if (v == "0660" || v == "660") {
            h.admin_socket_mode = 0660;
        } else {
            c.fail(node->mark, s.path_of("admin_socket_mode"),
                   "must be \"0600\" (picketd's user only) or \"0660\" (and its group), not " +
                       quote_value(std::string(v)));
        }
    }
    s.forbid_inline("admin_token", "admin_token_file");
    s.forbid_inline("token", "admin_token_file");
    c.read_secret(s, "admin_token_file", h.admin_token, kMinKeyBytes);
    auto tls = c.section(s, "admin_tls");
    c.read_bool(tls, "enabled", h.admin_tls.enabled);
    c.read_path(tls, "cert_file", h.admin_tls.cert_file);
    c.read_path(tls, "key_file", h.admin_tls.key_file);
    c.read_path(tls, "client_ca_file", h.admin_tls.client_ca_file);
    if (h.admin_tls.enabled && (h.admin_tls.cert_file.empty() || h.admin_tls.key_file.empty())) {
        c.error(tls.mark(), tls.path(), "enabled: true needs cert_file and key_file");
    }
    if (h.admin_tls.enabled && h.admin_listen.is_unix()) {
        c.error(tls.mark(), tls.path(),
                "enabled: true is for a TCP admin_listen; a unix socket is protected by its "
                "file mode (admin_socket_mode)");
    }
    tls.finish();
    c.read_size(s, "max_header_bytes", h.max_header_bytes, 1024, 1024 * 1024);
    c.read_size(s, "max_body_bytes", h.max_body_bytes, 0, 64 * 1024 * 1024);
    c.read_duration(s, "request_timeout", h.request_timeout, milliseconds(100), minutes(10));
    c.read_duration(s, "idle_timeout", h.idle_timeout, milliseconds(100), hours(1));
    c.read_uint(s, "max_connections", h.max_connections, 1, 100000);

    const auto path = s.path_of("admin_listen");
    if (!h.admin_listen.is_unix() && !h.admin_listen.tcp.is_loopback() && !h.admin_tls.enabled &&
        !c.failed(path)) {
        c.error(c.mark_of(path, s.mark()), path,
                h.admin_listen.to_string() +
                    " is not loopback: the admin API (tokens, failover commands) listens only "
                    "on loopback or a unix socket unless admin_tls is enabled");
    }
    if (c.given(path) && h.admin_token.empty() && !c.failed(s.path_of("admin_token_file"))) {
        c.warning(c.mark_of(path, s.mark()), path, "the admin API is off without admin_token_file");
    }
}

void read_log(Checker& c, Section& s, LogConfig& l) {
    if (const YamlNode* node = c.scalar(s, "level", "a log level")) {
        if (auto v = parse_log_level(node->scalar)) {
            l.level = *v;
        } else {
            c.fail(node->mark, s.path_of("level"),
                   quote_value(node->scalar) + " is not one of trace, debug, info, warn, error");
        }
    }
    if (const YamlNode* node = c.scalar(s, "format", "text or json")) {
        if (auto v = parse_log_format(node->scalar)) {
            l.format = *v;
        } else {
            c.fail(node->mark, s.path_of("format"),
                   quote_value(node->scalar) + " is not one of text, json");
        }
    }
}

// ---------------------------------------------------------------------------------------
// Checks across sections.
// ---------------------------------------------------------------------------------------

/// Two TCP listeners collide when they share a port and a host, or one is a wildcard.
bool collide(const Address& a, const Address& b) {
    return a.port == b.port && (a.host == b.host || a.is_wildcard() || b.is_wildcard());
}

void check_across(Checker& c, Config& cfg, Mark root) {
    const auto at = [&](const std::string& path) { return c.mark_of(path, root); };
    // The first of `paths` that was written in the file, else its section, else the top.
    const auto at_any = [&](std::initializer_list<const char*> paths) {
        for (const char* p : paths) {
            if (c.given(p)) {
                return c.mark_of(p, root);
            }
        }
        const std::string first = *paths.begin();
        return c.mark_of(first.substr(0, first.find('.')), root);
    };
    const auto ok = [&](std::initializer_list<const char*> paths) {
        for (const char* p : paths) {
            if (c.failed(p)) {
                return false;
            }
        }
        return true;
    };

    // Listeners.
    if (ok({"watcher.peer_listen", "watcher.http_listen"}) &&
        collide(cfg.watcher.peer_listen, cfg.watcher.http_listen)) {
        c.error(at_any({"watcher.http_listen", "watcher.peer_listen"}), "watcher.http_listen",
                "collides with peer_listen " + cfg.watcher.peer_listen.to_string());
    }
    if (!cfg.http.admin_listen.is_unix() && ok({"http.admin_listen"})) {
        for (const auto& [name, addr] : {std::pair<const char*, const Address*>{
                                             "watcher.peer_listen", &cfg.watcher.peer_listen},
                                         {"watcher.http_listen", &cfg.watcher.http_listen}}) {
            if (ok({name}) && collide(cfg.http.admin_listen.tcp, *addr)) {
                c.error(at("http.admin_listen"), "http.admin_listen",
                        "collides with " + std::string(name) + " " + addr->to_string());
            }
        }
    }

    // Peers: ids unique and not this watcher's.
    std::set<std::string> ids;
    for (std::size_t i = 0; i < cfg.peers.members.size(); ++i) {
        const auto& peer = cfg.peers.members[i];
        const auto path = "peers.members[" + std::to_string(i) + "].id";
        if (peer.id.empty()) {
            continue;
        }
        if (peer.id == cfg.watcher.id) {
            c.error(at(path), path,
                    quote_value(peer.id) +
                        " is this watcher's own id; list only the OTHER watchers here");
        } else if (!ids.insert(peer.id).second) {
            c.error(at(path), path, "duplicate peer id " + quote_value(peer.id));
        }
    }
    std::map<std::string, std::size_t> addresses;
    for (std::size_t i = 0; i < cfg.peers.members.size(); ++i) {
        const auto& address = cfg.peers.members[i].address;
        const auto path = "peers.members[" + std::to_string(i) + "].address";
        if (address.host.empty() || c.failed(path)) {
            continue;
        }
        const auto [it, inserted] = addresses.emplace(address.to_string(), i);
        if (!inserted) {
            c.error(at(path), path,
                    address.to_string() + " is also the address of peers.members[" +
                        std::to_string(it->second) + "]");
        }
    }

    // Voters and quorum (issue #4): quorum > N − 1 can never be met once a VM is gone.
    const auto n = cfg.voter_count();
    const auto majority = n / 2 + 1;
    const Mark peers_at = at("peers");
    if (n == 1) {
        c.warning(peers_at, "peers",
                  "no other watchers: a single watcher decides alone and fails over nothing "
                  "when its own VM is lost");
    } else if (n == 2) {
        c.warning(peers_at, "peers",
                  "2 watchers cannot elect a leader when either is down: use 3 or more (a "
                  "witness on a host without Redis counts)");
    } else if (n % 2 == 0) {
        c.warning(peers_at, "peers",
                  std::to_string(n) + " watchers tolerate as many failures (" +
                      std::to_string((n - 1) / 2) + ") as " + std::to_string(n - 1) +
                      "; add a witness to make it " + std::to_string(n + 1));
    }
    const auto q = cfg.detection.quorum;
    if (q != 0 && !c.failed("detection.quorum")) {
        const std::string qpath = "detection.quorum";
        if (n > 1 && q > n - 1) {
            c.error(at(qpath), qpath,
                    std::to_string(q) + " is more than the " + std::to_string(n - 1) +
                        " watchers left when one VM (and the watcher on it) is lost; at most " +
                        std::to_string(n - 1) + " with " + std::to_string(n) + " voters");
        } else if (n == 1 && q > 1) {
            c.error(at(qpath), qpath, "must be 1 (or 0) with a single watcher");
        } else if (q > majority) {
            c.warning(at(qpath), qpath,
                      std::to_string(q) + " is above a majority (" + std::to_string(majority) +
                          " of " + std::to_string(n) + "): fewer lost watchers block failover");
        }
    }

    // Detection timings.
    auto& d = cfg.detection;
    if (ok({"detection.down_after", "detection.ping_interval"}) && d.down_after < d.ping_interval) {
        c.error(at_any({"detection.down_after", "detection.ping_interval"}), "detection.down_after",
                format_duration(d.down_after) + " is shorter than ping_interval (" +
                    format_duration(d.ping_interval) + ")");
    }
    if (ok({"detection.down_after", "detection.down_after_unresponsive"}) &&
        d.down_after_unresponsive < d.down_after) {
        c.error(at_any({"detection.down_after_unresponsive", "detection.down_after"}),
                "detection.down_after_unresponsive",
                format_duration(d.down_after_unresponsive) + " is shorter than down_after (" +
                    format_duration(d.down_after) + ")");
    }
    if (ok({"detection.ping_timeout", "detection.down_after_unresponsive"}) &&
        d.ping_timeout > d.down_after_unresponsive) {
        c.error(at_any({"detection.ping_timeout", "detection.down_after_unresponsive"}),
                "detection.ping_timeout",
                format_duration(d.ping_timeout) + " is longer than down_after_unresponsive (" +
                    format_duration(d.down_after_unresponsive) + ")");
    }

    // Election timings (Raft: broadcast time << election timeout; lease must outlast a
    // heartbeat round or the leader never holds it).
    auto& e = cfg.election;
    if (ok({"election.timeout_min", "election.timeout_max"}) && e.timeout_max <= e.timeout_min) {
        c.error(at_any({"election.timeout_max", "election.timeout_min"}), "election.timeout_max",
                format_duration(e.timeout_max) + " must be greater than timeout_min (" +
                    format_duration(e.timeout_min) + ")");
    }
    if (ok({"election.timeout_min", "election.heartbeat_interval"}) &&
        e.heartbeat_interval * 3 > e.timeout_min) {
        c.error(at_any({"election.heartbeat_interval", "election.timeout_min"}),
                "election.heartbeat_interval",
                format_duration(e.heartbeat_interval) + " is more than a third of timeout_min (" +
                    format_duration(e.timeout_min) + ")");
    } else if (ok({"election.timeout_min", "election.heartbeat_interval", "election.lease_drift",
                   "election.lease_margin"}) &&
               e.lease() <= e.heartbeat_interval) {
        c.error(at_any({"election.lease_margin", "election.lease_drift", "election.timeout_min",
                        "election.heartbeat_interval"}),
                "election.lease_margin",
                "the leader lease (timeout_min × (1 − lease_drift) − lease_margin = " +
                    format_duration(e.lease()) + ") must be longer than heartbeat_interval (" +
                    format_duration(e.heartbeat_interval) + ")");
    }
    if (ok({"election.opinion_max_age", "election.heartbeat_interval"}) &&
        e.opinion_max_age < e.heartbeat_interval * 2) {
        c.error(at_any({"election.opinion_max_age", "election.heartbeat_interval"}),
                "election.opinion_max_age",
                format_duration(e.opinion_max_age) + " is less than two heartbeat intervals (" +
                    format_duration(e.heartbeat_interval * 2) + ")");
    }
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Public functions.
// ---------------------------------------------------------------------------------------

std::string Diagnostic::to_string() const {
    if (line == 0) {
        return file + ": " + message;
    }
    return file + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " + message;
}

std::string ConfigError::to_string() const {
    std::string out;
    for (const auto& d : errors) {
        out += d.to_string();
        out += '\n';
    }
    return out;
}

std::string Endpoint::to_string() const {
    return is_unix() ? "unix:" + unix_path : tcp.to_string();
}

std::string NodeRef::to_string() const {
    return node_id.empty() ? address.to_string() : node_id;
}

Duration ElectionConfig::lease() const {
    const double scaled = static_cast<double>(timeout_min.count()) * (1.0 - lease_drift);
    return Duration(static_cast<Duration::rep>(scaled)) - lease_margin;
}

std::string_view to_string(LogLevel level) {
    switch (level) {
        case LogLevel::kTrace:
            return "trace";
        case LogLevel::kDebug:
            return "debug";
        case LogLevel::kInfo:
            return "info";
        case LogLevel::kWarn:
            return "warn";
        case LogLevel::kError:
            return "error";
    }
    return "info";
}

std::string_view to_string(LogFormat format) {
    return format == LogFormat::kJson ? "json" : "text";
}

std::optional<LogLevel> parse_log_level(std::string_view text) {
    for (auto l :
         {LogLevel::kTrace, LogLevel::kDebug, LogLevel::kInfo, LogLevel::kWarn, LogLevel::kError}) {
        if (text == to_string(l)) {
            return l;
        }
    }
    return std::nullopt;
}

std::optional<LogFormat> parse_log_format(std::string_view text) {
    if (text == "text") {
        return LogFormat::kText;
    }
    if (text == "json") {
        return LogFormat::kJson;
    }
    return std::nullopt;
}

std::vector<std::string> Config::voter_ids() const {
    std::vector<std::string> ids{watcher.id};
    for (const auto& p : peers.members) {
        ids.push_back(p.id);
    }
    std::sort(ids.begin(), ids.end());
    return ids;
}

std::uint32_t Config::effective_quorum() const {
    if (detection.quorum != 0) {
        return detection.quorum;
    }
    const auto n = static_cast<std::uint32_t>(voter_count());
    const auto majority = n / 2 + 1;
    return n > 1 ? std::min(majority, n - 1) : 1;
}

Expected<std::string, std::string> read_secret_file(const std::string& path) {
    namespace fs = std::filesystem;
    std::error_code ec;
    const auto st = fs::status(path, ec);
    if (st.type() == fs::file_type::not_found) {
        return unexpected(std::string("no such file"));
    }
    if (ec) {
        return unexpected(ec.message());
    }
    if (!fs::is_regular_file(st)) {
        return unexpected(std::string("not a regular file"));
    }
    const auto perms = st.permissions();
    if ((perms & (fs::perms::others_read | fs::perms::others_write)) != fs::perms::none) {
        char mode[8];
        const auto bits = static_cast<unsigned>(perms) & 0777U;
        auto [end, cec] = std::to_chars(mode, mode + sizeof mode, bits, 8);
        (void)cec;
        return unexpected("readable or writable by others (mode 0" + std::string(mode, end) +
                          "): run chmod o-rwx on it");
    }
    const auto size = fs::file_size(path, ec);
    if (ec) {
        return unexpected(ec.message());
    }
    if (size > 64 * 1024) {
        return unexpected(std::string("larger than 64 KiB (not a secret file?)"));
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        return unexpected(std::string("cannot open for reading (permissions?)"));
    }
    std::ostringstream content;
    content << in.rdbuf();
    if (in.bad()) {
        return unexpected(std::string("read error"));
    }
    return content.str();
}

Expected<Config, ConfigError> parse_config(std::string_view yaml_text, std::string_view file_name,
                                           const SecretReader& read_secret) {
    const std::string file(file_name);
    const auto tree = detail::parse_yaml(yaml_text);
    ConfigError err;
    if (!tree.ok) {
        err.errors.push_back(
            Diagnostic{file, tree.error_mark.line, tree.error_mark.column, tree.error});
        return unexpected(std::move(err));
    }
    if (tree.empty) {
        err.errors.push_back(Diagnostic{file, 1, 1, "the configuration is empty"});
        return unexpected(std::move(err));
    }
    const YamlNode& root = tree.nodes[tree.root];
    if (root.kind != YamlNode::Kind::kMap) {
        err.errors.push_back(Diagnostic{file, root.mark.line, root.mark.column,
                                        "the configuration must be a mapping of sections "
                                        "(watcher:, cluster:, …), got " +
                                            std::string(kind_name(root.kind))});
        return unexpected(std::move(err));
    }

    Checker c(tree, file, std::filesystem::path(file).parent_path(), read_secret);
    Config cfg;
    cfg.file = file;
    Section top(c, tree, &root, "", root.mark);
    c.required(top, "watcher");
    c.required(top, "cluster");
    // Every section the same way: read its keys, then complain about the ones left.
    auto read_section = [&](std::string_view name, auto reader, auto& target,
                            std::string_view hint = {}) {
        auto s = c.section(top, name, hint);
        reader(c, s, target);
        s.finish();
    };
    read_section("watcher", read_watcher, cfg.watcher);
    read_section("peers", read_peers, cfg.peers,
                 " (write the other watchers under 'members:' and the shared HMAC "
                 "secret's file under 'secret_file:')");
    read_section("cluster", read_cluster, cfg.cluster);
    read_section("detection", read_detection, cfg.detection);
    read_section("election", read_election, cfg.election);
    read_section("failover", read_failover, cfg.failover);
    read_section("alerts", read_alerts, cfg.alerts);
    read_section("http", read_http, cfg.http);
    read_section("log", read_log, cfg.log);
    top.finish();
    check_across(c, cfg, root.mark);

    if (c.has_errors()) {
        const auto total = c.error_count();
        err.errors = c.take_errors();
        if (total > kMaxReportedErrors) {
            const auto more = total - kMaxReportedErrors;
            err.errors.resize(kMaxReportedErrors);
            err.errors.push_back(
                Diagnostic{file, 0, 0, "… and " + std::to_string(more) + " more errors"});
        }
        return unexpected(std::move(err));
    }
    cfg.warnings = c.take_warnings();
    return cfg;
}

Expected<Config, ConfigError> load_config(const std::string& path) {
    namespace fs = std::filesystem;
    const auto fail = [&](const std::string& message) {
        ConfigError err;
        err.errors.push_back(Diagnostic{path, 0, 0, message});
        return err;
    };
    std::error_code ec;
    const auto st = fs::status(path, ec);
    if (st.type() == fs::file_type::not_found) {
        return unexpected(fail("cannot read: no such file"));
    }
    if (ec) {
        return unexpected(fail("cannot read: " + ec.message()));
    }
    if (!fs::is_regular_file(st)) {
        return unexpected(fail("cannot read: not a regular file"));
    }
    const auto size = fs::file_size(path, ec);
    if (ec || size > 1024 * 1024) {
        return unexpected(fail(ec ? "cannot read: " + ec.message()
                                  : std::string("the file is larger than 1 MiB")));
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        return unexpected(fail("cannot open for reading (permissions?)"));
    }
    std::ostringstream content;
    content << in.rdbuf();
    if (in.bad()) {
        return unexpected(fail("read error"));
    }
    return parse_config(content.str(), path, SecretReader(read_secret_file));
}

}  // namespace picket::config
