#pragma once
// Password hashes: argon2id (libsodium) for new ones; bcrypt hashes of the original
// service (passlib's $2a$/$2b$/$2y$) still verify (libxcrypt), to be replaced on the
// next successful login. Hashing is slow by design, so it runs on a bounded pool of
// its own threads and the event loop only awaits the answer.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/histogram.hpp"
#include "core/task.hpp"

namespace boost::asio {
class io_context;
}

namespace security {

// argon2id with OWASP's minimum parameters (19 MiB, 2 passes): libsodium's
// "interactive" limit (64 MiB per hash) would make each hashing thread cost more than
// the whole service otherwise does.
std::string hash_password(std::string_view password);
// False for a wrong password, for a hash it cannot read and for one whose cost is
// excessive (below); compares in constant time.
bool verify_password(std::string_view password, std::string_view hash);
// Why checking a password against `hash` would cost more than a login may: a bcrypt cost
// above 14, an argon2id hash of more than 64 MiB or 4 passes (a row written by hand or by
// another system: a $2b$31$ hash would keep a hashing thread busy for days). Empty when
// it is within those bounds.
std::string excessive_cost(std::string_view hash);
// True for bcrypt and for argon2id made with other parameters, so that the next successful
// login replaces it; never for a bcrypt hash checked with a password longer than the 72
// bytes bcrypt reads (passlib as well): only its first 72 bytes matched, and a hash of
// the whole of it would lock out the password the user really has.
bool needs_rehash(std::string_view hash, std::string_view password);

// The hashing pool is full: the caller should answer 503 rather than queue more.
struct Overloaded : std::runtime_error {
    Overloaded() : std::runtime_error("password hashing queue is full") {}
};

class PasswordHasher {
public:
    // `nice`: the threads' niceness (setpriority); one below 0 needs CAP_SYS_NICE, and
    // without it the threads keep the process's, with a warning naming the setting.
    // `thread_name`: what top -H shows for the hashing threads (15 characters at most).
    PasswordHasher(unsigned threads, std::size_t max_queue, int nice = 0, std::string thread_name = "hash");
    ~PasswordHasher();
    PasswordHasher(const PasswordHasher&) = delete;
    PasswordHasher& operator=(const PasswordHasher&) = delete;

    // Each resumes the awaiting coroutine on `loop`. They throw Overloaded when
    // `max_queue` jobs are already waiting.
    core::Task<std::string> hash(boost::asio::io_context& loop, std::string password);
    // A hash of excessive cost is not checked: false, in the time a wrong password takes.
    core::Task<bool> verify(boost::asio::io_context& loop, std::string password, std::string hash);
    // Verifies against a hash of a password nobody has: takes as long as a real check,
    // so a login for an unknown e-mail cannot be told apart by its timing.
    core::Task<bool> verify_dummy(boost::asio::io_context& loop, std::string password);

    // For metrics; callable from any thread.
    struct Stats {
        std::size_t threads = 0;
        std::size_t running = 0;         // jobs on a thread now
        std::size_t queued = 0;          // jobs waiting for a thread
        std::uint64_t rejected = 0;      // jobs refused with Overloaded, ever
        core::HistogramCounts latency;   // from queueing to result: what a login waits
    };
    Stats stats() const;

private:
    // Runs `compute` on a pool thread, then `deliver` (which hands the answer over).
    void submit(std::function<void()> compute, std::function<void()> deliver);
    void work();
    // A hash of a password nobody has, made on first use (on a pool thread).
    const std::string& dummy_hash();

    mutable std::mutex mutex_;
    std::condition_variable wake_;
    struct Job {
        std::function<void()> compute, deliver;
        std::chrono::steady_clock::time_point queued;
    };
    std::deque<Job> queue_;
    std::size_t max_queue_;
    std::size_t running_ = 0;
    std::uint64_t rejected_ = 0;
    core::Histogram latency_;
    bool stopping_ = false;
    std::once_flag dummy_once_;
    std::string dummy_hash_;
    std::vector<std::thread> threads_;
};

}  // namespace security
