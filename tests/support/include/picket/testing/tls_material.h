#pragma once
// Throw-away certificates for TLS tests, made with the openssl CLI at test time so no
// key material lives in the repository and nothing expires in CI.

#include <string>

namespace picket::testing {

/// The PEM files a TLS redis-server needs, plus a client certificate for clients that
/// present one. Paths are absolute. The server certificate is also valid as a client
/// certificate (redis uses it to dial its peers over TLS when tls-cluster/tls-replication
/// are on).
struct TlsServerFiles {
    std::string ca_cert;
    std::string server_cert;
    std::string server_key;
    std::string client_cert;
    std::string client_key;
};

/// A test PKI: a CA, a server certificate for CN localhost with SANs DNS:localhost and
/// IP:127.0.0.1, a client certificate, and a second CA that signed nothing the server
/// trusts (for wrong-CA tests), with a client certificate of its own. Keys are EC P-256,
/// certificates are valid for 2 days.
class TlsMaterial {
  public:
    /// Writes all files into the existing directory `dir` (usually a TempDir) by running
    /// openssl; throws std::runtime_error with openssl's stderr if any step fails.
    static TlsMaterial generate(const std::string& dir);

    /// What NodeOptions::tls wants.
    const TlsServerFiles& server_files() const { return files_; }
    const std::string& ca_cert() const { return files_.ca_cert; }
    const std::string& ca_key() const { return ca_key_; }
    const std::string& server_cert() const { return files_.server_cert; }
    const std::string& server_key() const { return files_.server_key; }
    const std::string& client_cert() const { return files_.client_cert; }
    const std::string& client_key() const { return files_.client_key; }
    /// The unrelated CA: trusting it instead of ca_cert() must make verification fail.
    const std::string& other_ca_cert() const { return other_ca_cert_; }
    /// A client certificate signed by the other CA (refused by tls-auth-clients yes).
    const std::string& other_client_cert() const { return other_client_cert_; }
    const std::string& other_client_key() const { return other_client_key_; }

  private:
    TlsServerFiles files_;
    std::string ca_key_;
    std::string other_ca_cert_;
    std::string other_client_cert_;
    std::string other_client_key_;
};

}  // namespace picket::testing
