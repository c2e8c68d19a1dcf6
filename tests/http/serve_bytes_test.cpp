// picket::http::serve_bytes(): the server's connection loop on in-memory bytes (what the
// fuzz target drives). Oversized and malformed requests get a clear 4xx and never reach
// the handler, so they change nothing; pipelined requests are answered in order.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "picket/http/server.h"

namespace picket::http {
namespace {

class ServeBytesTest : public ::testing::Test {
  protected:
    ServeBytesTest() {
        limits_.max_header_bytes = 1024;
        limits_.max_body_bytes = 256;
    }

    std::string serve(const std::string& bytes) {
        return serve_bytes(
            bytes, limits_,
            [this](const Request& r) {
                seen_.push_back(r);
                return Response::text(200, r.method + " " + r.path + " " + r.body);
            },
            &stats_);
    }

    static std::size_t count(const std::string& haystack, const std::string& needle) {
        std::size_t n = 0;
        for (auto at = haystack.find(needle); at != std::string::npos;
             at = haystack.find(needle, at + 1)) {
            ++n;
        }
        return n;
    }

    ServerLimits limits_;
    ServerStats stats_;
    std::vector<Request> seen_;
};

TEST_F(ServeBytesTest, AnswersARequestLikeTheServer) {
    const auto out = serve(
        "POST /v1/admin/ack?x=1 HTTP/1.1\r\nAuthorization: Bearer t\r\nContent-Length: 2\r\n"
        "\r\n{}");
    ASSERT_EQ(seen_.size(), 1u);
    EXPECT_EQ(seen_[0].method, "POST");
    EXPECT_EQ(seen_[0].path, "/v1/admin/ack");
    EXPECT_EQ(seen_[0].query, "x=1");
    EXPECT_EQ(seen_[0].headers.at("authorization"), "Bearer t");
    EXPECT_EQ(seen_[0].body, "{}");
    EXPECT_EQ(out.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << out;
    EXPECT_NE(out.find("Cache-Control: no-store"), std::string::npos);
    EXPECT_NE(out.find("\r\n\r\nPOST /v1/admin/ack {}"), std::string::npos);
    EXPECT_EQ(stats_.requests, 1u);
    EXPECT_EQ(stats_.bad_requests, 0u);
}

TEST_F(ServeBytesTest, PipelinedRequestsAreAnsweredInOrderUntilClose) {
    const auto out = serve(
        "GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\nGET /c HTTP/1.1\r\nConnection: close\r\n"
        "\r\nGET /never HTTP/1.1\r\n\r\n");
    ASSERT_EQ(seen_.size(), 3u);
    EXPECT_EQ(seen_[0].path, "/a");
    EXPECT_EQ(seen_[1].path, "/b");
    EXPECT_EQ(seen_[2].path, "/c");
    EXPECT_EQ(count(out, "HTTP/1.1 200 OK"), 3u);
    EXPECT_LT(out.find("GET /a"), out.find("GET /b"));
    EXPECT_LT(out.find("GET /b"), out.find("GET /c"));
}

TEST_F(ServeBytesTest, OversizedHeaderGets431AndReachesNoHandler) {
    const auto out =
        serve("POST /v1/admin/maintenance HTTP/1.1\r\nX-Big: " + std::string(2000, 'a') +
              "\r\nContent-Length: 2\r\n\r\n{}");
    EXPECT_EQ(out.rfind("HTTP/1.1 431 ", 0), 0u) << out;
    EXPECT_NE(out.find("request header fields too large"), std::string::npos);
    EXPECT_NE(out.find("Connection: close"), std::string::npos);
    EXPECT_TRUE(seen_.empty());
    EXPECT_EQ(stats_.requests, 0u);
    EXPECT_EQ(stats_.bad_requests, 1u);
}

TEST_F(ServeBytesTest, HugeContentLengthGets413BeforeAnyBody) {
    const auto out = serve(
        "POST /v1/admin/maintenance HTTP/1.1\r\nContent-Length: 18446744073709551615\r\n\r\n{}");
    EXPECT_EQ(out.rfind("HTTP/1.1 413 ", 0), 0u) << out;
    EXPECT_NE(out.find("request body too large"), std::string::npos);
    EXPECT_TRUE(seen_.empty());
}

TEST_F(ServeBytesTest, ContentLengthPastUint64IsABadRequest) {
    const auto out = serve("POST /x HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n");
    EXPECT_EQ(out.rfind("HTTP/1.1 400 ", 0), 0u) << out;
    EXPECT_TRUE(seen_.empty());
}

TEST_F(ServeBytesTest, ChunkedBodyPastTheLimitGets413) {
    const auto out = serve("POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n200\r\n" +
                           std::string(512, 'b') + "\r\n0\r\n\r\n");
    EXPECT_EQ(out.rfind("HTTP/1.1 413 ", 0), 0u) << out;
    EXPECT_TRUE(seen_.empty());
}

TEST_F(ServeBytesTest, ChunkedBodyWithinTheLimitIsDelivered) {
    serve("POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n");
    ASSERT_EQ(seen_.size(), 1u);
    EXPECT_EQ(seen_[0].body, "abcde");
}

TEST_F(ServeBytesTest, BogusChunkSizeIsABadRequest) {
    for (const std::string size : {"fffffffffffffffffffff", "-5", "zz"}) {
        seen_.clear();
        const auto out = serve("POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" + size +
                               "\r\nabc\r\n0\r\n\r\n");
        EXPECT_TRUE(out.rfind("HTTP/1.1 400 ", 0) == 0 || out.rfind("HTTP/1.1 413 ", 0) == 0)
            << size << ": " << out;
        EXPECT_TRUE(seen_.empty()) << size;
    }
}

TEST_F(ServeBytesTest, NulBytesAndBadMethodsAreBadRequests) {
    for (const std::string& bytes :
         {std::string("G\0T /metrics HTTP/1.1\r\n\r\n", 25),
          std::string("GET /met\0rics HTTP/1.1\r\n\r\n", 27),
          std::string("GET /m HTTP/9.9\r\n\r\n"),
          std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11)}) {
        seen_.clear();
        const auto out = serve(bytes);
        EXPECT_EQ(out.rfind("HTTP/1.1 400 ", 0), 0u) << out;
        EXPECT_TRUE(seen_.empty());
    }
}

TEST_F(ServeBytesTest, AGoodRequestThenAnOversizedOneServesOnlyTheFirst) {
    const auto out =
        serve("GET /ok HTTP/1.1\r\n\r\nGET /big HTTP/1.1\r\nX-Big: " + std::string(2000, 'a') +
              "\r\n\r\n");
    ASSERT_EQ(seen_.size(), 1u);
    EXPECT_EQ(seen_[0].path, "/ok");
    EXPECT_EQ(out.rfind("HTTP/1.1 200 OK", 0), 0u);
    EXPECT_NE(out.find("HTTP/1.1 431 "), std::string::npos) << out;
}

TEST_F(ServeBytesTest, RequestCutShortIsABadRequestAndNoInputNoAnswer) {
    EXPECT_EQ(
        serve("POST /x HTTP/1.1\r\nContent-Length: 100\r\n\r\nshort").rfind("HTTP/1.1 400 ", 0),
        0u);
    EXPECT_EQ(serve("GET /x HTTP/1.1\r\nHost: a").rfind("HTTP/1.1 400 ", 0), 0u);
    EXPECT_EQ(serve(""), "");
    EXPECT_TRUE(seen_.empty());
}

}  // namespace
}  // namespace picket::http
