#pragma once
// The service's settings: environment variables over a .env file, typed and
// validated once at start-up. A bad value is a SettingsError naming the setting.

#include <chrono>
#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/log.hpp"

namespace config {

enum class AppEnv { development, production };

// Every setting's name, default, bounds and help are declared once, in settings.cpp's
// table: it drives load_settings, its error messages, --help and docs/configuration.md.
struct Settings {
    std::string database_url;  // its forms are db's (db/url.hpp): checked where the database is opened
    std::string host;
    std::uint16_t port = 0;
    unsigned threads = 0;
    AppEnv app_env = AppEnv::development;
    std::string secret_key;
    bool secret_key_generated = false;
    std::string algorithm;
    int access_token_expire_minutes = 0;
    int refresh_token_expire_days = 0;
    std::string jwt_audience;  // empty: tokens that name an audience are refused
    std::string first_superuser;  // an e-mail (checked where it is used), or empty
    std::string first_superuser_password;
    core::log::Level log_level = core::log::Level::info;
    core::log::Format log_format = core::log::Format::json;
    std::chrono::seconds header_timeout{};
    std::chrono::seconds keepalive_timeout{};
    std::chrono::seconds shutdown_timeout{};
    unsigned db_pool_size = 0;  // PostgreSQL connections per thread
    std::chrono::milliseconds db_pool_timeout{};
    std::chrono::milliseconds db_statement_timeout{};  // 0: none
    std::chrono::milliseconds db_response_timeout{};   // the client's own deadline per statement; 0: none
    bool db_prepared_statements = true;  // false: unnamed statements, no session settings (PgBouncer)
    std::chrono::milliseconds health_timeout{};
    unsigned hash_threads = 0;
    unsigned hash_queue = 0;
    int hash_nice = 0;
    unsigned login_max_failures = 0;             // per account (e-mail) within the window
    unsigned login_max_failures_per_client = 0;  // per client address within the window
    std::chrono::seconds login_failure_window{};
    std::string forwarded_allow_ips;  // peers whose X-Forwarded-* are believed (http::TrustedProxies)
    std::string rate_limit_auth;      // slowapi's notation ("10/minute") or "off" (http::RateLimit)
    std::string rate_limit_default;
    std::string cors_origins;         // comma-separated, or *; empty: CORS off
    bool cors_allow_credentials = false;
    unsigned cors_max_age = 0;         // seconds a preflight may be cached
    std::string cors_allow_methods;
    std::string cors_allow_headers;
    std::string cors_expose_headers;
    bool metrics_enabled = true;       // Prometheus metrics at /metrics
    std::uint16_t metrics_port = 0;    // 0: on PORT with the API; else only on this port
    std::string openapi_url;  // empty: no document served (nor the docs pages)
    std::string docs_url;     // Swagger UI; empty: none
    std::string redoc_url;    // ReDoc; empty: none
    std::string api_title;
    std::string api_version;
    std::string api_description;
};

// What --help and docs/configuration.md show of a setting.
struct SettingInfo {
    std::string name;
    std::string type;          // "whole number from 0 to 65535", "seconds from 0 to 86400", ...
    std::string default_text;  // as docs/configuration.md shows it
    std::string help;          // one line
    // A secret: it may also come from the file NAME_FILE names (Docker and Kubernetes
    // secrets, the official PostgreSQL image's convention), never both.
    bool from_file = false;
};

// Every setting, in the order they are read (and documented).
std::vector<SettingInfo> declared_settings();
// The settings part of `--help`.
std::string settings_help();
// Every setting as docs/configuration.md has it (`items-api settings`).
std::string settings_markdown();

class SettingsError : public std::runtime_error {
public:
    SettingsError(std::string setting, const std::string& problem)
        : std::runtime_error("invalid setting " + setting + ": " + problem), setting_(std::move(setting)) {}
    const std::string& setting() const { return setting_; }

private:
    std::string setting_;
};

using Environment = std::map<std::string, std::string, std::less<>>;

// KEY=VALUE lines; blank lines and # comments skipped; `export ` and matching
// quotes around the value are removed. A missing file is an empty environment.
Environment read_env_file(const std::string& path);

// `dotenv` overlaid by the process environment (the environment wins), restricted to
// the names this service reads.
Environment merged_environment(const Environment& dotenv);

// Validates every setting; throws SettingsError for the first bad one.
Settings load_settings(const Environment& env);

}  // namespace config
