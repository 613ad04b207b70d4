#include <gtest/gtest.h>

#include <boost/describe.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "schema/codec.hpp"

namespace {

namespace json = boost::json;
using schema::Email;
using schema::Int;
using schema::Omittable;
using schema::Str;

struct Tag {
    Str<1, 10> label;
};
BOOST_DESCRIBE_STRUCT(Tag, (), (label))

struct Sample {
    Str<1, 5> name;
    Int<0, 10> count;
    std::optional<std::string> note;
    Omittable<bool> flag;
    Email email;
    Omittable<std::vector<Tag>> tags;
};
BOOST_DESCRIBE_STRUCT(Sample, (), (name, count, note, flag, email, tags))

struct Page {
    Omittable<Int<0>> skip{0};
    Omittable<Int<1, 100>> limit{20};
};
BOOST_DESCRIBE_STRUCT(Page, (), (skip, limit))

struct Decoded {
    Sample value;
    std::vector<schema::FieldError> errors;
};

Decoded decode(std::string_view text) {
    schema::Errors e;
    Decoded d;
    auto v = schema::parse_json(text, e);
    if (v) schema::Codec<Sample>::from_json(*v, d.value, e);
    d.errors = e.take();
    return d;
}

json::value loc(std::initializer_list<json::value> parts) {
    json::array a;
    for (const auto& p : parts) a.push_back(p);
    return a;
}

TEST(Schema, ReportsEveryMissingFieldWithTheInputObject) {
    auto d = decode("{}");
    ASSERT_EQ(d.errors.size(), 3u);
    EXPECT_EQ(d.errors[0].type, "missing");
    EXPECT_EQ(json::value(d.errors[0].loc), loc({"name"}));
    EXPECT_EQ(d.errors[0].msg, "Field required");
    EXPECT_EQ(d.errors[0].input, json::object{});
    EXPECT_EQ(json::value(d.errors[1].loc), loc({"count"}));
    EXPECT_EQ(json::value(d.errors[2].loc), loc({"email"}));
}

TEST(Schema, ReportsEveryWrongTypeAtOnce) {
    auto d = decode(R"({"name": 5, "count": "abc", "email": "nope", "flag": "maybe"})");
    ASSERT_EQ(d.errors.size(), 4u);
    EXPECT_EQ(d.errors[0].type, "string_type");
    EXPECT_EQ(d.errors[0].msg, "Input should be a valid string");
    EXPECT_EQ(d.errors[0].input, json::value(5));
    EXPECT_EQ(d.errors[1].type, "int_parsing");
    EXPECT_EQ(d.errors[1].msg, "Input should be a valid integer, unable to parse string as an integer");
    EXPECT_EQ(d.errors[1].input, json::value("abc"));
    EXPECT_EQ(d.errors[2].type, "bool_parsing");
    EXPECT_EQ(json::value(d.errors[2].loc), loc({"flag"}));
    EXPECT_EQ(d.errors[3].type, "value_error");
    EXPECT_EQ(d.errors[3].msg, "value is not a valid email address: An email address must have an @-sign.");
}

TEST(Schema, LengthAndRangeErrorsCarryTheirLimits) {
    auto d = decode(R"({"name": "", "count": 11, "email": "a@b.co"})");
    ASSERT_EQ(d.errors.size(), 2u);
    EXPECT_EQ(d.errors[0].type, "string_too_short");
    EXPECT_EQ(d.errors[0].msg, "String should have at least 1 character");
    EXPECT_EQ(d.errors[0].ctx, (json::object{{"min_length", 1}}));
    EXPECT_EQ(d.errors[1].type, "less_than_equal");
    EXPECT_EQ(d.errors[1].msg, "Input should be less than or equal to 10");
    EXPECT_EQ(d.errors[1].ctx, (json::object{{"le", 10}}));

    d = decode(R"({"name": "toolong", "count": -1, "email": "a@b.co"})");
    ASSERT_EQ(d.errors.size(), 2u);
    EXPECT_EQ(d.errors[0].type, "string_too_long");
    EXPECT_EQ(d.errors[0].msg, "String should have at most 5 characters");
    EXPECT_EQ(d.errors[1].type, "greater_than_equal");
    EXPECT_EQ(d.errors[1].ctx, (json::object{{"ge", 0}}));
}

TEST(Schema, CountsLengthInCharactersNotBytes) {
    auto d = decode(R"({"name": "ééééé", "count": 1, "email": "a@b.co"})");
    EXPECT_TRUE(d.errors.empty());
    EXPECT_EQ(d.value.name, "ééééé");
}

TEST(Schema, NestedErrorsHaveFullLocations) {
    auto d = decode(R"({"name": "a", "count": 1, "email": "a@b.co", "tags": [{"label": "x"}, {"label": ""}, 3]})");
    ASSERT_EQ(d.errors.size(), 2u);
    EXPECT_EQ(json::value(d.errors[0].loc), loc({"tags", 1, "label"}));
    EXPECT_EQ(d.errors[0].type, "string_too_short");
    EXPECT_EQ(json::value(d.errors[1].loc), loc({"tags", 2}));
    EXPECT_EQ(d.errors[1].type, "model_attributes_type");
}

TEST(Schema, AbsentAndNullAreDistinct) {
    auto absent = decode(R"({"name": "a", "count": 1, "email": "a@b.co"})");
    ASSERT_TRUE(absent.errors.empty());
    EXPECT_FALSE(absent.value.note.has_value());
    EXPECT_FALSE(absent.value.flag.present);

    auto null_note = decode(R"({"name": "a", "count": 1, "email": "a@b.co", "note": null, "flag": true})");
    ASSERT_TRUE(null_note.errors.empty());
    EXPECT_FALSE(null_note.value.note.has_value());
    EXPECT_TRUE(null_note.value.flag.present);
    EXPECT_TRUE(null_note.value.flag.value);

    // A field that may be left out may still not be null unless its type allows it.
    auto null_flag = decode(R"({"name": "a", "count": 1, "email": "a@b.co", "flag": null})");
    ASSERT_EQ(null_flag.errors.size(), 1u);
    EXPECT_EQ(null_flag.errors[0].type, "bool_type");
    EXPECT_EQ(null_flag.errors[0].input, nullptr);

    auto null_name = decode(R"({"name": null, "count": 1, "email": "a@b.co"})");
    ASSERT_EQ(null_name.errors.size(), 1u);
    EXPECT_EQ(null_name.errors[0].type, "string_type");
}

TEST(Schema, NonObjectBodyIsModelAttributesType) {
    auto d = decode("[1, 2]");
    ASSERT_EQ(d.errors.size(), 1u);
    EXPECT_EQ(d.errors[0].type, "model_attributes_type");
    EXPECT_EQ(d.errors[0].msg, "Input should be a valid dictionary or object to extract fields from");
    EXPECT_TRUE(d.errors[0].loc.empty());
}

TEST(Schema, MalformedJsonIsJsonInvalidAtItsOffset) {
    auto d = decode(R"({"name": )");
    ASSERT_EQ(d.errors.size(), 1u);
    EXPECT_EQ(d.errors[0].type, "json_invalid");
    EXPECT_EQ(d.errors[0].msg, "JSON decode error");
    ASSERT_EQ(d.errors[0].loc.size(), 1u);
    EXPECT_TRUE(d.errors[0].loc[0].is_int64());
    EXPECT_TRUE(d.errors[0].ctx.contains("error"));
}

TEST(Schema, IntegersAcceptIntegralFloatsAndNumericStrings) {
    auto d = decode(R"({"name": "a", "count": "7", "email": "a@b.co"})");
    EXPECT_TRUE(d.errors.empty());
    EXPECT_EQ(d.value.count.value, 7);
    d = decode(R"({"name": "a", "count": 3.0, "email": "a@b.co"})");
    EXPECT_TRUE(d.errors.empty());
    d = decode(R"({"name": "a", "count": 3.5, "email": "a@b.co"})");
    ASSERT_EQ(d.errors.size(), 1u);
    EXPECT_EQ(d.errors[0].type, "int_from_float");
}

TEST(Schema, EmailDomainIsLowercasedLocalPartKept) {
    auto d = decode(R"({"name": "a", "count": 1, "email": "Jane.Doe@Example.COM"})");
    ASSERT_TRUE(d.errors.empty());
    EXPECT_EQ(d.value.email, "Jane.Doe@example.com");
    for (const char* bad : {"@example.com", "jane@", "jane@example", "ja ne@example.com", "jane..doe@example.com"}) {
        schema::Errors e;
        Email email;
        EXPECT_FALSE(schema::Codec<Email>::from_json(json::value(bad), email, e)) << bad;
        EXPECT_EQ(e.items().at(0).type, "value_error") << bad;
    }
}

TEST(Schema, TextFieldsUseDefaultsAndReportInvalidValues) {
    Page page;
    schema::Errors e;
    EXPECT_TRUE(schema::decode_text_fields({}, page, e));
    EXPECT_EQ(page.skip.value.value, 0);
    EXPECT_EQ(page.limit.value.value, 20);
    EXPECT_FALSE(page.limit.present);

    Page bad;
    EXPECT_FALSE(schema::decode_text_fields({{"skip", "-1"}, {"limit", "x"}}, bad, e));
    ASSERT_EQ(e.size(), 2u);
    EXPECT_EQ(json::value(e.items()[0].loc), loc({"skip"}));
    EXPECT_EQ(e.items()[0].type, "greater_than_equal");
    EXPECT_EQ(e.items()[0].input, json::value(-1));
    EXPECT_EQ(e.items()[1].type, "int_parsing");
    EXPECT_EQ(e.items()[1].input, json::value("x"));

    Page last;
    schema::Errors none;
    EXPECT_TRUE(schema::decode_text_fields({{"limit", "5"}, {"limit", "7"}}, last, none));
    EXPECT_EQ(last.limit.value.value, 7);  // the last of a repeated name wins, as in Starlette
}

TEST(Schema, EncodesCompactJsonInDeclarationOrder) {
    Sample s;
    s.name = "a\"b";
    s.count = 3;
    s.email = "x@y.io";
    EXPECT_EQ(schema::to_json(s), R"({"name":"a\"b","count":3,"note":null,"email":"x@y.io"})");
    s.note = "n";
    s.flag = true;
    s.flag.present = true;
    EXPECT_EQ(schema::to_json(s), R"({"name":"a\"b","count":3,"note":"n","flag":true,"email":"x@y.io"})");
}

TEST(Schema, EncodingReplacesInvalidUtf8) {
    EXPECT_EQ(schema::to_json(std::string("a\xff" "b")), "\"a\xef\xbf\xbd" "b\"");
}

TEST(Schema, EncodingEscapesWhatJsonRequiresAndKeepsTheRest) {
    const auto enc = [](std::string_view s) { return schema::to_json(std::string(s)); };
    EXPECT_EQ(enc(""), R"("")");
    EXPECT_EQ(enc("plain text, 0-9 ~\x7f"), "\"plain text, 0-9 ~\x7f\"");
    EXPECT_EQ(enc("q\"b\\e"), R"("q\"b\\e")");
    EXPECT_EQ(enc("\n\r\t\b\f"), R"("\n\r\t\b\f")");
    EXPECT_EQ(enc(std::string("\x00\x01\x1f", 3)), R"("\u0000\u0001\u001f")");
    // Valid UTF-8 of 2, 3 and 4 bytes is kept as it is, between escapes too.
    EXPECT_EQ(enc("caf\xc3\xa9 \xe2\x82\xac\"\xf0\x9f\x98\x80\n"), "\"caf\xc3\xa9 \xe2\x82\xac\\\"\xf0\x9f\x98\x80\\n\"");
    // Invalid: a lone continuation byte, a sequence cut short (also at the end), an
    // overlong form, a surrogate: each bad byte becomes U+FFFD, the rest is kept.
    const std::string fffd = "\xef\xbf\xbd";
    EXPECT_EQ(enc("a\x80" "b"), "\"a" + fffd + "b\"");
    EXPECT_EQ(enc("a\xe2\x82" "b"), "\"a" + fffd + fffd + "b\"");
    EXPECT_EQ(enc("ab\xf0\x9f"), "\"ab" + fffd + fffd + "\"");
    EXPECT_EQ(enc("\xc0\xaf"), "\"" + fffd + fffd + "\"");
    EXPECT_EQ(enc("\xed\xa0\x80"), "\"" + fffd + fffd + fffd + "\"");
}

// Plain text is scanned sixteen and eight bytes at a time, the last block overlapping
// the one before: any byte, at any place in a plain text of any of these lengths, is
// written as it is when alone.
TEST(Schema, EncodingFindsEveryByteThatNeedsEscapingWhereverItIs) {
    const auto enc = [](std::string_view s) { return schema::to_json(std::string(s)); };
    const std::string letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    for (std::size_t length : {0, 1, 6, 7, 8, 9, 14, 15, 16, 17, 20, 23, 24, 31, 32, 33, 47, 50}) {
        const std::string plain = letters.substr(0, length);
        for (int b = 0; b < 256; ++b) {
            const std::string alone = enc(std::string(1, static_cast<char>(b)));
            const std::string inner = alone.substr(1, alone.size() - 2);
            for (std::size_t at = 0; at <= plain.size(); ++at) {
                std::string text = plain;
                text.insert(at, 1, static_cast<char>(b));
                ASSERT_EQ(enc(text), "\"" + plain.substr(0, at) + inner + plain.substr(at) + "\"")
                    << "byte " << b << " at " << at << " of " << text.size();
            }
        }
    }
}

TEST(Schema, JsonSchemaListsRequiredFieldsAndConstraints) {
    schema::Definitions defs;
    const auto ref = schema::Codec<Sample>::schema(defs);
    EXPECT_EQ(ref.at("$ref"), "#/components/schemas/Sample");
    const auto& s = defs.schemas.at("Sample").as_object();
    EXPECT_EQ(s.at("required"), (json::array{"name", "count", "email"}));
    const auto& props = s.at("properties").as_object();
    EXPECT_EQ(props.at("name").at("maxLength"), 5);
    EXPECT_EQ(props.at("name").at("title"), "Name");
    EXPECT_EQ(props.at("count").at("minimum"), 0);
    EXPECT_EQ(props.at("email").at("format"), "email");
    EXPECT_EQ(props.at("note").at("default"), nullptr);
    EXPECT_TRUE(defs.schemas.contains("Tag"));

    schema::Definitions page_defs;
    schema::Codec<Page>::schema(page_defs);
    EXPECT_EQ(page_defs.schemas.at("Page").at("properties").at("limit").at("default"), 20);
}

TEST(Schema, DetailBodyHasFastApiShape) {
    auto d = decode(R"({"count": 1, "email": "a@b.co"})");
    const auto body = json::parse(schema::to_detail_json(d.errors));
    EXPECT_EQ(body, json::parse(R"({"detail":[{"type":"missing","loc":["name"],"msg":"Field required",
                                    "input":{"count":1,"email":"a@b.co"}}]})"));
}

}  // namespace
