#pragma once

#include <string>
#include <string_view>

namespace core {

// Appends `s` as the inside of a JSON string literal (without the quotes).
// Control characters are escaped; bytes that are not valid UTF-8 become U+FFFD,
// so whatever a client sent, the document written stays valid JSON.
void append_json_escaped(std::string& out, std::string_view s);
// The same with the quotes: `s` as a JSON string literal.
void append_json_string(std::string& out, std::string_view s);

// Length of `s` in Unicode code points (what Pydantic's length limits count).
std::size_t utf8_length(std::string_view s);

}  // namespace core

namespace core {
// `s` with every byte that is not valid UTF-8 replaced by U+FFFD.
std::string utf8_sanitized(std::string_view s);
}  // namespace core
