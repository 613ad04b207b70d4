// Decoding, validation messages and encoding of the scalar types, worded as
// Pydantic v2 words them so that clients of the original see the same errors.

#include <idn2.h>

#include <algorithm>
#include <boost/json/stream_parser.hpp>
#include <cctype>
#include <cstdio>
#include <charconv>
#include <cmath>
#include <memory>
#include <vector>

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

bool is_atext(unsigned char c) {
    return std::isalnum(c) || c >= 0x80 || std::string_view("!#$%&'*+-/=?^_`{|}~").find(static_cast<char>(c)) !=
                                                   std::string_view::npos;
}

// Why `address` is not a valid e-mail address, in email-validator's words, or empty.
std::string email_problem(std::string_view address) {
    const auto at = address.rfind('@');
    if (at == std::string_view::npos) return "An email address must have an @-sign.";
    const std::string_view local = address.substr(0, at);
    const std::string_view domain = address.substr(at + 1);
    if (local.empty()) return "There must be something before the @-sign.";
    if (domain.empty()) return "There must be something after the @-sign.";
    if (local.size() > 64) return "The email address is too long before the @-sign.";
    if (address.size() > 254) return "The email address is too long.";
    if (local.front() == '.') return "An email address cannot start with a period.";
    if (local.back() == '.') return "An email address cannot have a period immediately before the @-sign.";
    if (local.find("..") != std::string_view::npos) return "An email address cannot have two periods in a row.";
    for (unsigned char c : local)
        if (c != '.' && !is_atext(c))
            return "The email address contains invalid characters before the @-sign: '" + std::string(1, c) + "'.";
    if (domain.front() == '.') return "An email address cannot have a period immediately after the @-sign.";
    if (domain.back() == '.') return "An email address cannot end with a period.";
    if (domain.find("..") != std::string_view::npos) return "An email address cannot have two periods in a row.";
    if (domain.find('.') == std::string_view::npos)
        return "The part after the @-sign is not valid. It should have a period.";
    std::size_t start = 0;
    while (start <= domain.size()) {
        auto dot = domain.find('.', start);
        if (dot == std::string_view::npos) dot = domain.size();
        const std::string_view label = domain.substr(start, dot - start);
        if (label.size() > 63) return "The part after the @-sign is not valid. A label is too long.";
        if (label.front() == '-' || label.back() == '-')
            return "The part after the @-sign is not valid. It cannot start or end with a hyphen.";
        for (unsigned char c : label)
            if (!(std::isalnum(c) || c == '-' || c >= 0x80))
                return "The part after the @-sign contains invalid characters: '" + std::string(1, c) + "'.";
        if (dot == domain.size()) {
            bool numeric = true;
            for (unsigned char c : label) numeric = numeric && std::isdigit(c);
            if (numeric) return "The part after the @-sign is not valid. It is not within a valid top-level domain.";
        }
        start = dot + 1;
    }
    return {};
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

namespace {

// Python's str.isspace, which str.strip() and a regular expression's \s go by.
bool is_python_space(char32_t c) {
    return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

// A character Pydantic allows in an unquoted display name: a word character of Python's
// regular expressions (letters, digits, _) or one of !#$%&'*+-/=?^`{|}~.
bool is_display_name_char(char32_t c) {
    if (c < 0x80)
        return std::isalnum(static_cast<int>(c)) ||
               std::string_view("!#$%&'*+-/=?^_`{|}~").find(static_cast<char>(c)) != std::string_view::npos;
    const char category = core::general_category(c).front();
    return category == 'L' || category == 'N';
}

std::size_t utf8_width(char32_t c) { return c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4; }

// The address in what a client sent, as Pydantic's EmailStr takes it out before
// email-validator sees it: `Name <addr>`, `"Name" <addr>` and `<addr>` give `addr`, and
// the whitespace around is stripped (its pretty_email_regex, then str.strip()).
std::string_view address_in(std::string_view sent) {
    const auto points = core::utf8_code_points(sent);
    if (!points) return sent;  // not UTF-8: refused as it is
    const std::u32string& p = *points;
    std::vector<std::size_t> at(p.size() + 1, 0);  // each code point's byte offset, and the end's
    for (std::size_t i = 0; i < p.size(); ++i) at[i + 1] = at[i] + utf8_width(p[i]);
    const auto stripped = [&](std::size_t from, std::size_t to) {
        while (from < to && is_python_space(p[from])) ++from;
        while (to > from && is_python_space(p[to - 1])) --to;
        return sent.substr(at[from], at[to] - at[from]);
    };
    std::size_t first = 0, last = p.size();
    while (first < last && is_python_space(p[first])) ++first;
    while (last > first && is_python_space(p[last - 1])) --last;
    if (last - first < 3 || p[last - 1] != '>') return stripped(first, last);
    std::size_t open = last;  // the '<' before the address, if the display-name form matches
    if (p[first] == '"') {
        // A quoted name holds anything; the regular expression takes the longest: up to the
        // last quote followed by blanks and '<'.
        for (std::size_t q = last - 2; q >= first + 2 && open == last; --q) {
            if (p[q] != '"') continue;
            std::size_t k = q + 1;
            while (k < last && is_python_space(p[k])) ++k;
            if (k < last && p[k] == '<') open = k;
        }
    } else {
        std::size_t k = first;
        while (k < last && p[k] != '<') ++k;  // a name cannot hold '<'
        bool name = true;
        for (std::size_t i = first; i < k && name; ++i) name = is_display_name_char(p[i]) || is_python_space(p[i]);
        if (name) open = k;
    }
    if (open + 2 >= last) return stripped(first, last);  // no form, or nothing between < and >
    return stripped(open + 1, last - 1);
}

// The characters email-validator calls unsafe in an address (its check_unsafe_chars):
// letters, numbers, punctuation and symbols are safe; a combining mark first, any space,
// separator, control, format (bidirectional overrides, zero-width characters, the soft
// hyphen, the byte order mark), private-use or unassigned character is not: it shows one
// address as another. Its message, naming them as it does; empty if there are none.
std::string unsafe_characters(std::string_view text) {
    const auto points = core::utf8_code_points(text);
    if (!points) return "The email address is not valid UTF-8.";
    std::vector<char32_t> bad;
    for (std::size_t i = 0; i < points->size(); ++i) {
        const char32_t c = (*points)[i];
        const std::string_view category = core::general_category(c);
        const bool safe = category[0] == 'L' || category[0] == 'N' || category[0] == 'P' || category[0] == 'S' ||
                          (category[0] == 'M' && i > 0);
        if (!safe) bad.push_back(c);
    }
    if (bad.empty()) return {};
    std::sort(bad.begin(), bad.end());
    bad.erase(std::unique(bad.begin(), bad.end()), bad.end());
    std::string message = "The email address contains unsafe characters: ";
    for (std::size_t i = 0; i < bad.size(); ++i) {
        if (i > 0) message += ", ";
        std::string name = core::character_name(bad[i]);
        if (name.empty()) {
            char hex[16];
            std::snprintf(hex, sizeof hex, bad[i] < 0xFFFF ? "U+%04X" : "U+%08X", static_cast<unsigned>(bad[i]));
            name = hex;
        }
        message += name;
    }
    return message + ".";
}

// Whether every ASCII character of `text` is one of `allowed` (or a letter or digit): the
// syntax email-validator checks before it looks for unsafe characters.
bool ascii_within(std::string_view text, std::string_view allowed) {
    for (unsigned char c : text)
        if (c < 0x80 && !std::isalnum(c) && allowed.find(static_cast<char>(c)) == std::string_view::npos) return false;
    return true;
}

// The special-use and reserved names email-validator refuses (its SPECIAL_USE_DOMAIN_NAMES):
// no address there can be delivered globally.
bool special_use_domain(std::string_view domain) {
    for (std::string_view name : {"arpa", "invalid", "local", "localhost", "onion", "test"}) {
        if (domain == name) return true;
        if (domain.size() > name.size() && domain.ends_with(name) && domain[domain.size() - name.size() - 1] == '.')
            return true;
    }
    return false;
}

// RFC 2142's mailbox names, which email-validator lower-cases.
bool case_insensitive_mailbox(std::string_view local) {
    std::string lower = core::utf8_lower(local);
    for (std::string_view name : {"info", "marketing", "sales", "support", "abuse", "noc", "security", "postmaster",
                                  "hostmaster", "usenet", "news", "webmaster", "www", "uucp", "ftp"})
        if (lower == name) return true;
    return false;
}

// The domain as email-validator writes it: UTS #46 mapped (lower case, full-width
// letters and dots to ASCII, NFC), checked as IDNA 2008 and turned back into Unicode.
// Empty with `problem` set if it cannot be.
std::string normalized_domain(std::string_view domain, std::string& problem) {
    if (core::is_ascii(domain)) return core::utf8_lower(domain);  // UTS #46 on ASCII: lower case
    const std::string text(domain);
    char* ascii = nullptr;
    int rc = idn2_to_ascii_8z(text.c_str(), &ascii, IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
    std::unique_ptr<char, decltype(&idn2_free)> ascii_owned(ascii, &idn2_free);
    char* unicode = nullptr;
    if (rc == IDN2_OK) rc = idn2_to_unicode_8z8z(ascii, &unicode, 0);
    std::unique_ptr<char, decltype(&idn2_free)> unicode_owned(unicode, &idn2_free);
    if (rc != IDN2_OK) {
        problem = std::string("The part after the @-sign contains invalid characters (") + idn2_strerror(rc) + ").";
        return {};
    }
    return unicode;
}

}  // namespace

// As Pydantic's EmailStr, through email-validator: the address out of a display-name form
// and the whitespace around, no unsafe character, the local part in NFC (lower-cased only
// for RFC 2142's names), the domain mapped by UTS #46 and not a special-use one.
// Registration and login both go through it, so both databases store and compare the same
// form.
bool normalize_email(std::string& s, Errors& e) {
    const std::string_view address = address_in(s);
    std::string problem;
    const auto at = address.rfind('@');
    std::string normalized;
    if (at != std::string_view::npos) {
        const std::string_view local_sent = address.substr(0, at), domain_sent = address.substr(at + 1);
        if (!core::is_ascii(local_sent) && ascii_within(local_sent, "!#$%&'*+-/=?^_`{|}~."))
            problem = unsafe_characters(local_sent);
        if (problem.empty() && !core::is_ascii(domain_sent) && ascii_within(domain_sent, "-."))
            problem = unsafe_characters(domain_sent);
        auto local = core::utf8_nfc(local_sent);
        const std::string domain = problem.empty() ? normalized_domain(domain_sent, problem) : std::string();
        if (problem.empty() && !local) problem = "The email address is not valid UTF-8.";
        if (problem.empty() && case_insensitive_mailbox(*local)) *local = core::utf8_lower(*local);
        if (problem.empty()) normalized = *local + "@" + domain;
        if (problem.empty()) problem = email_problem(normalized);
        if (problem.empty() && special_use_domain(domain))
            problem = "The part after the @-sign is a special-use or reserved name that cannot be used with email.";
    } else {
        problem = email_problem(address);
    }
    if (!problem.empty()) {
        e.add("value_error", "value is not a valid email address: " + problem, text_input(s),
              {{"reason", problem}});
        return false;
    }
    s = std::move(normalized);
    return true;
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
