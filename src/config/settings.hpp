#pragma once
// The service's settings: environment variables over a .env file, typed and
// validated once at start-up. A bad value is a SettingsError naming the setting.

#include <chrono>
#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>

#include "config/database_url.hpp"
#include "core/log.hpp"

namespace config {

enum class AppEnv { development, production };

struct Settings {
    std::string database_url = "sqlite:///./data/app.db";
    DatabaseUrl database = SqliteUrl{"./data/app.db"};
    std::string host = "127.0.0.1";
    std::uint16_t port = 8000;
    unsigned threads = 1;  // the number of cores, unless THREADS says otherwise
    AppEnv app_env = AppEnv::development;
    std::string secret_key;
    bool secret_key_generated = false;
    std::string algorithm = "HS256";
    int access_token_expire_minutes = 30;
    core::log::Level log_level = core::log::Level::info;
    core::log::Format log_format = core::log::Format::json;
    std::chrono::seconds header_timeout{10};
    std::chrono::seconds keepalive_timeout{5};
    std::chrono::seconds shutdown_timeout{10};
    unsigned db_pool_size = 4;                      // PostgreSQL connections per thread
    std::chrono::milliseconds db_pool_timeout{5000};  // wait for a free connection
    std::chrono::milliseconds db_statement_timeout{30000};  // 0: none
    std::chrono::milliseconds db_response_timeout{35000};   // the client's own deadline per statement; 0: none
    std::chrono::milliseconds health_timeout{2000};         // /health's database check
    unsigned hash_threads = 1;      // password hashing threads: half the cores unless set
    unsigned hash_queue = 64;       // hashing jobs waiting beyond this are refused (503)
    int hash_nice = 0;              // the hashing threads' niceness (below 0 needs CAP_SYS_NICE)
    unsigned login_max_failures = 5;              // per account (e-mail) within the window
    unsigned login_max_failures_per_client = 50;  // per client address within the window
    std::chrono::seconds login_failure_window{60};
};

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
