#pragma once
// Users in the database: all the SQL about them, parameterized.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "api/ids.hpp"
#include "api/models.hpp"
#include "core/task.hpp"
#include "db/database.hpp"

namespace api::users {

struct UserRecord {
    UserId id;
    std::string email;
    std::string hashed_password;
    bool is_active = true;
    bool is_superuser = false;
    // Raised by a password change or reset: an access token issued under an older one no
    // longer verifies (security::AccessClaims::version).
    std::int64_t token_version = 0;
};

core::Task<std::optional<UserRecord>> find_by_id(db::Database& db, UserId id);
// What every authenticated request reads of its user: the record without its password
// hash (a statement of as few columns as the original's, on the hot path).
struct Principal {
    std::string email;
    bool is_active = true;
    bool is_superuser = false;
    std::int64_t token_version = 0;
};
core::Task<std::optional<Principal>> find_principal(db::Database& db, UserId id);
// Case-insensitive, as the unique index.
core::Task<std::optional<UserRecord>> find_by_email(db::Database& db, std::string email);
// The user a login names: by `normalized` (the e-mail as registration stores it), or by
// `as_typed`, so that rows stored before e-mails were normalized still log in; the
// normalized match wins when both exist.
core::Task<std::optional<UserRecord>> find_for_login(db::Database& db, std::string normalized, std::string as_typed);
// nullopt when the e-mail is taken (in any case).
core::Task<std::optional<UserRecord>> create(db::Database& db, std::string email, std::string hashed_password,
                                             bool is_active = true, bool is_superuser = false);
// The same hash in other clothes (a bcrypt hash of the original's made argon2id): the
// tokens issued stay valid.
core::Task<void> set_password_hash(db::Database& db, UserId id, std::string hashed_password);
// A new password: every access token issued before no longer verifies, and every refresh
// token of the user is revoked (in one transaction).
core::Task<void> change_password(db::Database& db, UserId id, std::string hashed_password);
// False when the e-mail is taken by another user (in any case).
core::Task<bool> change_email(db::Database& db, UserId id, std::string email);
// Deletes the user and, by the foreign key's cascade, their items.
core::Task<bool> remove(db::Database& db, UserId id);

// What a superuser sees of users (GET /users/ and the admin routes' answers).
core::Task<std::optional<UserAdminRead>> admin_view(db::Database& db, UserId id);
// A page of users ordered by id, as items::list pages items.
struct Page {
    std::vector<UserAdminRead> users;
    bool more = false;
};
core::Task<Page> list(db::Database& db, std::int64_t skip, std::int64_t limit, std::optional<std::int64_t> after);
core::Task<std::int64_t> count(db::Database& db);
// Changes only the fields given (the password already hashed), in one statement; a new
// password raises the token version and revokes the refresh tokens, as change_password. Nothing when the user is not found; throws
// db::DatabaseError(unique_violation) when the e-mail is another user's.
struct Changes {
    std::optional<std::string> email, hashed_password;
    std::optional<bool> is_active, is_superuser;
};
core::Task<bool> update(db::Database& db, UserId id, const Changes& changes);

// The first superuser (FIRST_SUPERUSER): created with this hash if no user has the e-mail,
// else made a superuser, their password left as it is. True when created.
core::Task<bool> ensure_superuser(db::Database& db, std::string email, std::string hashed_password);

}  // namespace api::users
