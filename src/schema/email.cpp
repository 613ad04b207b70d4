// E-mail addresses as Pydantic's EmailStr reads them and email-validator checks and
// normalizes them, with email-validator's words for what is wrong.

#include <idn2.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <memory>
#include <vector>

#include "core/unicode.hpp"
#include "schema/codec.hpp"

namespace schema {

namespace detail {

namespace {

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

}  // namespace detail

std::optional<std::string> normalized_email(std::string_view text) {
    std::string email(text);
    Errors ignored;
    if (!detail::normalize_email(email, ignored)) return std::nullopt;
    return email;
}

}  // namespace schema
