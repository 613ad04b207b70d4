#pragma once
// Users in the database: all the SQL about them, parameterized.

#include <cstdint>
#include <optional>
#include <string>

#include "core/task.hpp"
#include "db/database.hpp"

namespace api::users {

struct UserRecord {
    std::int64_t id = 0;
    std::string email;
    std::string hashed_password;
    bool is_active = true;
};

core::Task<std::optional<UserRecord>> find_by_id(db::Database& db, std::int64_t id);
// Case-insensitive, as the unique index.
core::Task<std::optional<UserRecord>> find_by_email(db::Database& db, std::string email);
// nullopt when the e-mail is taken (in any case).
core::Task<std::optional<UserRecord>> create(db::Database& db, std::string email, std::string hashed_password);
core::Task<void> set_password_hash(db::Database& db, std::int64_t id, std::string hashed_password);
// Deletes the user and, by the foreign key's cascade, their items.
core::Task<bool> remove(db::Database& db, std::int64_t id);

}  // namespace api::users
