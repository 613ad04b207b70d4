// The hedged-read policy on made-up times (no clock, no PostgreSQL), and the one primitive
// that carries it out: an answer that resumes its waiter once, whoever delivers first.

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <vector>

#include "core/run.hpp"
#include "db/postgres/hedged_read.hpp"
#include "db/postgres/stall_policy.hpp"

namespace {

using namespace std::chrono_literals;
using db::postgres::Tuning;
namespace policy = db::postgres::stall_policy;
using Place = policy::Place;

const auto t0 = db::postgres::Clock::time_point{} + 1h;  // any time: the policy reads none of its own

TEST(StallPolicy, AConnectionStallsAfterTwentyMillisecondsAndEightTimesTheUsual) {
    EXPECT_FALSE(policy::stalled(t0 + 19ms, t0, 0ms));
    EXPECT_TRUE(policy::stalled(t0 + 20ms, t0, 0ms));
    EXPECT_TRUE(policy::stalled(t0 + 20ms, t0, 2ms)) << "8 x 2 ms is under 20 ms";
    EXPECT_FALSE(policy::stalled(t0 + 30ms, t0, 5ms)) << "a statement of 5 ms is merely slow at 30 ms";
    EXPECT_TRUE(policy::stalled(t0 + 40ms, t0, 5ms));
}

policy::QueuedRead cheap_read() {
    policy::QueuedRead read;
    read.hedgeable = true;
    read.usual = 500us;
    return read;
}

TEST(StallPolicy, OnlyACheapReadIsHedged) {
    EXPECT_TRUE(policy::hedge(cheap_read()));
    auto read = cheap_read();
    read.usual = Tuning::cheap_read;
    EXPECT_TRUE(policy::hedge(read)) << "at the limit";
    read.usual = Tuning::cheap_read + 1us;
    EXPECT_FALSE(policy::hedge(read)) << "costly: running it twice costs the database twice";
    read.usual.reset();
    EXPECT_FALSE(policy::hedge(read)) << "its cost is known nowhere";
    read = cheap_read();
    read.hedgeable = false;
    EXPECT_FALSE(policy::hedge(read)) << "a write, a transaction's statement, many rows";
}

TEST(StallPolicy, AReadIsHedgedOnceAtATimeAndAChainEnds) {
    auto read = cheap_read();
    read.answered = true;
    EXPECT_FALSE(policy::hedge(read));
    read = cheap_read();
    read.hedge_out = true;
    EXPECT_FALSE(policy::hedge(read));
    read = cheap_read();
    read.usual.reset();
    read.hedges = 1;
    EXPECT_TRUE(policy::hedge(read)) << "a hedge was judged cheap where it came from";
    read.hedges = Tuning::max_hedges;
    EXPECT_FALSE(policy::hedge(read));
}

TEST(StallPolicy, AHedgeGoesWhereABackendAnsweredLatelyThenToAnotherThreadThenAnywhere) {
    const auto now = t0 + 1s;
    std::vector<policy::Candidate> candidates{
        {true, now - 100ms, 0},  // idle a while: its backend may be starved unseen
        {true, now - 5ms, 9},    // answered lately, busier
        {true, now - 1ms, 3},    // answered lately, the least busy of those
        {false, now, 0},         // not usable (stalled, in a transaction, down, full)
    };
    auto p = policy::place(now, candidates, true);
    EXPECT_EQ(p.kind, Place::Kind::this_thread);
    EXPECT_EQ(p.candidate, 2u);

    candidates[1].last_answer = candidates[2].last_answer = now - Tuning::stall_after - 1ms;
    p = policy::place(now, candidates, true);
    EXPECT_EQ(p.kind, Place::Kind::other_thread) << "none answered lately: this thread's may be starved together";
    p = policy::place(now, candidates, false);
    EXPECT_EQ(p.kind, Place::Kind::this_thread) << "no other thread (or tried): any usable one";
    EXPECT_EQ(p.candidate, 0u);

    for (auto& c : candidates) c.usable = false;
    EXPECT_EQ(policy::place(now, candidates, false).kind, Place::Kind::nowhere);
}

// (Asked only when the connection the pool gives is stalled: every one of the thread's.)
TEST(StallPolicy, AReadOfAThreadWhollyStalledGoesToAnotherThreadFirst) {
    EXPECT_TRUE(policy::read_elsewhere_first(true, true));
    EXPECT_FALSE(policy::read_elsewhere_first(false, true)) << "a write, or many rows, stays";
    EXPECT_FALSE(policy::read_elsewhere_first(true, false)) << "no other thread";
}

db::Result rows_of(std::int64_t n) {
    db::Result r;
    r.columns = {"n"};
    r.append(n);
    r.end_row();
    r.finish();
    return r;
}

// Whoever delivers first (the connection's answer, a hedge, the deadline) is what the
// waiter gets, and it is resumed once.
TEST(Answer, TheFirstDeliveryWinsAndResumesTheWaiterOnce) {
    boost::asio::io_context loop;
    db::postgres::Answer answer;
    int resumed = 0;
    std::int64_t got = 0;
    core::spawn(
        [](db::postgres::Answer& a, int& resumed, std::int64_t& got) -> core::Task<void> {
            co_await a.wait();
            ++resumed;
            got = a.outcome().take().rows.at(0).get<std::int64_t>(0);
        }(answer, resumed, got),
        [](std::exception_ptr e) { EXPECT_FALSE(e); });
    EXPECT_TRUE(answer.deliver(db::postgres::Outcome::of(rows_of(7)), loop));
    EXPECT_FALSE(answer.deliver(db::postgres::Outcome::of(rows_of(8)), loop)) << "a second answer is dropped";
    EXPECT_FALSE(answer.deliver(db::postgres::Outcome::failed(db::DatabaseError(db::DatabaseError::Kind::timeout, "late")), loop));
    EXPECT_EQ(resumed, 0) << "resumed on a fresh turn of its loop, not inside deliver";
    loop.run();
    EXPECT_EQ(resumed, 1);
    EXPECT_EQ(got, 7);
}

TEST(Answer, ADeliveryBeforeTheWaitIsTakenAtOnce) {
    boost::asio::io_context loop;
    db::postgres::Answer answer;
    answer.deliver(db::postgres::Outcome::failed(db::DatabaseError(db::DatabaseError::Kind::timeout, "too late")), loop);
    bool threw = false;
    core::run_until_complete(loop, [](db::postgres::Answer& a, bool& threw) -> core::Task<void> {
        co_await a.wait();
        try {
            a.outcome().take();
        } catch (const db::DatabaseError&) {
            threw = true;
        }
    }(answer, threw));
    EXPECT_TRUE(threw);
}

}  // namespace
