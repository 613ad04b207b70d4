#pragma once
// Users in the database: all the SQL about them, parameterized.

#include <cstdint>
#include <optional>
#include <string>

#include "api/ids.hpp"
#include "core/task.hpp"
#include "db/database.hpp"

namespace api::users {

struct UserRecord {
    UserId id;
    std::string email;
    std::string hashed_password;
    bool is_active = true;
};

core::Task<std::optional<UserRecord>> find_by_id(db::Database& db, UserId id);
// Case-insensitive, as the unique index.
core::Task<std::optional<UserRecord>> find_by_email(db::Database& db, std::string email);
// The user a login names: by `normalized` (the e-mail as registration stores it), or by
// `as_typed`, so that rows stored before e-mails were normalized still log in; the
// normalized match wins when both exist.
core::Task<std::optional<UserRecord>> find_for_login(db::Database& db, std::string normalized, std::string as_typed);
// nullopt when the e-mail is taken (in any case).
core::Task<std::optional<UserRecord>> create(db::Database& db, std::string email, std::string hashed_password);
core::Task<void> set_password_hash(db::Database& db, UserId id, std::string hashed_password);
// Deletes the user and, by the foreign key's cascade, their items.
core::Task<bool> remove(db::Database& db, UserId id);

}  // namespace api::users
