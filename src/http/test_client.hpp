#pragma once
// Calls an App in process, without a socket, as httpx's ASGI transport does for
// FastAPI: the whole request path runs (request id, routing, validation, errors,
// access log), on an io_context of the client's own.

#include <boost/json/value.hpp>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "http/app.hpp"

namespace http {

class TestClient {
public:
    TestClient(App& app, const WorkerInit& init);
    ~TestClient();

    using HeaderList = std::vector<std::pair<std::string, std::string>>;

    Response request(std::string_view method, std::string_view target, std::string body = {},
                     const HeaderList& headers = {});
    Response get(std::string_view target, const HeaderList& headers = {}) { return request("GET", target, {}, headers); }
    Response del(std::string_view target, const HeaderList& headers = {}) {
        return request("DELETE", target, {}, headers);
    }
    // A JSON body (content-type application/json).
    Response post(std::string_view target, std::string json, HeaderList headers = {});
    Response patch(std::string_view target, std::string json, HeaderList headers = {});
    // An urlencoded form body.
    Response post_form(std::string_view target, std::string form, HeaderList headers = {});

    // The client address the next requests come from ("testclient" at first).
    void set_remote_address(std::string address) { remote_address_ = std::move(address); }

    WorkerState* worker() const { return state_.get(); }
    // Runs a task on the client's loop to its end (set-up that goes through the worker's state).
    void run(core::Task<void> task);
    // Runs whatever is ready on the client's loop (connections coming up, ...) without waiting.
    void poll();

private:
    struct Loop;
    App& app_;
    std::unique_ptr<Loop> loop_;
    std::unique_ptr<WorkerState> state_;
    std::string remote_address_ = "testclient";  // what Starlette's TestClient reports
};

// The response body parsed as JSON (a null value if it is not JSON).
boost::json::value json_of(const Response& response);

}  // namespace http
