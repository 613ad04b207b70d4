#include "core/run.hpp"

#include <boost/asio/io_context.hpp>
#include <stdexcept>

namespace core {

namespace {
// The frame of a spawned task's driver: starts at once and frees itself at the end.
struct Detached {
    struct promise_type {
        Detached get_return_object() noexcept { return {}; }
        std::suspend_never initial_suspend() const noexcept { return {}; }
        std::suspend_never final_suspend() const noexcept { return {}; }
        void return_void() noexcept {}
        void unhandled_exception() noexcept { std::terminate(); }
    };
};

Detached drive(Task<void> task, std::function<void(std::exception_ptr)> done) {
    std::exception_ptr error;
    try {
        co_await std::move(task);
    } catch (...) {
        error = std::current_exception();
    }
    done(error);
}
}  // namespace

void spawn(Task<void> task, std::function<void(std::exception_ptr)> done) {
    drive(std::move(task), std::move(done));
}

void run_until_complete(boost::asio::io_context& ioc, Task<void> task) {
    bool finished = false;
    std::exception_ptr error;
    spawn(std::move(task), [&](std::exception_ptr e) {
        finished = true;
        error = e;
    });
    while (!finished) {
        if (ioc.stopped()) ioc.restart();
        if (ioc.run_one() == 0 && !finished)
            throw std::logic_error("task suspended with no pending work on its io_context");
    }
    if (error) std::rethrow_exception(error);
}

}  // namespace core
