#include <chrono>
#include <cstdlib>
#include <limits>
#include <optional>

#include "support.hpp"

namespace {

class Database : public testing_support::DatabaseTest {
protected:
    Database() {
        run(database->execute_script("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE, score DOUBLE PRECISION, "
                                     "flag BOOLEAN)"));
    }
};

TEST_P(Database, BindsParametersByNumberAndReadsTypedColumns) {
    sql("INSERT INTO t (id, name, score, flag) VALUES ($1, $2, $3, $4)",
        {std::int64_t{1}, std::string("o'neil; DROP TABLE t"), 2.5, true});
    sql("INSERT INTO t (id, name, score, flag) VALUES ($1, $2, $3, $4)", {std::int64_t{2}, nullptr, nullptr, false});
    auto r = sql("SELECT id, name, score, flag FROM t WHERE id = $2 OR id = $1 ORDER BY id", {std::int64_t{1}, std::int64_t{2}});
    ASSERT_EQ(r.rows.size(), 2u);
    EXPECT_EQ(r.columns, (std::vector<std::string>{"id", "name", "score", "flag"}));
    EXPECT_EQ(r.rows[0].get<std::string>(1), "o'neil; DROP TABLE t");
    EXPECT_DOUBLE_EQ(r.rows[0].get<double>(2), 2.5);
    EXPECT_TRUE(r.rows[0].get<bool>(3));
    EXPECT_EQ(r.rows[1].get<std::optional<std::string>>(1), std::nullopt);
    EXPECT_FALSE(r.rows[1].get<bool>(3));
}

TEST_P(Database, ReportsAffectedRows) {
    sql("INSERT INTO t (id) VALUES (1), (2), (3)");
    EXPECT_EQ(sql("UPDATE t SET flag = $1 WHERE id > 1", {true}).affected, 2);
}

TEST_P(Database, UniqueViolationHasItsKind) {
    sql("INSERT INTO t (id, name) VALUES (1, 'x')");
    try {
        sql("INSERT INTO t (id, name) VALUES (2, 'x')");
        FAIL() << "duplicate stored";
    } catch (const db::DatabaseError& e) {
        EXPECT_EQ(e.kind(), db::DatabaseError::Kind::unique_violation);
    }
    EXPECT_EQ(sql("SELECT COUNT(*) FROM t").rows[0].get<std::int64_t>(0), 1);
}

TEST_P(Database, CommittedTransactionKeepsItsWrites) {
    auto tx = run(database->begin());
    run(tx->query("INSERT INTO t (id) VALUES (1)"));
    run(tx->commit());
    EXPECT_EQ(sql("SELECT COUNT(*) FROM t").rows[0].get<std::int64_t>(0), 1);
}

TEST_P(Database, AbandonedTransactionRollsBack) {
    {
        auto tx = run(database->begin());
        run(tx->query("INSERT INTO t (id) VALUES (1)"));
    }
    EXPECT_EQ(sql("SELECT COUNT(*) FROM t").rows[0].get<std::int64_t>(0), 0);
    auto tx = run(database->begin());
    run(tx->query("INSERT INTO t (id) VALUES (2)"));
    run(tx->rollback());
    EXPECT_EQ(sql("SELECT COUNT(*) FROM t").rows[0].get<std::int64_t>(0), 0);
}

// A query issued while another request's transaction is open never runs inside it:
// SQLite makes it wait for the transaction, PostgreSQL runs it on another connection;
// either way it does not see the transaction's uncommitted row.
TEST_P(Database, QueriesNeverRunInsideAnotherRequestsTransaction) {
    std::optional<std::int64_t> seen;
    auto reader = [&]() -> core::Task<void> {
        auto r = co_await database->query("SELECT COUNT(*) FROM t");
        seen = r.rows[0].get<std::int64_t>(0);
    };
    auto writer = [&]() -> core::Task<void> {
        auto tx = co_await database->begin();
        co_await tx->query("INSERT INTO t (id) VALUES (5)");
        core::spawn(reader(), [](std::exception_ptr) {});
        co_await tx->query("INSERT INTO t (id) VALUES (6)");
        co_await tx->rollback();
    };
    run(writer());
    ioc.restart();
    for (int i = 0; i < 100000 && !seen; ++i) ioc.run_one();  // a PostgreSQL pool always has work pending
    ASSERT_TRUE(seen.has_value());
    EXPECT_EQ(*seen, 0) << "the query saw the open transaction's rows";
}

// Answers larger than the client library reads from the socket at once (PostgreSQL:
// libpq reads what fits its buffer, and the socket then says nothing new) must still
// arrive whole when nothing else is going on. Bounded in time, so that a lost wake-up
// fails here instead of hanging.
TEST_P(Database, LargeAnswersArriveWholeOnAnIdleConnection) {
    for (const std::int64_t rows : {std::int64_t{2000}, std::int64_t{20000}}) {
        std::optional<db::Result> result;
        std::exception_ptr error;
        bool done = false;
        core::spawn(
            [](db::Database& d, std::int64_t n, std::optional<db::Result>& out) -> core::Task<void> {
                db::Params params{n};
                out.emplace(co_await d.query(
                    "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < $1) "
                    "SELECT i, 'row number ' || i || ' of a long answer, padded to make it longer' FROM s",
                    std::move(params)));
            }(*database, rows, result),
            [&](std::exception_ptr e) {
                error = e;
                done = true;
            });
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
        while (!done && std::chrono::steady_clock::now() < deadline) ioc.run_one_for(std::chrono::milliseconds(100));
        ASSERT_TRUE(done) << rows << " rows: the answer never arrived";
        if (error) std::rethrow_exception(error);
        ASSERT_EQ(result->rows.size(), static_cast<std::size_t>(rows));
        EXPECT_EQ(result->rows.back().get<std::int64_t>(0), rows);
    }
}

// Reads issued together may share one Sync, and so one implicit transaction, on
// PostgreSQL: one of them failing must fail only itself, and a write among them must
// commit on its own.
TEST_P(Database, AFailingReadFailsOnlyItselfAmongThoseIssuedWithIt) {
    const std::string read = "SELECT abs(CAST($1 AS BIGINT))";  // abs of the smallest BIGINT overflows
    EXPECT_EQ(sql(read, {std::int64_t{-1}}).rows[0].get<std::int64_t>(0), 1);  // prepared before the rest
    const std::int64_t overflow = std::numeric_limits<std::int64_t>::min();
    const std::vector<std::int64_t> inputs{5, -3, overflow, 7, overflow, -11};
    std::vector<std::optional<std::int64_t>> answers(inputs.size());
    std::vector<bool> failed(inputs.size(), false);
    bool write_failed = false;
    int done = 0;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        core::spawn(
            [](db::Database& d, std::string q, std::int64_t x, std::optional<std::int64_t>& out) -> core::Task<void> {
                db::Params params{x};
                out = (co_await d.query(q, std::move(params))).rows.at(0).get<std::int64_t>(0);
            }(*database, read, inputs[i], answers[i]),
            [&, i](std::exception_ptr e) {
                if (e) {
                    try {
                        std::rethrow_exception(e);
                    } catch (const db::DatabaseError&) {
                        failed[i] = true;
                    }
                }
                ++done;
            });
        if (i == 3)  // a write among the reads of the same turn
            core::spawn([](db::Database& d) -> core::Task<void> {
                co_await d.query("INSERT INTO t (id, name) VALUES (1, 'kept')");
            }(*database),
                        [&](std::exception_ptr e) {
                write_failed = e != nullptr;
                ++done;
            });
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (done < static_cast<int>(inputs.size()) + 1 && std::chrono::steady_clock::now() < deadline)
        ioc.run_one_for(std::chrono::milliseconds(100));
    ASSERT_EQ(done, static_cast<int>(inputs.size()) + 1);
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        if (inputs[i] == overflow) {
            EXPECT_TRUE(failed[i]) << i;
            EXPECT_FALSE(answers[i].has_value()) << i;
        } else {
            EXPECT_FALSE(failed[i]) << i;
            EXPECT_EQ(answers[i], std::abs(inputs[i])) << i;
        }
    }
    EXPECT_FALSE(write_failed);
    EXPECT_EQ(sql("SELECT name FROM t WHERE id = 1").rows.at(0).get<std::string>(0), "kept");
}

// A result's rows are views of values kept together: copies and moves must carry
// them along (under ASan a dangling view fails here).
TEST_P(Database, ResultsKeepTheirRowsWhenCopiedOrMoved) {
    std::optional<db::Result> original = sql("SELECT 1 AS n, 'one' AS s UNION ALL SELECT 2, 'two' ORDER BY 1");
    db::Result copy = *original;
    db::Result moved = std::move(*original);
    original.reset();
    db::Result assigned;
    assigned = copy;
    db::Result move_assigned;
    move_assigned = std::move(assigned);
    EXPECT_TRUE(assigned.empty());  // NOLINT(bugprone-use-after-move): moved from is left empty
    assigned = copy;
    for (const db::Result* r : {&copy, &moved, &assigned, &move_assigned}) {
        ASSERT_EQ(r->rows.size(), 2u);
        EXPECT_EQ(r->rows[0].get<std::int64_t>(0), 1);
        EXPECT_EQ(r->rows[1].get<std::string>(1), "two");
        EXPECT_THROW(r->rows[1][2], std::out_of_range);
    }
}

// Reads and writes of many requests at once, over several loop turns, far more than the
// pool's pipelines hold: each gets the answer to its own statement, none waits in vain
// (through PgBouncer, statements waiting to be sent once left the pool's waiters
// unwoken until their timeout).
TEST_P(Database, ManyStatementsAtOnceEachGetTheirOwnAnswer) {
    constexpr int kWaves = 40, kPerWave = 40;
    std::vector<std::optional<std::int64_t>> answers(kWaves * kPerWave);
    int done = 0, failed = 0;
    for (int wave = 0; wave < kWaves; ++wave) {
        for (int k = 0; k < kPerWave; ++k) {
            const int i = wave * kPerWave + k;
            const bool write = i % 4 == 3;
            core::spawn(
                [](db::Database& d, bool write, std::int64_t x, std::optional<std::int64_t>& out) -> core::Task<void> {
                    db::Params params{x};
                    const db::Statement statement =
                        write ? db::Statement("INSERT INTO t (id, name) VALUES (CAST($1 AS INTEGER), NULL) RETURNING id * 2")
                              : db::reads("SELECT CAST($1 AS BIGINT) * 2");
                    out = (co_await d.query(statement, std::move(params))).rows.at(0).get<std::int64_t>(0);
                }(*database, write, i, answers[i]),
                [&](std::exception_ptr e) {
                    failed += e != nullptr;
                    ++done;
                });
        }
        ioc.poll();  // this wave leaves; the next one finds it in flight
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (done < kWaves * kPerWave && std::chrono::steady_clock::now() < deadline)
        ioc.run_one_for(std::chrono::milliseconds(100));
    ASSERT_EQ(done, kWaves * kPerWave);
    EXPECT_EQ(failed, 0);
    for (int i = 0; i < kWaves * kPerWave; ++i) EXPECT_EQ(answers[i], std::int64_t{2} * i) << i;
    EXPECT_EQ(sql("SELECT count(*) FROM t").rows.at(0).get<std::int64_t>(0), kWaves * kPerWave / 4);
}

TEST_P(Database, ABadStatementIsAnErrorNotACrash) {
    EXPECT_THROW(sql("SELEC nonsense"), db::DatabaseError);
    EXPECT_EQ(sql("SELECT 1").rows[0].get<std::int64_t>(0), 1);
}

INSTANTIATE_TEST_SUITE_P(Backends, Database, ::testing::ValuesIn(testing_support::backends()),
                         testing_support::backend_name);

}  // namespace
