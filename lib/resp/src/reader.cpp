#include "picket/resp/reader.h"

#include <hiredis/hiredis.h>  // hiredis 0.14 declares the reader functions here

#include <cassert>
#include <new>
#include <utility>

namespace picket::resp {

/// The hiredis reader and what our object callbacks need: the limits, the number of
/// elements built for the reply in progress, and the first limit violation they saw
/// (hiredis only knows "out of memory" for a callback returning NULL).
struct ReplyReader::State {
    redisReader* reader = nullptr;
    ReaderLimits limits;
    std::size_t elements_in_reply = 0;
    std::optional<ReaderError> callback_error;
    std::optional<ReaderError> poisoned;

    ~State() {
        if (reader != nullptr) {
            redisReaderFree(reader);
        }
    }
};

namespace {

using State = ReplyReader::State;

State* state_of(const redisReadTask* task) {
    return static_cast<State*>(task->privdata);
}

void fail(State* st, std::string message) {
    if (!st->callback_error) {
        st->callback_error = ReaderError{ReaderError::Kind::kLimit, std::move(message)};
    }
}

/// Places `value` where hiredis wants it: a new root object, or the next element of the
/// parent array. Elements are appended in order (hiredis fills arrays left to right and
/// holds pointers only to arrays still being filled, whose parents get no new elements
/// meanwhile), so growing the vector never invalidates a pointer hiredis still uses.
void* place(const redisReadTask* task, Reply&& value) noexcept {
    try {
        if (task->parent == nullptr) {
            return new Reply(std::move(value));
        }
        auto* parent = static_cast<Reply*>(task->parent->obj);
        assert(parent != nullptr && parent->type == ReplyType::kArray);
        assert(static_cast<std::size_t>(task->idx) == parent->elements.size());
        parent->elements.push_back(std::move(value));
        return &parent->elements.back();
    } catch (const std::bad_alloc&) {
        fail(state_of(task), "out of memory building reply");
        return nullptr;
    }
}

void* create_string(const redisReadTask* task, char* str, size_t len) noexcept {
    State* st = state_of(task);
    if (len > st->limits.max_bulk_bytes) {
        fail(st, "string of " + std::to_string(len) + " bytes exceeds limit of " +
                     std::to_string(st->limits.max_bulk_bytes));
        return nullptr;
    }
    Reply r;
    switch (task->type) {
        case REDIS_REPLY_ERROR:
            r.type = ReplyType::kError;
            break;
        case REDIS_REPLY_STATUS:
            r.type = ReplyType::kStatus;
            break;
        default:
            r.type = ReplyType::kString;
            break;
    }
    try {
        r.str.assign(str, len);
    } catch (const std::bad_alloc&) {
        fail(st, "out of memory building reply");
        return nullptr;
    }
    return place(task, std::move(r));
}

void* create_array(const redisReadTask* task, int elements) noexcept {
    State* st = state_of(task);
    int depth = 1;
    for (const redisReadTask* p = task->parent; p != nullptr; p = p->parent) {
        ++depth;
    }
    if (depth > st->limits.max_depth) {
        fail(st, "array nesting depth " + std::to_string(depth) + " exceeds limit of " +
                     std::to_string(st->limits.max_depth));
        return nullptr;
    }
    if (elements < 0) {
        fail(st, "negative array length");
        return nullptr;
    }
    const auto n = static_cast<std::size_t>(elements);
    if (n > st->limits.max_elements - st->elements_in_reply) {
        fail(st, "reply with more than " + std::to_string(st->limits.max_elements) +
                     " array elements exceeds limit");
        return nullptr;
    }
    st->elements_in_reply += n;
    Reply r;
    r.type = ReplyType::kArray;
    // Reserve only a little: the declared length is the peer's word, not data we hold.
    try {
        r.elements.reserve(std::min<std::size_t>(n, 64));
    } catch (const std::bad_alloc&) {
        fail(st, "out of memory building reply");
        return nullptr;
    }
    return place(task, std::move(r));
}

void* create_integer(const redisReadTask* task, long long value) noexcept {
    Reply r;
    r.type = ReplyType::kInteger;
    r.integer = value;
    return place(task, std::move(r));
}

void* create_nil(const redisReadTask* task) noexcept {
    return place(task, Reply{});
}

/// hiredis frees only root objects (r->reply); children live inside their root.
void free_object(void* obj) noexcept {
    delete static_cast<Reply*>(obj);
}

redisReplyObjectFunctions kFunctions = {create_string, create_array, create_integer, create_nil,
                                        free_object};

}  // namespace

ReplyReader::ReplyReader(ReaderLimits limits) : limits_(limits), state_(std::make_unique<State>()) {
    state_->limits = limits;
    state_->reader = redisReaderCreateWithFunctions(&kFunctions);
    if (state_->reader == nullptr) {
        throw std::bad_alloc();
    }
    state_->reader->privdata = state_.get();
}

ReplyReader::~ReplyReader() = default;
ReplyReader::ReplyReader(ReplyReader&&) noexcept = default;
ReplyReader& ReplyReader::operator=(ReplyReader&&) noexcept = default;

std::size_t ReplyReader::buffered() const {
    return state_->reader->len - state_->reader->pos;
}

Expected<void, ReaderError> ReplyReader::feed(std::string_view bytes) {
    if (state_->poisoned) {
        return unexpected(*state_->poisoned);
    }
    if (bytes.size() > limits_.max_buffer_bytes - buffered()) {
        state_->poisoned = ReaderError{
            ReaderError::Kind::kLimit,
            "more than " + std::to_string(limits_.max_buffer_bytes) + " unparsed bytes buffered"};
        return unexpected(*state_->poisoned);
    }
    if (redisReaderFeed(state_->reader, bytes.data(), bytes.size()) != REDIS_OK) {
        state_->poisoned = ReaderError{ReaderError::Kind::kProtocol, state_->reader->errstr};
        return unexpected(*state_->poisoned);
    }
    return {};
}

Expected<std::optional<Reply>, ReaderError> ReplyReader::next() {
    if (state_->poisoned) {
        return unexpected(*state_->poisoned);
    }
    void* obj = nullptr;
    if (redisReaderGetReply(state_->reader, &obj) != REDIS_OK) {
        // A callback's own reason beats hiredis's generic "Out of memory".
        state_->poisoned =
            state_->callback_error
                ? *state_->callback_error
                : ReaderError{ReaderError::Kind::kProtocol,
                              std::string("protocol error: ") + state_->reader->errstr};
        return unexpected(*state_->poisoned);
    }
    if (obj == nullptr) {
        return std::optional<Reply>{};
    }
    std::unique_ptr<Reply> root(static_cast<Reply*>(obj));
    state_->elements_in_reply = 0;
    return std::optional<Reply>(std::move(*root));
}

Expected<Reply, ReaderError> parse_one(std::string_view bytes, ReaderLimits limits) {
    ReplyReader reader(limits);
    if (auto fed = reader.feed(bytes); !fed) {
        return unexpected(fed.error());
    }
    auto got = reader.next();
    if (!got) {
        return unexpected(std::move(got).error());
    }
    if (!got->has_value()) {
        return unexpected(ReaderError{ReaderError::Kind::kProtocol, "incomplete reply"});
    }
    if (reader.buffered() != 0) {
        return unexpected(
            ReaderError{ReaderError::Kind::kProtocol,
                        "trailing bytes after reply: " + std::to_string(reader.buffered())});
    }
    return std::move(**got);
}

}  // namespace picket::resp
