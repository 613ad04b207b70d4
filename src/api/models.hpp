#pragma once
// The service's models, one struct per role, as the original's Pydantic schemas
// (field order included: it is the order of the JSON keys).

#include <boost/describe/class.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "schema/types.hpp"

namespace api {

using schema::Email;
using schema::Int;
using schema::Omittable;
using schema::SecretStr;
using schema::Str;

// A password an account is given (registration, a change, an admin's): 8 to 128 characters.
using NewPassword = SecretStr<8, 128>;

struct UserCreate {
    Email email;
    NewPassword password;
};
BOOST_DESCRIBE_STRUCT(UserCreate, (), (email, password))

struct UserRead {
    std::string email;
    std::int64_t id = 0;
    bool is_active = true;
};
BOOST_DESCRIBE_STRUCT(UserRead, (), (email, id, is_active))

// Accounts (beyond the original): what the FastAPI full-stack template adds.
struct UserUpdateMe {
    Omittable<Email> email;
};
BOOST_DESCRIBE_STRUCT(UserUpdateMe, (), (email))

// The current password is not length-checked: users of the original may have shorter ones.
struct UpdatePassword {
    SecretStr<> current_password;
    NewPassword new_password;
};
BOOST_DESCRIBE_STRUCT(UpdatePassword, (), (current_password, new_password))

struct Message {
    std::string message;
};
BOOST_DESCRIBE_STRUCT(Message, (), (message))

struct UserAdminRead {
    std::string email;
    std::int64_t id = 0;
    bool is_active = true;
    bool is_superuser = false;
    std::optional<std::string> created_at;  // RFC 3339, UTC, to the second; null on rows that never had one
};
BOOST_DESCRIBE_STRUCT(UserAdminRead, (), (email, id, is_active, is_superuser, created_at))

struct UserAdminCreate {
    Email email;
    NewPassword password;
    Omittable<bool> is_active{true};
    Omittable<bool> is_superuser{false};
};
BOOST_DESCRIBE_STRUCT(UserAdminCreate, (), (email, password, is_active, is_superuser))

// Only the fields sent change.
struct UserAdminUpdate {
    Omittable<Email> email;
    Omittable<NewPassword> password;
    Omittable<bool> is_active;
    Omittable<bool> is_superuser;
};
BOOST_DESCRIBE_STRUCT(UserAdminUpdate, (), (email, password, is_active, is_superuser))

struct ItemRead {
    std::string title;
    std::optional<std::string> description;
    std::int64_t id = 0;
    std::int64_t owner_id = 0;
};
BOOST_DESCRIBE_STRUCT(ItemRead, (), (title, description, id, owner_id))

struct UserReadWithItems {
    std::string email;
    std::int64_t id = 0;
    bool is_active = true;
    std::vector<ItemRead> items;
};
BOOST_DESCRIBE_STRUCT(UserReadWithItems, (), (email, id, is_active, items))

struct ItemCreate {
    Str<1, 255> title;
    std::optional<Str<0, 10000>> description;
};
BOOST_DESCRIBE_STRUCT(ItemCreate, (), (title, description))

// Only the fields sent change: absent leaves a field as it is; description may be null.
struct ItemUpdate {
    Omittable<Str<1, 255>> title;
    Omittable<std::optional<Str<0, 10000>>> description;
};
BOOST_DESCRIBE_STRUCT(ItemUpdate, (), (title, description))

// The original's two fields, and beyond them a refresh token and the access token's
// lifetime in seconds (RFC 6749 section 5.1).
struct Token {
    std::string access_token;
    std::string token_type = "bearer";
    std::string refresh_token;
    std::int64_t expires_in = 0;
};
BOOST_DESCRIBE_STRUCT(Token, (), (access_token, token_type, refresh_token, expires_in))

// POST /auth/refresh's and /auth/logout's body.
struct RefreshRequest {
    SecretStr<> refresh_token;
};
BOOST_DESCRIBE_STRUCT(RefreshRequest, (), (refresh_token))

// OAuth2's refresh grant (RFC 6749 section 6), which POST /auth/token also takes.
struct RefreshForm {
    schema::Exactly<"refresh_token"> grant_type;
    SecretStr<> refresh_token;
    std::optional<std::string> scope;
    std::optional<std::string> client_id;
    std::optional<SecretStr<>> client_secret;
};
BOOST_DESCRIBE_STRUCT(RefreshForm, (), (grant_type, refresh_token, scope, client_id, client_secret))

// OAuth2's password form, as Swagger UI's "Authorize" sends it. The password is not
// length-checked here: users of the original may have shorter ones.
struct LoginForm {
    std::string username;
    SecretStr<> password;
    std::optional<schema::Exactly<"password">> grant_type;  // OAuth2PasswordRequestForm's pattern
    std::optional<std::string> scope;
    std::optional<std::string> client_id;
    std::optional<SecretStr<>> client_secret;
};
BOOST_DESCRIBE_STRUCT(LoginForm, (), (username, password, grant_type, scope, client_id, client_secret))

// GET /items/'s query: the original's skip and limit, and beyond it `after` (keyset
// paging: only the items with a greater id; skip then counts from there). GET /users/'s too.
struct PageQuery {
    Omittable<Int<0>> skip{0};
    Omittable<Int<1, 100>> limit{20};
    std::optional<Int<0>> after;
};
BOOST_DESCRIBE_STRUCT(PageQuery, (), (skip, limit, after))

}  // namespace api
