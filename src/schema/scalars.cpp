// Decoding, validation messages and encoding of the scalar types, worded as
// Pydantic v2 words them so that clients of the original see the same errors.

#include <boost/json/stream_parser.hpp>
#include <cctype>
#include <charconv>
#include <cmath>

#include "core/json_text.hpp"
#include "core/unicode.hpp"
#include "schema/codec.hpp"

namespace schema {

namespace detail {

namespace {

constexpr std::string_view kNulMessage = "String should not contain the NUL character (U+0000)";

std::string plural(std::size_t n, std::string_view word) {
    std::string s = std::to_string(n);
    s += ' ';
    s += word;
    if (n != 1) s += 's';
    return s;
}

std::string_view trim_ascii(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    return s;
}

bool parse_int(std::string_view s, std::int64_t& out, Errors& e, const json::value& input) {
    std::string_view t = trim_ascii(s);
    if (!t.empty() && t.front() == '+') t.remove_prefix(1);
    auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), out);
    if (ec == std::errc::result_out_of_range && end == t.data() + t.size()) {
        e.add("int_parsing_size", "Unable to parse input string as an integer, exceeded maximum size", input);
        return false;
    }
    if (t.empty() || ec != std::errc{} || end != t.data() + t.size()) {
        e.add("int_parsing", "Input should be a valid integer, unable to parse string as an integer", input);
        return false;
    }
    return true;
}

bool parse_bool(std::string_view s, bool& out) {
    std::string lower;
    for (char c : s) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    for (std::string_view t : {"1", "on", "t", "true", "y", "yes"})
        if (lower == t) return out = true, true;
    for (std::string_view f : {"0", "off", "f", "false", "n", "no"})
        if (lower == f) return out = false, true;
    return false;
}

}  // namespace

namespace {

// Text with U+0000 is refused everywhere: PostgreSQL cannot store it (libpq's text
// parameters end at the first NUL, so "\u0000x" would be stored as ""), and SQLite
// would keep it whole; refusing it at validation makes both behave the same.
bool check_no_nul(std::string_view s, Errors& e) {
    if (s.find('\0') == std::string_view::npos) return true;
    e.add("value_error", "Value error, " + std::string(kNulMessage), text_input(s), {{"error", kNulMessage}});
    return false;
}

}  // namespace

bool decode_string(const json::value& v, std::string& out, Errors& e) {
    if (const json::string* s = v.if_string()) {
        if (!check_no_nul(*s, e)) return false;
        out.assign(s->data(), s->size());
        return true;
    }
    e.add("string_type", "Input should be a valid string", v);
    return false;
}

bool decode_text(std::string_view s, std::string& out, Errors& e) {
    if (!check_no_nul(s, e)) return false;
    out.assign(s);
    return true;
}

bool check_length(std::string_view s, std::size_t min, std::size_t max, Errors& e) {
    const std::size_t n = core::utf8_length(s);
    if (n < min) {
        e.add("string_too_short", "String should have at least " + plural(min, "character"), text_input(s),
              {{"min_length", min}});
        return false;
    }
    if (n > max) {
        e.add("string_too_long", "String should have at most " + plural(max, "character"), text_input(s),
              {{"max_length", max}});
        return false;
    }
    return true;
}

bool decode_int(const json::value& v, std::int64_t& out, Errors& e) {
    switch (v.kind()) {
        case json::kind::int64: out = v.get_int64(); return true;
        case json::kind::uint64:
            e.add("int_parsing_size", "Unable to parse input string as an integer, exceeded maximum size", v);
            return false;
        case json::kind::double_: {
            const double d = v.get_double();
            if (std::trunc(d) != d) {
                e.add("int_from_float", "Input should be a valid integer, got a number with a fractional part", v);
                return false;
            }
            if (d < -9.2e18 || d > 9.2e18) {
                e.add("int_parsing_size", "Unable to parse input string as an integer, exceeded maximum size", v);
                return false;
            }
            out = static_cast<std::int64_t>(d);
            return true;
        }
        case json::kind::bool_: out = v.get_bool() ? 1 : 0; return true;
        case json::kind::string: return parse_int(v.get_string(), out, e, v);
        default: e.add("int_type", "Input should be a valid integer", v); return false;
    }
}

bool decode_int_text(std::string_view s, std::int64_t& out, Errors& e) {
    return parse_int(s, out, e, text_input(s));
}

bool check_range(std::int64_t v, std::int64_t min, std::int64_t max, Errors& e) {
    if (v < min) {
        e.add("greater_than_equal", "Input should be greater than or equal to " + std::to_string(min), v,
              {{"ge", min}});
        return false;
    }
    if (v > max) {
        e.add("less_than_equal", "Input should be less than or equal to " + std::to_string(max), v, {{"le", max}});
        return false;
    }
    return true;
}

bool decode_bool(const json::value& v, bool& out, Errors& e) {
    switch (v.kind()) {
        case json::kind::bool_: out = v.get_bool(); return true;
        case json::kind::int64:
        case json::kind::uint64:
            if (v.to_number<double>() == 0 || v.to_number<double>() == 1) {
                out = v.to_number<double>() == 1;
                return true;
            }
            break;
        case json::kind::string:
            if (parse_bool(v.get_string(), out)) return true;
            break;
        default: e.add("bool_type", "Input should be a valid boolean", v); return false;
    }
    e.add("bool_parsing", "Input should be a valid boolean, unable to interpret input", v);
    return false;
}

bool decode_bool_text(std::string_view s, bool& out, Errors& e) {
    if (parse_bool(s, out)) return true;
    e.add("bool_parsing", "Input should be a valid boolean, unable to interpret input", text_input(s));
    return false;
}


void write_string(std::string& out, std::string_view s) { core::append_json_string(out, s); }

void write_int(std::string& out, std::int64_t v) {
    char buf[24];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, end);
}

void write_bool(std::string& out, bool v) { out += v ? "true" : "false"; }

std::string exactly_pattern(std::string_view value) {
    // Appended, not "^" + ... + "$": g++ 12 -O3 warns falsely (-Wrestrict) on that form.
    std::string pattern;
    pattern.reserve(value.size() + 2);
    pattern += '^';
    pattern.append(value);
    pattern += '$';
    return pattern;
}

bool check_exactly(std::string_view s, std::string_view value, Errors& e) {
    if (s == value) return true;
    const std::string pattern = exactly_pattern(value);
    e.add("string_pattern_mismatch", "String should match pattern '" + pattern + "'", text_input(s),
          {{"pattern", pattern}});
    return false;
}

json::value text_input(std::string_view s) { return json::string(core::utf8_sanitized(s)); }

std::string field_title(std::string_view name) {
    std::string t;
    bool start = true;
    for (char c : name) {
        if (c == '_') {
            t += ' ';
            start = true;
        } else {
            t += start ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c;
            start = false;
        }
    }
    return t;
}

std::string model_name(std::string_view type_name) {
    if (const auto colon = type_name.rfind("::"); colon != std::string_view::npos)
        type_name.remove_prefix(colon + 2);
    return std::string(type_name);
}

void model_attributes_error(const json::value& v, Errors& e) {
    e.add("model_attributes_type", "Input should be a valid dictionary or object to extract fields from", v);
}

}  // namespace detail

std::optional<json::value> parse_json(std::string_view text, Errors& e) {
    // A byte order mark may precede the text (RFC 8259 section 8.1 lets a parser ignore it;
    // Windows tools and PowerShell write one, and Python's json reads past it).
    if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);
    json::stream_parser parser;
    boost::system::error_code ec;
    const std::size_t used = parser.write_some(text.data(), text.size(), ec);
    if (!ec) parser.finish(ec);
    if (!ec) return parser.release();
    auto scope = e.at(static_cast<std::int64_t>(used));
    e.add("json_invalid", "JSON decode error", json::object{}, {{"error", ec.message()}});
    return std::nullopt;
}

}  // namespace schema
