#include "core/json_text.hpp"

#include <array>
#include <cstdint>
#include <cstring>

namespace core {

namespace {
// Length of the valid UTF-8 sequence starting at s[i], or 0 if it is not valid.
std::size_t utf8_sequence(std::string_view s, std::size_t i) {
    const auto b0 = static_cast<unsigned char>(s[i]);
    std::size_t len;
    std::uint32_t cp;
    if (b0 < 0x80) return 1;
    if ((b0 & 0xe0) == 0xc0) {
        len = 2;
        cp = b0 & 0x1f;
    } else if ((b0 & 0xf0) == 0xe0) {
        len = 3;
        cp = b0 & 0x0f;
    } else if ((b0 & 0xf8) == 0xf0) {
        len = 4;
        cp = b0 & 0x07;
    } else {
        return 0;
    }
    if (i + len > s.size()) return 0;
    for (std::size_t k = 1; k < len; ++k) {
        const auto b = static_cast<unsigned char>(s[i + k]);
        if ((b & 0xc0) != 0x80) return 0;
        cp = (cp << 6) | (b & 0x3f);
    }
    const bool overlong = (len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000);
    const bool surrogate = cp >= 0xd800 && cp <= 0xdfff;
    if (overlong || surrogate || cp > 0x10ffff) return 0;
    return len;
}
// U+FFFD, what a byte that is not valid UTF-8 becomes.
constexpr std::string_view kReplacement = "\xef\xbf\xbd";

// Appends the UTF-8 sequence at s[i] (or U+FFFD for an invalid byte); returns its length.
std::size_t append_sequence(std::string& out, std::string_view s, std::size_t i) {
    const std::size_t n = utf8_sequence(s, i);
    if (n == 0) {
        out += kReplacement;
        return 1;
    }
    out.append(s.data() + i, n);
    return n;
}

}  // namespace

// Bytes copied as they are: printable ASCII but for '"' and '\\'. Runs of them (and of
// valid UTF-8 sequences) are appended in one go: a byte at a time this was 36k
// instructions per 20-item list (bench/callgrind).
constexpr auto kPlain = [] {
    std::array<bool, 256> t{};
    for (int c = 0x20; c < 0x80; ++c) t[static_cast<std::size_t>(c)] = c != '"' && c != '\\';
    return t;
}();

// Whether any of the eight bytes in `w` may need more than copying: below 0x20, '"',
// '\\', or not ASCII (SWAR: no byte is looked at alone). It may say yes for a word
// that is all plain after all (the bytes are then looked at one by one), never no for
// one that is not.
constexpr bool may_need_escaping(std::uint64_t w) {
    constexpr std::uint64_t ones = 0x0101010101010101, high = 0x8080808080808080;
    const auto has_zero = [](std::uint64_t x) { return (x - ones) & ~x; };
    return ((w - ones * 0x20) | has_zero(w ^ (ones * '"')) | has_zero(w ^ (ones * '\\')) | w) & high;
}

void append_json_escaped(std::string& out, std::string_view s) {
    static constexpr char hex[] = "0123456789abcdef";
    out.reserve(out.size() + s.size());
    std::size_t run = 0;  // start of the bytes not yet appended
    std::size_t i = 0;
    while (i < s.size()) {
        // Plain text goes eight bytes at a time (ca47378: me 140k -> 124k instructions).
        for (std::uint64_t w; i + 8 <= s.size(); i += 8) {
            std::memcpy(&w, s.data() + i, 8);
            if (may_need_escaping(w)) break;
        }
        if (i >= s.size()) break;
        const auto c = static_cast<unsigned char>(s[i]);
        if (kPlain[c]) {
            ++i;
            continue;
        }
        if (c >= 0x80) {
            if (const std::size_t n = utf8_sequence(s, i)) {
                i += n;
                continue;
            }
            out.append(s.data() + run, i - run);
            out += kReplacement;
            run = ++i;
            continue;
        }
        out.append(s.data() + run, i - run);
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            case '\b': out += "\\b"; break;
            case '\f': out += "\\f"; break;
            default:  // the other control characters
                out += "\\u00";
                out += hex[c >> 4];
                out += hex[c & 0xf];
        }
        run = ++i;
    }
    out.append(s.data() + run, i - run);
}

std::string utf8_sanitized(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size();) i += append_sequence(out, s, i);
    return out;
}

std::size_t utf8_length(std::string_view s) {
    std::size_t n = 0;
    for (char ch : s)
        if ((static_cast<unsigned char>(ch) & 0xc0) != 0x80) ++n;
    return n;
}

}  // namespace core
