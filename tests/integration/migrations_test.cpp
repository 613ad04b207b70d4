#include "support.hpp"

namespace {

class Migrations : public testing_support::DatabaseTest {
protected:
    std::vector<db::Migration> migrations = db::migrations_for(connector->dialect());
};

TEST_P(Migrations, UpAppliesEachOnceThenNothing) {
    db::Migrator m(*database, migrations);
    const auto first = run(m.up());
    ASSERT_EQ(first.size(), migrations.size());
    EXPECT_EQ(first.front(), "0001_create_users_and_items");
    EXPECT_TRUE(run(m.up()).empty());
    EXPECT_EQ(sql("SELECT COUNT(*) FROM schema_migrations").rows[0].get<std::int64_t>(0),
              static_cast<std::int64_t>(migrations.size()));
}

TEST_P(Migrations, StatusShowsAppliedAndPending) {
    db::Migrator m(*database, migrations);
    auto before = run(m.status());
    ASSERT_FALSE(before.empty());
    EXPECT_FALSE(before[0].applied);
    run(m.up());
    auto after = run(m.status());
    EXPECT_TRUE(after[0].applied);
    EXPECT_FALSE(after[0].applied_at.empty());
}

TEST_P(Migrations, DownRevertsTheNewest) {
    db::Migrator m(*database, migrations);
    run(m.up());
    EXPECT_EQ(run(m.down()), migrations.back().name);
    EXPECT_EQ(sql("SELECT COUNT(*) FROM schema_migrations").rows[0].get<std::int64_t>(0),
              static_cast<std::int64_t>(migrations.size() - 1));
    EXPECT_EQ(run(m.up()).size(), 1u);
}

TEST_P(Migrations, DownAllTheWayLeavesNoTables) {
    db::Migrator m(*database, migrations);
    run(m.up());
    for (auto it = migrations.rbegin(); it != migrations.rend(); ++it) EXPECT_EQ(run(m.down()), it->name);
    EXPECT_EQ(run(m.down()), "");
    EXPECT_THROW(sql("SELECT * FROM users"), db::DatabaseError);
    EXPECT_EQ(run(m.up()).size(), migrations.size());
}

TEST_P(Migrations, AnEditedAppliedMigrationIsRefused) {
    db::Migrator m(*database, migrations);
    run(m.up());
    auto edited = migrations;
    edited.front().up += "\n-- edited";
    edited.front().checksum = "0000";
    db::Migrator changed(*database, edited);
    try {
        run(changed.up());
        FAIL() << "an edited migration was accepted";
    } catch (const db::MigrationError& e) {
        EXPECT_NE(std::string(e.what()).find("0001_create_users_and_items"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("edited"), std::string::npos) << e.what();
    }
}

TEST_P(Migrations, SchemaEnforcesCaseInsensitiveUniqueEmail) {
    db::Migrator m(*database, migrations);
    run(m.up());
    sql("INSERT INTO users (email, hashed_password) VALUES ($1, 'x')", {std::string("Ann@example.com")});
    try {
        sql("INSERT INTO users (email, hashed_password) VALUES ($1, 'x')", {std::string("ann@EXAMPLE.com")});
        FAIL() << "a second user with the same e-mail in other case was stored";
    } catch (const db::DatabaseError& e) {
        EXPECT_EQ(e.kind(), db::DatabaseError::Kind::unique_violation);
    }
}

TEST_P(Migrations, SchemaDeletesItemsWithTheirOwner) {
    db::Migrator m(*database, migrations);
    run(m.up());
    const auto id = sql("INSERT INTO users (email, hashed_password) VALUES ('a@b.co', 'x') RETURNING id")
                        .rows[0]
                        .get<std::int64_t>(0);
    sql("INSERT INTO items (title, owner_id) VALUES ('t', $1)", {id});
    EXPECT_TRUE(sql("SELECT is_active FROM users WHERE id = $1", {id}).rows[0].get<bool>(0));
    sql("DELETE FROM users WHERE id = $1", {id});
    EXPECT_EQ(sql("SELECT COUNT(*) FROM items").rows[0].get<std::int64_t>(0), 0);
}

TEST_P(Migrations, ItemsNeedAnExistingOwner) {
    db::Migrator m(*database, migrations);
    run(m.up());
    try {
        sql("INSERT INTO items (title, owner_id) VALUES ('t', 999)");
        FAIL() << "an item without an owner was stored";
    } catch (const db::DatabaseError& e) {
        EXPECT_EQ(e.kind(), db::DatabaseError::Kind::foreign_key_violation);
    }
}

INSTANTIATE_TEST_SUITE_P(Backends, Migrations, ::testing::ValuesIn(testing_support::backends()),
                         testing_support::backend_name);

}  // namespace
