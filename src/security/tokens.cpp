#include "security/tokens.hpp"

#include <jwt.h>
#include <sodium.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <cstdlib>
#include <charconv>
#include <memory>
#include <stdexcept>
#include <vector>

namespace security {

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

std::atomic<std::uint64_t> next_codec_id{1};

// Verifying a token (base64, JSON, HMAC in libjwt) costs ~3 µs, a tenth of an
// authenticated request's CPU, and a client sends the same token again and again. So
// each thread keeps the tokens it verified, in a direct-mapped table: the slot comes
// from a keyed hash (SipHash with a random per-process key, so a client cannot aim at
// a slot), and a hit needs the whole token to be equal, compared in constant time. The
// claims kept (exp, nbf) are checked on every hit, so a cached token still expires.
struct VerifiedToken {
    std::uint64_t codec = 0;  // 0: empty
    std::string token;
    std::int64_t user_id = 0;
    long exp = 0;
    long nbf = 0;
};
constexpr std::size_t kCacheSlots = 256;
constexpr std::size_t kMaxCachedToken = 1024;

const unsigned char* cache_key() {
    static const auto key = [] {
        std::array<unsigned char, crypto_shorthash_KEYBYTES> k{};
        if (sodium_init() < 0) throw std::runtime_error("libsodium could not be initialised");
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

TokenCodec::TokenCodec(std::string secret, std::string_view algorithm, std::chrono::minutes lifetime)
    : id_(next_codec_id.fetch_add(1)), secret_(std::move(secret)), algorithm_(parse_algorithm(algorithm)), lifetime_(lifetime) {
    if (secret_.empty()) throw std::invalid_argument("the token secret must not be empty");
}

std::string TokenCodec::issue(std::int64_t user_id) const { return issue(user_id, std::chrono::system_clock::now()); }

std::string TokenCodec::issue(std::int64_t user_id, std::chrono::system_clock::time_point now) const {
    jwt_t* raw = nullptr;
    if (jwt_new(&raw) != 0) throw std::bad_alloc();
    Jwt token(raw);
    const auto iat = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
    const auto exp = iat + std::chrono::duration_cast<std::chrono::seconds>(lifetime_).count();
    if (jwt_add_grant(token.get(), "sub", std::to_string(user_id).c_str()) != 0 ||
        jwt_add_grant_int(token.get(), "exp", static_cast<long>(exp)) != 0 ||
        jwt_add_grant_int(token.get(), "iat", static_cast<long>(iat)) != 0 ||
        jwt_set_alg(token.get(), static_cast<jwt_alg_t>(algorithm_), key_bytes(secret_),
                    static_cast<int>(secret_.size())) != 0)
        throw std::runtime_error("cannot build an access token");
    char* encoded = jwt_encode_str(token.get());
    if (!encoded) throw std::runtime_error("cannot sign an access token");
    std::string out(encoded);
    std::free(encoded);  // libjwt 1.10 allocates it with malloc
    return out;
}

std::optional<std::int64_t> TokenCodec::verify(std::string_view token) const {
    return verify(token, std::chrono::system_clock::now());
}

std::optional<std::int64_t> TokenCodec::verify(std::string_view token, std::chrono::system_clock::time_point now) const {
    if (token.empty() || token.size() > 8192) return std::nullopt;
    const long seconds = static_cast<long>(std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count());
    // The token's slot, hashed once: looked in first, filled after a full check.
    VerifiedToken* slot = token.size() <= kMaxCachedToken ? &cache_slot(token) : nullptr;
    if (slot && slot->codec == id_ && slot->token.size() == token.size() &&
        sodium_memcmp(slot->token.data(), token.data(), token.size()) == 0) {
        if (slot->exp <= seconds || slot->nbf > seconds) return std::nullopt;
        return slot->user_id;
    }
    long exp = 0, nbf = 0;
    const auto id = decode(token, seconds, exp, nbf);
    if (!id) return std::nullopt;
    if (slot) *slot = VerifiedToken{id_, std::string(token), *id, exp, nbf};
    return id;
}

// The full check, without the cache: exp and nbf are set for the cache.
std::optional<std::int64_t> TokenCodec::decode(std::string_view token, long now_s, long& exp, long& nbf) const {
    const std::string text(token);
    jwt_t* raw = nullptr;
    // With a key, libjwt checks the signature with the algorithm the token names; the
    // algorithm must then be ours, or an HS512 token would pass an HS256 service.
    if (jwt_decode(&raw, text.c_str(), key_bytes(secret_), static_cast<int>(secret_.size())) != 0 || !raw)
        return std::nullopt;
    Jwt decoded(raw);
    if (jwt_get_alg(decoded.get()) != static_cast<jwt_alg_t>(algorithm_)) return std::nullopt;

    errno = 0;
    exp = jwt_get_grant_int(decoded.get(), "exp");
    if (errno != 0 || exp <= now_s) return std::nullopt;  // python-jose requires exp in the future too
    errno = 0;
    nbf = jwt_get_grant_int(decoded.get(), "nbf");
    if (errno != 0) nbf = 0;
    if (nbf > now_s) return std::nullopt;

    const char* sub = jwt_get_grant(decoded.get(), "sub");
    if (!sub) return std::nullopt;
    const std::string_view s(sub);
    std::int64_t id = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), id);
    if (s.empty() || ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
    return id;
}

}  // namespace security
