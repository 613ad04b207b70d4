#pragma once
// Drives a task to its end on an io_context, from code that is not a coroutine
// (main, the test client, command-line tools).

#include <optional>

#include "core/task.hpp"

namespace boost::asio {
class io_context;
}

namespace core {

// Runs `ioc` until `task` has finished; rethrows the task's exception.
void run_until_complete(boost::asio::io_context& ioc, Task<void> task);

template <class T>
T run_until_complete(boost::asio::io_context& ioc, Task<T> task) {
    std::optional<T> out;
    run_until_complete(ioc, [](Task<T> t, std::optional<T>& o) -> Task<void> {
        o.emplace(co_await std::move(t));
    }(std::move(task), out));
    return std::move(*out);
}

}  // namespace core
