#pragma once
// How a loop's streamed answers (Response::stream) share it with the requests it serves
// besides. Private to http.

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>

#include "core/task.hpp"

namespace http {

// While other requests (not streamed) are being served, on any loop (they share the
// cores), the pieces of a loop's streamed answers (Response::stream) take turns, one at a
// time, and the lane rests kStreamRest times as long as each piece took (its read and its
// encoding) before the next. So answers that go on for seconds get about a seventh of a
// busy loop (a little more in fact: writing a piece and the client's reading of it are not
// counted), however many there are; with nothing else to serve, they go at full speed,
// together (docs/design/streamed-answers.md).
class StreamLane {
public:
    static constexpr int kStreamRest = 6;
    // Requests served since the last piece make the lane rest for this long: a piece taken
    // without a pause (a loop serves what is ready in turn) must not look like quiet.
    static constexpr std::chrono::milliseconds kBusyFor{100};

    // `served`: how many requests the server has answered so far, streamed answers aside.
    StreamLane(boost::asio::io_context& ioc, std::function<std::uint64_t()> served)
        : gate_(ioc), served_(std::move(served)) {}

    // Until it is this piece's turn; true if it took one (false: nothing else was served
    // lately, and pieces go as they come, several at once).
    core::Task<bool> enter();
    // The piece is made (in `took`; `turn`: what enter() said): the next may follow after
    // the rest.
    void leave(std::chrono::steady_clock::duration took, bool turn);

private:
    boost::asio::steady_timer gate_;  // expires when the lane is free again
    std::function<std::uint64_t()> served_;
    std::uint64_t last_served_ = 0;  // served_() when the last piece was made
    std::chrono::steady_clock::time_point busy_until_{};
    bool taken_ = false;
    std::chrono::steady_clock::time_point free_at_{};
};

}  // namespace http
