#include "core/unicode.hpp"

#include <unicase.h>
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
