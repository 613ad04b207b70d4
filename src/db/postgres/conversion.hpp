#pragma once
// Between libpq and db's types: parameters as libpq's text values, results and errors
// as db::Result and db::DatabaseError.

#include <libpq-fe.h>

#include <array>
#include <string_view>
#include <vector>

#include "db/database.hpp"

namespace db::postgres {

// A failed result as a DatabaseError, its kind from the SQLSTATE.
DatabaseError error_of(const PGresult* r);
DatabaseError unavailable(std::string_view why);

// A successful result's rows, numbers and booleans typed by their columns' types.
Result result_of(const PGresult* r);

// The server's notices ("relation already exists, skipping") go to the log, not to stderr.
void log_notice(void*, const char* message);

// Parameters as text; the server infers each one's type from the statement. String
// parameters are pointed at where they are (libpq copies them while sending); numbers
// and booleans are written into buffers kept here, inline for up to kInline parameters,
// so that sending a statement allocates nothing for its parameters.
class TextParams {
public:
    explicit TextParams(const Params& params);
    TextParams(const TextParams&) = delete;
    TextParams& operator=(const TextParams&) = delete;

    int count() const { return count_; }
    const char* const* values() const { return values_; }

private:
    static constexpr std::size_t kInline = 8;
    using Number = std::array<char, 32>;  // an int64 or a double, shortest form
    std::array<const char*, kInline> inline_values_{};
    std::array<Number, kInline> inline_numbers_{};
    std::vector<const char*> heap_values_;
    std::vector<Number> heap_numbers_;
    const char** values_ = nullptr;
    int count_ = 0;
};

}  // namespace db::postgres
