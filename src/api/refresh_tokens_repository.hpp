#pragma once
// Refresh tokens in the database (the table's rules: migrations/*/..._refresh_tokens.up.sql):
// all the SQL about them, parameterized. Tokens are passed as their digests
// (security::refresh_token_digest); times are Unix seconds.

#include <cstdint>
#include <optional>
#include <string>

#include "api/ids.hpp"
#include "core/task.hpp"
#include "db/database.hpp"

namespace api::refresh_tokens {

// The time the table's columns hold: Unix seconds, now.
std::int64_t unix_now();

// Stores a live token of `family` for `user` until `expires_at`; the user's expired
// tokens go meanwhile (nothing else removes them).
core::Task<void> store(db::Database& db, UserId user, std::string digest, std::string family, std::int64_t expires_at,
                       std::int64_t now);

// Exchanges a live token for its successor `next` (same family), in one transaction, if
// its user is still there and active: then the user and their token version (what an
// access token for them carries). A token rotated before is being
// reused (a copy of it leaked, or its holder replays it): its whole family is revoked,
// the successor made from it included. An unknown, expired or revoked token, or an
// inactive user: nullopt, and nothing else changes.
struct Successor {
    std::string digest;
    std::int64_t expires_at = 0;
};
struct Holder {
    UserId user;
    std::int64_t token_version = 0;
};
core::Task<std::optional<Holder>> rotate(db::Database& db, std::string digest, const Successor& next, std::int64_t now);

// Revokes every live token of the user, inside `tx` (a new password's transaction).
core::Task<void> revoke_all_of(db::Transaction& tx, UserId user, std::int64_t now);

// Revokes the family of the token (logout); nothing if it is unknown.
core::Task<void> revoke_family(db::Database& db, std::string digest, std::int64_t now);

}  // namespace api::refresh_tokens
