#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <array>
#include <stdexcept>
#include <thread>
#include <vector>

#include "core/run.hpp"
#include "core/task.hpp"

namespace {

using core::Task;

Task<int> leaf(int v) { co_return v; }

Task<int> chain(int depth) {
    if (depth == 0) co_return 0;
    co_return 1 + co_await chain(depth - 1);
}

Task<int> thrower() {
    throw std::runtime_error("boom");
    co_return 0;
}

// Suspends until the io_context runs the posted resumption.
struct Yield {
    boost::asio::io_context& ioc;
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) { boost::asio::post(ioc, [h] { h.resume(); }); }
    void await_resume() const noexcept {}
};

Task<int> suspending(boost::asio::io_context& ioc) {
    co_await Yield{ioc};
    co_return co_await leaf(41) + 1;
}

TEST(Task, ReturnsTheValue) {
    boost::asio::io_context ioc;
    EXPECT_EQ(core::run_until_complete(ioc, leaf(7)), 7);
}

Task<std::int64_t> many_awaits(int count) {
    std::int64_t sum = 0;
    for (int i = 0; i < count; ++i) sum += co_await leaf(1);
    co_return sum;
}

TEST(Task, NestedTasksReturnThroughEveryLevel) {
    boost::asio::io_context ioc;
    EXPECT_EQ(core::run_until_complete(ioc, chain(1000)), 1000);
}

// Each await of a task that finished at once returns to the loop in the awaiter
// instead of nesting one more call (a million nested calls would overflow the stack).
TEST(Task, AwaitingManyFinishedTasksDoesNotGrowTheStack) {
    boost::asio::io_context ioc;
    EXPECT_EQ(core::run_until_complete(ioc, many_awaits(1000000)), 1000000);
}

TEST(Task, PropagatesExceptions) {
    boost::asio::io_context ioc;
    EXPECT_THROW(core::run_until_complete(ioc, thrower()), std::runtime_error);
}

TEST(Task, ResumesOnTheLoop) {
    boost::asio::io_context ioc;
    EXPECT_EQ(core::run_until_complete(ioc, suspending(ioc)), 42);
}

}  // namespace

namespace {

// Frames of many sizes (the locals make them), alive at once, then freed: the frame
// cache (task_frames.cpp) must hand each size back intact.
template <std::size_t N>
Task<int> sized(int seed) {
    std::array<int, N> local{};
    for (std::size_t i = 0; i < N; ++i) local[i] = seed + static_cast<int>(i);
    co_return local[N - 1] - static_cast<int>(N - 1);
}

TEST(Task, FramesAreReusedIntactAcrossSizesAndThreads) {
    for (int round = 0; round < 3; ++round) {
        std::vector<Task<int>> tasks;
        for (int i = 0; i < 200; ++i) {
            tasks.push_back(sized<4>(i));
            tasks.push_back(sized<100>(i));
            tasks.push_back(sized<700>(i));
            tasks.push_back(sized<2000>(i));  // beyond the cached sizes
        }
        boost::asio::io_context ioc;
        for (std::size_t i = 0; i < tasks.size(); ++i)
            EXPECT_EQ(core::run_until_complete(ioc, std::move(tasks[i])), static_cast<int>(i / 4));
        // Frames made here and freed on another thread go to that thread's cache.
        std::vector<Task<int>> more;
        for (int i = 0; i < 100; ++i) more.push_back(sized<100>(i));
        std::thread([&more] { more.clear(); }).join();
    }
}

}  // namespace
