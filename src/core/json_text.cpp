#include "core/json_text.hpp"

#include <array>
#include <cstdint>
#include <cstring>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

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

namespace {

#if defined(__SSE2__)
// may_need_escaping for the sixteen bytes at `p` (SSE2, which every x86-64 has).
bool may_need_escaping16(const char* p) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    // Signed bytes: below 0x20 are the control characters and, negative, the non-ASCII.
    const __m128i low = _mm_cmplt_epi8(v, _mm_set1_epi8(0x20));
    const __m128i quote = _mm_cmpeq_epi8(v, _mm_set1_epi8('"'));
    const __m128i backslash = _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'));
    return _mm_movemask_epi8(_mm_or_si128(low, _mm_or_si128(quote, backslash))) != 0;
}
#endif

// How many bytes at the start of `s` are plain: most strings are plain throughout, and
// are then appended whole. It may stop short of the first byte that needs escaping, never
// past it.
std::size_t plain_prefix(std::string_view s) {
    std::size_t i = 0;
#if defined(__SSE2__)
    for (; i + 16 <= s.size(); i += 16)
        if (may_need_escaping16(s.data() + i)) return i;
    if (i < s.size() && s.size() >= 16)  // the last sixteen bytes, overlapping those seen
        return may_need_escaping16(s.data() + s.size() - 16) ? i : s.size();
#endif
    for (std::uint64_t w; i + 8 <= s.size(); i += 8) {
        std::memcpy(&w, s.data() + i, 8);
        if (may_need_escaping(w)) return i;
    }
    if (i < s.size() && s.size() >= 8) {  // the last eight bytes, overlapping those seen
        std::uint64_t w;
        std::memcpy(&w, s.data() + s.size() - 8, 8);
        if (!may_need_escaping(w)) return s.size();
    }
    while (i < s.size() && kPlain[static_cast<unsigned char>(s[i])]) ++i;
    return i;
}

// Appends `s` escaped, knowing that s[0, from) is plain.
void append_escaped_from(std::string& out, std::string_view s, std::size_t from) {
    static constexpr char hex[] = "0123456789abcdef";
    out.reserve(out.size() + s.size());
    std::size_t run = 0;  // start of the bytes not yet appended
    std::size_t i = from;
    while (i < s.size()) {
        i += plain_prefix(s.substr(i));  // plain text by blocks, not byte by byte
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

}  // namespace

void append_json_escaped(std::string& out, std::string_view s) {
    const std::size_t plain = plain_prefix(s);
    if (plain == s.size())
        out.append(s.data(), s.size());
    else
        append_escaped_from(out, s, plain);
}

void append_json_string(std::string& out, std::string_view s) {
    const std::size_t plain = plain_prefix(s);
    if (plain == s.size()) {  // quotes and text in one step
        const std::size_t at = out.size();
        out.resize(at + s.size() + 2);
        char* p = out.data() + at;
        p[0] = '"';
        std::memcpy(p + 1, s.data(), s.size());
        p[s.size() + 1] = '"';
        return;
    }
    out += '"';
    append_escaped_from(out, s, plain);
    out += '"';
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
