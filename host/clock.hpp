#pragma once
// Wall-clock and monotonic time, ISO 8601 formatting and parsing, strftime.
//
// Times are double seconds since the Unix epoch (what Lua numbers hold). Formatting
// floors to whole seconds (and milliseconds with ms=true), so 1.9999 prints as ...:01.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace hostsync::clock {

double now();        // CLOCK_REALTIME
double monotonic();  // CLOCK_MONOTONIC: for measuring intervals, unaffected by clock steps
// Sleeps the whole interval even when signals interrupt it (absolute monotonic deadline).
void sleep(double seconds);

// The range ISO formatting supports: years 0000..9999.
constexpr double kMinTime = -62167219200.0;  // 0000-01-01T00:00:00Z
constexpr double kMaxTime = 253402300799.0;  // 9999-12-31T23:59:59Z
bool in_range(double t);

// Room for the longest result, "9999-12-31T23:59:59.999+14:00" and then some.
constexpr std::size_t kIsoMax = 40;

// "2026-11-23T16:25:52Z" (or "...52.123Z" with ms). Writes to out, returns the length;
// 0 if t is out of range.
std::size_t utc_iso(double t, bool ms, char* out);

// "2026-11-23T17:25:52+01:00": local time with the UTC offset in force at t (never "Z").
// Called once per row in hot loops, so the text of the last second is cached per thread;
// the cache key includes the zone (tzname, timezone), so a tzset() to another zone is
// seen, exactly as localtime_r sees it. Offsets with seconds (pre-1900 local mean time)
// are truncated to minutes.
std::size_t local_iso(double t, bool ms, char* out);

// strftime of t in UTC or local time. False only if the result does not fit in 64 KiB.
bool format(const std::string& fmt, double t, bool local, std::string& out);

// Parses "YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)" ('T' may also be 't' or a space,
// 'Z' also 'z', the fraction may use ',' and any number of digits). The zone is required:
// a timestamp without one does not name an instant. Checks every field's range
// (seconds may be 60, a leap second, which counts as the next second).
bool parse_iso(std::string_view s, double& out, std::string& err);

// Days since 1970-01-01 of a proleptic Gregorian date (exact for all int years).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d);

}  // namespace hostsync::clock
