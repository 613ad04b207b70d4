// The typed route layer on a small app of its own: extraction, validation that
// collects every error in FastAPI's shape, serialization with the declared status.

#include <gtest/gtest.h>

#include <boost/describe.hpp>
#include <boost/json/parse.hpp>
#include <stdexcept>

#include "core/log.hpp"
#include "http/middleware.hpp"
#include "http/route.hpp"
#include "http/test_client.hpp"

namespace {

namespace json = boost::json;
using core::Task;
using http::Body;
using http::Form;
using http::Path;
using http::Query;
using schema::Int;
using schema::Omittable;
using schema::Str;

struct NewThing {
    Str<1, 10> title;
    std::optional<Str<0, 20>> description;
};
BOOST_DESCRIBE_STRUCT(NewThing, (), (title, description))

struct ThingPatch {
    Omittable<Str<1, 10>> title;
    Omittable<std::optional<Str<0, 20>>> description;
};
BOOST_DESCRIBE_STRUCT(ThingPatch, (), (title, description))

struct Thing {
    std::string title;
    std::optional<std::string> description;
    std::int64_t id = 0;
};
BOOST_DESCRIBE_STRUCT(Thing, (), (title, description, id))

struct Page {
    Omittable<Int<0>> skip{0};
    Omittable<Int<1, 100>> limit{20};
};
BOOST_DESCRIBE_STRUCT(Page, (), (skip, limit))

struct LoginForm {
    std::string username;
    std::string password;
    std::optional<std::string> scope;
};
BOOST_DESCRIBE_STRUCT(LoginForm, (), (username, password, scope))

using ThingId = Path<std::int64_t, "thing_id">;

http::Routes thing_routes() {
    http::Routes r("/things", {"things"});
    r.post("/", {.summary = "Create Thing", .status = 201}, [](Body<NewThing> in) -> Task<Thing> {
        std::optional<std::string> description;
        if (in->description) description = *in->description;
        co_return Thing{in->title, description, 1};
    });
    r.get("/", {.summary = "List Things"}, [](Query<Page> page) -> Task<std::vector<Thing>> {
        co_return std::vector<Thing>{Thing{"page", std::nullopt, page->skip->value * 1000 + page->limit->value}};
    });
    r.get("/{thing_id}", {.summary = "Read Thing"}, [](ThingId id) -> Task<Thing> {
        if (*id == 0) throw http::HttpError{404, "Thing not found", {}};
        co_return Thing{"old", "old description", *id};
    });
    r.patch("/{thing_id}", {.summary = "Update Thing"}, [](ThingId id, Body<ThingPatch> in) -> Task<Thing> {
        Thing t{"old", "old description", *id};
        if (in->title) t.title = *in->title;
        if (in->description) t.description = in->description->has_value() ? std::optional<std::string>(**in->description) : std::nullopt;
        co_return t;
    });
    r.del("/{thing_id}", {.summary = "Delete Thing", .status = 204}, [](ThingId) -> Task<void> { co_return; });
    return r;
}

http::Routes other_routes() {
    http::Routes r;
    r.post("/login", {.summary = "Login"}, [](Form<LoginForm> form) -> Task<http::Response> {
        co_return http::Response::json(200, R"({"username":")" + form->username + "\"}");
    });
    r.get("/boom", {.summary = "Boom"}, []() -> Task<Thing> {
        throw std::runtime_error("the handler failed");
        co_return Thing{};
    });
    return r;
}

class TypedRoutes : public ::testing::Test {
protected:
    TypedRoutes() {
        core::log::configure(core::log::Level::critical, core::log::Format::text);
        app.use(std::make_shared<http::RequestId>());
        app.include(thing_routes().take());
        app.include(other_routes().take());
    }
    http::App app;
    http::TestClient client{app, nullptr};
};

json::value body(const http::Response& r) { return json::parse(r.body); }

TEST_F(TypedRoutes, DeclaredStatusAndTypedResult) {
    auto r = client.post("/things/", R"({"title": "hello"})");
    EXPECT_EQ(r.status, 201);
    EXPECT_EQ(r.body, R"({"title":"hello","description":null,"id":1})");
}

TEST_F(TypedRoutes, MissingBodyIsOneMissingError) {
    auto r = client.request("POST", "/things/");
    EXPECT_EQ(r.status, 422);
    EXPECT_EQ(body(r), json::parse(R"({"detail":[{"type":"missing","loc":["body"],"msg":"Field required","input":null}]})"));
}

TEST_F(TypedRoutes, MalformedJsonIsJsonInvalid) {
    auto r = client.post("/things/", R"({"title": )");
    EXPECT_EQ(r.status, 422);
    const auto b = body(r);
    const auto& e = b.at("detail").at(0);
    EXPECT_EQ(e.at("type"), "json_invalid");
    EXPECT_EQ(e.at("loc").at(0), "body");
    EXPECT_TRUE(e.at("loc").at(1).is_int64());
    EXPECT_EQ(e.at("msg"), "JSON decode error");
    EXPECT_EQ(e.at("input"), json::object{});
}

TEST_F(TypedRoutes, BodyErrorsAreUnderBody) {
    auto r = client.post("/things/", R"({"title": "", "description": 5})");
    EXPECT_EQ(r.status, 422);
    EXPECT_EQ(body(r), json::parse(R"({"detail":[
        {"type":"string_too_short","loc":["body","title"],"msg":"String should have at least 1 character",
         "input":"","ctx":{"min_length":1}},
        {"type":"string_type","loc":["body","description"],"msg":"Input should be a valid string","input":5}]})"));
}

TEST_F(TypedRoutes, NonJsonContentTypeIsValidatedAsText) {
    auto r = client.request("POST", "/things/", "title=x", {{"content-type", "text/plain"}});
    EXPECT_EQ(r.status, 422);
    EXPECT_EQ(body(r).at("detail").at(0).at("type"), "model_attributes_type");
    EXPECT_EQ(body(r).at("detail").at(0).at("input"), "title=x");
}

TEST_F(TypedRoutes, PathParameterIsTyped) {
    auto r = client.get("/things/abc");
    EXPECT_EQ(r.status, 422);
    EXPECT_EQ(body(r), json::parse(R"({"detail":[{"type":"int_parsing","loc":["path","thing_id"],
        "msg":"Input should be a valid integer, unable to parse string as an integer","input":"abc"}]})"));
    EXPECT_EQ(body(client.get("/things/12")).at("id"), 12);
}

TEST_F(TypedRoutes, ErrorsFromPathAndBodyAreCollectedTogether) {
    auto r = client.patch("/things/abc", R"({"title": null})");
    EXPECT_EQ(r.status, 422);
    const auto b = body(r);
    const auto& detail = b.at("detail").as_array();
    ASSERT_EQ(detail.size(), 2u);
    EXPECT_EQ(detail[0].at("loc"), json::parse(R"(["path","thing_id"])"));
    EXPECT_EQ(detail[1].at("loc"), json::parse(R"(["body","title"])"));
    EXPECT_EQ(detail[1].at("type"), "string_type");
}

TEST_F(TypedRoutes, QueryDefaultsAndBounds) {
    EXPECT_EQ(body(client.get("/things/")).at(0).at("id"), 20);
    EXPECT_EQ(body(client.get("/things?skip=2&limit=5")).at(0).at("id"), 2005);
    auto r = client.get("/things/?skip=-1&limit=500");
    EXPECT_EQ(r.status, 422);
    EXPECT_EQ(body(r), json::parse(R"({"detail":[
        {"type":"greater_than_equal","loc":["query","skip"],"msg":"Input should be greater than or equal to 0",
         "input":-1,"ctx":{"ge":0}},
        {"type":"less_than_equal","loc":["query","limit"],"msg":"Input should be less than or equal to 100",
         "input":500,"ctx":{"le":100}}]})"));
    EXPECT_EQ(body(client.get("/things/?limit=abc")).at("detail").at(0).at("type"), "int_parsing");
}

TEST_F(TypedRoutes, PatchChangesOnlyFieldsSent) {
    EXPECT_EQ(client.patch("/things/3", R"({"title": "new"})").body,
              R"({"title":"new","description":"old description","id":3})");
    EXPECT_EQ(client.patch("/things/3", R"({"description": null})").body, R"({"title":"old","description":null,"id":3})");
    EXPECT_EQ(client.patch("/things/3", "{}").body, R"({"title":"old","description":"old description","id":3})");
}

TEST_F(TypedRoutes, FormFieldsAreUnderBody) {
    auto ok = client.post_form("/login", "username=a%40b.co&password=p+w");
    EXPECT_EQ(ok.status, 200);
    EXPECT_EQ(body(ok).at("username"), "a@b.co");
    auto r = client.post_form("/login", "scope=");
    EXPECT_EQ(r.status, 422);
    EXPECT_EQ(body(r), json::parse(R"({"detail":[
        {"type":"missing","loc":["body","username"],"msg":"Field required","input":null},
        {"type":"missing","loc":["body","password"],"msg":"Field required","input":null}]})"));
}

TEST_F(TypedRoutes, VoidResultIsEmptyWithDeclaredStatus) {
    auto r = client.del("/things/3");
    EXPECT_EQ(r.status, 204);
    EXPECT_TRUE(r.body.empty());
}

TEST_F(TypedRoutes, HttpErrorBecomesDetail) {
    auto r = client.get("/things/0");
    EXPECT_EQ(r.status, 404);
    EXPECT_EQ(body(r), json::parse(R"({"detail":"Thing not found"})"));
}

TEST_F(TypedRoutes, HandlerExceptionIsA500AndTheAppGoesOn) {
    auto r = client.get("/boom");
    EXPECT_EQ(r.status, 500);
    EXPECT_EQ(body(r), json::parse(R"({"detail":"Internal Server Error"})"));
    EXPECT_NE(r.headers.find("x-request-id"), nullptr);
    EXPECT_EQ(client.get("/things/1").status, 200);
}

TEST_F(TypedRoutes, RouteTableDescribesOperations) {
    schema::Definitions defs;
    for (const auto& route : app.routes()) {
        if (route.info.method == "GET" && route.info.path == "/things/") {
            const auto op = route.info.describe(defs);
            EXPECT_EQ(op.at("summary"), "List Things");
            EXPECT_EQ(op.at("tags"), json::array{"things"});
            const auto& params = op.at("parameters").as_array();
            ASSERT_EQ(params.size(), 2u);
            EXPECT_EQ(params[0].at("name"), "skip");
            EXPECT_EQ(params[0].at("in"), "query");
            EXPECT_EQ(params[1].at("schema").at("maximum"), 100);
            EXPECT_TRUE(op.at("responses").as_object().contains("200"));
            EXPECT_TRUE(op.at("responses").as_object().contains("422"));
        }
        if (route.info.method == "POST" && route.info.path == "/things/") {
            const auto op = route.info.describe(defs);
            EXPECT_EQ(op.at("requestBody").at("content").at("application/json").at("schema").at("$ref"),
                      "#/components/schemas/NewThing");
            EXPECT_TRUE(op.at("responses").as_object().contains("201"));
        }
    }
    EXPECT_TRUE(defs.schemas.contains("Thing"));
}

}  // namespace
