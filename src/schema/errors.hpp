#pragma once
// Validation errors in Pydantic v2's shape: every problem found, each with its
// type, location, message, offending input and context.

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace schema {

// Numbers of a JSON document that a double cannot echo as they were sent (an integer
// beyond 64 bits, an exponent beyond a double's range, which would print as
// `Infinity`), with their text, so that an error's input shows them as sent.
struct NumberTexts {
    std::vector<std::pair<double, std::string>> items;
    // The text the value `d` was parsed from, if it is one of these.
    const std::string* find(double d) const;
};

struct FieldError {
    std::string type;
    boost::json::array loc;
    std::string msg;
    boost::json::value input;
    boost::json::object ctx;  // omitted from the output when empty
    std::shared_ptr<const NumberTexts> numbers{};  // for the doubles in `input`, if any
};

// Collects errors while a decoder walks its input; the decoder keeps the location
// current with `at()`.
class Errors {
public:
    using LocPart = std::variant<std::string_view, std::int64_t>;

    class Scope {
    public:
        explicit Scope(Errors& e) : errors_(e) {}
        Scope(const Scope&) = delete;
        Scope& operator=(const Scope&) = delete;
        ~Scope() { errors_.loc_.pop_back(); }

    private:
        Errors& errors_;
    };

    // Enters a member (or an array index) until the returned scope ends.
    [[nodiscard]] Scope at(std::string_view key) {
        loc_.emplace_back(key);
        return Scope(*this);
    }
    [[nodiscard]] Scope at(std::int64_t index) {
        loc_.emplace_back(index);
        return Scope(*this);
    }

    void add(std::string type, std::string msg, boost::json::value input, boost::json::object ctx = {});
    void add(FieldError error) { items_.push_back(std::move(error)); }

    // Replaces the input of every error added since the first `from` with `input`.
    void mask_inputs_since(std::size_t from, const boost::json::value& input) {
        for (std::size_t i = from; i < items_.size(); ++i) items_[i].input = input;
    }

    // Lets the errors added since `from` echo the numbers of `json_text` (the document
    // their inputs come from) as they were sent. Called only when there are errors.
    void keep_number_texts(std::size_t from, std::string_view json_text);

    bool empty() const { return items_.empty(); }
    std::size_t size() const { return items_.size(); }
    const std::vector<FieldError>& items() const { return items_; }
    std::vector<FieldError> take() { return std::move(items_); }

private:
    std::vector<LocPart> loc_;
    std::vector<FieldError> items_;
};

// {"detail": [...]} as FastAPI answers a 422.
std::string to_detail_json(const std::vector<FieldError>& errors);

}  // namespace schema
