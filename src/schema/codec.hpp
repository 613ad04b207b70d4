#pragma once
// One description of a model drives its decoder (JSON or text input, every error
// collected), its JSON encoder and its JSON Schema.
//
// Codec<T> has, for each supported T:
//   static bool from_json(const json::value&, T&, Errors&)  - JSON body values
//   static bool from_text(std::string_view, T&, Errors&)    - query, path and form values
//   static void write(std::string& out, const T&)            - compact JSON, straight into `out`
//   static json::object schema(Definitions&)                 - JSON Schema (OpenAPI 3.1 dialect)
// Models are structs described with BOOST_DESCRIBE_STRUCT; their members use the
// types of schema/types.hpp, std::string, std::int64_t, bool, std::optional, std::vector.

#include <boost/core/type_name.hpp>
#include <boost/describe/members.hpp>
#include <boost/mp11/algorithm.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "schema/scalar_codecs.hpp"

namespace schema {

template <class T>
struct Codec<std::optional<T>> {
    static bool from_json(const json::value& v, std::optional<T>& out, Errors& e) {
        if (v.is_null()) {
            out.reset();
            return true;
        }
        return Codec<T>::from_json(v, out.emplace(), e);
    }
    static bool from_text(std::string_view s, std::optional<T>& out, Errors& e) {
        return Codec<T>::from_text(s, out.emplace(), e);
    }
    static void write(std::string& out, const std::optional<T>& v) {
        if (v)
            Codec<T>::write(out, *v);
        else
            out += "null";
    }
    static json::object schema(Definitions& defs) {
        return {{"anyOf", json::array{Codec<T>::schema(defs), json::object{{"type", "null"}}}}};
    }
};

template <class T>
struct Codec<std::vector<T>> {
    static bool from_json(const json::value& v, std::vector<T>& out, Errors& e) {
        const json::array* arr = v.if_array();
        if (!arr) {
            e.add("list_type", "Input should be a valid list", v);
            return false;
        }
        out.clear();
        out.resize(arr->size());
        bool ok = true;
        for (std::size_t i = 0; i < arr->size(); ++i) {
            auto scope = e.at(static_cast<std::int64_t>(i));
            ok = Codec<T>::from_json((*arr)[i], out[i], e) && ok;
        }
        return ok;
    }
    static void write(std::string& out, const std::vector<T>& v) {
        out.reserve(out.size() + 2 + v.size() * 128);  // a guess that saves most regrowth
        out += '[';
        for (std::size_t i = 0; i < v.size(); ++i) {
            if (i) out += ',';
            Codec<T>::write(out, v[i]);
        }
        out += ']';
    }
    static json::object schema(Definitions& defs) {
        return {{"type", "array"}, {"items", Codec<T>::schema(defs)}};
    }
};

namespace detail {

// Where a model's fields come from: a JSON object, or text fields (query, form).
struct JsonFields {
    const json::object& object;
    const json::value* find(std::string_view name) const { return object.if_contains(name); }
    json::value missing_input() const { return object; }
    template <class F>
    bool decode(const json::value& raw, F& out, Errors& e) const {
        return Codec<F>::from_json(raw, out, e);
    }
};

struct TextFieldSource {
    const TextFields& fields;
    bool empty_is_missing;
    const std::string* find(std::string_view name) const {
        const std::string* found = nullptr;
        for (const auto& [k, v] : fields)
            if (k == name) found = &v;
        if (found && found->empty() && empty_is_missing) return nullptr;
        return found;
    }
    json::value missing_input() const { return nullptr; }
    template <class F>
    bool decode(const std::string& raw, F& out, Errors& e) const {
        return Codec<F>::from_text(raw, out, e);
    }
};

template <class Source, class F>
bool decode_member(const Source& src, std::string_view name, F& member, Errors& e) {
    auto scope = e.at(name);
    const auto* raw = src.find(name);
    if constexpr (is_omittable<F>::value) {
        if (!raw) return true;
        member.present = true;
        return src.decode(*raw, member.value, e);
    } else if constexpr (is_optional<F>::value) {
        if (!raw) {
            member.reset();
            return true;
        }
        return src.decode(*raw, member, e);
    } else {
        if (!raw) {
            e.add("missing", "Field required", src.missing_input());
            return false;
        }
        return src.decode(*raw, member, e);
    }
}

template <class T, class Source>
bool decode_members(const Source& src, T& out, Errors& e) {
    bool ok = true;
    boost::mp11::mp_for_each<members<T>>(
        [&](auto d) { ok = decode_member(src, d.name, out.*d.pointer, e) && ok; });
    return ok;
}

template <class F>
constexpr bool is_required() {
    return !is_omittable<F>::value && !is_optional<F>::value;
}

}  // namespace detail

// Decodes a model from text fields (a query string's or a form's), every error collected.
// With `empty_is_missing` (forms, as FastAPI reads them), a field sent empty counts as
// not sent: required, it is "Field required"; optional, it keeps its default.
template <class T>
bool decode_text_fields(const TextFields& fields, T& out, Errors& e, bool empty_is_missing = false) {
    return detail::decode_members(detail::TextFieldSource{fields, empty_is_missing}, out, e);
}

template <class T>
struct Codec<T, std::enable_if_t<detail::is_model<T>>> {
    static bool from_json(const json::value& v, T& out, Errors& e) {
        const json::object* obj = v.if_object();
        if (!obj) {
            detail::model_attributes_error(v, e);
            return false;
        }
        return detail::decode_members(detail::JsonFields{*obj}, out, e);
    }

    static void write(std::string& out, const T& v) {
        bool first = true;
        boost::mp11::mp_for_each<detail::members<T>>([&](auto d) {
            using F = std::remove_cvref_t<decltype(v.*d.pointer)>;
            const auto& member = v.*d.pointer;
            if constexpr (detail::is_omittable<F>::value) {
                if (!member.present) return;
            }
            using Key = detail::member_key<decltype(d)>;
            out.append((first ? Key::first : Key::next).data(), Key::size);
            first = false;
            if constexpr (detail::is_omittable<F>::value)
                Codec<std::remove_cvref_t<decltype(member.value)>>::write(out, member.value);
            else
                Codec<F>::write(out, member);
        });
        if (first) out += '{';  // no member written
        out += '}';
    }

    static std::string name() { return detail::model_name(boost::core::type_name<T>()); }

    // The model's own schema, with the types it refers to added to `defs`.
    static json::object definition(Definitions& defs) {
        json::object properties;
        json::array required;
        const T defaults{};
        boost::mp11::mp_for_each<detail::members<T>>([&](auto d) {
            using F = std::remove_cvref_t<decltype(defaults.*d.pointer)>;
            json::object prop;
            if constexpr (detail::is_omittable<F>::value) {
                using V = std::remove_cvref_t<decltype((defaults.*d.pointer).value)>;
                prop = Codec<V>::schema(defs);
                if ((defaults.*d.pointer).has_default) {
                    std::string dflt;
                    Codec<V>::write(dflt, (defaults.*d.pointer).value);
                    if (!detail::is_optional<V>::value || dflt != "null") prop["default"] = json::parse(dflt);
                }
            } else {
                prop = Codec<F>::schema(defs);
                if constexpr (detail::is_optional<F>::value) prop["default"] = nullptr;
            }
            prop["title"] = detail::field_title(d.name);
            if (detail::is_required<F>()) required.emplace_back(json::string_view(d.name));
            properties[d.name] = std::move(prop);
        });
        json::object s{{"properties", std::move(properties)}};
        if (!required.empty()) s["required"] = std::move(required);
        s["title"] = name();
        s["type"] = "object";
        return s;
    }

    static json::object schema(Definitions& defs) {
        const std::string n = name();
        if (!defs.schemas.contains(n)) {
            defs.schemas[n] = json::object{};  // placeholder: stops recursion on self-reference
            defs.schemas[n] = definition(defs);
        }
        return {{"$ref", defs.ref_prefix + n}};
    }
};

// Encodes any supported value as compact JSON.
template <class T>
std::string to_json(const T& value) {
    std::string out;
    out.reserve(256);
    Codec<T>::write(out, value);
    return out;
}

// `text` in the form an Email field stores and compares it, or nullopt if it is not an
// e-mail address (what a login compares its username by).
std::optional<std::string> normalized_email(std::string_view text);

// Parses a JSON document, after a UTF-8 byte order mark if it begins with one; a syntax
// error is reported as Pydantic's json_invalid at the current location plus the byte offset.
std::optional<json::value> parse_json(std::string_view text, Errors& e);

}  // namespace schema
