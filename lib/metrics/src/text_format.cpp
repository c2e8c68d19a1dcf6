#include "picket/metrics/text_format.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>

namespace picket::metrics::text {

namespace {

void append_escaped(std::string& out, std::string_view s, bool quote) {
    for (const char c : s) {
        if (c == '\\') {
            out += "\\\\";
        } else if (c == '\n') {
            out += "\\n";
        } else if (quote && c == '"') {
            out += "\\\"";
        } else {
            out += c;
        }
    }
}

void append_uint(std::string& out, std::uint64_t v) {
    char buf[24];
    const auto res = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, res.ptr);
}

void append_int(std::string& out, std::int64_t v) {
    char buf[24];
    const auto res = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, res.ptr);
}

std::string_view type_name(prometheus::MetricType type) {
    switch (type) {
        case prometheus::MetricType::Counter:
            return "counter";
        case prometheus::MetricType::Gauge:
            return "gauge";
        case prometheus::MetricType::Summary:
            return "summary";
        case prometheus::MetricType::Histogram:
            return "histogram";
        case prometheus::MetricType::Untyped:
            return "untyped";
    }
    return "untyped";
}

/// `name<suffix>{labels[,extra_name="extra_value"]} `: everything before the value.
void append_series(std::string& out, const std::string& name, std::string_view suffix,
                   const std::vector<prometheus::ClientMetric::Label>& labels,
                   std::string_view extra_name = {}, std::string_view extra_value = {}) {
    out += name;
    out += suffix;
    if (!labels.empty() || !extra_name.empty()) {
        out += '{';
        const char* sep = "";
        for (const auto& l : labels) {
            out += sep;
            out += l.name;
            out += "=\"";
            append_escaped(out, l.value, true);
            out += '"';
            sep = ",";
        }
        if (!extra_name.empty()) {
            out += sep;
            out += extra_name;
            out += "=\"";
            out += extra_value;
            out += '"';
        }
        out += '}';
    }
    out += ' ';
}

void end_line(std::string& out, const prometheus::ClientMetric& m) {
    if (m.timestamp_ms != 0) {
        out += ' ';
        append_int(out, m.timestamp_ms);
    }
    out += '\n';
}

std::string value_text(double v) {
    std::string s;
    append_value(s, v);
    return s;
}

}  // namespace

void append_value(std::string& out, double value) {
    if (std::isnan(value)) {
        out += "Nan";
        return;
    }
    if (std::isinf(value)) {
        out += value < 0 ? "-Inf" : "+Inf";
        return;
    }
    // An ostream with precision max_digits10 - 1 (16) and no floatfield: "%.16g".
    char buf[32];
    const auto res = std::to_chars(buf, buf + sizeof buf, value, std::chars_format::general,
                                   std::numeric_limits<double>::max_digits10 - 1);
    out.append(buf, res.ptr);
}

void append_label_value(std::string& out, std::string_view value) {
    append_escaped(out, value, true);
}

void append_header(std::string& out, std::string_view name, std::string_view help,
                   prometheus::MetricType type) {
    if (!help.empty()) {
        out += "# HELP ";
        out += name;
        out += ' ';
        append_escaped(out, help, false);
        out += '\n';
    }
    out += "# TYPE ";
    out += name;
    out += ' ';
    out += type_name(type);
    out += '\n';
}

void append_families(std::string& out, const std::vector<prometheus::MetricFamily>& families) {
    for (const auto& f : families) {
        append_header(out, f.name, f.help, f.type);
        for (const auto& m : f.metric) {
            switch (f.type) {
                case prometheus::MetricType::Counter:
                case prometheus::MetricType::Gauge:
                case prometheus::MetricType::Untyped:
                    append_series(out, f.name, "", m.label);
                    append_value(out, f.type == prometheus::MetricType::Counter ? m.counter.value
                                      : f.type == prometheus::MetricType::Gauge ? m.gauge.value
                                                                                : m.untyped.value);
                    end_line(out, m);
                    break;
                case prometheus::MetricType::Summary:
                    append_series(out, f.name, "_count", m.label);
                    append_uint(out, m.summary.sample_count);
                    end_line(out, m);
                    append_series(out, f.name, "_sum", m.label);
                    append_value(out, m.summary.sample_sum);
                    end_line(out, m);
                    for (const auto& q : m.summary.quantile) {
                        append_series(out, f.name, "", m.label, "quantile", value_text(q.quantile));
                        append_value(out, q.value);
                        end_line(out, m);
                    }
                    break;
                case prometheus::MetricType::Histogram: {
                    append_series(out, f.name, "_count", m.label);
                    append_uint(out, m.histogram.sample_count);
                    end_line(out, m);
                    append_series(out, f.name, "_sum", m.label);
                    append_value(out, m.histogram.sample_sum);
                    end_line(out, m);
                    for (const auto& b : m.histogram.bucket) {
                        append_series(out, f.name, "_bucket", m.label, "le",
                                      value_text(b.upper_bound));
                        append_uint(out, b.cumulative_count);
                        end_line(out, m);
                    }
                    // TextSerializer adds +Inf when the last bucket is not +Inf already.
                    if (m.histogram.bucket.empty() || m.histogram.bucket.back().upper_bound !=
                                                          std::numeric_limits<double>::infinity()) {
                        append_series(out, f.name, "_bucket", m.label, "le", "+Inf");
                        append_uint(out, m.histogram.sample_count);
                        end_line(out, m);
                    }
                    break;
                }
            }
        }
    }
}

}  // namespace picket::metrics::text
