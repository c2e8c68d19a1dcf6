#pragma once
// A minimal std::expected stand-in (C++23's is not in GCC 12's C++20 mode).
// Used for "errors as values": what the network, a peer or a parser does to us is
// returned, never thrown. Broken invariants are asserts, not errors.

#include <cassert>
#include <optional>
#include <type_traits>
#include <utility>
#include <variant>

namespace picket {

/// Wraps an error value so that `return unexpected(e);` converts to any Expected<T, E>.
template <class E>
struct Unexpected {
    E error;
};

template <class E>
Unexpected<std::decay_t<E>> unexpected(E&& e) {
    return Unexpected<std::decay_t<E>>{std::forward<E>(e)};
}

/// Either a value of T or an error of E. Accessing the wrong alternative asserts.
template <class T, class E>
class [[nodiscard]] Expected {
  public:
    Expected(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit
    template <class G>
    Expected(Unexpected<G> e)  // NOLINT: implicit by design
        : v_(std::in_place_index<1>, E(std::move(e.error))) {}

    bool has_value() const noexcept { return v_.index() == 0; }
    explicit operator bool() const noexcept { return has_value(); }

    T& value() & {
        assert(has_value());
        return std::get<0>(v_);
    }
    const T& value() const& {
        assert(has_value());
        return std::get<0>(v_);
    }
    T&& value() && {
        assert(has_value());
        return std::get<0>(std::move(v_));
    }
    const E& error() const& {
        assert(!has_value());
        return std::get<1>(v_);
    }
    E&& error() && {
        assert(!has_value());
        return std::get<1>(std::move(v_));
    }

    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    T&& operator*() && { return std::move(*this).value(); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }

  private:
    std::variant<T, E> v_;
};

/// Success with no value, or an error.
template <class E>
class [[nodiscard]] Expected<void, E> {
  public:
    Expected() = default;
    template <class G>
    Expected(Unexpected<G> e) : e_(E(std::move(e.error))) {}  // NOLINT: implicit by design

    bool has_value() const noexcept { return !e_.has_value(); }
    explicit operator bool() const noexcept { return has_value(); }
    const E& error() const& {
        assert(!has_value());
        return *e_;
    }

  private:
    std::optional<E> e_;
};

}  // namespace picket
