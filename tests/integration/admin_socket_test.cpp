// The admin API on a unix socket (issue #5: "admin API on loopback/unix socket or TLS,
// token-protected"), with real processes: three picketd sidecars with
// `http.admin_listen: unix:<dir>/wI.admin.sock` and picketctl `--admin-url unix:<path>`.
// The socket has mode 0600, the token is still required (a wrong or missing one changes
// nothing), maintenance on/off works through it and is logged with the caller's uid, a
// clean stop removes the file, and a restart after kill -9 replaces the stale one.
// And the admin API over TLS (`http.admin_tls` with a client CA; picketctl https:// with
// --ca-file/--cert-file/--key-file): works with the right CA, client certificate and token;
// a missing client certificate, an untrusted server CA, plain HTTP or a wrong token are
// refused and change nothing.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "picket/testing/process.h"
#include "picket/testing/redis_cluster.h"
#include "picket/testing/temp_dir.h"
#include "picket/testing/tls_material.h"
#include "picket/testing/wait.h"
#include "sidecars.h"

namespace picket {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using testing::Sidecars;
using testing::tutorial_cluster;

testing::ProcessResult ctl(const std::string& token_file, const std::vector<std::string>& urls,
                           std::vector<std::string> args) {
    std::vector<std::string> argv = {PICKETCTL_PATH, "--token-file", token_file};
    for (const auto& u : urls) {
        argv.push_back("--admin-url");
        argv.push_back(u);
    }
    argv.insert(argv.end(), args.begin(), args.end());
    return testing::run_process(argv, 15s);
}

/// Every watcher's maintenance list has `n` entries.
bool maintenance_everywhere(Sidecars& s, std::size_t n) {
    return testing::wait_until(
        [&] {
            for (std::size_t i = 0; i < s.size(); ++i) {
                auto st = s.status(i);
                if (!st.is_object() || st["failover"]["maintenance"].size() != n) {
                    return false;
                }
            }
            return true;
        },
        10s, 50ms);
}

/// The details of every `kind` event any watcher recorded.
std::string events_of(Sidecars& s, const std::string& kind) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        auto st = s.status(i);
        for (const auto& e : st.is_object() ? st["events"] : json::array()) {
            if (e["kind"] == kind) {
                out += e["detail"].get<std::string>() + "\n";
            }
        }
    }
    return out;
}

TEST(AdminSocket, MaintenanceOnAndOffOverAUnixSocketWithTheTokenOnly) {
    auto cluster = testing::RedisCluster::create(tutorial_cluster());
    Sidecars sidecars(*cluster, 3, "  enabled: true\n", "", /*admin_unix_socket=*/true);
    ASSERT_TRUE(sidecars.wait_ready(3)) << sidecars.logs();
    std::vector<std::string> urls;
    for (std::size_t i = 0; i < sidecars.size(); ++i) {
        const auto& path = sidecars.admin_socket(i);
        struct stat st {};
        ASSERT_EQ(::lstat(path.c_str(), &st), 0) << path << sidecars.logs();
        EXPECT_TRUE(S_ISSOCK(st.st_mode)) << path;
        EXPECT_EQ(st.st_mode & 07777, 0600U) << path;
        EXPECT_EQ(sidecars.admin_url(i), "unix:" + path);
        urls.push_back(sidecars.admin_url(i));
    }

    // A wrong token and no token at all are refused over the socket too; nothing changes.
    testing::TempDir dir;
    const std::string wrong = dir.path() + "/wrong.token";
    testing::write_file(wrong, "not-the-admin-token-at-all");
    const std::string empty = dir.path() + "/empty.token";
    testing::write_file(empty, "");
    for (const auto& token : {wrong, empty}) {
        auto r = ctl(token, urls, {"maintenance", "on", "cluster"});
        EXPECT_NE(r.exit_code, 0) << r.out << r.err;
        EXPECT_NE((r.out + r.err).find("missing or wrong admin token"), std::string::npos)
            << token << ": " << r.out << r.err;
    }
    EXPECT_TRUE(maintenance_everywhere(sidecars, 0));
    EXPECT_EQ(events_of(sidecars, "admin_maintenance"), "");

    // With the token: on, seen by every watcher, then off.
    auto on = ctl(sidecars.token_file(), urls, {"maintenance", "on", "cluster", "--for", "10m"});
    ASSERT_EQ(on.exit_code, 0) << on.out << on.err << sidecars.logs();
    EXPECT_TRUE(maintenance_everywhere(sidecars, 1)) << sidecars.status(0)["failover"].dump();
    // The audit trail names the caller by its uid (SO_PEERCRED).
    const auto audit = events_of(sidecars, "admin_maintenance");
    EXPECT_NE(audit.find("@unix(uid " + std::to_string(::getuid()) + ", pid "), std::string::npos)
        << audit;
    auto off = ctl(sidecars.token_file(), urls, {"maintenance", "off", "cluster"});
    ASSERT_EQ(off.exit_code, 0) << off.out << off.err;
    EXPECT_TRUE(maintenance_everywhere(sidecars, 0)) << sidecars.status(0)["failover"].dump();

    // A clean stop removes the socket file.
    ASSERT_TRUE(sidecars.process(2).send_signal(SIGTERM));
    ASSERT_TRUE(sidecars.process(2).wait_exit(10s));
    EXPECT_FALSE(std::filesystem::exists(sidecars.admin_socket(2)));
    // kill -9 leaves it behind; the restarted picketd replaces the stale file and serves.
    sidecars.kill(1);
    ASSERT_TRUE(std::filesystem::exists(sidecars.admin_socket(1)));
    sidecars.restart(1);
    sidecars.restart(2);
    ASSERT_TRUE(sidecars.wait_ready(3)) << sidecars.logs();
    auto again = ctl(sidecars.token_file(), urls, {"maintenance", "on", "cluster"});
    ASSERT_EQ(again.exit_code, 0) << again.out << again.err << sidecars.logs();
    EXPECT_TRUE(maintenance_everywhere(sidecars, 1)) << sidecars.status(1)["failover"].dump();
}

TEST(AdminTls, MaintenanceOverTlsNeedsTheCaTheClientCertificateAndTheToken) {
    testing::TempDir pki_dir;
    const auto pki = testing::TlsMaterial::generate(pki_dir.path());
    auto cluster = testing::RedisCluster::create(tutorial_cluster());
    Sidecars sidecars(*cluster, 3, "  enabled: true\n", "", false,
                      "  admin_tls:\n    enabled: true\n    cert_file: " + pki.server_cert() +
                          "\n    key_file: " + pki.server_key() +
                          "\n    client_ca_file: " + pki.ca_cert() + "\n");
    ASSERT_TRUE(sidecars.wait_ready(3)) << sidecars.logs();
    std::vector<std::string> urls;
    std::vector<std::string> plain_urls;
    for (std::size_t i = 0; i < sidecars.size(); ++i) {
        const auto plain = sidecars.admin_url(i);
        ASSERT_EQ(plain.rfind("http://", 0), 0U) << plain;
        plain_urls.push_back(plain);
        urls.push_back("https://" + plain.substr(7));
    }
    auto with = [&](std::vector<std::string> tls_args, const std::string& token_file,
                    const std::vector<std::string>& to, std::vector<std::string> args) {
        tls_args.insert(tls_args.end(), args.begin(), args.end());
        return ctl(token_file, to, tls_args);
    };
    const std::vector<std::string> good_tls = {"--ca-file",       pki.ca_cert(), "--cert-file",
                                               pki.client_cert(), "--key-file",  pki.client_key()};

    // Refused: no client certificate; a server CA we do not trust; plain HTTP on the TLS
    // port; the right TLS with a wrong token. Nothing changes.
    auto r = with({"--ca-file", pki.ca_cert()}, sidecars.token_file(), urls,
                  {"maintenance", "on", "cluster"});
    EXPECT_NE(r.exit_code, 0) << r.out << r.err;
    // TLS 1.3: the server's "certificate required" alert arrives after the client's side
    // of the handshake, with the response read.
    EXPECT_NE(r.err.find("certificate required"), std::string::npos) << r.err;
    r = with({"--ca-file", pki.other_ca_cert(), "--cert-file", pki.client_cert(), "--key-file",
              pki.client_key()},
             sidecars.token_file(), urls, {"maintenance", "on", "cluster"});
    EXPECT_NE(r.exit_code, 0) << r.out << r.err;
    EXPECT_NE(r.err.find("TLS handshake"), std::string::npos) << r.err;
    r = ctl(sidecars.token_file(), plain_urls, {"maintenance", "on", "cluster"});
    EXPECT_NE(r.exit_code, 0) << r.out << r.err;
    testing::TempDir dir;
    const std::string wrong = dir.path() + "/wrong.token";
    testing::write_file(wrong, "not-the-admin-token-at-all");
    r = with(good_tls, wrong, urls, {"maintenance", "on", "cluster"});
    EXPECT_NE(r.exit_code, 0) << r.out << r.err;
    EXPECT_NE((r.out + r.err).find("missing or wrong admin token"), std::string::npos)
        << r.out << r.err;
    EXPECT_TRUE(maintenance_everywhere(sidecars, 0));
    EXPECT_EQ(events_of(sidecars, "admin_maintenance"), "");

    // Accepted with all three: on everywhere, then off.
    auto on = with(good_tls, sidecars.token_file(), urls, {"maintenance", "on", "cluster"});
    ASSERT_EQ(on.exit_code, 0) << on.out << on.err << sidecars.logs();
    EXPECT_TRUE(maintenance_everywhere(sidecars, 1)) << sidecars.status(0)["failover"].dump();
    auto off = with(good_tls, sidecars.token_file(), urls, {"maintenance", "off", "cluster"});
    ASSERT_EQ(off.exit_code, 0) << off.out << off.err;
    EXPECT_TRUE(maintenance_everywhere(sidecars, 0)) << sidecars.status(0)["failover"].dump();
}

}  // namespace
}  // namespace picket
