#include "api/users_repository.hpp"

#include <limits>

#include "api/refresh_tokens_repository.hpp"

namespace api::users {

namespace {

// Ids arrive as 64-bit integers; PostgreSQL's column is 32-bit, and a larger parameter
// must find nothing rather than fail: hence CAST($1 AS BIGINT).
constexpr db::Statement kById = db::reads(
    "SELECT id, email, hashed_password, is_active, is_superuser, token_version FROM users "
    "WHERE id = CAST($1 AS BIGINT)");
constexpr db::Statement kPrincipal = db::reads(
    "SELECT email, is_active, is_superuser, token_version FROM users WHERE id = CAST($1 AS BIGINT)");
// Case-insensitive, as the unique index on lower(email).
constexpr db::Statement kByEmail = db::reads(
    "SELECT id, email, hashed_password, is_active, is_superuser, token_version FROM users "
    "WHERE lower(email) = lower($1)");
constexpr db::Statement kForLogin = db::reads(
    "SELECT id, email, hashed_password, is_active, is_superuser, token_version FROM users "
    "WHERE lower(email) IN (lower($1), lower($2)) "
    "ORDER BY CASE WHEN lower(email) = lower($1) THEN 0 ELSE 1 END LIMIT 1");
constexpr const char* kCreate =
    "INSERT INTO users (email, hashed_password, is_active, is_superuser) VALUES ($1, $2, $3, $4) "
    "RETURNING id, email, hashed_password, is_active, is_superuser, token_version";
constexpr const char* kChangePassword =
    "UPDATE users SET hashed_password = $1, token_version = token_version + 1 WHERE id = CAST($2 AS BIGINT)";
// Only the fields flagged change ($2, $4, ...); a new password raises the token version.
constexpr const char* kUpdate =
    "UPDATE users SET email = CASE WHEN $2 THEN $3 ELSE email END, "
    "hashed_password = CASE WHEN $4 THEN $5 ELSE hashed_password END, "
    "token_version = CASE WHEN $4 THEN token_version + 1 ELSE token_version END, "
    "is_active = CASE WHEN $6 THEN $7 ELSE is_active END, "
    "is_superuser = CASE WHEN $8 THEN $9 ELSE is_superuser END "
    "WHERE id = CAST($1 AS BIGINT)";

// Runs `statement`, and if `new_password`, revokes the user's refresh tokens with it in one
// transaction. Returns the rows the statement changed.
core::Task<std::int64_t> write_user(db::Database& db, UserId id, db::Statement statement, db::Params params,
                                    bool new_password) {
    if (!new_password) co_return (co_await db.query(statement, std::move(params))).affected;
    auto tx = co_await db.begin();
    const auto changed = (co_await tx->query(statement, std::move(params))).affected;
    co_await refresh_tokens::revoke_all_of(*tx, id, refresh_tokens::unix_now());
    co_await tx->commit();
    co_return changed;
}

// created_at as RFC 3339 in UTC, to the second, from either database: PostgreSQL keeps a
// timestamptz, SQLite the text CURRENT_TIMESTAMP writes (UTC).
struct AdminStatements {
    db::Statement by_id, list;
};
constexpr AdminStatements kPostgresAdmin{
    db::reads("SELECT id, email, is_active, is_superuser, "
              "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') "
              "FROM users WHERE id = CAST($1 AS BIGINT)"),
    db::reads("SELECT id, email, is_active, is_superuser, "
              "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') "
              "FROM users WHERE id > CAST($3 AS BIGINT) ORDER BY id LIMIT $1 OFFSET $2")};
constexpr AdminStatements kSqliteAdmin{
    db::reads("SELECT id, email, is_active, is_superuser, strftime('%Y-%m-%dT%H:%M:%SZ', created_at) "
              "FROM users WHERE id = CAST($1 AS BIGINT)"),
    db::reads("SELECT id, email, is_active, is_superuser, strftime('%Y-%m-%dT%H:%M:%SZ', created_at) "
              "FROM users WHERE id > CAST($3 AS BIGINT) ORDER BY id LIMIT $1 OFFSET $2")};
const AdminStatements& admin_statements(const db::Database& db) {
    return db.dialect() == db::Dialect::postgres ? kPostgresAdmin : kSqliteAdmin;
}

// The row's strings are moved into the record, not copied.
std::optional<UserRecord> first(db::Result r) {
    if (r.empty()) return std::nullopt;
    db::Row& row = r.rows.front();
    return UserRecord{UserId{row.get<std::int64_t>(0)},
                      row.take<std::string>(1),
                      row.take<std::string>(2),
                      row.get<std::optional<bool>>(3).value_or(false),
                      row.get<bool>(4),
                      row.get<std::int64_t>(5)};
}

UserAdminRead admin_read(db::Row& row) {
    return UserAdminRead{row.take<std::string>(1), row.get<std::int64_t>(0), row.get<bool>(2), row.get<bool>(3),
                         row.take<std::optional<std::string>>(4)};
}

db::Value text_or_null(const std::optional<std::string>& s) { return s ? db::Value(*s) : db::Value(nullptr); }
db::Value flag_or_null(std::optional<bool> b) { return b ? db::Value(*b) : db::Value(nullptr); }

}  // namespace

core::Task<std::optional<UserRecord>> find_by_id(db::Database& db, UserId id) {
    db::Params params{id.value};
    co_return first(co_await db.query(kById, std::move(params)));
}

core::Task<std::optional<Principal>> find_principal(db::Database& db, UserId id) {
    db::Params params{id.value};
    auto r = co_await db.query(kPrincipal, std::move(params));
    if (r.empty()) co_return std::nullopt;
    db::Row& row = r.rows.front();
    co_return Principal{row.take<std::string>(0), row.get<std::optional<bool>>(1).value_or(false), row.get<bool>(2),
                        row.get<std::int64_t>(3)};
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

core::Task<std::optional<UserRecord>> create(db::Database& db, std::string email, std::string hashed_password,
                                             bool is_active, bool is_superuser) {
    db::Params params{std::move(email), std::move(hashed_password), is_active, is_superuser};
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

core::Task<void> change_password(db::Database& db, UserId id, std::string hashed_password) {
    db::Params params{std::move(hashed_password), id.value};
    co_await write_user(db, id, kChangePassword, std::move(params), true);
}

core::Task<bool> change_email(db::Database& db, UserId id, std::string email) {
    Changes changes;
    changes.email = std::move(email);
    try {
        co_await update(db, id, changes);
    } catch (const db::DatabaseError& e) {
        if (e.kind() != db::DatabaseError::Kind::unique_violation) throw;
        co_return false;
    }
    co_return true;
}

core::Task<bool> remove(db::Database& db, UserId id) {
    db::Params params{id.value};
    const auto r = co_await db.query("DELETE FROM users WHERE id = CAST($1 AS BIGINT)", std::move(params));
    co_return r.affected > 0;
}

core::Task<std::optional<UserAdminRead>> admin_view(db::Database& db, UserId id) {
    db::Params params{id.value};
    auto r = co_await db.query(admin_statements(db).by_id, std::move(params));
    if (r.empty()) co_return std::nullopt;
    co_return admin_read(r.rows.front());
}

core::Task<Page> list(db::Database& db, std::int64_t skip, std::int64_t limit, std::optional<std::int64_t> after) {
    // One row more than the page, to know whether another page follows.
    db::Params params{limit + 1, skip, after.value_or(std::numeric_limits<std::int64_t>::min())};
    auto r = co_await db.query(admin_statements(db).list, std::move(params));
    Page page;
    page.more = r.rows.size() > static_cast<std::size_t>(limit);
    const std::size_t n = page.more ? static_cast<std::size_t>(limit) : r.rows.size();
    page.users.reserve(n);
    for (std::size_t i = 0; i < n; ++i) page.users.push_back(admin_read(r.rows[i]));
    co_return page;
}

core::Task<std::int64_t> count(db::Database& db) {
    const auto r = co_await db.query(db::reads("SELECT count(*) FROM users"));
    co_return r.rows.front().get<std::int64_t>(0);
}

core::Task<bool> update(db::Database& db, UserId id, const Changes& c) {
    db::Params params{id.value,
                      c.email.has_value(),
                      text_or_null(c.email),
                      c.hashed_password.has_value(),
                      text_or_null(c.hashed_password),
                      c.is_active.has_value(),
                      flag_or_null(c.is_active),
                      c.is_superuser.has_value(),
                      flag_or_null(c.is_superuser)};
    co_return co_await write_user(db, id, kUpdate, std::move(params), c.hashed_password.has_value()) > 0;
}

core::Task<bool> ensure_superuser(db::Database& db, std::string email, std::string hashed_password) {
    if (co_await create(db, email, std::move(hashed_password), true, true)) co_return true;
    db::Params params{std::move(email)};
    co_await db.query("UPDATE users SET is_superuser = true WHERE lower(email) = lower($1)", std::move(params));
    co_return false;
}

}  // namespace api::users
