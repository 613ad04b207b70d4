// Several replicas starting at once against one empty PostgreSQL database.

#include <gtest/gtest.h>

#include "../integration/support.hpp"
#include "process.hpp"

namespace {

using namespace std::chrono_literals;

TEST(PostgresMigrate, ThreeProcessesAtOnceApplyEachMigrationOnceAndAllSucceed) {
    if (!testing_support::have_postgres()) GTEST_SKIP() << "no PostgreSQL: run the suite with ./dev test";
    testing_support::FreshDatabase fresh("postgres");
    const std::map<std::string, std::string> env{{"DATABASE_URL", fresh.url()}};

    std::vector<std::unique_ptr<e2e::Process>> replicas;
    for (int i = 0; i < 3; ++i)
        replicas.push_back(std::make_unique<e2e::Process>(
            std::vector<std::string>{ITEMS_API_BINARY, "migrate", "up"}, env, e2e::temp_folder()));

    int applied = 0;
    for (auto& p : replicas) {
        EXPECT_EQ(p->wait(60s), 0) << p->errors();
        if (p->output().find("applied 0001_create_users_and_items") != std::string::npos) ++applied;
    }
    EXPECT_EQ(applied, 1) << "exactly one process applies the migration";
    EXPECT_EQ(fresh.admin_value("SELECT count(*) FROM schema_migrations WHERE version = 1"), "1");
    EXPECT_EQ(fresh.admin_value("SELECT count(*) FROM schema_migrations"),
              std::to_string(db::migrations_for(db::Dialect::postgres).size()));
}

}  // namespace
