#include "schema/errors.hpp"

#include <boost/json/serialize.hpp>
#include <charconv>
#include <cmath>
#include <cstdlib>

#include "core/json_text.hpp"

namespace schema {

namespace {

// The numbers of a valid JSON document that a double shows otherwise than they were
// written: a lexical scan that skips strings, run only on the error path.
std::shared_ptr<const NumberTexts> lossy_numbers(std::string_view text) {
    auto found = std::make_shared<NumberTexts>();
    for (std::size_t i = 0; i < text.size();) {
        const char c = text[i];
        if (c == '"') {
            for (++i; i < text.size() && text[i] != '"'; ++i)
                if (text[i] == '\\') ++i;
            ++i;
            continue;
        }
        if (c != '-' && (c < '0' || c > '9')) {
            ++i;
            continue;
        }
        std::size_t end = i + 1;
        bool integral = true;
        while (end < text.size() && std::string_view("0123456789+-.eE").find(text[end]) != std::string_view::npos) {
            if (text[end] == '.' || text[end] == 'e' || text[end] == 'E') integral = false;
            ++end;
        }
        const std::string number(text.substr(i, end - i));
        i = end;
        if (integral) {
            std::int64_t si;
            std::uint64_t ui;
            const char* first = number.data();
            const char* last = first + number.size();
            if (std::from_chars(first, last, si).ec == std::errc{} ||
                std::from_chars(first, last, ui).ec == std::errc{})
                continue;  // kept exactly as an integer
        }
        const double d = std::strtod(number.c_str(), nullptr);
        if (!integral && std::isfinite(d)) continue;  // a double shows it well enough
        found->items.emplace_back(d, number);
    }
    return found;
}

void write_value(std::string& out, const boost::json::value& v, const NumberTexts* numbers) {
    switch (v.kind()) {
        case boost::json::kind::object: {
            out += '{';
            bool first = true;
            for (const auto& [key, member] : v.get_object()) {
                if (!first) out += ',';
                first = false;
                core::append_json_string(out, key);
                out += ':';
                write_value(out, member, numbers);
            }
            out += '}';
            return;
        }
        case boost::json::kind::array: {
            out += '[';
            bool first = true;
            for (const auto& element : v.get_array()) {
                if (!first) out += ',';
                first = false;
                write_value(out, element, numbers);
            }
            out += ']';
            return;
        }
        case boost::json::kind::string: core::append_json_string(out, v.get_string()); return;
        case boost::json::kind::double_: {
            const double d = v.get_double();
            if (const std::string* text = numbers ? numbers->find(d) : nullptr) {
                out += *text;  // as sent: valid JSON, since it was parsed as such
            } else if (std::isfinite(d)) {
                out += boost::json::serialize(v);
            } else {
                // Not from a parsed document; JSON has no literal for it.
                core::append_json_string(out, std::isnan(d) ? "NaN" : d > 0 ? "Infinity" : "-Infinity");
            }
            return;
        }
        default: out += boost::json::serialize(v); return;  // integers, booleans, null
    }
}

}  // namespace

const std::string* NumberTexts::find(double d) const {
    for (const auto& [value, text] : items) {
        if (std::isinf(value) ? value == d : std::fabs(value - d) <= 1e-12 * std::fabs(value)) return &text;
    }
    return nullptr;
}

void Errors::add(std::string type, std::string msg, boost::json::value input, boost::json::object ctx) {
    FieldError e{std::move(type), {}, std::move(msg), std::move(input), std::move(ctx)};
    e.loc.reserve(loc_.size());
    for (const auto& part : loc_) {
        if (const auto* key = std::get_if<std::string_view>(&part))
            e.loc.emplace_back(boost::json::string_view(key->data(), key->size()));
        else
            e.loc.emplace_back(std::get<std::int64_t>(part));
    }
    items_.push_back(std::move(e));
}

void Errors::keep_number_texts(std::size_t from, std::string_view json_text) {
    if (from >= items_.size()) return;
    auto numbers = lossy_numbers(json_text);
    if (numbers->items.empty()) return;
    for (std::size_t i = from; i < items_.size(); ++i) items_[i].numbers = numbers;
}

// Written by hand rather than by boost::json::serialize, which prints an infinite
// double as `Infinity` (not JSON) and an integer beyond 64 bits in exponent form.
std::string to_detail_json(const std::vector<FieldError>& errors) {
    std::string out = "{\"detail\":[";
    bool first = true;
    for (const auto& e : errors) {
        if (!first) out += ',';
        first = false;
        out += "{\"type\":";
        core::append_json_string(out, e.type);
        out += ",\"loc\":";
        write_value(out, e.loc, nullptr);
        out += ",\"msg\":";
        core::append_json_string(out, e.msg);
        out += ",\"input\":";
        write_value(out, e.input, e.numbers.get());
        if (!e.ctx.empty()) {
            out += ",\"ctx\":";
            write_value(out, e.ctx, nullptr);
        }
        out += '}';
    }
    out += "]}";
    return out;
}

}  // namespace schema
