#include "picket/alert/dispatcher.h"

#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <map>
#include <random>

#include "picket/alert/http_client.h"
#include "picket/io/clock.h"
#include "picket/io/tls.h"

namespace picket::alert {

namespace asio = boost::asio;

struct AlertDispatcher::Impl : std::enable_shared_from_this<Impl> {
    Impl(asio::any_io_executor ex, PublisherConfig pc, Options opts)
        : executor(ex),
          options(std::move(opts)),
          rng(options.seed != 0 ? options.seed : std::hash<std::string>{}(options.watcher_id) | 1u),
          publisher(std::move(pc), [this] { return uniform(rng); }),
          timer(ex) {}

    asio::any_io_executor executor;
    Options options;
    std::mt19937_64 rng;
    std::uniform_real_distribution<double> uniform{0.0, 1.0};
    Publisher publisher;
    asio::steady_timer timer;
    /// By CA file ("" = system store). Shared with the requests in flight, so a reload that
    /// replaces a context cannot pull it from under them.
    std::map<std::string, std::shared_ptr<asio::ssl::context>> tls;
    bool stopped = false;
    std::optional<TimePoint> armed_for;
    std::uint64_t replayed_logged = 0;  ///< publisher.replayed() already logged

    TimePoint now() const { return options.mono_now ? options.mono_now() : io::mono_now(); }
    double wall() const { return options.wall_now ? options.wall_now() : io::wall_seconds(); }
    bool leader() const { return !options.is_leader || options.is_leader(); }

    void kick() {
        if (stopped) {
            return;
        }
        const TimePoint t = now();
        for (auto& req : publisher.tick(t, wall(), leader())) {
            send(std::move(req));
        }
        if (publisher.replayed() != replayed_logged) {
            spdlog::info(
                "alert: leading now; re-sent {} active cluster alert(s) this watcher had "
                "not sent",
                publisher.replayed() - replayed_logged);
            replayed_logged = publisher.replayed();
        }
        arm(t);
    }

    void arm(TimePoint t) {
        const auto next = publisher.next_wakeup();
        if (!next || (armed_for && *armed_for == *next)) {
            return;
        }
        armed_for = next;
        timer.expires_after(std::max(Duration::zero(), *next - t));
        timer.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
            auto self = weak.lock();
            if (!self || ec) {
                return;
            }
            self->armed_for.reset();
            self->kick();
        });
    }

    void send(OutgoingRequest req) {
        HttpRequest http;
        http.url = req.url;
        http.headers = req.headers;
        http.body = std::move(req.body);
        http.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(req.timeout);
        std::shared_ptr<asio::ssl::context> ctx;
        if (req.url.https) {
            const auto it = tls.find(req.ca_file);
            ctx = it == tls.end() ? nullptr : it->second;
        }
        const std::size_t target = req.target;
        const std::uint64_t id = req.id;
        const std::uint32_t attempt = req.attempt;
        std::string name = req.target_name;
        asio::co_spawn(executor,
                       deliver(weak_from_this(), executor, ctx, std::move(http), target, id,
                               attempt, std::move(name)),
                       asio::detached);
    }

    /// One attempt: the request, then its result fed back (unless the dispatcher is gone).
    static asio::awaitable<void> deliver(std::weak_ptr<Impl> weak, asio::any_io_executor ex,
                                         std::shared_ptr<asio::ssl::context> ctx, HttpRequest http,
                                         std::size_t target, std::uint64_t id,
                                         std::uint32_t attempt, std::string name) {
        auto result = co_await http_request(ex, ctx.get(), std::move(http));
        if (auto self = weak.lock()) {
            self->on_response(target, id, attempt, name, std::move(result));
        }
    }

    void on_response(std::size_t target, std::uint64_t id, std::uint32_t attempt,
                     const std::string& name, Expected<HttpResponse, HttpError> result) {
        DeliveryRecord rec;
        rec.target = name;
        rec.attempt = attempt;
        DeliveryResult dr = DeliveryResult::transport_error();
        if (result) {
            rec.http_status = result->status;
            dr = DeliveryResult::http(result->status);
            if (result->status >= 300 && result->status < 400) {
                rec.error = "redirect to '" + result->location + "' not followed";
            }
        } else {
            rec.error = result.error().message;
            if (result.error().kind == HttpError::Kind::kTimeout) {
                dr = DeliveryResult::timeout();
            }
        }
        const TimePoint t = now();
        const auto c = publisher.on_result(target, id, dr, t);
        if (c) {
            rec.delivered = c->delivered;
            rec.will_retry = c->will_retry;
            rec.reason = c->reason;
            rec.latency_seconds = std::chrono::duration<double>(c->latency).count();
            if (c->retry_at) {
                rec.retry_in_seconds = std::chrono::duration<double>(*c->retry_at - t).count();
            }
            log(rec);
            if (options.on_delivery) {
                options.on_delivery(rec);
            }
        }
        kick();
    }

    static void log(const DeliveryRecord& r) {
        if (r.delivered) {
            spdlog::debug("alert: {} delivered (attempt {}, HTTP {}, {:.3f} s)", r.target,
                          r.attempt, r.http_status, r.latency_seconds);
            return;
        }
        const std::string what =
            r.error.empty() ? "HTTP " + std::to_string(r.http_status) : r.error;
        if (r.will_retry) {
            spdlog::warn("alert: {} attempt {} failed ({}: {}); retry in {:.1f} s", r.target,
                         r.attempt, to_string(*r.reason), what, r.retry_in_seconds);
        } else {
            spdlog::error("alert: {} attempt {} failed ({}: {}); notification given up", r.target,
                          r.attempt, r.reason ? to_string(*r.reason) : "?", what);
        }
    }
};

namespace {

/// The publisher's config and a TLS context per CA file of its https targets: everything a
/// config needs that can fail, built before anything is applied.
struct Prepared {
    PublisherConfig config;
    std::map<std::string, std::shared_ptr<asio::ssl::context>> tls;
};

Expected<Prepared, std::string> prepare(const config::AlertsConfig& alerts,
                                        const AlertDispatcher::Options& options) {
    auto pc = make_publisher_config(alerts, options.cluster, options.watcher_id,
                                    options.default_external_url);
    if (!pc) {
        return unexpected(pc.error());
    }
    pc->retry = options.retry;
    std::vector<std::pair<std::string, bool>> ca_files;  // (file, https)
    for (const auto& r : pc->receivers) {
        ca_files.emplace_back(r.ca_file, r.url.https);
    }
    if (pc->alertmanager) {
        ca_files.emplace_back(pc->alertmanager->ca_file, pc->alertmanager->url.https);
    }
    Prepared out;
    for (const auto& [file, https] : ca_files) {
        if (!https || out.tls.count(file) != 0) {
            continue;
        }
        io::TlsClientOptions o;
        o.enabled = true;
        o.ca_file = file;
        auto ctx = io::make_client_context(o);
        if (!ctx) {
            return unexpected("alerts: " + ctx.error());
        }
        out.tls.emplace(file, std::make_shared<asio::ssl::context>(std::move(*ctx)));
    }
    out.config = std::move(*pc);
    return out;
}

std::string names(const std::vector<std::string>& v) {
    std::string out;
    for (const auto& n : v) {
        out += (out.empty() ? "" : ", ") + n;
    }
    return out.empty() ? "none" : out;
}

}  // namespace

Expected<std::unique_ptr<AlertDispatcher>, std::string> AlertDispatcher::create(
    asio::any_io_executor executor, const config::AlertsConfig& alerts, Options options) {
    auto prepared = prepare(alerts, options);
    if (!prepared) {
        return unexpected(prepared.error());
    }
    auto impl = std::make_shared<Impl>(executor, std::move(prepared->config), std::move(options));
    impl->tls = std::move(prepared->tls);
    return std::unique_ptr<AlertDispatcher>(new AlertDispatcher(std::move(impl)));
}

Expected<ReconfigureSummary, std::string> AlertDispatcher::reconfigure(
    const config::AlertsConfig& alerts) {
    auto prepared = prepare(alerts, impl_->options);
    if (!prepared) {
        return unexpected(prepared.error());
    }
    // CA files are read again: a renewed CA takes effect with the reload.
    impl_->tls = std::move(prepared->tls);
    auto summary = impl_->publisher.reconfigure(std::move(prepared->config), impl_->now());
    spdlog::info(
        "alerts: reconfigured; added: {}; removed: {}; changed: {}; unchanged: {}; {} queued "
        "notification(s) discarded",
        names(summary.added), names(summary.removed), names(summary.changed),
        names(summary.unchanged), summary.discarded);
    impl_->armed_for.reset();
    impl_->timer.cancel();  // re-armed by kick() for the new schedule
    impl_->kick();
    return summary;
}

AlertDispatcher::AlertDispatcher(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

AlertDispatcher::~AlertDispatcher() {
    stop();
}

void AlertDispatcher::publish(const Event& event, TimePoint now, double wall_unix) {
    if (impl_->stopped) {
        return;
    }
    impl_->publisher.publish(event, now, wall_unix, impl_->leader());
    impl_->kick();
}

std::vector<TargetStats> AlertDispatcher::stats() const {
    return impl_->publisher.stats();
}

std::size_t AlertDispatcher::active_alerts() const {
    return impl_->publisher.active_alerts();
}

void AlertDispatcher::stop() {
    impl_->stopped = true;
    impl_->timer.cancel();
}

}  // namespace picket::alert
