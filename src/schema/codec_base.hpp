#pragma once
// What every Codec<T> shares (see codec.hpp): the schema definitions, the non-template
// decoding pieces, and the traits the model codecs use.
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
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <boost/mp11/algorithm.hpp>
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "schema/errors.hpp"
#include "schema/types.hpp"

namespace schema {

namespace json = boost::json;

// The named schemas a document refers to with $ref (OpenAPI's components/schemas).
struct Definitions {
    json::object schemas;
    std::string ref_prefix = "#/components/schemas/";
};

// Decoded text fields (query string, form), in the order sent; the last of a name wins.
using TextFields = std::vector<std::pair<std::string, std::string>>;

template <class T, class Enable = void>
struct Codec;

namespace detail {
// Non-template pieces, defined in scalars.cpp.
bool decode_string(const json::value& v, std::string& out, Errors& e);
// Text from a query, path or form: taken if it holds no NUL character.
bool decode_text(std::string_view s, std::string& out, Errors& e);
bool check_length(std::string_view s, std::size_t min, std::size_t max, Errors& e);
bool decode_int(const json::value& v, std::int64_t& out, Errors& e);
bool decode_int_text(std::string_view s, std::int64_t& out, Errors& e);
bool check_range(std::int64_t v, std::int64_t min, std::int64_t max, Errors& e);
bool decode_bool(const json::value& v, bool& out, Errors& e);
bool decode_bool_text(std::string_view s, bool& out, Errors& e);
bool normalize_email(std::string& s, Errors& e);
// As Pydantic's pattern ^value$ on a literal value.
bool check_exactly(std::string_view s, std::string_view value, Errors& e);
std::string exactly_pattern(std::string_view value);  // "^value$"
void write_string(std::string& out, std::string_view s);
void write_int(std::string& out, std::int64_t v);
void write_bool(std::string& out, bool v);
json::value text_input(std::string_view s);
std::string field_title(std::string_view name);
std::string model_name(std::string_view type_name);
void model_attributes_error(const json::value& v, Errors& e);

template <class T>
struct is_omittable : std::false_type {};
template <class T>
struct is_omittable<Omittable<T>> : std::true_type {};
template <class T>
struct is_optional : std::false_type {};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {};

template <class T>
constexpr bool is_model = boost::describe::has_describe_members<T>::value;

template <class T>
using members = boost::describe::describe_members<T, boost::describe::mod_public>;

// `{"name":` and `,"name":` of a member (a C++ identifier: nothing to escape), made at
// compile time so that writing a member's key with what comes before it is one append
// of a known length.
template <class D>
struct member_key {
    static constexpr std::size_t size = std::char_traits<char>::length(D::name) + 4;
    static constexpr std::array<char, size> make(char lead) {
        std::array<char, size> t{};
        t[0] = lead;
        t[1] = '"';
        for (std::size_t i = 0; i + 4 < size; ++i) t[i + 2] = D::name[i];
        t[size - 2] = '"';
        t[size - 1] = ':';
        return t;
    }
    static constexpr std::array<char, size> first = make('{');
    static constexpr std::array<char, size> next = make(',');
};
}  // namespace detail

}  // namespace schema
