#pragma once
// Awaiting an Asio operation from a core::Task, for the few sources that do I/O
// (the HTTP server, the PostgreSQL backend). Include only in .cpp files: it brings Asio.

#include <boost/system/error_code.hpp>
#include <coroutine>
#include <cstddef>
#include <utility>

namespace core {

// Awaits the operation that `init(handler)` starts, where the handler takes
// (error_code, std::size_t); yields both. Asio never runs a handler inside the call
// that starts the operation, so resuming from the handler is safe.
template <class Init>
auto async_op(Init init) {
    struct Awaiter {
        Init init;
        boost::system::error_code ec{};
        std::size_t bytes = 0;
        bool await_ready() const noexcept { return false; }
        void await_suspend(std::coroutine_handle<> h) {
            init([this, h](boost::system::error_code e, std::size_t n) {
                ec = e;
                bytes = n;
                h.resume();
            });
        }
        std::pair<boost::system::error_code, std::size_t> await_resume() const { return {ec, bytes}; }
    };
    return Awaiter{std::move(init), {}, 0};
}

// The same for operations whose handler takes only an error_code (waits, accepts).
template <class Init>
auto async_wait_op(Init init) {
    return async_op([init = std::move(init)](auto cb) mutable {
        init([cb = std::move(cb)](boost::system::error_code e) mutable { cb(e, 0); });
    });
}

}  // namespace core
