#include "api/refresh_tokens_repository.hpp"

#include <chrono>

namespace api::refresh_tokens {

namespace {

constexpr const char* kStore =
    "INSERT INTO refresh_tokens (token_hash, user_id, family, expires_at) VALUES ($1, CAST($2 AS BIGINT), $3, $4)";
constexpr const char* kPurgeExpired =
    "DELETE FROM refresh_tokens WHERE user_id = CAST($1 AS BIGINT) AND expires_at <= $2";
// Only a live token is rotated; when two requests present it at once, the row's lock (or
// SQLite's single writer) lets one through and the other finds it rotated.
constexpr const char* kRotate =
    "UPDATE refresh_tokens SET rotated_at = $2 "
    "WHERE token_hash = $1 AND rotated_at IS NULL AND revoked_at IS NULL AND expires_at > $2 "
    "RETURNING user_id, family";
// The family of a token already rotated, revoked whole (reuse).
constexpr const char* kRevokeReused =
    "UPDATE refresh_tokens SET revoked_at = $2 WHERE revoked_at IS NULL AND family IN "
    "(SELECT family FROM refresh_tokens WHERE token_hash = $1 AND rotated_at IS NOT NULL)";
constexpr const char* kRevokeFamily =
    "UPDATE refresh_tokens SET revoked_at = $2 WHERE revoked_at IS NULL AND family IN "
    "(SELECT family FROM refresh_tokens WHERE token_hash = $1)";
constexpr const char* kRevokeUser =
    "UPDATE refresh_tokens SET revoked_at = $2 WHERE user_id = CAST($1 AS BIGINT) AND revoked_at IS NULL";
// The user may still have tokens (they exist and are active), and what their access
// token carries.
constexpr const char* kHolder = "SELECT is_active, token_version FROM users WHERE id = CAST($1 AS BIGINT)";

}  // namespace

std::int64_t unix_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

core::Task<void> store(db::Database& db, UserId user, std::string digest, std::string family, std::int64_t expires_at,
                       std::int64_t now) {
    db::Params purge{user.value, now};
    co_await db.query(kPurgeExpired, std::move(purge));
    db::Params params{std::move(digest), user.value, std::move(family), expires_at};
    co_await db.query(kStore, std::move(params));
}

core::Task<std::optional<Holder>> rotate(db::Database& db, std::string digest, const Successor& next, std::int64_t now) {
    auto tx = co_await db.begin();
    db::Params params{digest, now};
    auto rotated = co_await tx->query(kRotate, std::move(params));
    if (rotated.empty()) {
        co_await tx->rollback();
        db::Params reused{std::move(digest), now};
        co_await db.query(kRevokeReused, std::move(reused));
        co_return std::nullopt;
    }
    const UserId user{rotated.rows.front().get<std::int64_t>(0)};
    std::string family = rotated.rows.front().take<std::string>(1);
    db::Params who{user.value};
    const auto holder = co_await tx->query(kHolder, std::move(who));
    if (holder.empty() || !holder.rows.front().get<std::optional<bool>>(0).value_or(false)) {
        co_await tx->rollback();  // the token stays as it was
        co_return std::nullopt;
    }
    db::Params successor{next.digest, user.value, std::move(family), next.expires_at};
    co_await tx->query(kStore, std::move(successor));
    co_await tx->commit();
    co_return Holder{user, holder.rows.front().get<std::int64_t>(1)};
}

core::Task<void> revoke_all_of(db::Transaction& tx, UserId user, std::int64_t now) {
    db::Params params{user.value, now};
    co_await tx.query(kRevokeUser, std::move(params));
}

core::Task<void> revoke_family(db::Database& db, std::string digest, std::int64_t now) {
    db::Params params{std::move(digest), now};
    co_await db.query(kRevokeFamily, std::move(params));
}

}  // namespace api::refresh_tokens
