// Unit tests of picket::resp::ReplyReader: the hiredis-backed reader with our limits.

#include "picket/resp/reader.h"

#include <gtest/gtest.h>

#include <string>

namespace picket::resp {
namespace {

Reply must_parse(std::string_view bytes, ReaderLimits limits = {}) {
    auto r = parse_one(bytes, limits);
    EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().message);
    return r ? *r : Reply{};
}

std::string parse_error(std::string_view bytes, ReaderLimits limits = {}) {
    auto r = parse_one(bytes, limits);
    EXPECT_FALSE(r.has_value()) << "parsed: " << (r ? r->debug_string() : "");
    return r ? std::string() : r.error().message;
}

TEST(ReplyReader, ParsesEveryResp2Type) {
    EXPECT_EQ(must_parse("+PONG\r\n"), Reply::status("PONG"));
    EXPECT_EQ(must_parse("-ERR unknown\r\n"), Reply::error("ERR unknown"));
    EXPECT_EQ(must_parse(":-42\r\n"), Reply::integer_reply(-42));
    EXPECT_EQ(must_parse("$5\r\nhe\r\no\r\n"), Reply::string("he\r\no"));
    EXPECT_EQ(must_parse("$0\r\n\r\n"), Reply::string(""));
    EXPECT_EQ(must_parse("$-1\r\n"), Reply::nil());
    EXPECT_EQ(must_parse("*-1\r\n"), Reply::nil());
    EXPECT_EQ(must_parse("*0\r\n"), Reply::array({}));
}

TEST(ReplyReader, ParsesNestedArrays) {
    auto r = must_parse("*3\r\n:1\r\n*2\r\n$1\r\na\r\n$-1\r\n+OK\r\n");
    ASSERT_TRUE(r.is_array());
    ASSERT_EQ(r.elements.size(), 3u);
    EXPECT_EQ(r.elements[0], Reply::integer_reply(1));
    EXPECT_EQ(r.elements[1], Reply::array({Reply::string("a"), Reply::nil()}));
    EXPECT_EQ(r.elements[2], Reply::status("OK"));
}

TEST(ReplyReader, HandlesBytesArrivingOneAtATime) {
    const std::string wire = "*2\r\n$3\r\nfoo\r\n*1\r\n:7\r\n+NEXT\r\n";
    ReplyReader reader;
    std::vector<Reply> got;
    for (char c : wire) {
        ASSERT_TRUE(reader.feed(std::string_view(&c, 1)));
        while (true) {
            auto next = reader.next();
            ASSERT_TRUE(next);
            if (!next->has_value()) {
                break;
            }
            got.push_back(**next);
        }
    }
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(got[0],
              Reply::array({Reply::string("foo"), Reply::array({Reply::integer_reply(7)})}));
    EXPECT_EQ(got[1], Reply::status("NEXT"));
    EXPECT_EQ(reader.buffered(), 0u);
}

TEST(ReplyReader, PipelinedRepliesComeOutInOrder) {
    ReplyReader reader;
    ASSERT_TRUE(reader.feed("+A\r\n+B\r\n:3\r\n"));
    for (auto expected : {Reply::status("A"), Reply::status("B"), Reply::integer_reply(3)}) {
        auto next = reader.next();
        ASSERT_TRUE(next && next->has_value());
        EXPECT_EQ(**next, expected);
    }
    auto none = reader.next();
    ASSERT_TRUE(none);
    EXPECT_FALSE(none->has_value());
}

TEST(ReplyReader, RejectsMalformedInput) {
    EXPECT_NE(parse_error("?what\r\n").find("protocol error"), std::string::npos);
    EXPECT_NE(parse_error(":12x\r\n").find("protocol error"), std::string::npos);
    EXPECT_NE(parse_error("$abc\r\n").find("protocol error"), std::string::npos);
    EXPECT_NE(parse_error("$-2\r\n").find("protocol error"), std::string::npos);
    EXPECT_NE(parse_error("*-2\r\n").find("protocol error"), std::string::npos);
    EXPECT_NE(parse_error("*99999999999\r\n").find("protocol error"), std::string::npos);
    EXPECT_EQ(parse_error("$5\r\nab"), "incomplete reply");
    EXPECT_NE(parse_error("+OK\r\n+MORE\r\n").find("trailing bytes"), std::string::npos);
}

TEST(ReplyReader, EnforcesBulkLimit) {
    ReaderLimits limits;
    limits.max_bulk_bytes = 4;
    EXPECT_EQ(must_parse("$4\r\nabcd\r\n", limits), Reply::string("abcd"));
    EXPECT_NE(parse_error("$5\r\nabcde\r\n", limits).find("string of 5 bytes exceeds limit"),
              std::string::npos);
    // Status and error lines count as strings too.
    EXPECT_NE(parse_error("+abcdef\r\n", limits).find("exceeds limit"), std::string::npos);
}

TEST(ReplyReader, EnforcesElementLimitAcrossNesting) {
    ReaderLimits limits;
    limits.max_elements = 3;
    EXPECT_TRUE(parse_one("*2\r\n*1\r\n:1\r\n:2\r\n", limits));
    // 2 + 2 nested = 4 elements in one reply.
    EXPECT_NE(parse_error("*2\r\n*2\r\n:1\r\n:2\r\n:3\r\n", limits).find("array elements"),
              std::string::npos);
    // A declared length alone is refused before anything is allocated for it.
    EXPECT_NE(parse_error("*2147483647\r\n", limits).find("exceeds limit"), std::string::npos);
}

TEST(ReplyReader, ElementLimitIsPerReply) {
    ReaderLimits limits;
    limits.max_elements = 2;
    ReplyReader reader(limits);
    for (int i = 0; i < 5; ++i) {
        ASSERT_TRUE(reader.feed("*2\r\n:1\r\n:2\r\n"));
        auto next = reader.next();
        ASSERT_TRUE(next) << next.error().message;
        ASSERT_TRUE(next->has_value());
    }
}

TEST(ReplyReader, EnforcesDepthLimit) {
    ReaderLimits limits;
    limits.max_depth = 2;
    EXPECT_TRUE(parse_one("*1\r\n*1\r\n:1\r\n", limits));
    EXPECT_NE(parse_error("*1\r\n*1\r\n*1\r\n:1\r\n", limits).find("nesting depth 3"),
              std::string::npos);
    // Beyond hiredis's own maximum (7) the reader errors too, without crashing.
    std::string deep;
    for (int i = 0; i < 20; ++i) {
        deep += "*1\r\n";
    }
    deep += ":1\r\n";
    EXPECT_FALSE(parse_one(deep).has_value());
}

TEST(ReplyReader, EnforcesBufferLimit) {
    ReaderLimits limits;
    limits.max_buffer_bytes = 16;
    ReplyReader reader(limits);
    ASSERT_TRUE(reader.feed("$100\r\n0123456"));  // 13 bytes, incomplete
    auto next = reader.next();
    ASSERT_TRUE(next);
    EXPECT_FALSE(next->has_value());
    auto fed = reader.feed("789ab");  // would make 18
    ASSERT_FALSE(fed);
    EXPECT_EQ(fed.error().kind, ReaderError::Kind::kLimit);
    EXPECT_NE(fed.error().message.find("unparsed bytes"), std::string::npos);
}

TEST(ReplyReader, IsPoisonedAfterAnError) {
    ReplyReader reader;
    ASSERT_TRUE(reader.feed("!bad\r\n"));
    auto first = reader.next();
    ASSERT_FALSE(first);
    // Good bytes afterwards do not resurrect it: the stream is out of sync.
    auto fed = reader.feed("+OK\r\n");
    ASSERT_FALSE(fed);
    EXPECT_EQ(fed.error().message, first.error().message);
}

TEST(Reply, ErrorCodeAndDebugString) {
    EXPECT_EQ(Reply::error("LOADING Redis is loading").error_code(), "LOADING");
    EXPECT_EQ(Reply::error("MASTERDOWN").error_code(), "MASTERDOWN");
    EXPECT_EQ(Reply::status("OK").error_code(), "");
    EXPECT_EQ(
        Reply::array({Reply::string("a"), Reply::integer_reply(1), Reply::nil()}).debug_string(),
        "[\"a\", :1, (nil)]");
    EXPECT_EQ(Reply::string(std::string(50, 'x')).debug_string(10).size(), 13u);
}

}  // namespace
}  // namespace picket::resp
