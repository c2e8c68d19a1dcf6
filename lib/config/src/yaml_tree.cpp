// yaml-cpp event parser → YamlTree, with limits, catching everything yaml-cpp throws.

#include "yaml_tree.h"

#include <yaml-cpp/anchor.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/parser.h>

#include <exception>
#include <map>
#include <new>
#include <sstream>
#include <utility>

namespace picket::config::detail {
namespace {

/// Thrown by the handler to stop the parser at a limit; caught in parse_yaml.
struct Stop {
    Mark mark;
    std::string message;
};

Mark to_mark(const YAML::Mark& m) {
    if (m.is_null() || m.line < 0 || m.column < 0) {
        return Mark{};
    }
    return Mark{static_cast<std::size_t>(m.line) + 1, static_cast<std::size_t>(m.column) + 1};
}

class Builder final : public YAML::EventHandler {
  public:
    Builder(YamlTree& tree, const YamlLimits& limits) : tree_(tree), limits_(limits) {}

    void OnDocumentStart(const YAML::Mark& mark) override {
        if (documents_++ > 0) {
            throw Stop{to_mark(mark), "only one YAML document is allowed (remove '---')"};
        }
    }
    void OnDocumentEnd() override {}

    void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
        const auto id = add(YamlNode::Kind::kNull, mark);
        finish(id, anchor, mark);
    }

    void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
        const auto it = anchors_.find(anchor);
        if (it == anchors_.end()) {
            throw Stop{to_mark(mark), "alias refers to a node that contains it"};
        }
        attach(it->second, mark);
    }

    void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                  const std::string& value) override {
        check_tag(mark, tag);
        const auto id = add(YamlNode::Kind::kScalar, mark);
        tree_.nodes[id].scalar = value;
        tree_.nodes[id].plain = tag == "?";
        finish(id, anchor, mark);
    }

    void OnSequenceStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                         YAML::EmitterStyle::value /*style*/) override {
        check_tag(mark, tag);
        open(add(YamlNode::Kind::kSequence, mark), anchor, mark);
    }
    void OnSequenceEnd() override { close(); }

    void OnMapStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                    YAML::EmitterStyle::value /*style*/) override {
        check_tag(mark, tag);
        open(add(YamlNode::Kind::kMap, mark), anchor, mark);
    }
    void OnMapEnd() override { close(); }

  private:
    struct Open {
        std::size_t node;
        YAML::anchor_t anchor;
    };

    void check_tag(const YAML::Mark& mark, const std::string& tag) {
        // "?" = untagged plain, "!" = untagged quoted; anything else is an explicit tag.
        if (!tag.empty() && tag != "?" && tag != "!") {
            throw Stop{to_mark(mark), "YAML tags ('" + tag.substr(0, 40) + "') are not allowed"};
        }
    }

    std::size_t add(YamlNode::Kind kind, const YAML::Mark& mark) {
        if (tree_.nodes.size() >= limits_.max_nodes) {
            throw Stop{to_mark(mark), "the document has more than " +
                                          std::to_string(limits_.max_nodes) + " nodes"};
        }
        YamlNode node;
        node.kind = kind;
        node.mark = to_mark(mark);
        tree_.nodes.push_back(std::move(node));
        return tree_.nodes.size() - 1;
    }

    // Links a finished node (new or aliased) into its parent, or makes it the root.
    void attach(std::size_t id, const YAML::Mark& mark) {
        if (stack_.empty()) {
            if (has_root_) {
                throw Stop{to_mark(mark), "only one YAML document is allowed"};
            }
            tree_.root = id;
            has_root_ = true;
            return;
        }
        auto& parent = tree_.nodes[stack_.back().node];
        if (parent.children.size() >= limits_.max_nodes) {
            throw Stop{to_mark(mark), "a collection is too large"};
        }
        parent.children.push_back(id);
    }

    void finish(std::size_t id, YAML::anchor_t anchor, const YAML::Mark& mark) {
        attach(id, mark);
        if (anchor != YAML::NullAnchor) {
            anchors_[anchor] = id;
        }
    }

    void open(std::size_t id, YAML::anchor_t anchor, const YAML::Mark& mark) {
        if (stack_.size() >= limits_.max_depth) {
            throw Stop{to_mark(mark),
                       "nesting is deeper than " + std::to_string(limits_.max_depth) + " levels"};
        }
        attach(id, mark);
        stack_.push_back(Open{id, anchor});
    }

    void close() {
        const Open top = stack_.back();
        stack_.pop_back();
        if (top.anchor != YAML::NullAnchor) {
            anchors_[top.anchor] = top.node;
        }
    }

    YamlTree& tree_;
    const YamlLimits& limits_;
    std::vector<Open> stack_;
    std::map<YAML::anchor_t, std::size_t> anchors_;
    int documents_ = 0;
    bool has_root_ = false;
};

}  // namespace

YamlTree parse_yaml(std::string_view text, const YamlLimits& limits) {
    YamlTree tree;
    if (text.size() > limits.max_bytes) {
        tree.error_mark = Mark{0, 0};
        tree.error = "the file is larger than " + std::to_string(limits.max_bytes) + " bytes";
        return tree;
    }
    if (text.find('\0') != std::string_view::npos) {
        tree.error_mark = Mark{0, 0};
        tree.error = "the file contains a NUL byte (not a text file?)";
        return tree;
    }
    try {
        std::istringstream in{std::string(text)};
        YAML::Parser parser(in);
        Builder builder(tree, limits);
        while (parser.HandleNextDocument(builder)) {
        }
        tree.ok = true;
        tree.empty = tree.nodes.empty() || tree.nodes[tree.root].kind == YamlNode::Kind::kNull;
    } catch (const Stop& stop) {
        tree.error_mark = stop.mark;
        tree.error = stop.message;
    } catch (const YAML::Exception& e) {
        tree.error_mark = to_mark(e.mark);
        tree.error = "YAML syntax: " + e.msg;
    } catch (const std::bad_alloc&) {
        tree.error_mark = Mark{0, 0};
        tree.error = "out of memory while parsing";
    } catch (const std::exception& e) {
        tree.error_mark = Mark{0, 0};
        tree.error = std::string("YAML parser failed: ") + e.what();
    }
    if (!tree.ok) {
        tree.nodes.clear();
    }
    return tree;
}

}  // namespace picket::config::detail
