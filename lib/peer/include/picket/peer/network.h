#pragma once
// Transport between watchers (docs/consensus.md, proto/PROTOCOL.md).
//
// Each watcher listens on its peer port and dials every other watcher once: a message to
// peer X goes out on our connection to X; X's messages come in on its connection to us.
// Inbound connections are read-only for peers (a person may send PING or PICKET INFO with
// redis-cli and gets an answer). Every frame is sealed and opened by one
// proto::Authenticator (HMAC, identity, replay window); drops are counted by reason, and
// malformed input closes the connection. Outbound queues are bounded (the vote tolerates
// loss: a dropped heartbeat is followed by the next), connects back off, every write and
// read has a deadline.

#include <boost/asio/any_io_executor.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "picket/base/expected.h"
#include "picket/proto/auth.h"
#include "picket/proto/message.h"

namespace picket::peer {

struct PeerEndpoint {
    std::string id;
    std::string host;
    std::uint16_t port = 0;
};

struct NetworkOptions {
    std::string listen_host = "0.0.0.0";
    std::uint16_t listen_port = 7700;
    std::vector<PeerEndpoint> peers;
    proto::AuthConfig auth;
    std::uint64_t incarnation = 0;
    std::chrono::milliseconds connect_timeout{1000};
    std::chrono::milliseconds write_timeout{1000};
    /// An inbound connection silent this long is closed (peers send every heartbeat).
    std::chrono::milliseconds idle_timeout{30000};
    std::chrono::milliseconds reconnect_max{1000};
    std::size_t max_inbound = 64;
    /// Frames waiting per peer while its connection is down or slow; oldest dropped.
    std::size_t max_queued_frames = 64;
    /// Text for `PICKET INFO` (read-only status for a person).
    std::function<std::string()> info;
};

/// Counters for metrics and status.
struct NetworkStats {
    std::array<std::uint64_t, proto::kDropReasonCount> dropped{};  ///< by proto::DropReason
    std::uint64_t received = 0;
    std::uint64_t sent = 0;
    std::uint64_t send_dropped = 0;  ///< queue full
    std::uint64_t connects = 0;
    std::uint64_t connect_failures = 0;
    std::size_t inbound = 0;
};

class Network {
  public:
    using Handler = std::function<void(const std::string& from, const proto::Message& message)>;

    /// Binds the peer port (errors name the address); serving starts with start().
    static Expected<std::unique_ptr<Network>, std::string> listen(
        boost::asio::any_io_executor executor, NetworkOptions options, Handler handler);
    ~Network();
    Network(const Network&) = delete;
    Network& operator=(const Network&) = delete;

    void start();
    void stop();

    /// Seals and queues `message` for peer `to`; dials it if not connected. Unknown
    /// peers are ignored.
    void send(const std::string& to, const proto::Message& message);

    /// Whether our outbound connection to `id` is established.
    bool connected(const std::string& id) const;
    const NetworkStats& stats() const;
    std::uint16_t local_port() const;

    struct Impl;

  private:
    explicit Network(std::shared_ptr<Impl> impl);
    std::shared_ptr<Impl> impl_;
};

}  // namespace picket::peer
