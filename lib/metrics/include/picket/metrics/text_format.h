#pragma once
// The Prometheus text exposition format (version 0.0.4), appended to one string.
//
// prometheus-cpp's TextSerializer writes through an ostringstream, a locale-aware double
// conversion per sample and a copy of every label: at 1,000 nodes (10,000 series) that
// was a third of a scrape. This writer appends into a reserved string with std::to_chars
// and gives byte for byte what TextSerializer gives (values as "%.16g", "+Inf", "-Inf",
// "Nan"; the same escaping and line order), so the exposition does not change. One
// exception: a backslash or newline in a HELP text is escaped, as the format requires
// (TextSerializer writes it raw; no picket help text has one).

#include <prometheus/metric_family.h>

#include <string>
#include <string_view>
#include <vector>

namespace picket::metrics::text {

/// A sample value as TextSerializer writes it.
void append_value(std::string& out, double value);

/// A label value, escaped (backslash, double quote, newline).
void append_label_value(std::string& out, std::string_view value);

/// "# HELP name help\n# TYPE name type\n" (no HELP line for an empty help).
void append_header(std::string& out, std::string_view name, std::string_view help,
                   prometheus::MetricType type);

/// Every family, as TextSerializer::Serialize would write it.
void append_families(std::string& out, const std::vector<prometheus::MetricFamily>& families);

}  // namespace picket::metrics::text
