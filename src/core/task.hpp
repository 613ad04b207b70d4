#pragma once
// A lazy coroutine task: the one coroutine type of every layer.
//
// Asio's awaitable<T> would pull Asio into every header that declares a handler
// or a query; this small type keeps those headers light.
//
// Awaiting a task runs it at once; if it finishes without suspending (SQLite, a
// failed validation) the awaiting coroutine simply goes on, so a loop awaiting
// many such tasks uses constant stack even where the compiler does not turn
// symmetric transfer into a tail call (sanitizer builds). A task that suspends
// resumes its awaiter when it ends.

#include <atomic>
#include <coroutine>
#include <cstddef>
#include <exception>
#include <functional>
#include <utility>
#include <variant>

namespace core {

template <class T = void>
class Task;

namespace detail {

// Coroutine frames come from a per-thread cache of freed frames (task_frames.cpp).
void* frame_allocate(std::size_t size);
void frame_free(void* p, std::size_t size) noexcept;

struct PromiseBase {
    static void* operator new(std::size_t size) { return frame_allocate(size); }
    static void operator delete(void* p, std::size_t size) noexcept { frame_free(p, size); }

    std::coroutine_handle<> continuation = std::noop_coroutine();
    // Set by whichever comes second of "the task ended" and "the awaiter suspended";
    // that one resumes the awaiter.
    std::atomic<bool> rendezvous{false};

    struct FinalAwaiter {
        bool await_ready() const noexcept { return false; }
        template <class P>
        std::coroutine_handle<> await_suspend(std::coroutine_handle<P> h) noexcept {
            auto& p = h.promise();
            if (p.rendezvous.exchange(true, std::memory_order_acq_rel)) return p.continuation;
            return std::noop_coroutine();  // ended inside the awaiter's await_suspend: it goes on by itself
        }
        void await_resume() const noexcept {}
    };

    std::suspend_always initial_suspend() const noexcept { return {}; }
    FinalAwaiter final_suspend() const noexcept { return {}; }
};

template <class T>
struct Promise : PromiseBase {
    std::variant<std::monostate, T, std::exception_ptr> result;

    Task<T> get_return_object() noexcept;
    template <class U>
    void return_value(U&& value) {
        result.template emplace<1>(std::forward<U>(value));
    }
    void unhandled_exception() noexcept { result.template emplace<2>(std::current_exception()); }

    T take() {
        if (result.index() == 2) std::rethrow_exception(std::get<2>(result));
        return std::move(std::get<1>(result));
    }
};

template <>
struct Promise<void> : PromiseBase {
    std::exception_ptr error;

    Task<void> get_return_object() noexcept;
    void return_void() noexcept {}
    void unhandled_exception() noexcept { error = std::current_exception(); }

    void take() {
        if (error) std::rethrow_exception(error);
    }
};

}  // namespace detail

template <class T>
class [[nodiscard]] Task {
public:
    using promise_type = detail::Promise<T>;
    using value_type = T;

    Task() = default;
    explicit Task(std::coroutine_handle<promise_type> h) noexcept : handle_(h) {}
    Task(Task&& other) noexcept : handle_(std::exchange(other.handle_, {})) {}
    Task& operator=(Task&& other) noexcept {
        if (this != &other) {
            if (handle_) handle_.destroy();
            handle_ = std::exchange(other.handle_, {});
        }
        return *this;
    }
    Task(const Task&) = delete;
    Task& operator=(const Task&) = delete;
    ~Task() {
        if (handle_) handle_.destroy();
    }

    bool valid() const noexcept { return static_cast<bool>(handle_); }

    auto operator co_await() && noexcept {
        struct Awaiter {
            std::coroutine_handle<promise_type> handle;
            bool await_ready() const noexcept { return false; }
            bool await_suspend(std::coroutine_handle<> awaiting) noexcept {
                auto& p = handle.promise();
                p.continuation = awaiting;
                handle.resume();
                // false: the task has already ended, so the awaiter goes on without suspending.
                return !p.rendezvous.exchange(true, std::memory_order_acq_rel);
            }
            T await_resume() { return handle.promise().take(); }
        };
        return Awaiter{handle_};
    }

private:
    std::coroutine_handle<promise_type> handle_;
};

namespace detail {
template <class T>
Task<T> Promise<T>::get_return_object() noexcept {
    return Task<T>{std::coroutine_handle<Promise<T>>::from_promise(*this)};
}
inline Task<void> Promise<void>::get_return_object() noexcept {
    return Task<void>{std::coroutine_handle<Promise<void>>::from_promise(*this)};
}
}  // namespace detail

// Starts a task that nobody awaits; `done` receives its exception (or null) when it ends.
// The caller keeps whatever the task refers to alive until then.
void spawn(Task<void> task, std::function<void(std::exception_ptr)> done);

}  // namespace core
