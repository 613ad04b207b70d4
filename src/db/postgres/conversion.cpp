#include "db/postgres/conversion.hpp"

#include <charconv>
#include <cstdlib>
#include <string>

#include "core/log.hpp"

namespace db::postgres {

namespace {

// PostgreSQL type OIDs (pg_type.dat) whose values are read as numbers or booleans.
constexpr Oid kBool = 16, kInt8 = 20, kInt2 = 21, kInt4 = 23, kOid = 26, kFloat4 = 700, kFloat8 = 701;

DatabaseError::Kind kind_of(std::string_view sqlstate) {
    using Kind = DatabaseError::Kind;
    if (sqlstate == "23505") return Kind::unique_violation;
    if (sqlstate == "23503") return Kind::foreign_key_violation;
    if (sqlstate == "57014" || sqlstate == "55P03") return Kind::timeout;  // statement timeout, lock timeout
    if (sqlstate.starts_with("08") || sqlstate.starts_with("57P")) return Kind::unavailable;
    return Kind::other;
}

}  // namespace

DatabaseError error_of(const PGresult* r) {
    const char* state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    std::string message = PQresultErrorMessage(r);
    while (!message.empty() && message.back() == '\n') message.pop_back();
    return DatabaseError(kind_of(state ? state : ""), message);
}

DatabaseError unavailable(std::string_view why) {
    return DatabaseError(DatabaseError::Kind::unavailable, "database unavailable: " + std::string(why));
}

namespace {

// Appends the value at (row, col) to `out`, made in place.
void append_value(Result& out, const PGresult* r, int row, int col, Oid type) {
    const int length = PQgetlength(r, row, col);
    if (length == 0 && PQgetisnull(r, row, col)) return out.emplace<std::nullptr_t>();  // only an empty value may be NULL
    const char* text = PQgetvalue(r, row, col);
    switch (type) {
        case kBool: return out.emplace<bool>(text[0] == 't');
        case kInt2:
        case kInt4:
        case kInt8:
        case kOid: {
            std::int64_t v = 0;
            std::from_chars(text, text + length, v);
            return out.emplace<std::int64_t>(v);
        }
        case kFloat4:
        case kFloat8: return out.emplace<double>(std::strtod(text, nullptr));
        default: return out.emplace<std::string>(text, static_cast<std::size_t>(length));
    }
}

}  // namespace

Result result_of(const PGresult* r) {
    Result out;
    const int columns = PQnfields(r);
    const int rows = PQntuples(r);
    std::array<Oid, 16> types{};  // the columns' types, looked up once (all but the widest results)
    out.columns.reserve(static_cast<std::size_t>(columns));
    for (int c = 0; c < columns; ++c) {
        out.columns.emplace_back(PQfname(r, c));
        if (c < static_cast<int>(types.size())) types[static_cast<std::size_t>(c)] = PQftype(r, c);
    }
    const auto type_of = [&](int c) {
        return c < static_cast<int>(types.size()) ? types[static_cast<std::size_t>(c)] : PQftype(r, c);
    };
    out.reserve(static_cast<std::size_t>(rows), static_cast<std::size_t>(columns));
    for (int i = 0; i < rows; ++i) {
        for (int c = 0; c < columns; ++c) append_value(out, r, i, c, type_of(c));
        out.end_row();
    }
    out.finish();
    const char* affected = PQcmdTuples(const_cast<PGresult*>(r));
    if (affected && *affected) out.affected = std::strtoll(affected, nullptr, 10);
    return out;
}

void log_notice(void*, const char* message) {
    std::string_view text(message);
    while (!text.empty() && text.back() == '\n') text.remove_suffix(1);
    core::log::debug("database notice", {{"message", text}});
}

TextParams::TextParams(const Params& params) {
    const std::size_t n = params.size();
    if (n > kInline) {
        heap_values_.resize(n);
        heap_numbers_.resize(n);
    }
    const char** values = n > kInline ? heap_values_.data() : inline_values_.data();
    Number* numbers = n > kInline ? heap_numbers_.data() : inline_numbers_.data();
    for (std::size_t i = 0; i < n; ++i) {
        std::visit(
            [&](const auto& x) {
                using T = std::decay_t<decltype(x)>;
                if constexpr (std::is_same_v<T, std::nullptr_t>) {
                    values[i] = nullptr;
                } else if constexpr (std::is_same_v<T, std::string>) {
                    values[i] = x.c_str();
                } else if constexpr (std::is_same_v<T, bool>) {
                    values[i] = x ? "true" : "false";
                } else {
                    auto [end, ec] = std::to_chars(numbers[i].data(), numbers[i].data() + numbers[i].size() - 1, x);
                    *end = '\0';
                    values[i] = numbers[i].data();
                }
            },
            params[i]);
    }
    values_ = values;
    count_ = static_cast<int>(n);
}

}  // namespace db::postgres
