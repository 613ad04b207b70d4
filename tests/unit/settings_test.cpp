#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <vector>

#include "config/settings.hpp"

namespace {

using config::Environment;
using config::load_settings;
using config::SettingsError;

std::string failing_setting(const Environment& env) {
    try {
        load_settings(env);
    } catch (const SettingsError& e) {
        return e.setting();
    }
    return "";
}

TEST(Settings, DefaultsServeSqliteOnLoopback) {
    const auto s = load_settings({});
    EXPECT_EQ(s.host, "127.0.0.1");
    EXPECT_EQ(s.port, 8000);
    EXPECT_GE(s.threads, 1u);
    EXPECT_EQ(s.database_url, "sqlite:///./data/app.db");
    EXPECT_EQ(s.algorithm, "HS256");
    EXPECT_EQ(s.access_token_expire_minutes, 30);
    EXPECT_TRUE(s.secret_key_generated);
    EXPECT_GE(s.secret_key.size(), 32u);
    EXPECT_EQ(s.log_format, core::log::Format::json);
}

TEST(Settings, BadValuesNameTheSetting) {
    EXPECT_EQ(failing_setting({{"PORT", "abc"}}), "PORT");
    EXPECT_EQ(failing_setting({{"PORT", "70000"}}), "PORT");
    EXPECT_EQ(failing_setting({{"THREADS", "0"}}), "THREADS");
    EXPECT_EQ(failing_setting({{"DATABASE_URL", " "}}), "DATABASE_URL");
    EXPECT_EQ(failing_setting({{"ALGORITHM", "RS256"}}), "ALGORITHM");
    EXPECT_EQ(failing_setting({{"LOG_LEVEL", "loud"}}), "LOG_LEVEL");
    EXPECT_EQ(failing_setting({{"LOG_FORMAT", "xml"}}), "LOG_FORMAT");
    EXPECT_EQ(failing_setting({{"ACCESS_TOKEN_EXPIRE_MINUTES", "-5"}}), "ACCESS_TOKEN_EXPIRE_MINUTES");
    EXPECT_EQ(failing_setting({{"APP_ENV", "staging"}}), "APP_ENV");
    EXPECT_EQ(failing_setting({{"KEEPALIVE_TIMEOUT", "0"}}), "KEEPALIVE_TIMEOUT");
    EXPECT_EQ(failing_setting({{"PASSWORD_HASH_NICE", "-21"}}), "PASSWORD_HASH_NICE");
    EXPECT_EQ(failing_setting({{"PASSWORD_HASH_NICE", "20"}}), "PASSWORD_HASH_NICE");
    EXPECT_EQ(load_settings({{"PASSWORD_HASH_NICE", "-10"}}).hash_nice, -10);
    EXPECT_EQ(load_settings({}).hash_nice, 0);
    for (const char* url : {"OPENAPI_URL", "DOCS_URL", "REDOC_URL"}) {
        EXPECT_EQ(failing_setting({{url, "docs"}}), url);
        EXPECT_EQ(failing_setting({{url, "/docs/"}}), url);
        EXPECT_EQ(failing_setting({{url, "/"}}), url);
        EXPECT_EQ(failing_setting({{url, "/docs?x=1"}}), url);
        EXPECT_EQ(failing_setting({{url, ""}}), "");
        EXPECT_EQ(failing_setting({{url, "/api/docs"}}), "");
    }
}

TEST(Settings, ProductionRequiresALongSecretKey) {
    EXPECT_EQ(failing_setting({{"APP_ENV", "production"}}), "SECRET_KEY");
    EXPECT_EQ(failing_setting({{"APP_ENV", "production"}, {"SECRET_KEY", "short"}}), "SECRET_KEY");
    const auto s = load_settings({{"APP_ENV", "production"}, {"SECRET_KEY", std::string(32, 'k')}});
    EXPECT_FALSE(s.secret_key_generated);
}

TEST(Settings, ErrorMessageNeverShowsTheSecretKey) {
    try {
        load_settings({{"APP_ENV", "production"}, {"SECRET_KEY", "hunter2"}});
        FAIL() << "expected a SettingsError";
    } catch (const SettingsError& e) {
        EXPECT_EQ(std::string(e.what()).find("hunter2"), std::string::npos);
    }
}

TEST(Settings, EnvFileIsReadAndEnvironmentWins) {
    const std::string path = ::testing::TempDir() + "settings_test.env";
    {
        std::ofstream f(path);
        f << "# comment\n\nexport PORT=9001\nHOST = \"0.0.0.0\"\nLOG_FORMAT=text # trailing\nTHREADS='3'\n";
    }
    auto file = config::read_env_file(path);
    EXPECT_EQ(file.at("PORT"), "9001");
    EXPECT_EQ(file.at("HOST"), "0.0.0.0");
    EXPECT_EQ(file.at("LOG_FORMAT"), "text");
    EXPECT_EQ(file.at("THREADS"), "3");

    ::setenv("PORT", "9002", 1);
    auto merged = config::merged_environment(file);
    ::unsetenv("PORT");
    EXPECT_EQ(merged.at("PORT"), "9002");
    EXPECT_EQ(merged.at("HOST"), "0.0.0.0");
    std::remove(path.c_str());
}

// NAME_FILE for the secrets (SECRET_KEY, DATABASE_URL): the file's content, its line end
// dropped; a file that cannot be read and both forms at once are errors naming the setting.
TEST(Settings, SecretsMayComeFromFiles) {
    const std::string key_file = ::testing::TempDir() + "secret_key.txt";
    const std::string url_file = ::testing::TempDir() + "database_url.txt";
    std::ofstream(key_file) << std::string(40, 'k') << "\n";
    std::ofstream(url_file) << "postgresql://u:p@db:5432/app\r\n";
    const auto s = load_settings(
        {{"APP_ENV", "production"}, {"SECRET_KEY_FILE", key_file}, {"DATABASE_URL_FILE", url_file}});
    EXPECT_EQ(s.secret_key, std::string(40, 'k'));
    EXPECT_FALSE(s.secret_key_generated);
    EXPECT_EQ(s.database_url, "postgresql://u:p@db:5432/app");

    // The file's content goes through the same checks, and is never shown.
    std::ofstream(key_file) << "hunter2\n";
    try {
        load_settings({{"APP_ENV", "production"}, {"SECRET_KEY_FILE", key_file}});
        FAIL() << "a short key from a file was taken";
    } catch (const SettingsError& e) {
        EXPECT_EQ(e.setting(), "SECRET_KEY");
        EXPECT_EQ(std::string(e.what()).find("hunter2"), std::string::npos);
    }

    const std::string missing = ::testing::TempDir() + "no-such-secret";
    try {
        load_settings({{"SECRET_KEY_FILE", missing}});
        FAIL() << "a missing file was taken";
    } catch (const SettingsError& e) {
        EXPECT_EQ(e.setting(), "SECRET_KEY_FILE");
        EXPECT_NE(std::string(e.what()).find(missing), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("No such file"), std::string::npos) << e.what();
    }
    EXPECT_EQ(failing_setting({{"DATABASE_URL_FILE", ""}}), "DATABASE_URL_FILE");
    EXPECT_EQ(failing_setting({{"SECRET_KEY", "x"}, {"SECRET_KEY_FILE", key_file}}), "SECRET_KEY");
    EXPECT_EQ(failing_setting({{"DATABASE_URL", "sqlite://"}, {"DATABASE_URL_FILE", url_file}}), "DATABASE_URL");
    // Only secrets have the form: PORT_FILE is no setting (and changes nothing).
    EXPECT_EQ(load_settings({{"PORT_FILE", key_file}}).port, 8000);

    // From the environment and from the .env file, as the settings themselves.
    ::setenv("SECRET_KEY_FILE", key_file.c_str(), 1);
    const auto merged = config::merged_environment({{"DATABASE_URL_FILE", url_file}, {"PORT_FILE", "x"}});
    ::unsetenv("SECRET_KEY_FILE");
    EXPECT_EQ(merged.at("SECRET_KEY_FILE"), key_file);
    EXPECT_EQ(merged.at("DATABASE_URL_FILE"), url_file);
    EXPECT_FALSE(merged.contains("PORT_FILE"));
    std::remove(key_file.c_str());
    std::remove(url_file.c_str());
}

TEST(Settings, MalformedEnvFileLineIsReported) {
    const std::string path = ::testing::TempDir() + "settings_bad.env";
    {
        std::ofstream f(path);
        f << "PORT=1\nthis is not a setting\n";
    }
    EXPECT_THROW(config::read_env_file(path), SettingsError);
    std::remove(path.c_str());
}

TEST(Settings, HelpNamesEverySettingWithItsDefault) {
    const std::string help = config::settings_help();
    for (const auto& s : config::declared_settings()) {
        EXPECT_NE(help.find("  " + s.name + " "), std::string::npos) << s.name;
        EXPECT_NE(help.find("default: " + s.default_text + "; " + s.type), std::string::npos) << s.name;
    }
}

TEST(Settings, AnErrorStatesTheDeclaredBounds) {
    try {
        load_settings({{"PORT", "eighty"}});
        FAIL() << "expected a SettingsError";
    } catch (const SettingsError& e) {
        EXPECT_STREQ(e.what(), "invalid setting PORT: \"eighty\" is not a whole number from 0 to 65535");
    }
}

}  // namespace
