#include "api/users_repository.hpp"

namespace api::users {

namespace {

// Ids arrive as 64-bit integers; PostgreSQL's column is 32-bit, and a larger parameter
// must find nothing rather than fail: hence CAST($1 AS BIGINT).
constexpr db::Statement kById =
    db::reads("SELECT id, email, hashed_password, is_active FROM users WHERE id = CAST($1 AS BIGINT)");
// Case-insensitive, as the unique index on lower(email).
constexpr db::Statement kByEmail =
    db::reads("SELECT id, email, hashed_password, is_active FROM users WHERE lower(email) = lower($1)");
constexpr db::Statement kForLogin = db::reads(
    "SELECT id, email, hashed_password, is_active FROM users WHERE lower(email) IN (lower($1), lower($2)) "
    "ORDER BY CASE WHEN lower(email) = lower($1) THEN 0 ELSE 1 END LIMIT 1");
constexpr const char* kCreate =
    "INSERT INTO users (email, hashed_password, is_active) VALUES ($1, $2, $3) "
    "RETURNING id, email, hashed_password, is_active";

// The row's strings are moved into the record, not copied.
std::optional<UserRecord> first(db::Result r) {
    if (r.empty()) return std::nullopt;
    db::Row& row = r.rows.front();
    return UserRecord{UserId{row.get<std::int64_t>(0)}, row.take<std::string>(1), row.take<std::string>(2),
                      row.get<std::optional<bool>>(3).value_or(false)};
}

}  // namespace

core::Task<std::optional<UserRecord>> find_by_id(db::Database& db, UserId id) {
    db::Params params{id.value};
    co_return first(co_await db.query(kById, std::move(params)));
}

core::Task<std::optional<UserRecord>> find_by_email(db::Database& db, std::string email) {
    db::Params params{std::move(email)};
    co_return first(co_await db.query(kByEmail, std::move(params)));
}

core::Task<std::optional<UserRecord>> find_for_login(db::Database& db, std::string normalized, std::string as_typed) {
    if (normalized == as_typed) co_return co_await find_by_email(db, std::move(normalized));
    db::Params params{std::move(normalized), std::move(as_typed)};
    co_return first(co_await db.query(kForLogin, std::move(params)));
}

core::Task<std::optional<UserRecord>> create(db::Database& db, std::string email, std::string hashed_password) {
    db::Params params{std::move(email), std::move(hashed_password), true};
    try {
        co_return first(co_await db.query(kCreate, std::move(params)));
    } catch (const db::DatabaseError& e) {
        if (e.kind() != db::DatabaseError::Kind::unique_violation) throw;
    }
    co_return std::nullopt;
}

core::Task<void> set_password_hash(db::Database& db, UserId id, std::string hashed_password) {
    db::Params params{std::move(hashed_password), id.value};
    co_await db.query("UPDATE users SET hashed_password = $1 WHERE id = CAST($2 AS BIGINT)", std::move(params));
}

core::Task<bool> remove(db::Database& db, UserId id) {
    db::Params params{id.value};
    const auto r = co_await db.query("DELETE FROM users WHERE id = CAST($1 AS BIGINT)", std::move(params));
    co_return r.affected > 0;
}

}  // namespace api::users
