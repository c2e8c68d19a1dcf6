#pragma once
// Reading the captured Redis output under tests/data (PICKET_TEST_DATA, set by ctest,
// or the source-tree path compiled in).

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "picket/resp/reader.h"
#include "picket/resp/reply.h"

namespace picket::cluster::testing {

/// The contents of tests/data/<relative>; fails the test when unreadable.
inline std::string read_data(const std::string& relative) {
    const char* env = std::getenv("PICKET_TEST_DATA");
    const std::string dir = env != nullptr ? env : PICKET_TEST_DATA_DIR;
    std::ifstream in(dir + "/" + relative, std::ios::binary);
    EXPECT_TRUE(in.good()) << "cannot read " << dir << "/" << relative;
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

/// A captured RESP reply file, parsed.
inline resp::Reply read_reply(const std::string& relative) {
    auto reply = resp::parse_one(read_data(relative));
    EXPECT_TRUE(reply.has_value()) << relative << ": " << reply.error().message;
    return reply ? *reply : resp::Reply{};
}

}  // namespace picket::cluster::testing
