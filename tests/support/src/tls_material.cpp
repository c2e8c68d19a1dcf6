#include "picket/testing/tls_material.h"

#include <chrono>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "picket/testing/process.h"
#include "picket/testing/temp_dir.h"

namespace picket::testing {
namespace {

// Our own openssl config: nothing from the system's openssl.cnf (whose default extensions
// differ between distributions) and no prompts.
constexpr const char* kOpensslConfig = R"(
[req]
distinguished_name = dn
prompt = no

[dn]
CN = unused

[v3_ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash

[server_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid

[client_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
)";

constexpr const char* kValidDays = "2";

/// Runs openssl; throws with its stderr on failure.
void openssl(std::vector<std::string> args) {
    static const std::string binary = find_executable("openssl", "PICKET_OPENSSL");
    args.insert(args.begin(), binary);
    const ProcessResult r = run_process(args, std::chrono::seconds(30));
    if (!r.exited_ok()) {
        std::string cmd;
        for (const auto& a : args) {
            cmd += a + " ";
        }
        throw std::runtime_error("TlsMaterial: `" + cmd + "` failed: " + r.describe());
    }
}

void make_key(const std::string& path) {
    openssl({"genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", path});
}

std::string random_serial() {
    std::random_device rd;
    std::uniform_int_distribution<unsigned> byte(0, 255);
    std::string s = "0x";
    constexpr const char* kHex = "0123456789abcdef";
    for (int i = 0; i < 16; ++i) {
        const unsigned b = byte(rd) & (i == 0 ? 0x7fu : 0xffu);  // positive serial
        s += kHex[b >> 4];
        s += kHex[b & 15u];
    }
    return s;
}

/// A self-signed CA certificate and its key.
void make_ca(const std::string& config, const std::string& key, const std::string& cert,
             const std::string& cn) {
    make_key(key);
    openssl({"req", "-config", config, "-new", "-x509", "-key", key, "-sha256", "-days", kValidDays,
             "-subj", "/O=picket tests/CN=" + cn, "-extensions", "v3_ca", "-set_serial",
             random_serial(), "-out", cert});
}

/// A leaf certificate for `cn` signed by the CA, with the given extension section.
void make_leaf(const std::string& dir, const std::string& config, const std::string& ca_cert,
               const std::string& ca_key, const std::string& name, const std::string& cn,
               const std::string& extensions, std::string& cert_out, std::string& key_out) {
    key_out = dir + "/" + name + ".key";
    cert_out = dir + "/" + name + ".crt";
    const std::string csr = dir + "/" + name + ".csr";
    make_key(key_out);
    openssl({"req", "-config", config, "-new", "-key", key_out, "-subj", "/O=picket tests/CN=" + cn,
             "-out", csr});
    openssl({"x509", "-req", "-in", csr, "-CA", ca_cert, "-CAkey", ca_key, "-set_serial",
             random_serial(), "-days", kValidDays, "-sha256", "-extfile", config, "-extensions",
             extensions, "-out", cert_out});
}

}  // namespace

TlsMaterial TlsMaterial::generate(const std::string& dir) {
    const std::string config = dir + "/openssl.cnf";
    write_file(config, kOpensslConfig);

    TlsMaterial m;
    m.files_.ca_cert = dir + "/ca.crt";
    m.ca_key_ = dir + "/ca.key";
    make_ca(config, m.ca_key_, m.files_.ca_cert, "picket test CA");
    make_leaf(dir, config, m.files_.ca_cert, m.ca_key_, "server", "localhost", "server_ext",
              m.files_.server_cert, m.files_.server_key);
    make_leaf(dir, config, m.files_.ca_cert, m.ca_key_, "client", "picket-test-client",
              "client_ext", m.files_.client_cert, m.files_.client_key);

    m.other_ca_cert_ = dir + "/other-ca.crt";
    const std::string other_ca_key = dir + "/other-ca.key";
    make_ca(config, other_ca_key, m.other_ca_cert_, "picket unrelated CA");
    make_leaf(dir, config, m.other_ca_cert_, other_ca_key, "other-client", "picket-test-client",
              "client_ext", m.other_client_cert_, m.other_client_key_);
    return m;
}

}  // namespace picket::testing
