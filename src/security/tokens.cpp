#include "security/tokens.hpp"

#include <jwt.h>

#include <array>
#include <atomic>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <cmath>
#include <cerrno>
#include <cstring>
#include <cstdlib>
#include <charconv>
#include <memory>
#include <stdexcept>
#include <vector>

#include "security/sodium.hpp"

namespace security {

namespace json = boost::json;

namespace {

struct JwtFree {
    void operator()(jwt_t* j) const { jwt_free(j); }
};
using Jwt = std::unique_ptr<jwt_t, JwtFree>;

jwt_alg_t parse_algorithm(std::string_view name) {
    if (name == "HS256") return JWT_ALG_HS256;
    if (name == "HS384") return JWT_ALG_HS384;
    if (name == "HS512") return JWT_ALG_HS512;
    throw std::invalid_argument("unsupported token algorithm: " + std::string(name));
}

const unsigned char* key_bytes(const std::string& s) { return reinterpret_cast<const unsigned char*>(s.data()); }

// A NumericDate claim (RFC 7519 section 2) as whole seconds: a JSON number, integer or not
// (python-jose takes int() of it); nullopt for anything else, or a number out of range.
std::optional<long> seconds_of(const json::value& v) {
    if (v.is_int64()) return static_cast<long>(v.get_int64());
    if (v.is_uint64()) return std::nullopt;  // past 2^63 s: no date
    if (v.is_double() && std::isfinite(v.get_double()) && std::fabs(v.get_double()) < 9.2e18)
        return static_cast<long>(v.get_double());
    return std::nullopt;
}

// True if the aud claim `aud` (a string or an array of strings, RFC 7519 section 4.1.3)
// names `ours`; never when we have none: a token meant for some audience is not for us.
bool names_audience(const json::value& aud, const std::string& ours) {
    if (ours.empty()) return false;
    if (aud.is_string()) return aud.get_string() == ours;
    const json::array* list = aud.if_array();
    if (!list) return false;
    bool named = false;
    for (const json::value& a : *list) {
        if (!a.is_string()) return false;  // python-jose: "Invalid claim format in token"
        named = named || a.get_string() == ours;
    }
    return named;
}

std::atomic<std::uint64_t> next_codec_id{1};

// Verifying a token (base64, JSON, HMAC in libjwt) costs a good part of an authenticated
// request's CPU, and a client sends the same token again and again. So
// each thread keeps the tokens it verified, in a direct-mapped table: the slot comes
// from a keyed hash (SipHash with a random per-process key, so a client cannot aim at
// a slot), and a hit needs the whole token to be equal, compared in constant time. The
// claims kept (exp, nbf) are checked on every hit, so a cached token still expires.
struct VerifiedToken {
    std::uint64_t codec = 0;  // 0: empty
    std::string token;
    AccessClaims claims;
    long exp = 0;
    long nbf = 0;
};
constexpr std::size_t kCacheSlots = 256;
constexpr std::size_t kMaxCachedToken = 1024;

const unsigned char* cache_key() {
    static const auto key = [] {
        std::array<unsigned char, crypto_shorthash_KEYBYTES> k{};
        if (!sodium_ready()) throw std::runtime_error("libsodium could not be initialised");
        randombytes_buf(k.data(), k.size());
        return k;
    }();
    return key.data();
}

VerifiedToken& cache_slot(std::string_view token) {
    thread_local std::vector<VerifiedToken> slots(kCacheSlots);
    std::array<unsigned char, crypto_shorthash_BYTES> h{};
    crypto_shorthash(h.data(), reinterpret_cast<const unsigned char*>(token.data()), token.size(), cache_key());
    std::uint64_t index = 0;
    std::memcpy(&index, h.data(), sizeof index);
    return slots[index % kCacheSlots];
}

}  // namespace

TokenCodec::TokenCodec(std::string secret, std::string_view algorithm, std::chrono::minutes lifetime,
                       std::string audience)
    : id_(next_codec_id.fetch_add(1)),
      secret_(std::move(secret)),
      algorithm_(parse_algorithm(algorithm)),
      algorithm_name_(algorithm),
      audience_(std::move(audience)),
      lifetime_(lifetime) {
    if (secret_.empty()) throw std::invalid_argument("the token secret must not be empty");
}

std::string TokenCodec::issue(std::int64_t user_id, std::int64_t version) const {
    return issue(user_id, version, std::chrono::system_clock::now());
}

std::string TokenCodec::issue(std::int64_t user_id, std::int64_t version,
                              std::chrono::system_clock::time_point now) const {
    jwt_t* raw = nullptr;
    if (jwt_new(&raw) != 0) throw std::bad_alloc();
    Jwt token(raw);
    const auto iat = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
    const auto exp = iat + std::chrono::duration_cast<std::chrono::seconds>(lifetime_).count();
    if (jwt_add_grant(token.get(), "sub", std::to_string(user_id).c_str()) != 0 ||
        jwt_add_grant_int(token.get(), "exp", static_cast<long>(exp)) != 0 ||
        jwt_add_grant_int(token.get(), "iat", static_cast<long>(iat)) != 0 ||
        (version != 0 && jwt_add_grant_int(token.get(), "ver", static_cast<long>(version)) != 0) ||
        (!audience_.empty() && jwt_add_grant(token.get(), "aud", audience_.c_str()) != 0) ||
        jwt_set_alg(token.get(), static_cast<jwt_alg_t>(algorithm_), key_bytes(secret_),
                    static_cast<int>(secret_.size())) != 0)
        throw std::runtime_error("cannot build an access token");
    char* encoded = jwt_encode_str(token.get());
    if (!encoded) throw std::runtime_error("cannot sign an access token");
    std::string out(encoded);
    std::free(encoded);  // libjwt 1.10 allocates it with malloc
    return out;
}

std::optional<AccessClaims> TokenCodec::verify(std::string_view token) const {
    return verify(token, std::chrono::system_clock::now());
}

std::optional<AccessClaims> TokenCodec::verify(std::string_view token, std::chrono::system_clock::time_point now) const {
    if (token.empty() || token.size() > 8192) return std::nullopt;
    const long seconds = static_cast<long>(std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count());
    // The token's slot, hashed once: looked in first, filled after a full check.
    VerifiedToken* slot = token.size() <= kMaxCachedToken ? &cache_slot(token) : nullptr;
    if (slot && slot->codec == id_ && slot->token.size() == token.size() &&
        sodium_memcmp(slot->token.data(), token.data(), token.size()) == 0) {
        if (slot->exp <= seconds || slot->nbf > seconds) return std::nullopt;
        return slot->claims;
    }
    long exp = 0, nbf = 0;
    const auto claims = decode(token, seconds, exp, nbf);
    if (!claims) return std::nullopt;
    if (slot) *slot = VerifiedToken{id_, std::string(token), *claims, exp, nbf};
    return claims;
}

// The full check, without the cache: exp and nbf are set for the cache.
std::optional<AccessClaims> TokenCodec::decode(std::string_view token, long now_s, long& exp, long& nbf) const {
    const std::string text(token);
    jwt_t* raw = nullptr;
    // With a key, libjwt checks the signature with the algorithm the token names (matched
    // without case); the name must then be ours exactly, or an HS512 token would pass an
    // HS256 service, and "hs256" would pass as HS256.
    if (jwt_decode(&raw, text.c_str(), key_bytes(secret_), static_cast<int>(secret_.size())) != 0 || !raw)
        return std::nullopt;
    Jwt decoded(raw);
    const char* alg = jwt_get_header(decoded.get(), "alg");
    if (!alg || alg != algorithm_name_) return std::nullopt;

    // The claims as JSON: libjwt's getters cannot tell a missing claim from one of another
    // type. A registered claim of the wrong type is refused, as python-jose does.
    std::unique_ptr<char, decltype(&std::free)> grants(jwt_get_grants_json(decoded.get(), nullptr), &std::free);
    if (!grants) return std::nullopt;
    boost::system::error_code ec;
    const json::value parsed = json::parse(grants.get(), ec);
    const json::object* claims = ec ? nullptr : parsed.if_object();
    if (!claims) return std::nullopt;

    const json::value* e = claims->if_contains("exp");
    const auto expires = e ? seconds_of(*e) : std::nullopt;
    if (!expires || *expires <= now_s) return std::nullopt;  // python-jose requires exp in the future too
    exp = *expires;
    nbf = 0;
    if (const json::value* n = claims->if_contains("nbf")) {
        const auto not_before = seconds_of(*n);
        if (!not_before || *not_before > now_s) return std::nullopt;
        nbf = *not_before;
    }
    if (const json::value* iat = claims->if_contains("iat"); iat && !seconds_of(*iat)) return std::nullopt;
    if (const json::value* jti = claims->if_contains("jti"); jti && !jti->is_string()) return std::nullopt;
    if (const json::value* aud = claims->if_contains("aud"); aud && !names_audience(*aud, audience_))
        return std::nullopt;

    AccessClaims out;
    if (const json::value* ver = claims->if_contains("ver")) {
        if (!ver->is_int64()) return std::nullopt;
        out.version = ver->get_int64();
    }

    const json::value* sub = claims->if_contains("sub");
    if (!sub || !sub->is_string()) return std::nullopt;
    const std::string_view s = sub->get_string();
    auto [end, from_ec] = std::from_chars(s.data(), s.data() + s.size(), out.user_id);
    if (s.empty() || from_ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
    return out;
}

}  // namespace security
