#pragma once
// A string literal as a template argument: Path<std::int64_t, "item_id">.

#include <algorithm>
#include <cstddef>
#include <string_view>

namespace core {

template <std::size_t N>
struct FixedString {
    char chars[N]{};
    constexpr FixedString(const char (&s)[N]) { std::copy_n(s, N, chars); }
    constexpr std::string_view view() const { return {chars, N - 1}; }
};

}  // namespace core
