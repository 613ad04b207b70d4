// The OpenAPI document: built from the route table, served at OPENAPI_URL, and a
// drop-in for the original's (its operation ids, tags, parameters and schema names).

#include <boost/json/parse.hpp>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "api/routes.hpp"
#include "api_support.hpp"

namespace {

namespace json = boost::json;

json::value read_fixture(const std::string& name) {
    std::ifstream in(std::string(ITEMS_FIXTURES_DIR) + "/" + name);
    std::stringstream ss;
    ss << in.rdbuf();
    return json::parse(ss.str());
}

json::object our_document() {
    const auto settings = testing_support::settings_for("sqlite:///:memory:");
    return api::openapi_document(settings, api::all_routes());
}

std::string lower(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

// What a client generated from the original's document relies on.
TEST(OpenApi, EveryOperationOfTheOriginalIsHereUnderTheSameNames) {
    const auto original = read_fixture("original_openapi.json").as_object();
    const auto ours = our_document();
    EXPECT_EQ(ours.at("openapi"), "3.1.0");
    std::size_t operations = 0;
    for (const auto& [path, item] : original.at("paths").as_object()) {
        for (const auto& [method, theirs] : item.as_object()) {
            ++operations;
            const std::string where = std::string(method) + " " + std::string(path);
            const auto* mine = ours.at("paths").as_object().if_contains(path);
            ASSERT_TRUE(mine && mine->as_object().contains(method)) << where;
            const auto& op = mine->at(method).as_object();
            for (const char* key : {"operationId", "tags", "summary"}) EXPECT_EQ(op.at(key), theirs.at(key)) << where;
            EXPECT_EQ(op.if_contains("security") ? op.at("security") : json::value(),
                      theirs.as_object().if_contains("security") ? theirs.at("security") : json::value())
                << where;
            // The original's parameters, in its order; any of ours beyond them (GET /items/'s
            // `after`) come after and are optional, so that its clients' calls stay valid.
            std::vector<std::pair<json::value, json::value>> theirs_params, my_params;
            if (const auto* p = theirs.as_object().if_contains("parameters"))
                for (const auto& x : p->as_array()) theirs_params.emplace_back(x.at("name"), x.at("in"));
            if (const auto* p = op.if_contains("parameters")) {
                for (const auto& x : p->as_array()) {
                    if (my_params.size() >= theirs_params.size()) {
                        const auto* required = x.as_object().if_contains("required");
                        EXPECT_TRUE(!required || *required == false) << where << " " << x.at("name");
                    }
                    my_params.emplace_back(x.at("name"), x.at("in"));
                }
            }
            ASSERT_GE(my_params.size(), theirs_params.size()) << where;
            my_params.resize(theirs_params.size());
            EXPECT_EQ(my_params, theirs_params) << where;
            // The request body: its content type and its schema's name.
            if (const auto* body = theirs.as_object().if_contains("requestBody")) {
                ASSERT_TRUE(op.contains("requestBody")) << where;
                EXPECT_EQ(op.at("requestBody").at("content"), body->at("content")) << where;
            } else {
                EXPECT_FALSE(op.contains("requestBody")) << where;
            }
            for (const auto& [status, _] : theirs.at("responses").as_object())
                EXPECT_TRUE(op.at("responses").as_object().contains(status)) << where << " " << status;
        }
    }
    EXPECT_EQ(operations, 11u);
    for (const auto& [name, _] : original.at("components").at("schemas").as_object())
        EXPECT_TRUE(ours.at("components").at("schemas").as_object().contains(name)) << name;
    EXPECT_EQ(ours.at("components").at("securitySchemes"), original.at("components").at("securitySchemes"));
}

class OpenApiServed : public testing_support::ApiTest {
  protected:
    OpenApiServed() : ApiTest(extra()) {}
    static config::Environment extra() {
        return {{"OPENAPI_URL", GetParam() == "sqlite" ? "/openapi.json" : "/api/openapi.json"}};
    }
};

// Every route is documented, every documented operation is routed, and the service
// serves exactly the document `items-api openapi` prints (with OPENAPI_URL moved on
// PostgreSQL's run, to show the setting).
TEST_P(OpenApiServed, TheServedDocumentIsTheRouteTable) {
    const std::string url = GetParam() == "sqlite" ? "/openapi.json" : "/api/openapi.json";
    const auto r = client.get(url);
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(*r.headers.find("content-type"), "application/json");
    const auto served = json::parse(r.body).as_object();
    EXPECT_EQ(served, our_document());

    std::set<std::string> routed, documented;
    for (const auto& route : sut.service.app().routes())
        // The document, its pages and /metrics are the service's own, not API operations.
        if (route.info.path != url && !route.info.path.starts_with("/docs") && !route.info.path.starts_with("/redoc") &&
            route.info.path != "/metrics") {
            routed.insert(lower(route.info.method) + " " + route.info.path);
            if (route.info.method == "GET") routed.insert("head " + route.info.path);  // the router's HEAD
        }
    for (const auto& [path, item] : served.at("paths").as_object())
        for (const auto& [method, _] : item.as_object())
            documented.insert(std::string(method) + " " + std::string(path));
    EXPECT_EQ(documented, routed);
    EXPECT_EQ(client.get(GetParam() == "sqlite" ? "/api/openapi.json" : "/openapi.json").status, 404);
}

INSTANTIATE_TEST_SUITE_P(Backends, OpenApiServed, ::testing::ValuesIn(testing_support::backends()),
                         testing_support::backend_name);

// Beyond the original, documented: GET /items/'s `after` and the Link header of its pages.
TEST(OpenApi, TheItemListDocumentsAfterAndItsLinkHeader) {
    const auto ours = our_document();
    const auto& op = ours.at("paths").at("/items/").at("get").as_object();
    const json::value* after = nullptr;
    for (const auto& p : op.at("parameters").as_array())
        if (p.at("name") == "after") after = &p;
    ASSERT_NE(after, nullptr);
    EXPECT_EQ(after->at("in"), "query");
    EXPECT_EQ(after->at("required"), false);
    EXPECT_EQ(after->at("schema").at("anyOf").at(0).at("minimum"), 0);
    const auto& link = op.at("responses").at("200").at("headers").at("Link");
    EXPECT_EQ(link.at("required"), false);
    EXPECT_EQ(link.at("schema").at("type"), "string");
    EXPECT_NE(std::string(link.at("description").as_string()).find("rel=\"next\""), std::string::npos);
    EXPECT_TRUE(op.at("responses").at("200").at("content").at("application/json").at("schema").as_object().contains("items"));
}

// Every GET route answers HEAD (the router serves it with the GET route): documented as a
// HEAD operation named as FastAPI names one, with the GET's statuses and headers and no body.
TEST(OpenApi, EachGetOperationHasItsHeadWithoutContent) {
    const auto ours = our_document();
    std::size_t heads = 0;
    for (const auto& [path, item] : ours.at("paths").as_object()) {
        const auto* get = item.as_object().if_contains("get");
        const auto* head = item.as_object().if_contains("head");
        ASSERT_EQ(get != nullptr, head != nullptr) << path;
        if (!head) continue;
        ++heads;
        std::string id(get->at("operationId").as_string());
        EXPECT_EQ(head->at("operationId"), json::value(id.substr(0, id.size() - 4) + "_head")) << path;
        EXPECT_EQ(head->as_object().if_contains("parameters") ? head->at("parameters") : json::value(),
                  get->as_object().if_contains("parameters") ? get->at("parameters") : json::value())
            << path;
        for (const auto& [status, response] : get->at("responses").as_object()) {
            const auto* mine = head->at("responses").as_object().if_contains(status);
            ASSERT_TRUE(mine) << path << " " << status;
            EXPECT_FALSE(mine->as_object().contains("content")) << path << " " << status;
            EXPECT_EQ(mine->as_object().if_contains("headers") ? mine->at("headers") : json::value(),
                      response.as_object().if_contains("headers") ? response.at("headers") : json::value());
        }
    }
    EXPECT_EQ(heads, 6u);  // /health, /users/me, /users/, /users/{user_id}, /items/, /items/{item_id}
}

// A field left out of a PATCH means "unchanged": no default is documented for it (a default
// of "" would contradict its own minLength), while the query's skip and limit keep theirs.
TEST(OpenApi, OnlyFieldsWithADefaultDocumentOne) {
    const auto ours = our_document();
    const auto& update = ours.at("components").at("schemas").at("ItemUpdate").at("properties").as_object();
    EXPECT_FALSE(update.at("title").as_object().contains("default"));
    EXPECT_FALSE(update.at("description").as_object().contains("default"));
    std::map<std::string, json::value> defaults;
    for (const auto& p : ours.at("paths").at("/items/").at("get").at("parameters").as_array())
        defaults[std::string(p.at("name").as_string())] = p.at("schema").as_object().if_contains("default")
                                                              ? p.at("schema").at("default")
                                                              : json::value();
    EXPECT_EQ(defaults["skip"], 0);
    EXPECT_EQ(defaults["limit"], 20);
}

TEST(OpenApi, AnEmptyOpenapiUrlServesNoDocument) {
    testing_support::FreshDatabase fresh("sqlite");
    testing_support::ServiceUnderTest sut(fresh.url(), {{"OPENAPI_URL", ""}});
    EXPECT_EQ(sut.client->get("/openapi.json").status, 404);
    for (const auto& route : sut.service.app().routes()) EXPECT_NE(route.info.path, "/openapi.json");
}

// The docs pages and their files come from the binary (nothing beside it), under a policy
// that keeps the browser on the service; DOCS_URL/REDOC_URL move or turn them off, and
// without the document there are no pages.
TEST(OpenApi, TheDocsPagesAreServedFromTheBinaryAndCanBeMovedOrTurnedOff) {
    testing_support::FreshDatabase fresh("sqlite");
    {
        testing_support::ServiceUnderTest sut(fresh.url(), {});
        auto& client = *sut.client;
        const auto docs = client.get("/docs");
        ASSERT_EQ(docs.status, 200);
        EXPECT_EQ(*docs.headers.find("content-type"), "text/html; charset=utf-8");
        EXPECT_NE(docs.body.find("<script src=\"/docs/swagger-ui-bundle.js\">"), std::string::npos);
        const auto policy = docs.headers.find("content-security-policy");
        ASSERT_TRUE(policy);
        EXPECT_NE(policy->find("default-src 'none'"), std::string::npos);
        EXPECT_NE(policy->find("connect-src 'self'"), std::string::npos);
        const auto init = client.get("/docs/swagger-initializer.js");
        EXPECT_NE(init.body.find("url: \"/openapi.json\""), std::string::npos);
        EXPECT_NE(init.body.find("\"/docs/oauth2-redirect\""), std::string::npos);
        EXPECT_NE(init.body.find("validatorUrl: null"), std::string::npos);
        for (const auto* path :
             {"/docs/swagger-ui-bundle.js", "/docs/swagger-ui.css", "/docs/oauth2-redirect", "/docs/oauth2-redirect.js",
              "/docs/favicon.png", "/redoc", "/redoc/redoc.standalone.js", "/redoc/favicon.png"}) {
            const auto r = client.get(path);
            EXPECT_EQ(r.status, 200) << path;
            EXPECT_GT(r.body.size(), 90u) << path;
        }
        EXPECT_GT(client.get("/docs/swagger-ui-bundle.js").body.size(), 1000000u);
        EXPECT_NE(client.get("/redoc").body.find("<redoc spec-url=\"/openapi.json\">"), std::string::npos);
    }
    {
        testing_support::ServiceUnderTest sut(fresh.url(), {{"DOCS_URL", "/api/docs"}, {"REDOC_URL", ""}});
        auto& client = *sut.client;
        EXPECT_EQ(client.get("/api/docs").status, 200);
        EXPECT_NE(client.get("/api/docs/swagger-initializer.js").body.find("\"/api/docs/oauth2-redirect\""),
                  std::string::npos);
        EXPECT_EQ(client.get("/api/docs/swagger-ui-bundle.js").status, 200);
        EXPECT_EQ(client.get("/docs").status, 404);
        EXPECT_EQ(client.get("/redoc").status, 404);
        EXPECT_EQ(client.get("/redoc/redoc.standalone.js").status, 404);
    }
    {
        testing_support::ServiceUnderTest sut(fresh.url(), {{"OPENAPI_URL", ""}});
        EXPECT_EQ(sut.client->get("/docs").status, 404);
        EXPECT_EQ(sut.client->get("/redoc").status, 404);
        EXPECT_EQ(sut.client->get("/docs/swagger-ui-bundle.js").status, 404);
    }
}

}  // namespace
