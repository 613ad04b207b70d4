#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <optional>

#include "core/task.hpp"
#include "http/stream_lane.hpp"

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
constexpr auto kRest = http::StreamLane::kStreamRest * 10ms;  // after a piece of 10 ms

struct Lane {
    boost::asio::io_context ioc;
    std::uint64_t served = 0;  // the server's count of requests answered, as the test sets it
    http::StreamLane lane{ioc, [this] { return served; }};

    // Starts a piece's enter(); `turn` is set once the piece may go (to what enter() said).
    void enter(std::optional<bool>& turn) {
        core::spawn(
            [](http::StreamLane& l, std::optional<bool>& t) -> core::Task<void> {
                t = co_await l.enter();
            }(lane, turn),
            [](std::exception_ptr) {});
    }
    void run_until(const std::optional<bool>& a, const std::optional<bool>& b) {
        for (int i = 0; i < 1000 && !a && !b; ++i) {
            ioc.restart();
            ioc.run_one_for(10ms);
        }
    }
};

TEST(StreamLane, WithNothingElseServedPiecesGoAtOnceAndTogether) {
    Lane t;
    std::optional<bool> a;
    std::optional<bool> b;
    t.enter(a);
    t.enter(b);
    t.ioc.poll();
    ASSERT_TRUE(a && b) << "neither waits";
    EXPECT_FALSE(*a);
    EXPECT_FALSE(*b);
    t.lane.leave(50ms, false);
    t.lane.leave(50ms, false);
    std::optional<bool> c;
    t.enter(c);
    t.ioc.restart();
    t.ioc.poll();
    EXPECT_TRUE(c) << "no rest while nothing else is served";
}

TEST(StreamLane, WhileOthersAreServedPiecesRestAndTakeTurnsOneAtATime) {
    Lane t;
    std::optional<bool> first;
    t.enter(first);
    t.ioc.poll();
    ASSERT_TRUE(first);
    t.served = 3;  // another connection's requests meanwhile
    const auto left = Clock::now();
    t.lane.leave(10ms, *first);

    std::optional<bool> a;
    std::optional<bool> b;
    t.enter(a);
    t.enter(b);
    t.ioc.restart();
    t.ioc.poll();
    EXPECT_FALSE(a || b) << "the rest is not over";
    t.run_until(a, b);
    ASSERT_TRUE(a || b);
    EXPECT_GE(Clock::now(), left + kRest);
    EXPECT_FALSE(a && b) << "one piece at a time";
    auto& in = a ? a : b;
    auto& out = a ? b : a;
    EXPECT_TRUE(*in) << "it took a turn";

    // Within kBusyFor of those requests: the next rests too, though none came since.
    const auto left_again = Clock::now();
    t.lane.leave(10ms, *in);
    t.ioc.restart();
    t.ioc.poll();
    EXPECT_FALSE(out);
    std::optional<bool> none;
    t.run_until(out, none);
    ASSERT_TRUE(out);
    EXPECT_GE(Clock::now(), left_again + kRest);
}

}  // namespace
