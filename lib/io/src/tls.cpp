#include "picket/io/tls.h"

#include <boost/system/error_code.hpp>

namespace picket::io {

namespace ssl = boost::asio::ssl;

Expected<ssl::context, std::string> make_client_context(const TlsClientOptions& options) {
    ssl::context ctx(ssl::context::tls_client);
    boost::system::error_code ec;
    ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                        ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1,
                    ec);
    if (ec) {
        return unexpected("tls: " + ec.message());
    }
    if (options.ca_file.empty()) {
        ctx.set_default_verify_paths(ec);
        if (ec) {
            return unexpected("tls: default CA paths: " + ec.message());
        }
    } else {
        ctx.load_verify_file(options.ca_file, ec);
        if (ec) {
            return unexpected("tls: CA file '" + options.ca_file + "': " + ec.message());
        }
    }
    if (!options.cert_file.empty()) {
        ctx.use_certificate_chain_file(options.cert_file, ec);
        if (ec) {
            return unexpected("tls: certificate file '" + options.cert_file + "': " + ec.message());
        }
        ctx.use_private_key_file(options.key_file.empty() ? options.cert_file : options.key_file,
                                 ssl::context::pem, ec);
        if (ec) {
            return unexpected("tls: key file '" + options.key_file + "': " + ec.message());
        }
    }
    ctx.set_verify_mode(options.verify_peer ? ssl::verify_peer : ssl::verify_none, ec);
    if (ec) {
        return unexpected("tls: " + ec.message());
    }
    return ctx;
}

Expected<ssl::context, std::string> make_server_context(const TlsServerOptions& options) {
    ssl::context ctx(ssl::context::tls_server);
    boost::system::error_code ec;
    ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                        ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                        ssl::context::single_dh_use,
                    ec);
    if (ec) {
        return unexpected("tls: " + ec.message());
    }
    ctx.use_certificate_chain_file(options.cert_file, ec);
    if (ec) {
        return unexpected("tls: certificate file '" + options.cert_file + "': " + ec.message());
    }
    ctx.use_private_key_file(options.key_file, ssl::context::pem, ec);
    if (ec) {
        return unexpected("tls: key file '" + options.key_file + "': " + ec.message());
    }
    if (!options.client_ca_file.empty()) {
        ctx.load_verify_file(options.client_ca_file, ec);
        if (ec) {
            return unexpected("tls: client CA file '" + options.client_ca_file +
                              "': " + ec.message());
        }
        ctx.set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert, ec);
    } else {
        ctx.set_verify_mode(ssl::verify_none, ec);
    }
    if (ec) {
        return unexpected("tls: " + ec.message());
    }
    return ctx;
}

}  // namespace picket::io
