// Value syntaxes: durations, sizes, addresses, node ids, URLs — edges and exact messages.

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "picket/config/values.h"

namespace picket::config {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::nanoseconds;
using std::chrono::seconds;

TEST(Duration, AcceptsTheDocumentedForms) {
    EXPECT_EQ(*parse_duration("100ms"), milliseconds(100));
    EXPECT_EQ(*parse_duration("1s"), seconds(1));
    EXPECT_EQ(*parse_duration("1.5s"), milliseconds(1500));
    EXPECT_EQ(*parse_duration("5m"), minutes(5));
    EXPECT_EQ(*parse_duration("2h"), hours(2));
    EXPECT_EQ(*parse_duration("0s"), Duration(0));
    EXPECT_EQ(*parse_duration("0ms"), Duration(0));
    EXPECT_EQ(*parse_duration("0.5ms"), std::chrono::microseconds(500));
    EXPECT_EQ(*parse_duration("0.000001ms"), nanoseconds(1));
    EXPECT_EQ(*parse_duration("1.000000000s"), seconds(1));
    EXPECT_EQ(*parse_duration("007s"), seconds(7));
    EXPECT_EQ(*parse_duration("1.25h"), minutes(75));
    EXPECT_EQ(*parse_duration("10000h"), hours(10000));
    EXPECT_EQ(*parse_duration("0.1m"), seconds(6));
}

TEST(Duration, RejectsWithAReason) {
    EXPECT_EQ(parse_duration("5").error(),
              "'5' has no unit (write a number and a unit: 100ms, 1s, 1.5s, 5m, 2h)");
    EXPECT_EQ(parse_duration("-1s").error(), "'-1s' is negative; durations must be positive");
    EXPECT_EQ(parse_duration("1d").error(), "'1d' has an unknown unit 'd' (use ms, s, m or h)");
    EXPECT_EQ(parse_duration("10001h").error(), "'10001h' is too long (at most 10000h)");
    EXPECT_EQ(parse_duration("0.0000000001s").error(),
              "'0.0000000001s' is finer than a nanosecond");
    EXPECT_EQ(parse_duration("").error(),
              "empty duration (write a number and a unit: 100ms, 1s, 1.5s, 5m, 2h)");
    for (const char* bad : {"+1s",
                            " 1s",
                            "1s ",
                            "1 s",
                            "1S",
                            "1sec",
                            "1.s",
                            ".5s",
                            "1.5",
                            "1e3ms",
                            "1,5s",
                            "1ms2",
                            "s",
                            "ms",
                            "1us",
                            "1ns",
                            "0x10s",
                            "1..5s",
                            "1.5.5s",
                            "99999999999999999999999h",
                            "18446744073709551616ms",
                            "1000000000000h",
                            "nan",
                            "infs"}) {
        EXPECT_FALSE(parse_duration(bad).has_value()) << bad;
    }
}

TEST(Duration, OverflowAtTheLimitIsExact) {
    EXPECT_TRUE(parse_duration("600000m").has_value());  // = 10000h
    EXPECT_FALSE(parse_duration("600001m").has_value());
    EXPECT_TRUE(parse_duration("36000000s").has_value());
    EXPECT_FALSE(parse_duration("36000000.000000001s").has_value());
    EXPECT_FALSE(parse_duration("9223372036854775807ms").has_value());
}

TEST(Duration, FormatsTheShortestExactSpelling) {
    EXPECT_EQ(format_duration(Duration(0)), "0s");
    EXPECT_EQ(format_duration(milliseconds(100)), "100ms");
    EXPECT_EQ(format_duration(milliseconds(1500)), "1500ms");
    EXPECT_EQ(format_duration(seconds(90)), "90s");
    EXPECT_EQ(format_duration(minutes(2)), "2m");
    EXPECT_EQ(format_duration(hours(3)), "3h");
    EXPECT_EQ(format_duration(std::chrono::microseconds(1500)), "1.5ms");
    EXPECT_EQ(format_duration(nanoseconds(1)), "0.000001ms");
    for (const char* text :
         {"100ms", "1.5s", "5m", "2h", "0.5ms", "1.25h", "0.000001ms", "10000h"}) {
        const auto d = *parse_duration(text);
        EXPECT_EQ(*parse_duration(format_duration(d)), d) << text;
    }
}

TEST(Size, ParsesBytesAndUnits) {
    EXPECT_EQ(*parse_size("0"), 0U);
    EXPECT_EQ(*parse_size("65536"), 65536U);
    EXPECT_EQ(*parse_size("8KiB"), 8192U);
    EXPECT_EQ(*parse_size("64MiB"), 64U * 1024 * 1024);
    EXPECT_EQ(*parse_size("1GiB"), 1024U * 1024 * 1024);
    EXPECT_EQ(*parse_size("3kB"), 3000U);
    EXPECT_EQ(*parse_size("2MB"), 2000000U);
    EXPECT_EQ(*parse_size("12B"), 12U);
    EXPECT_EQ(parse_size("1.5MiB").error(),
              "'1.5MiB' has an unknown unit (write bytes, or a whole number with B, KiB, MiB, GiB, "
              "kB, MB, GB)");
    for (const char* bad : {"", "-1", "+1", "1 KiB", "1kib", "1K", "KiB", "18446744073709551616",
                            "18014398509481984KiB"}) {
        EXPECT_FALSE(parse_size(bad).has_value()) << bad;
    }
    EXPECT_EQ(format_size(64U * 1024 * 1024), "64MiB");
    EXPECT_EQ(format_size(1000), "1000");
    EXPECT_EQ(format_size(0), "0");
    EXPECT_EQ(format_size(8192), "8KiB");
}

TEST(Address, ParsesHostPortAndBracketedIpv6) {
    auto a = parse_address("10.0.0.1:6379");
    ASSERT_TRUE(a.has_value());
    EXPECT_EQ(a->host, "10.0.0.1");
    EXPECT_EQ(a->port, 6379);
    EXPECT_TRUE(a->is_ip_literal());
    EXPECT_FALSE(a->is_loopback());

    a = parse_address("[::1]:7700");
    ASSERT_TRUE(a.has_value());
    EXPECT_EQ(a->host, "::1");
    EXPECT_EQ(a->to_string(), "[::1]:7700");
    EXPECT_TRUE(a->is_loopback());

    a = parse_address("redis-1.example.net:65535");
    ASSERT_TRUE(a.has_value());
    EXPECT_FALSE(a->is_ip_literal());
    EXPECT_EQ(a->port, 65535);

    EXPECT_TRUE(parse_address("127.0.0.5:1")->is_loopback());
    EXPECT_TRUE(parse_address("localhost:1")->is_loopback());
    EXPECT_TRUE(parse_address("0.0.0.0:1")->is_wildcard());
    EXPECT_TRUE(parse_address("[::]:1")->is_wildcard());
    EXPECT_TRUE(parse_address("[::ffff:10.0.0.1]:1").has_value());
    EXPECT_TRUE(parse_address("redis_1:6379").has_value());  // docker-style names
}

TEST(Address, RejectsWithAReason) {
    EXPECT_EQ(parse_address("::1:7700").error(),
              "IPv6 address '::1' must be written in brackets, e.g. [::1]:7700");
    EXPECT_EQ(parse_address("10.0.0.1").error(),
              "'10.0.0.1' has no port (write host:port or [ipv6]:port)");
    EXPECT_EQ(parse_address("10.0.0.1:0").error(), "port '0' is out of range 1..65535");
    EXPECT_EQ(parse_address("10.0.0.1:65536").error(), "port '65536' is out of range 1..65535");
    EXPECT_EQ(parse_address("10.0.0.1:").error(), "missing port after ':'");
    EXPECT_EQ(parse_address("10.0.0.1:http").error(), "port 'http' is not a number 1..65535");
    EXPECT_EQ(parse_address(":7700").error(),
              "missing host before ':' (use 0.0.0.0 or [::] for every interface)");
    EXPECT_EQ(parse_address("10.0.0.256:1").error(), "'10.0.0.256' is not a valid IPv4 address");
    EXPECT_EQ(parse_address("[fe80::zz]:1").error(), "'fe80::zz' is not a valid IPv6 address");
    EXPECT_EQ(parse_address("bad host:1").error(),
              "'bad host' is not a valid host name or IP address");
    for (const char* bad :
         {"", "[::1]", "[::1]7700", "[::1:7700", "-a:1", "a-:1", "a..b:1", "01.2.3.4:1", "1.2.3:1",
          "h:+1", "h:-1", "h:123456", "[1:2:3:4:5:6:7:8:9]:1", "[1::2::3]:1", "[:::]:1",
          "[1:2:3:4:5:6:7::8]:1"}) {
        EXPECT_FALSE(parse_address(bad).has_value()) << bad;
    }
}

TEST(Address, Ipv6Literals) {
    for (const char* ok :
         {"::", "::1", "1::", "fe80::1", "2001:db8::8a2e:370:7334", "1:2:3:4:5:6:7:8",
          "::ffff:192.0.2.1", "1:2:3:4:5:6:1.2.3.4", "1::2:3:4:5:6:7"}) {
        EXPECT_TRUE(is_ipv6_literal(ok)) << ok;
    }
    for (const char* bad :
         {"", ":", ":1", "1:", "1:2:3:4:5:6:7", "1:2:3:4:5:6:7:8:9", "12345::", "::1.2.3",
          "1.2.3.4::", "g::", "fe80::1%eth0", "1:2:3:4:5:6:7:1.2.3.4"}) {
        EXPECT_FALSE(is_ipv6_literal(bad)) << bad;
    }
}

TEST(NodeId, FortyLowerHexDigits) {
    EXPECT_TRUE(is_node_id("3f1c5e0a9b8d7c6e5f4a3b2c1d0e9f8a7b6c5d4e"));
    EXPECT_FALSE(is_node_id("3F1C5E0A9B8D7C6E5F4A3B2C1D0E9F8A7B6C5D4E"));
    EXPECT_FALSE(is_node_id("3f1c5e0a9b8d7c6e5f4a3b2c1d0e9f8a7b6c5d4"));
    EXPECT_FALSE(is_node_id("3f1c5e0a9b8d7c6e5f4a3b2c1d0e9f8a7b6c5d4g"));
}

TEST(Url, ParsesHttpAndHttps) {
    auto u = parse_url("https://hooks.example.net/picket?x=1");
    ASSERT_TRUE(u.has_value());
    EXPECT_TRUE(u->https);
    EXPECT_EQ(u->host, "hooks.example.net");
    EXPECT_EQ(u->port, 443);
    EXPECT_EQ(u->target, "/picket?x=1");

    u = parse_url("http://10.0.0.1:9093");
    ASSERT_TRUE(u.has_value());
    EXPECT_FALSE(u->https);
    EXPECT_EQ(u->port, 9093);
    EXPECT_EQ(u->target, "/");

    u = parse_url("http://[::1]:8080/a");
    ASSERT_TRUE(u.has_value());
    EXPECT_EQ(u->host, "::1");
    EXPECT_EQ(u->port, 8080);

    u = parse_url("http://h?q");
    ASSERT_TRUE(u.has_value());
    EXPECT_EQ(u->target, "/?q");
}

TEST(Url, RejectsWithAReason) {
    EXPECT_EQ(parse_url("ftp://x/").error(), "'ftp://x/' is not an http:// or https:// URL");
    EXPECT_EQ(parse_url("https://user:pw@h/").error(),
              "URL must not contain credentials (user:password@); use the secret file instead");
    EXPECT_EQ(parse_url("https://h/#frag").error(), "URL must not contain a fragment ('#')");
    EXPECT_EQ(parse_url("https://h /").error(), "URL contains a space or control character");
    for (const char* bad : {"", "https://", "https:///x", "http://h:0/", "http://h:99999/",
                            "http://[::1/", "http://[::1]x/", "HTTP://h/", "http://-h/"}) {
        EXPECT_FALSE(parse_url(bad).has_value()) << bad;
    }
}

}  // namespace
}  // namespace picket::config
