#pragma once
// What the integration tests share: the database backends every database test runs
// on, and a service with a TestClient.

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <memory>
#include <string>
#include <vector>

#include "api/app.hpp"
#include "config/settings.hpp"
#include "core/log.hpp"
#include "core/run.hpp"
#include "db/migrations.hpp"
#include "http/test_client.hpp"

namespace testing_support {

// Every backend the suite can reach. SQLite is always there; PostgreSQL joins when
// the test command has started one (ITEMS_TEST_POSTGRES_URL).
inline std::vector<std::string> database_urls() {
    std::vector<std::string> urls{"sqlite:///:memory:"};
    if (const char* pg = std::getenv("ITEMS_TEST_POSTGRES_URL"); pg && *pg) urls.emplace_back(pg);
    return urls;
}

inline std::string backend_name(const ::testing::TestParamInfo<std::string>& info) {
    return info.param.starts_with("sqlite") ? "sqlite" : "postgres";
}

inline config::Settings settings_for(const std::string& url) {
    core::log::configure(core::log::Level::warning, core::log::Format::text);
    return config::load_settings({{"DATABASE_URL", url}});
}

// A migrated service and an in-process client for it.
struct ServiceUnderTest {
    explicit ServiceUnderTest(const std::string& url) : settings(settings_for(url)), service(settings) {
        boost::asio::io_context ioc;
        auto database = service.connector().open(ioc);
        db::Migrator migrator(*database, db::migrations_for(service.connector().dialect()));
        core::run_until_complete(ioc, migrator.up());
        client = std::make_unique<http::TestClient>(service.app(), service.worker_init());
    }

    config::Settings settings;
    api::Service service;
    std::unique_ptr<http::TestClient> client;
};

}  // namespace testing_support
