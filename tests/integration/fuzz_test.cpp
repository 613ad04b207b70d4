// Thousands of randomly mutated requests (methods, targets, headers, bodies, forms) at
// the in-process app on each database: every answer is a 2xx, 4xx or 503 whose body is
// strict JSON (or empty for 204), never a 500 and never a crash. The generator is
// seeded, so a failure names a request that can be replayed.

#include <cstdlib>
#include <random>

#include "api_support.hpp"
#include "core/json_text.hpp"

namespace {

namespace json = boost::json;
using testing_support::ApiTest;

struct Seed {
    std::string method;
    std::string target;
    std::string content_type;
    std::string body;
    bool authorized;
};

// Valid requests for every route; the mutations start from these.
std::vector<Seed> seeds(std::int64_t item) {
    const std::string id = std::to_string(item);
    const std::string js = "application/json", form = "application/x-www-form-urlencoded";
    return {
        {"POST", "/auth/register", js, R"({"email": "new@example.com", "password": "secret123"})", false},
        {"POST", "/auth/token", form, "username=fuzz@example.com&password=secret123", false},
        {"POST", "/auth/token", "multipart/form-data; boundary=b",
         "--b\r\nContent-Disposition: form-data; name=\"username\"\r\n\r\nfuzz@example.com\r\n--b\r\n"
         "Content-Disposition: form-data; name=\"password\"\r\n\r\nsecret123\r\n--b--\r\n",
         false},
        {"GET", "/users/me", "", "", true},
        {"GET", "/users/1", "", "", true},
        {"POST", "/items/", js, R"({"title": "t", "description": "d"})", true},
        {"GET", "/items/?skip=0&limit=5", "", "", true},
        {"GET", "/items/" + id, "", "", true},
        {"PATCH", "/items/" + id, js, R"({"title": "u", "description": null})", true},
        {"DELETE", "/items/" + id, "", "", true},
        {"GET", "/health", "", "", false},
    };
}

class Mutator {
public:
    explicit Mutator(std::uint32_t seed) : rng_(seed) {}

    std::size_t below(std::size_t n) { return n == 0 ? 0 : std::uniform_int_distribution<std::size_t>(0, n - 1)(rng_); }
    bool chance(int percent) { return below(100) < static_cast<std::size_t>(percent); }

    template <class T>
    const T& pick(const std::vector<T>& from) { return from[below(from.size())]; }

    // A few random edits of `s`.
    std::string mutate(std::string s) {
        static const std::vector<std::string> pieces = {
            "\\u0000", "%00", std::string(1, '\0'), "\xff", "\xc3", "\xed\xa0\x80", "\\ud800", "\"", "\\", "{", "}", "[", "]", ",",
            ":", "null", "true", "1e400", "-1e400", "123456789012345678901234567890", "-0", "0.5", "&", "=", "%",
            "%zz", "+", "\r\n", "--b", "\r\n--b--", std::string(300, 'a'), std::string(40, '['), "\"title\":",
            "\"description\":", "\"email\":", "@", "é", "Ａ"};
        const std::size_t edits = 1 + below(4);
        for (std::size_t i = 0; i < edits; ++i) {
            const std::size_t at = below(s.size() + 1);
            switch (below(6)) {
                case 0: s.insert(at, pick(pieces)); break;                                       // insert a piece
                case 1: if (at < s.size()) s[at] = static_cast<char>(below(256)); break;          // change a byte
                case 2: s.erase(at, below(8)); break;                                            // delete a few
                case 3: s.insert(at, s.substr(below(s.size() + 1), below(16))); break;           // repeat a part
                case 4: s.resize(at); break;                                                     // truncate
                default: s.insert(at, 1, static_cast<char>(below(256))); break;                  // insert a byte
            }
        }
        return s;
    }

private:
    std::mt19937 rng_;
};

class Fuzz : public ApiTest {
protected:
    // Real limits, so that guesses soon get 429 instead of costing a hash each.
    Fuzz() : ApiTest({{"LOGIN_MAX_FAILURES", "5"}, {"PASSWORD_HASH_QUEUE", "1000"}}) {}
};

TEST_P(Fuzz, EveryAnswerToAMutatedRequestIsJsonWithA2xx4xxOr503) {
    const std::string token = user_token("fuzz@example.com");
    const auto made = client.post("/items/", R"({"title": "seed"})", bearer(token));
    ASSERT_EQ(made.status, 201);
    const auto all = seeds(body(made).at("id").as_int64());
    const std::vector<std::string> methods = {"GET", "POST", "PATCH", "DELETE", "PUT", "HEAD", "OPTIONS", "get", "X"};
    const std::vector<std::string> types = {"application/json", "application/x-www-form-urlencoded", "text/plain",
                                            "multipart/form-data; boundary=b", "multipart/form-data",
                                            "application/vnd.api+json", "application/json; charset=latin-1", ""};

    // ITEMS_FUZZ_SEED explores other requests; the default is the one CI replays.
    const char* seed = std::getenv("ITEMS_FUZZ_SEED");
    Mutator m(seed ? static_cast<std::uint32_t>(std::stoul(seed)) : 20261129u);
    constexpr int kRequests = 2500;
    for (int n = 0; n < kRequests; ++n) {
        Seed s = m.pick(all);
        if (m.chance(10)) s.method = m.pick(methods);
        if (m.chance(30)) s.target = m.mutate(s.target);
        if (m.chance(15)) s.content_type = m.pick(types);
        if (m.chance(75)) s.body = m.mutate(s.body);
        http::TestClient::HeaderList headers;
        if (!s.content_type.empty()) headers.emplace_back("content-type", s.content_type);
        if (s.authorized || m.chance(10))
            headers.emplace_back("authorization", m.chance(10) ? m.mutate("Bearer " + token) : "Bearer " + token);
        if (m.chance(5)) headers.emplace_back(m.mutate("x-custom"), m.mutate("value"));
        if (m.chance(5)) headers.emplace_back("x-request-id", m.mutate("abc-123"));
        client.set_remote_address("10.0." + std::to_string(m.below(4)) + ".1");

        const auto r = client.request(s.method, s.target, s.body, headers);
        const std::string what = "request " + std::to_string(n) + ": " + s.method + " " + s.target + " body " +
                                 json::serialize(json::string(core::utf8_sanitized(s.body))) + " -> " +
                                 std::to_string(r.status) + " " + r.body;
        ASSERT_TRUE((r.status >= 200 && r.status < 300) || (r.status >= 400 && r.status < 500) || r.status == 503)
            << what;
        if (r.status == 204) {
            EXPECT_TRUE(r.body.empty()) << what;
            continue;
        }
        boost::system::error_code ec;
        const auto v = json::parse(r.body, ec);
        ASSERT_FALSE(ec) << "not JSON: " << what;
        ASSERT_TRUE(v.is_object() || v.is_array()) << what;
        if (r.status >= 400) {
            ASSERT_TRUE(v.as_object().contains("detail") || r.status == 503) << what;
        }
    }
}

INSTANTIATE_TEST_SUITE_P(Backends, Fuzz, ::testing::ValuesIn(testing_support::backends()),
                         testing_support::backend_name);

}  // namespace
