#include "security/password.hpp"

#include <crypt.h>
#include <pthread.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>

#include <boost/asio/io_context.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <coroutine>
#include <memory>
#include <optional>

#include "core/log.hpp"
#include "security/sodium.hpp"

namespace security {

namespace {

// Our own argon2id parameters.
constexpr unsigned long long kOpsLimit = 2;
constexpr std::size_t kMemLimit = 19 * 1024 * 1024;

// What a stored hash may cost to verify: a login waits for it on a hashing thread.
struct StoredHashLimits {
    // bcrypt's log2 of its rounds: passlib writes 12 (~0.25 s); each step doubles the time.
    static constexpr int bcrypt_cost = 14;
    // argon2id: libsodium's "interactive" memory and argon2-cffi's default, 3.4 x ours; with
    // the passes, at most ~7 x our own hash's time.
    static constexpr std::size_t argon2_memory_kib = 64 * 1024;
    static constexpr unsigned long argon2_passes = 4;
};

// The bytes of a password bcrypt reads.
constexpr std::size_t kBcryptPasswordBytes = 72;

bool is_bcrypt(std::string_view hash) {
    return hash.size() == 60 && (hash.starts_with("$2a$") || hash.starts_with("$2b$") || hash.starts_with("$2y$"));
}

// The number after `key` ("m=") in an argon2 parameter list ("m=19456,t=2,p=1"); nullopt if
// it is not there.
std::optional<unsigned long> argon2_parameter(std::string_view params, std::string_view key) {
    for (std::size_t start = 0; start < params.size();) {
        const auto comma = std::min(params.find(',', start), params.size());
        const std::string_view item = params.substr(start, comma - start);
        if (item.starts_with(key)) {
            unsigned long value = 0;
            const auto digits = item.substr(key.size());
            const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
            if (ec != std::errc{} || end != digits.data() + digits.size()) return std::nullopt;
            return value;
        }
        start = comma + 1;
    }
    return std::nullopt;
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

std::string excessive_cost(std::string_view hash) {
    if (is_bcrypt(hash)) {
        int cost = 0;
        const auto [end, ec] = std::from_chars(hash.data() + 4, hash.data() + 6, cost);
        if (ec == std::errc{} && end == hash.data() + 6 && cost > StoredHashLimits::bcrypt_cost)
            return "bcrypt cost " + std::to_string(cost) + " is above " + std::to_string(StoredHashLimits::bcrypt_cost);
        return {};
    }
    if (hash.starts_with("$argon2id$")) {
        // $argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>
        std::string_view rest = hash.substr(10);
        if (rest.starts_with("v=")) rest.remove_prefix(std::min(rest.size(), rest.find('$') + 1));
        const std::string_view params = rest.substr(0, rest.find('$'));
        const auto memory = argon2_parameter(params, "m=");
        const auto passes = argon2_parameter(params, "t=");
        if (memory && *memory > StoredHashLimits::argon2_memory_kib)
            return "argon2id memory " + std::to_string(*memory) + " KiB is above " +
                   std::to_string(StoredHashLimits::argon2_memory_kib);
        if (passes && *passes > StoredHashLimits::argon2_passes)
            return "argon2id passes " + std::to_string(*passes) + " are above " +
                   std::to_string(StoredHashLimits::argon2_passes);
    }
    return {};
}

bool verify_password(std::string_view password, std::string_view hash) {
    if (!excessive_cost(hash).empty()) return false;
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

bool needs_rehash(std::string_view hash, std::string_view password) {
    if (is_bcrypt(hash) && password.size() > kBcryptPasswordBytes) return false;
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
            // A hash takes a core for milliseconds; under read load the loops, the database
            // and whatever else runs here compete for the cores, and logins slow down in
            // proportion. A lower niceness keeps them at their rate.
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
    auto compute = [this, &password, &hash] {
        // A hash too costly to check fails in a wrong password's time.
        if (!excessive_cost(hash).empty()) {
            verify_password(password, dummy_hash());
            return false;
        }
        return verify_password(password, hash);
    };
    co_return co_await OnPool<bool, decltype(compute)>{[this](auto compute, auto deliver) { submit(std::move(compute), std::move(deliver)); }, loop, compute,
                                                        {}, {}};
}

const std::string& PasswordHasher::dummy_hash() {
    std::call_once(dummy_once_, [this] {
        std::string random(32, '\0');
        randombytes_buf(random.data(), random.size());
        dummy_hash_ = hash_password(random);
    });
    return dummy_hash_;
}

core::Task<bool> PasswordHasher::verify_dummy(boost::asio::io_context& loop, std::string password) {
    auto compute = [this, &password] {
        verify_password(password, dummy_hash());
        return false;
    };
    co_return co_await OnPool<bool, decltype(compute)>{[this](auto compute, auto deliver) { submit(std::move(compute), std::move(deliver)); }, loop, compute,
                                                        {}, {}};
}

}  // namespace security
