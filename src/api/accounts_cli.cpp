#include "api/accounts_cli.hpp"

#include <stdexcept>

#include "schema/codec.hpp"
#include "security/password.hpp"

namespace api {

namespace {

// Code points, as the API's SecretStr<8, 128> counts them.
bool acceptable_password(const std::string& password) {
    std::size_t length = 0;
    for (const char c : password) length += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
    return length >= 8 && length <= 128;
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
