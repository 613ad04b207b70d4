#include "schema/errors.hpp"

#include <boost/json/serialize.hpp>

namespace schema {

void Errors::add(std::string type, std::string msg, boost::json::value input, boost::json::object ctx) {
    FieldError e{std::move(type), {}, std::move(msg), std::move(input), std::move(ctx)};
    e.loc.reserve(loc_.size());
    for (const auto& part : loc_) {
        if (const auto* key = std::get_if<std::string_view>(&part))
            e.loc.emplace_back(boost::json::string_view(key->data(), key->size()));
        else
            e.loc.emplace_back(std::get<std::int64_t>(part));
    }
    items_.push_back(std::move(e));
}

std::string to_detail_json(const std::vector<FieldError>& errors) {
    boost::json::array detail;
    detail.reserve(errors.size());
    for (const auto& e : errors) {
        boost::json::object item;
        item["type"] = e.type;
        item["loc"] = e.loc;
        item["msg"] = e.msg;
        item["input"] = e.input;
        if (!e.ctx.empty()) item["ctx"] = e.ctx;
        detail.push_back(std::move(item));
    }
    boost::json::object body;
    body["detail"] = std::move(detail);
    return boost::json::serialize(body);
}

}  // namespace schema
