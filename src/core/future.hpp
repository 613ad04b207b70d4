#pragma once
// A task started now and awaited later: lets a request send a statement, send another,
// and only then wait for both (one round trip through a PostgreSQL pipeline).

#include <coroutine>
#include <exception>
#include <memory>
#include <optional>
#include <vector>
#include <utility>

#include "core/task.hpp"

namespace core {

template <class T>
class Future {
public:
    Future() = default;

    // The task's value (a copy: a Future may be awaited more than once).
    auto operator co_await() const {
        struct Awaiter {
            std::shared_ptr<State> state;
            bool await_ready() const noexcept { return state->done; }
            void await_suspend(std::coroutine_handle<> h) noexcept { state->waiters.push_back(h); }
            T await_resume() const {
                if (state->error) std::rethrow_exception(state->error);
                return *state->value;
            }
        };
        return Awaiter{state_};
    }

    template <class U>
    friend Future<U> start(Task<U> task);

private:
    struct State {
        std::optional<T> value;
        std::exception_ptr error;
        bool done = false;
        std::vector<std::coroutine_handle<>> waiters;
    };
    explicit Future(std::shared_ptr<State> s) : state_(std::move(s)) {}
    std::shared_ptr<State> state_;
};

// Runs `task` at once, up to its first suspension; its result waits in the Future.
template <class T>
Future<T> start(Task<T> task) {
    using State = typename Future<T>::State;
    auto state = std::make_shared<State>();
    spawn([](Task<T> t, std::shared_ptr<State> s) -> Task<void> { s->value.emplace(co_await std::move(t)); }(
              std::move(task), state),
          [state](std::exception_ptr e) {
              state->error = e;
              state->done = true;
              for (auto h : std::exchange(state->waiters, {})) h.resume();
          });
    return Future<T>(std::move(state));
}

}  // namespace core
