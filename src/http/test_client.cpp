#include "http/test_client.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>

#include <utility>

#include "core/run.hpp"
#include "core/task.hpp"

namespace http {

struct TestClient::Loop {
    boost::asio::io_context ioc{1};
};

TestClient::TestClient(App& app, const WorkerInit& init) : app_(app), loop_(std::make_unique<Loop>()) {
    if (init) state_ = init(loop_->ioc);
}

TestClient::~TestClient() {
    state_.reset();  // before the loop its connections are registered with
    // Let what the state cancelled finish, so that nothing is left holding memory.
    loop_->ioc.restart();
    while (loop_->ioc.poll() > 0) {
    }
}

Response TestClient::request(std::string_view method, std::string_view target, std::string body,
                             const HeaderList& headers) {
    Request req;
    req.method = std::string(method);
    req.set_target(target);
    for (const auto& [k, v] : headers) req.headers.add(k, v);
    req.body = std::move(body);
    req.remote_address = remote_address_;
    Response response = core::run_until_complete(loop_->ioc, app_.handle(req, state_.get()));
    // A streamed body, read whole (an exception from it reaches the test).
    if (auto stream = std::exchange(response.stream, nullptr)) {
        core::run_until_complete(loop_->ioc, [](BodyStream& s, std::string& body) -> core::Task<void> {
            while (co_await s.next(body)) {
            }
        }(*stream, response.body));
    }
    // What the server would write, as the client would read it.
    for (std::string_view rest = response.constant_headers; !rest.empty();) {
        const auto end = rest.find("\r\n");
        const std::string_view line = rest.substr(0, end);
        const auto colon = line.find(": ");
        response.headers.add(line.substr(0, colon), line.substr(colon + 2));
        rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 2);
    }
    response.constant_headers = {};
    return response;
}

void TestClient::run(core::Task<void> task) { core::run_until_complete(loop_->ioc, std::move(task)); }

void TestClient::poll() {
    if (loop_->ioc.stopped()) loop_->ioc.restart();
    loop_->ioc.poll();
}

Response TestClient::post(std::string_view target, std::string json, HeaderList headers) {
    headers.emplace_back("content-type", "application/json");
    return request("POST", target, std::move(json), headers);
}

Response TestClient::patch(std::string_view target, std::string json, HeaderList headers) {
    headers.emplace_back("content-type", "application/json");
    return request("PATCH", target, std::move(json), headers);
}

Response TestClient::post_form(std::string_view target, std::string form, HeaderList headers) {
    headers.emplace_back("content-type", "application/x-www-form-urlencoded");
    return request("POST", target, std::move(form), headers);
}

boost::json::value json_of(const Response& response) {
    boost::system::error_code ec;
    auto v = boost::json::parse(response.body, ec);
    return ec ? boost::json::value() : v;
}

}  // namespace http
