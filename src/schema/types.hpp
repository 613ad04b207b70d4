#pragma once
// Field types that carry their constraints, so a model is described once:
//
//   struct ItemCreate {
//       schema::Str<1, 255> title;
//       std::optional<schema::Str<0, 10000>> description;  // nullable, default null
//   };
//   BOOST_DESCRIBE_STRUCT(ItemCreate, (), (title, description))
//
// A plain member is required; std::optional<T> may be null (absent means null);
// Omittable<T> may be absent (it keeps its initial value and records that it was not sent).

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>

#include "core/fixed_string.hpp"

namespace schema {

// A string of Min..Max characters (Unicode code points, as Pydantic counts).
template <std::size_t Min = 0, std::size_t Max = std::numeric_limits<std::size_t>::max()>
struct Str : std::string {
    static constexpr std::size_t min_length = Min;
    static constexpr std::size_t max_length = Max;
    Str() = default;
    Str(std::string s) : std::string(std::move(s)) {}
    Str(const char* s) : std::string(s) {}
};

// A Str whose value never appears in an error: a rejected password is reported with
// "**********" as its input, as Pydantic shows a SecretStr.
template <std::size_t Min = 0, std::size_t Max = std::numeric_limits<std::size_t>::max()>
struct SecretStr : Str<Min, Max> {
    using Str<Min, Max>::Str;
};

// An integer in Min..Max.
template <std::int64_t Min = std::numeric_limits<std::int64_t>::min(),
          std::int64_t Max = std::numeric_limits<std::int64_t>::max()>
struct Int {
    static constexpr std::int64_t min = Min;
    static constexpr std::int64_t max = Max;
    std::int64_t value = 0;
    constexpr Int() = default;
    constexpr Int(std::int64_t v) : value(v) {}
    constexpr operator std::int64_t() const { return value; }
};

// A string that must be exactly `Value`, as a Pydantic field with pattern="^Value$"
// (OAuth2's grant_type=password): anything else is a string_pattern_mismatch.
template <core::FixedString Value>
struct Exactly : std::string {
    Exactly() = default;
    Exactly(std::string s) : std::string(std::move(s)) {}
};

// An e-mail address, validated and normalized as Pydantic's EmailStr does (email-validator:
// the local part in NFC, the domain mapped by UTS #46: lower case, full-width to ASCII).
struct Email : std::string {
    Email() = default;
    Email(std::string s) : std::string(std::move(s)) {}
    Email(const char* s) : std::string(s) {}
};

// A field that may be left out of the input: `present` says whether it was sent.
// Left out, it keeps the value it was initialised with: `Omittable<Int<1, 100>> limit{20}` has
// a default (documented as such); `Omittable<Str<1, 255>> title` has none (left out: unchanged).
template <class T>
struct Omittable {
    T value{};
    bool present = false;
    bool has_default = false;
    Omittable() = default;
    Omittable(T v) : value(std::move(v)), has_default(true) {}
    explicit operator bool() const { return present; }
    const T& operator*() const { return value; }
    const T* operator->() const { return &value; }
};

}  // namespace schema
