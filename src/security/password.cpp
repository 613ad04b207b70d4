#include "security/password.hpp"

#include <crypt.h>
#include <pthread.h>
#include <sodium.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <boost/asio/io_context.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <coroutine>
#include <memory>
#include <optional>

#include "core/log.hpp"

namespace security {

namespace {

constexpr unsigned long long kOpsLimit = 2;
constexpr std::size_t kMemLimit = 19 * 1024 * 1024;

bool is_bcrypt(std::string_view hash) {
    return hash.size() == 60 && (hash.starts_with("$2a$") || hash.starts_with("$2b$") || hash.starts_with("$2y$"));
}

bool sodium_ready() {
    static const bool ready = sodium_init() >= 0;
    return ready;
}

// Runs `compute` on the pool, then resumes the awaiting coroutine on `loop` with its result.
template <class T, class Compute>
struct OnPool {
    std::function<void(std::function<void()>, std::function<void()>)> submit;  // compute, then deliver
    boost::asio::io_context& loop;
    Compute compute;
    std::optional<T> result;
    std::exception_ptr error;

    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) {
        // The work guard tells the loop that an answer is coming, so that it keeps
        // running (rather than finding nothing to do) until the job posts it.
        submit(
            [this] {
                try {
                    result = compute();
                } catch (...) {
                    error = std::current_exception();
                }
            },
            // The guard ends on the loop's thread: once the answer is posted this thread
            // touches nothing of the loop's, which may be gone soon after.
            [this, h, work = boost::asio::make_work_guard(loop)]() mutable {
                boost::asio::post(loop, [h, work = std::move(work)]() mutable {
                    work.reset();
                    h.resume();
                });
            });
    }
    T await_resume() {
        if (error) std::rethrow_exception(error);
        return std::move(*result);
    }
};

}  // namespace

std::string hash_password(std::string_view password) {
    if (!sodium_ready()) throw std::runtime_error("libsodium could not be initialised");
    char out[crypto_pwhash_argon2id_STRBYTES];
    if (crypto_pwhash_argon2id_str(out, password.data(), password.size(), kOpsLimit, kMemLimit) != 0)
        throw std::runtime_error("out of memory while hashing a password");
    return out;
}

bool verify_password(std::string_view password, std::string_view hash) {
    if (hash.starts_with("$argon2id$")) {
        if (!sodium_ready()) return false;
        const std::string h(hash);
        return crypto_pwhash_argon2id_str_verify(h.c_str(), password.data(), password.size()) == 0;
    }
    if (is_bcrypt(hash)) {
        // struct crypt_data is ~32 KiB: on the heap, not on a pool thread's stack.
        auto data = std::make_unique<crypt_data>();
        const std::string pw(password), setting(hash);
        const char* out = crypt_r(pw.c_str(), setting.c_str(), data.get());
        if (!out || out[0] == '*') return false;  // libxcrypt fails with a string starting with '*'
        const std::string_view computed(out);
        return computed.size() == hash.size() && sodium_memcmp(computed.data(), hash.data(), hash.size()) == 0;
    }
    return false;
}

bool needs_rehash(std::string_view hash) {
    if (!hash.starts_with("$argon2id$")) return true;
    const std::string h(hash);
    return crypto_pwhash_argon2id_str_needs_rehash(h.c_str(), kOpsLimit, kMemLimit) != 0;
}

PasswordHasher::PasswordHasher(unsigned threads, std::size_t max_queue, int nice, std::string thread_name)
    : max_queue_(max_queue) {
    if (!sodium_ready()) throw std::runtime_error("libsodium could not be initialised");
    for (unsigned i = 0; i < std::max(1u, threads); ++i)
        threads_.emplace_back([this, nice, first = i == 0, thread_name] {
            pthread_setname_np(pthread_self(), thread_name.substr(0, 15).c_str());
            // A hash takes a core for ~13 ms; under read load the loops, the database and
            // whatever else runs here compete for the cores, and logins slow down in
            // proportion. A lower niceness keeps them at their rate (bench/README.md).
            if (nice != 0 && setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), nice) != 0 && first)
                core::log::warn("PASSWORD_HASH_NICE could not be applied; hashing keeps the default priority",
                                {{"error", std::strerror(errno)}});
            work();
        });
}

PasswordHasher::~PasswordHasher() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    for (auto& t : threads_) t.join();
}

void PasswordHasher::submit(std::function<void()> compute, std::function<void()> deliver) {
    {
        std::lock_guard lock(mutex_);
        if (queue_.size() >= max_queue_) {
            ++rejected_;
            throw Overloaded();
        }
        queue_.push_back(Job{std::move(compute), std::move(deliver), std::chrono::steady_clock::now()});
    }
    wake_.notify_one();
}

void PasswordHasher::work() {
    for (;;) {
        Job job;
        {
            std::unique_lock lock(mutex_);
            wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
            if (stopping_) return;
            job = std::move(queue_.front());
            queue_.pop_front();
            ++running_;
        }
        job.compute();
        // Counted before the answer leaves: whoever gets it sees the job in the metrics.
        latency_.observe(std::chrono::steady_clock::now() - job.queued);
        {
            std::lock_guard lock(mutex_);
            --running_;
        }
        job.deliver();
    }
}

PasswordHasher::Stats PasswordHasher::stats() const {
    Stats s;
    s.latency = latency_.snapshot();
    std::lock_guard lock(mutex_);
    s.threads = threads_.size();
    s.running = running_;
    s.queued = queue_.size();
    s.rejected = rejected_;
    return s;
}

core::Task<std::string> PasswordHasher::hash(boost::asio::io_context& loop, std::string password) {
    auto compute = [&password] { return hash_password(password); };
    co_return co_await OnPool<std::string, decltype(compute)>{[this](auto compute, auto deliver) { submit(std::move(compute), std::move(deliver)); }, loop,
                                                               compute, {}, {}};
}

core::Task<bool> PasswordHasher::verify(boost::asio::io_context& loop, std::string password, std::string hash) {
    auto compute = [&password, &hash] { return verify_password(password, hash); };
    co_return co_await OnPool<bool, decltype(compute)>{[this](auto compute, auto deliver) { submit(std::move(compute), std::move(deliver)); }, loop, compute,
                                                        {}, {}};
}

core::Task<bool> PasswordHasher::verify_dummy(boost::asio::io_context& loop, std::string password) {
    auto compute = [this, &password] {
        std::call_once(dummy_once_, [this] {
            std::string random(32, '\0');
            randombytes_buf(random.data(), random.size());
            dummy_hash_ = hash_password(random);
        });
        verify_password(password, dummy_hash_);
        return false;
    };
    co_return co_await OnPool<bool, decltype(compute)>{[this](auto compute, auto deliver) { submit(std::move(compute), std::move(deliver)); }, loop, compute,
                                                        {}, {}};
}

}  // namespace security
