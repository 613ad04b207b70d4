#include "db/database.hpp"

#include <stdexcept>
#include <string>
#include <utility>

#include "db/postgres/pg_database.hpp"
#include "db/sqlite/sqlite_database.hpp"
#include "db/url.hpp"

namespace db {

namespace {
template <class T>
T convert(const Value& v) {
    if constexpr (std::is_same_v<T, bool>) {
        if (const auto* b = std::get_if<bool>(&v)) return *b;
        if (const auto* i = std::get_if<std::int64_t>(&v)) return *i != 0;
    } else if constexpr (std::is_same_v<T, double>) {
        if (const auto* d = std::get_if<double>(&v)) return *d;
        if (const auto* i = std::get_if<std::int64_t>(&v)) return static_cast<double>(*i);
    } else {
        if (const auto* x = std::get_if<T>(&v)) return *x;
    }
    throw std::logic_error("database value has an unexpected type");
}
}  // namespace

Value& Row::at(std::size_t i) const {
    if (i >= size_) throw std::out_of_range("no column " + std::to_string(i) + " in a row of " + std::to_string(size_));
    return values_[i];
}

Result::Result(const Result& other)
    : columns(other.columns), affected(other.affected), values_(other.values_), row_count_(other.row_count_) {
    finish();
}

Result::Result(Result&& other) noexcept
    : columns(std::move(other.columns)),
      rows(std::move(other.rows)),
      affected(std::exchange(other.affected, 0)),
      values_(std::move(other.values_)),
      row_count_(std::exchange(other.row_count_, 0)) {
    other.rows.clear();
}

Result& Result::operator=(Result&& other) noexcept {
    if (this == &other) return *this;
    columns = std::move(other.columns);
    rows = std::move(other.rows);
    affected = std::exchange(other.affected, 0);
    values_ = std::move(other.values_);
    row_count_ = std::exchange(other.row_count_, 0);
    other.columns.clear();
    other.rows.clear();
    other.values_.clear();
    return *this;
}

Result& Result::operator=(const Result& other) {
    if (this != &other) *this = Result(other);
    return *this;
}

void Result::reserve(std::size_t row_count, std::size_t column_count) {
    values_.reserve(row_count * column_count);
    rows.reserve(row_count);
}

void Result::finish() {
    rows.clear();
    rows.reserve(row_count_);
    const std::size_t width = row_count_ ? values_.size() / row_count_ : 0;
    for (std::size_t i = 0; i < row_count_; ++i) rows.emplace_back(values_.data() + i * width, width);
}

template <class T>
T Row::get(std::size_t i) const {
    const Value& v = at(i);
    if constexpr (requires { typename T::value_type; } && !std::is_same_v<T, std::string>) {
        if (std::holds_alternative<std::nullptr_t>(v)) return std::nullopt;
        return convert<typename T::value_type>(v);
    } else {
        return convert<T>(v);
    }
}

template <class T>
T Row::take(std::size_t i) {
    if constexpr (std::is_same_v<T, std::string> || std::is_same_v<T, std::optional<std::string>>) {
        if (auto* s = std::get_if<std::string>(&at(i))) return std::move(*s);
    }
    return get<T>(i);
}

template std::string Row::take<std::string>(std::size_t);
template std::optional<std::string> Row::take<std::optional<std::string>>(std::size_t);

template std::int64_t Row::get<std::int64_t>(std::size_t) const;
template double Row::get<double>(std::size_t) const;
template bool Row::get<bool>(std::size_t) const;
template std::string Row::get<std::string>(std::size_t) const;
template std::optional<std::int64_t> Row::get<std::optional<std::int64_t>>(std::size_t) const;
template std::optional<double> Row::get<std::optional<double>>(std::size_t) const;
template std::optional<bool> Row::get<std::optional<bool>>(std::size_t) const;
template std::optional<std::string> Row::get<std::optional<std::string>>(std::size_t) const;

core::Task<Result> Database::query_within(std::chrono::milliseconds, Statement statement, Params params) {
    co_return co_await query(statement, std::move(params));
}

std::unique_ptr<Connector> make_connector(std::string_view text, const ConnectorOptions& options) {
    auto parsed = parse_database_url(text);
    if (const auto* problem = std::get_if<std::string>(&parsed)) throw UnusableUrl(*problem);
    const auto& url = std::get<DatabaseUrl>(parsed);
    if (const auto* sqlite = std::get_if<SqliteUrl>(&url)) return sqlite::make_connector(*sqlite, options);
    return postgres::make_connector(std::get<PostgresUrl>(url), options);
}

}  // namespace db
