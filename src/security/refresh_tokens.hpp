#pragma once
// Refresh tokens: opaque random strings, stored only as a digest. 256 random bits need no
// slow hash (nothing to guess from a digest), so the digest is a plain SHA-256.

#include <string>
#include <string_view>

namespace security {

// 32 random bytes (libsodium), base64url without padding: 43 characters.
std::string new_refresh_token();
// What the database keeps of a token: its SHA-256, 64 lower-case hex digits.
std::string refresh_token_digest(std::string_view token);
// A new family of tokens (one login's rotations): 16 random bytes, 32 hex digits.
std::string new_token_family();

}  // namespace security
