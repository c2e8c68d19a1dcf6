// Unit tests of picket::resp::Command encoding and naming.

#include "picket/resp/command.h"

#include <gtest/gtest.h>

#include "picket/resp/reader.h"

namespace picket::resp {
namespace {

TEST(Command, EncodesAsArrayOfBulkStrings) {
    EXPECT_EQ(Command({"PING"}).encode(), "*1\r\n$4\r\nPING\r\n");
    EXPECT_EQ(Command({"SET", "k", ""}).encode(), "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n");
}

TEST(Command, IsBinarySafe) {
    const std::string value("a\r\n\0b", 5);
    Command c{"SET", "key"};
    c.arg(value);
    // Our own reader must read back exactly the arguments we encoded.
    auto parsed = parse_one(c.encode());
    ASSERT_TRUE(parsed);
    ASSERT_EQ(parsed->elements.size(), 3u);
    EXPECT_EQ(parsed->elements[2].str, value);
}

TEST(Command, NameIncludesSubcommandButNeverSecrets) {
    EXPECT_EQ(Command({"cluster", "nodes"}).name(), "CLUSTER NODES");
    EXPECT_EQ(Command({"info", "replication"}).name(), "INFO");
    EXPECT_EQ(Command({"AUTH", "user", "secret"}).name(), "AUTH");
    EXPECT_EQ(Command{}.name(), "");
}

TEST(Command, IntegerArguments) {
    Command c{"CLUSTER", "COUNTKEYSINSLOT"};
    c.arg(std::int64_t{16383});
    EXPECT_EQ(c.args().back(), "16383");
}

}  // namespace
}  // namespace picket::resp
