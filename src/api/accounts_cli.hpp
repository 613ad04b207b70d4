#pragma once
// What the command line does with accounts: the first superuser `migrate up` ensures
// (FIRST_SUPERUSER), and `items-api users create`.

#include <string>

#include "api/users_repository.hpp"
#include "config/settings.hpp"

namespace api {

// Ensures FIRST_SUPERUSER (if set) is a superuser, creating the account with
// FIRST_SUPERUSER_PASSWORD if there is none; says what it did on `out` (nothing when
// unset). A FIRST_SUPERUSER that is not an e-mail address is a SettingsError.
core::Task<void> ensure_first_superuser(db::Database& db, const config::Settings& settings, std::string& out);

// A new account, checked as registration checks one (an e-mail address, a password of 8 to
// 128 characters, an e-mail no account has); std::invalid_argument says what is wrong.
core::Task<users::UserRecord> create_account(db::Database& db, const std::string& email, const std::string& password,
                                             bool superuser);

}  // namespace api
