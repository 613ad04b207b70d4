#include "core/unicode.hpp"

#include <unicase.h>
#include <unictype.h>
#include <uniname.h>
#include <uninorm.h>
#include <unistr.h>

#include <cstdint>
#include <cstdlib>
#include <memory>

namespace core {

namespace {

const std::uint8_t* bytes(std::string_view s) {
    return reinterpret_cast<const std::uint8_t*>(s.data());
}

// Takes a string libunistring allocated.
std::string take(std::uint8_t* out, std::size_t length) {
    std::unique_ptr<std::uint8_t, decltype(&std::free)> owned(out, &std::free);
    return std::string(reinterpret_cast<const char*>(out), length);
}

}  // namespace

bool is_ascii(std::string_view s) {
    for (char c : s)
        if (static_cast<unsigned char>(c) >= 0x80) return false;
    return true;
}

std::optional<std::string> utf8_nfc(std::string_view s) {
    if (is_ascii(s)) return std::string(s);  // ASCII is its own NFC
    if (u8_check(bytes(s), s.size()) != nullptr) return std::nullopt;
    std::size_t length = 0;
    std::uint8_t* out = u8_normalize(UNINORM_NFC, bytes(s), s.size(), nullptr, &length);
    if (!out) return std::nullopt;
    return take(out, length);
}

std::optional<std::u32string> utf8_code_points(std::string_view s) {
    if (u8_check(bytes(s), s.size()) != nullptr) return std::nullopt;
    std::u32string out;
    out.reserve(s.size());
    const std::uint8_t* p = bytes(s);
    const std::uint8_t* end = p + s.size();
    while (p < end) {
        ucs4_t c = 0;
        p += u8_mbtouc_unsafe(&c, p, static_cast<std::size_t>(end - p));  // checked above
        out += static_cast<char32_t>(c);
    }
    return out;
}

std::string_view general_category(char32_t c) {
    const char* name = uc_general_category_name(uc_general_category(static_cast<ucs4_t>(c)));
    return name ? std::string_view(name) : std::string_view("Cn");
}

std::string character_name(char32_t c) {
    char buffer[UNINAME_MAX];
    const char* name = unicode_character_name(static_cast<ucs4_t>(c), buffer);
    return name ? std::string(name) : std::string();
}

std::string utf8_lower(std::string_view s) {
    if (is_ascii(s)) {
        std::string out(s);
        for (char& c : out)
            if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        return out;
    }
    if (u8_check(bytes(s), s.size()) != nullptr) return std::string(s);
    std::size_t length = 0;
    std::uint8_t* out = u8_tolower(bytes(s), s.size(), nullptr, UNINORM_NFC, nullptr, &length);
    if (!out) return std::string(s);
    return take(out, length);
}

}  // namespace core
