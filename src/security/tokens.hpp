#pragma once
// Access tokens: JWT signed with SECRET_KEY (HS256 by default, as the original's
// python-jose), claims sub (the user id as a string), exp and iat, and ver (the user's
// token version) once it is not 0. A token made by the original with the same key
// verifies here, and one made here verifies there.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace security {

// What a valid access token says: whose it is, and which of their token versions it was
// issued under (a password change raises the version; a token without "ver" has 0).
struct AccessClaims {
    std::int64_t user_id = 0;
    std::int64_t version = 0;
};

class TokenCodec {
public:
    // `algorithm`: HS256, HS384 or HS512; anything else is refused at construction.
    // `audience`: the aud claim our tokens carry and a token that names audiences must name;
    // empty: a token that names any audience is refused.
    TokenCodec(std::string secret, std::string_view algorithm, std::chrono::minutes lifetime,
               std::string audience = {});

    // `version`: the user's token version; 0 leaves the claim out, as the original's tokens.
    std::string issue(std::int64_t user_id, std::int64_t version = 0) const;
    std::string issue(std::int64_t user_id, std::int64_t version, std::chrono::system_clock::time_point now) const;

    // What a valid token says: one signed with our key, whose header's `alg` is our
    // algorithm's name exactly (RFC 7515: case matters; "none" and any other refused), not
    // expired (nor before an `nbf`), its registered claims of their types (`exp`, `nbf`,
    // `iat` numbers, `jti` a string), naming our audience if it names any (RFC 7519 section
    // 4.1.3), whose `sub` is a user id written as a string and whose `ver`, if any, is a
    // whole number. Otherwise nullopt. A token already verified on this thread is found in
    // a small cache (its claims are checked against `now` again).
    std::optional<AccessClaims> verify(std::string_view token) const;
    std::optional<AccessClaims> verify(std::string_view token, std::chrono::system_clock::time_point now) const;

    std::chrono::minutes lifetime() const { return lifetime_; }

private:
    std::optional<AccessClaims> decode(std::string_view token, long now_s, long& exp, long& nbf) const;

    std::uint64_t id_;  // tells this codec's entries in the per-thread cache of verified tokens
    std::string secret_;
    int algorithm_;  // jwt_alg_t, kept out of this header
    std::string algorithm_name_;
    std::string audience_;
    std::chrono::minutes lifetime_;
};

}  // namespace security
