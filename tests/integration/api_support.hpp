#pragma once
// A migrated service on a fresh database of each backend, with helpers that read as
// the original's tests: register, log in, call with the token.

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>
#include <utility>
#include <vector>

#include "api/deps.hpp"
#include "support.hpp"

namespace testing_support {

inline boost::json::value compat_fixture() {
    std::ifstream in(std::string(ITEMS_FIXTURES_DIR) + "/compat.json");
    std::stringstream ss;
    ss << in.rdbuf();
    return boost::json::parse(ss.str());
}

// Starts a login (POST /auth/token) for each form body at once on the client's loop, all
// from one client address ("flood"); returns each one's status and body, in the order
// they were answered.
inline std::vector<std::pair<int, std::string>> at_once(http::App& app, http::TestClient& client,
                                                        const std::vector<std::string>& forms) {
    std::vector<http::Request> requests(forms.size());
    std::vector<std::pair<int, std::string>> answers;
    for (std::size_t i = 0; i < forms.size(); ++i) {
        http::Request& req = requests[i];
        req.method = "POST";
        req.set_target("/auth/token");
        req.headers.add("content-type", "application/x-www-form-urlencoded");
        req.body = forms[i];
        req.remote_address = "flood";
        core::spawn([](http::App& a, http::Request& r, http::WorkerState* w,
                       std::vector<std::pair<int, std::string>>& out) -> core::Task<void> {
            const auto response = co_await a.handle(r, w);
            out.emplace_back(response.status, response.body);
        }(app, req, client.worker(), answers),
                    [](std::exception_ptr) {});
    }
    for (int i = 0; i < 4000 && answers.size() < requests.size(); ++i) {
        client.poll();
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return answers;
}

class ApiTest : public ::testing::TestWithParam<std::string> {
protected:
    explicit ApiTest(config::Environment extra = {{"LOGIN_MAX_FAILURES", "1000"},
                                                  {"LOGIN_MAX_FAILURES_PER_CLIENT", "1000"}})
        : fresh(GetParam()), sut(fresh.url(), with_key(std::move(extra))), client(*sut.client) {}

    static config::Environment with_key(config::Environment env) {
        env.emplace("SECRET_KEY", std::string(compat_fixture().at("secret_key").as_string()));
        return env;
    }

    static http::TestClient::HeaderList bearer(const std::string& token) {
        return {{"Authorization", "Bearer " + token}};
    }
    static boost::json::value body(const http::Response& r) { return boost::json::parse(r.body); }

    http::Response register_user(const std::string& email, const std::string& password = "secret123") {
        return client.post("/auth/register",
                           boost::json::serialize(boost::json::object{{"email", email}, {"password", password}}));
    }
    http::Response login(const std::string& email, const std::string& password = "secret123") {
        return client.post_form("/auth/token", "username=" + email + "&password=" + password);
    }
    // Registers and logs in; returns the access token.
    std::string user_token(const std::string& email, const std::string& password = "secret123") {
        EXPECT_EQ(register_user(email, password).status, 201);
        const auto r = login(email, password);
        EXPECT_EQ(r.status, 200) << r.body;
        return std::string(body(r).at("access_token").as_string());
    }
    db::Database& database() { return *static_cast<api::ThreadState*>(client.worker())->database; }
    // Runs SQL on the service's own database connection (set-up only).
    db::Result sql(std::string text, db::Params params = {}) {
        db::Result out;
        client.run([](db::Database& d, std::string t, db::Params p, db::Result& o) -> core::Task<void> {
            o = co_await d.query(t, std::move(p));
        }(database(), std::move(text), std::move(params), out));
        return out;
    }

    FreshDatabase fresh;
    ServiceUnderTest sut;
    http::TestClient& client;
};

}  // namespace testing_support
