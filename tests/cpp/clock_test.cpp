#include <doctest/doctest.h>

#include <stdlib.h>
#include <time.h>

#include <cmath>
#include <optional>
#include <string>

#include "clock.hpp"

using namespace hostsync;

namespace {

std::string utc(double t, bool ms = false) {
    char buf[clock::kIsoMax];
    return {buf, clock::utc_iso(t, ms, buf)};
}

std::string local(double t, bool ms = false) {
    char buf[clock::kIsoMax];
    return {buf, clock::local_iso(t, ms, buf)};
}

std::optional<double> parse(const std::string& s, std::string* err = nullptr) {
    double t;
    std::string e;
    if (!clock::parse_iso(s, t, e)) {
        if (err) *err = e;
        return std::nullopt;
    }
    return t;
}

// Sets TZ for the scope of a test and restores the previous value.
struct ScopedTz {
    std::optional<std::string> old;
    explicit ScopedTz(const char* tz) {
        if (const char* o = getenv("TZ")) old = o;
        setenv("TZ", tz, 1);
        tzset();
    }
    ~ScopedTz() {
        if (old) setenv("TZ", old->c_str(), 1);
        else unsetenv("TZ");
        tzset();
    }
};

const double kT = 1795451152.0;  // 2026-11-23T16:25:52Z

}  // namespace

TEST_CASE("utc_iso formats whole seconds and milliseconds") {
    CHECK(utc(0) == "1970-01-01T00:00:00Z");
    CHECK(utc(kT) == "2026-11-23T16:25:52Z");
    CHECK(utc(kT + 0.1234, true) == "2026-11-23T16:25:52.123Z");
    CHECK(utc(kT + 0.9999) == "2026-11-23T16:25:52Z");  // floors, never rounds up
    CHECK(utc(-0.5, true) == "1969-12-31T23:59:59.500Z");
    CHECK(utc(clock::kMaxTime) == "9999-12-31T23:59:59Z");
    CHECK(utc(clock::kMinTime) == "0000-01-01T00:00:00Z");
    char buf[clock::kIsoMax];
    CHECK(clock::utc_iso(clock::kMaxTime + 1, false, buf) == 0);
    CHECK(clock::utc_iso(NAN, false, buf) == 0);
}

TEST_CASE("local_iso uses the offset in force at t, including DST changes") {
    {
        ScopedTz tz("Europe/Paris");
        CHECK(local(kT) == "2026-11-23T17:25:52+01:00");           // winter: CET
        CHECK(local(1790000000) == "2026-09-21T16:13:20+02:00");   // summer: CEST
        CHECK(local(kT + 0.5, true) == "2026-11-23T17:25:52.500+01:00");
    }
    {
        // Same second as above under another zone: the per-second cache must not answer.
        ScopedTz tz("Asia/Kolkata");
        CHECK(local(kT) == "2026-11-23T21:55:52+05:30");
    }
    {
        ScopedTz tz("America/St_Johns");
        CHECK(local(kT) == "2026-11-23T12:55:52-03:30");
    }
    {
        ScopedTz tz("UTC");
        CHECK(local(kT) == "2026-11-23T16:25:52+00:00");  // never "Z"
        CHECK(local(kT, true) == "2026-11-23T16:25:52.000+00:00");
    }
}

TEST_CASE("local_iso's cache gives the same text as a fresh computation") {
    ScopedTz tz("Europe/Paris");
    for (double t = kT; t < kT + 3; t += 0.25) {
        std::string cached = local(t, true);
        time_t whole = static_cast<time_t>(std::floor(t));
        struct tm tm;
        localtime_r(&whole, &tm);
        char expect[64];
        strftime(expect, sizeof expect, "%Y-%m-%dT%H:%M:%S", &tm);
        CHECK(cached.substr(0, 19) == expect);
        CHECK(cached.substr(23) == "+01:00");
    }
}

TEST_CASE("strftime wrapper in UTC and local time") {
    std::string out;
    REQUIRE(clock::format("%Y%m%d_%H%M%S", kT, false, out));
    CHECK(out == "20261123_162552");
    REQUIRE(clock::format("", kT, false, out));
    CHECK(out.empty());
    REQUIRE(clock::format("%z", kT, false, out));
    CHECK(out == "+0000");
    ScopedTz tz("Europe/Paris");
    REQUIRE(clock::format("%H:%M %z", kT, true, out));
    CHECK(out == "17:25 +0100");
    std::string longfmt(2000, 'x');
    REQUIRE(clock::format(longfmt + "%Y", kT, false, out));
    CHECK(out == longfmt + "2026");
}

TEST_CASE("parse_iso accepts Z, offsets and fractions") {
    CHECK(parse("2026-11-23T16:25:52Z") == kT);
    CHECK(parse("2026-11-23T17:25:52+01:00") == kT);
    CHECK(parse("2026-11-23T12:55:52-03:30") == kT);
    CHECK(parse("2026-11-23 16:25:52z") == kT);
    CHECK(parse("2026-11-23T16:25:52.5Z") == kT + 0.5);
    CHECK(parse("2026-11-23T16:25:52,25Z") == kT + 0.25);
    CHECK(parse("1970-01-01T00:00:00Z") == 0);
    CHECK(parse("1969-12-31T23:59:59Z") == -1);
    CHECK(parse("2024-02-29T00:00:00Z") == 1709164800);
    CHECK(parse("2016-12-31T23:59:60Z") == 1483228800);  // leap second = next second
    CHECK(parse("0000-01-01T00:00:00Z") == clock::kMinTime);
    CHECK(parse("9999-12-31T23:59:59Z") == clock::kMaxTime);
    for (double t : {0.0, kT, -86400.0 * 365 * 300, 253402300000.0}) CHECK(parse(utc(t)) == t);
}

TEST_CASE("parse_iso rejects malformed and out-of-range input, naming the offset") {
    std::string err;
    CHECK_FALSE(parse("2026-11-23T16:25:52", &err));
    CHECK(err == "parse_iso: \"2026-11-23T16:25:52\": expected a time zone (Z or +HH:MM) at offset 19");
    CHECK_FALSE(parse("2026-13-01T00:00:00Z", &err));
    CHECK(err == "parse_iso: \"2026-13-01T00:00:00Z\": month 13 out of range at offset 5");
    CHECK_FALSE(parse("2025-02-29T00:00:00Z", &err));
    CHECK(err.find("day 29 out of range at offset 8") != std::string::npos);
    CHECK_FALSE(parse("2026-11-23T24:00:00Z", &err));
    CHECK(err.find("hour 24 out of range") != std::string::npos);
    CHECK_FALSE(parse("2026-11-23T16:25:52.Z", &err));
    CHECK(err.find("expected a digit of the fraction at offset 20") != std::string::npos);
    CHECK_FALSE(parse("2026-11-23T16:25:52+0100", &err));
    CHECK(err.find("expected ':' in the zone at offset 22") != std::string::npos);
    CHECK_FALSE(parse("2026-11-23T16:25:52Z ", &err));
    CHECK(err.find("unexpected text after the time zone at offset 20") != std::string::npos);
    CHECK_FALSE(parse("26-11-23T16:25:52Z", &err));
    CHECK(err.find("expected a digit of the year at offset 2") != std::string::npos);
    CHECK_FALSE(parse("", &err));
    CHECK_FALSE(parse("2026-11-23", &err));
    CHECK(err.find("expected 'T' between date and time at offset 10") != std::string::npos);
}

TEST_CASE("monotonic advances across a sleep; now lies between two time(nullptr) calls") {
    double a = clock::monotonic();
    clock::sleep(0.05);  // a lower bound is checked: a slow machine only sleeps longer
    double b = clock::monotonic();
    CHECK(b - a >= 0.05);
    auto before = static_cast<double>(::time(nullptr));
    double now = clock::now();
    auto after = static_cast<double>(::time(nullptr));
    CHECK(before <= std::floor(now));
    CHECK(std::floor(now) <= after);
    clock::sleep(-1);  // a no-op, not an error
}
