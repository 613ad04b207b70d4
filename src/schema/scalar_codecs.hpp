#pragma once
// The Codecs of single values: strings with their bounds, e-mails, integers, booleans.

#include "schema/codec_base.hpp"

namespace schema {

template <>
struct Codec<std::string> {
    static bool from_json(const json::value& v, std::string& out, Errors& e) {
        return detail::decode_string(v, out, e);
    }
    static bool from_text(std::string_view s, std::string& out, Errors& e) { return detail::decode_text(s, out, e); }
    static void write(std::string& out, const std::string& v) { detail::write_string(out, v); }
    static json::object schema(Definitions&) { return {{"type", "string"}}; }
};

template <std::size_t Min, std::size_t Max>
struct Codec<Str<Min, Max>> {
    static bool from_json(const json::value& v, Str<Min, Max>& out, Errors& e) {
        return detail::decode_string(v, out, e) && detail::check_length(out, Min, Max, e);
    }
    static bool from_text(std::string_view s, Str<Min, Max>& out, Errors& e) {
        return detail::decode_text(s, out, e) && detail::check_length(out, Min, Max, e);
    }
    static void write(std::string& out, const Str<Min, Max>& v) { detail::write_string(out, v); }
    static json::object schema(Definitions&) {
        json::object s{{"type", "string"}};
        if (Min > 0) s["minLength"] = Min;
        if (Max != std::numeric_limits<std::size_t>::max()) s["maxLength"] = Max;
        return s;
    }
};

template <std::size_t Min, std::size_t Max>
struct Codec<SecretStr<Min, Max>> {
    static bool from_json(const json::value& v, SecretStr<Min, Max>& out, Errors& e) {
        const std::size_t before = e.size();
        const bool ok = Codec<Str<Min, Max>>::from_json(v, out, e);
        e.mask_inputs_since(before, "**********");
        return ok;
    }
    static bool from_text(std::string_view s, SecretStr<Min, Max>& out, Errors& e) {
        const std::size_t before = e.size();
        const bool ok = Codec<Str<Min, Max>>::from_text(s, out, e);
        e.mask_inputs_since(before, "**********");
        return ok;
    }
    static void write(std::string& out, const SecretStr<Min, Max>&) { detail::write_string(out, "**********"); }
    static json::object schema(Definitions& defs) {
        auto s = Codec<Str<Min, Max>>::schema(defs);
        s["format"] = "password";
        s["writeOnly"] = true;
        return s;
    }
};

template <>
struct Codec<Email> {
    static bool from_json(const json::value& v, Email& out, Errors& e) {
        return detail::decode_string(v, out, e) && detail::normalize_email(out, e);
    }
    static bool from_text(std::string_view s, Email& out, Errors& e) {
        return detail::decode_text(s, out, e) && detail::normalize_email(out, e);
    }
    static void write(std::string& out, const Email& v) { detail::write_string(out, v); }
    static json::object schema(Definitions&) { return {{"type", "string"}, {"format", "email"}}; }
};

template <>
struct Codec<std::int64_t> {
    static bool from_json(const json::value& v, std::int64_t& out, Errors& e) {
        return detail::decode_int(v, out, e);
    }
    static bool from_text(std::string_view s, std::int64_t& out, Errors& e) {
        return detail::decode_int_text(s, out, e);
    }
    static void write(std::string& out, std::int64_t v) { detail::write_int(out, v); }
    static json::object schema(Definitions&) { return {{"type", "integer"}}; }
};

template <std::int64_t Min, std::int64_t Max>
struct Codec<Int<Min, Max>> {
    static bool from_json(const json::value& v, Int<Min, Max>& out, Errors& e) {
        return detail::decode_int(v, out.value, e) && detail::check_range(out.value, Min, Max, e);
    }
    static bool from_text(std::string_view s, Int<Min, Max>& out, Errors& e) {
        return detail::decode_int_text(s, out.value, e) && detail::check_range(out.value, Min, Max, e);
    }
    static void write(std::string& out, const Int<Min, Max>& v) { detail::write_int(out, v.value); }
    static json::object schema(Definitions&) {
        json::object s{{"type", "integer"}};
        if (Min != std::numeric_limits<std::int64_t>::min()) s["minimum"] = Min;
        if (Max != std::numeric_limits<std::int64_t>::max()) s["maximum"] = Max;
        return s;
    }
};

template <>
struct Codec<bool> {
    static bool from_json(const json::value& v, bool& out, Errors& e) { return detail::decode_bool(v, out, e); }
    static bool from_text(std::string_view s, bool& out, Errors& e) { return detail::decode_bool_text(s, out, e); }
    static void write(std::string& out, bool v) { detail::write_bool(out, v); }
    static json::object schema(Definitions&) { return {{"type", "boolean"}}; }
};

template <core::FixedString Value>
struct Codec<Exactly<Value>> {
    static bool from_json(const json::value& v, Exactly<Value>& out, Errors& e) {
        return detail::decode_string(v, out, e) && detail::check_exactly(out, Value.view(), e);
    }
    static bool from_text(std::string_view s, Exactly<Value>& out, Errors& e) {
        return detail::decode_text(s, out, e) && detail::check_exactly(out, Value.view(), e);
    }
    static void write(std::string& out, const Exactly<Value>& v) { detail::write_string(out, v); }
    static json::object schema(Definitions&) {
        return {{"type", "string"}, {"pattern", detail::exactly_pattern(Value.view())}};
    }
};

}  // namespace schema
