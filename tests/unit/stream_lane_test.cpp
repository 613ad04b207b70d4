#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <thread>

#include "core/task.hpp"
#include "http/connection.hpp"

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

struct Lane {
    boost::asio::io_context ioc;
    std::uint64_t served = 0;  // the server's count of requests taken, as the test sets it
    http::StreamLane lane{ioc, [this] { return served; }};

    // Starts a piece's enter(); `entered` is set once it is the piece's turn.
    void enter(bool& entered) {
        core::spawn(
            [](http::StreamLane& l, bool& e) -> core::Task<void> {
                co_await l.enter();
                e = true;
            }(lane, entered),
            [](std::exception_ptr) {});
    }
};

TEST(StreamLane, WithNothingElseServedThePiecesFollowEachOtherWithoutRest) {
    Lane t;
    t.served = 5;
    bool first = false;
    t.enter(first);
    t.ioc.poll();
    ASSERT_TRUE(first);
    t.lane.leave(20ms);  // requests were served before: busy for kBusyFor
    t.ioc.poll();
    // Quiet for longer than kBusyFor: the next piece rests no more.
    std::this_thread::sleep_for(http::StreamLane::kBusyFor + 10ms);
    t.ioc.restart();
    bool second = false;
    t.enter(second);
    t.ioc.run_for(100ms);
    ASSERT_TRUE(second);
    const auto before = Clock::now();
    t.lane.leave(50ms);
    EXPECT_LE(t.lane.free_at(), before + 10ms) << "no rest while nothing else is served";
}

TEST(StreamLane, WhileOthersAreServedThePieceWaitsItsRestAndOnePieceGoesAtATime) {
    Lane t;
    bool a = false;
    bool b = false;
    t.enter(a);
    t.enter(b);
    t.ioc.poll();
    ASSERT_TRUE(a);
    EXPECT_FALSE(b) << "one piece at a time";
    t.served = 3;  // another connection's requests meanwhile
    const auto left = Clock::now();
    t.lane.leave(10ms);
    EXPECT_GE(t.lane.free_at(), left + http::StreamLane::kStreamRest * 10ms);
    t.ioc.restart();
    t.ioc.poll();
    EXPECT_FALSE(b) << "the rest is not over";
    while (!b) {
        t.ioc.restart();
        t.ioc.run_one_for(1s);
    }
    EXPECT_GE(Clock::now(), left + http::StreamLane::kStreamRest * 10ms);
    // Still within kBusyFor of the requests: a piece rests even if none came since.
    const auto left_again = Clock::now();
    t.lane.leave(10ms);
    EXPECT_GE(t.lane.free_at(), left_again + http::StreamLane::kStreamRest * 10ms);
}

}  // namespace
