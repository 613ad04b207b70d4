#include "api/accounts_cli.hpp"

#include <stdexcept>

#include "api/models.hpp"
#include "core/json_text.hpp"
#include "schema/codec.hpp"
#include "security/password.hpp"

namespace api {

namespace {

// The bounds the API gives a new password, counted as it counts them (code points).
bool acceptable_password(const std::string& password) {
    const std::size_t length = core::utf8_length(password);
    return length >= NewPassword::min_length && length <= NewPassword::max_length;
}

}  // namespace

core::Task<void> ensure_first_superuser(db::Database& db, const config::Settings& settings, std::string& out) {
    if (settings.first_superuser.empty()) co_return;
    const auto email = schema::normalized_email(settings.first_superuser);
    if (!email) throw config::SettingsError("FIRST_SUPERUSER", "is not an e-mail address");
    if (!acceptable_password(settings.first_superuser_password))
        throw config::SettingsError("FIRST_SUPERUSER_PASSWORD", "must be 8 to 128 characters");
    // Hashed here, on the caller's thread: a command, not a server.
    const bool created =
        co_await users::ensure_superuser(db, *email, security::hash_password(settings.first_superuser_password));
    out = (created ? "created superuser " : "superuser ") + *email;
}

core::Task<users::UserRecord> create_account(db::Database& db, const std::string& email, const std::string& password,
                                             bool superuser) {
    const auto normalized = schema::normalized_email(email);
    if (!normalized) throw std::invalid_argument("--email: not an e-mail address");
    if (!acceptable_password(password)) throw std::invalid_argument("the password must be 8 to 128 characters");
    auto user = co_await users::create(db, *normalized, security::hash_password(password), true, superuser);
    if (!user) throw std::invalid_argument(*normalized + " is already registered");
    co_return std::move(*user);
}

}  // namespace api
