#pragma once
// Unicode text operations the layers above share (libunistring): the forms in which
// e-mail addresses are stored and compared.

#include <optional>
#include <string>
#include <string_view>

namespace core {

// True if every byte of `s` is ASCII (then it is valid UTF-8 in NFC, and its own
// replacement-free text).
bool is_ascii(std::string_view s);

// `s` in Unicode Normalization Form C; nullopt if `s` is not valid UTF-8.
std::optional<std::string> utf8_nfc(std::string_view s);

// The code points of `s`; nullopt if `s` is not valid UTF-8.
std::optional<std::u32string> utf8_code_points(std::string_view s);

// Unicode's general category of `c`, as its two-letter name ("Lu", "Cf", "Zs", ...).
std::string_view general_category(char32_t c);

// Unicode's name of `c` ("RIGHT-TO-LEFT OVERRIDE"); empty for a character without one.
std::string character_name(char32_t c);

// `s` lower-cased by Unicode's full case mapping (Ü -> ü, not ASCII only); `s` itself
// if it is not valid UTF-8.
std::string utf8_lower(std::string_view s);

}  // namespace core
