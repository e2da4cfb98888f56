#include "clock.hpp"

#include <time.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <vector>

namespace hostsync::clock {
namespace {

double read_clock(clockid_t id) {
    struct timespec ts;
    ::clock_gettime(id, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// Whole seconds (floor, also for negative t) and milliseconds 0..999.
void split(double t, std::int64_t& sec, int& ms) {
    double f = std::floor(t);
    sec = static_cast<std::int64_t>(f);
    ms = static_cast<int>((t - f) * 1000.0);
    if (ms > 999) ms = 999;
    if (ms < 0) ms = 0;
}

inline void put2(char* p, int v) {
    p[0] = static_cast<char>('0' + v / 10);
    p[1] = static_cast<char>('0' + v % 10);
}

// "YYYY-MM-DDTHH:MM:SS" (19 characters).
void put_datetime(char* p, const struct tm& tm) {
    int year = tm.tm_year + 1900;
    put2(p, year / 100);
    put2(p + 2, year % 100);
    p[4] = '-';
    put2(p + 5, tm.tm_mon + 1);
    p[7] = '-';
    put2(p + 8, tm.tm_mday);
    p[10] = 'T';
    put2(p + 11, tm.tm_hour);
    p[13] = ':';
    put2(p + 14, tm.tm_min);
    p[16] = ':';
    put2(p + 17, tm.tm_sec);
}

// ".123" (4 characters).
void put_ms(char* p, int ms) {
    p[0] = '.';
    p[1] = static_cast<char>('0' + ms / 100);
    put2(p + 2, ms % 100);
}

// "+01:00" (6 characters).
void put_offset(char* p, long gmtoff) {
    p[0] = gmtoff < 0 ? '-' : '+';
    long a = gmtoff < 0 ? -gmtoff : gmtoff;
    put2(p + 1, static_cast<int>(a / 3600));
    p[3] = ':';
    put2(p + 4, static_cast<int>(a / 60 % 60));
}

struct LocalCache {
    std::int64_t sec = INT64_MIN;
    const char* tz0 = nullptr;
    const char* tz1 = nullptr;
    long tz = 0;
    char datetime[19];
    char offset[6];
};

}  // namespace

double now() { return read_clock(CLOCK_REALTIME); }
double monotonic() { return read_clock(CLOCK_MONOTONIC); }

void sleep(double seconds) {
    if (!(seconds > 0)) return;
    struct timespec deadline;
    ::clock_gettime(CLOCK_MONOTONIC, &deadline);
    double whole = std::floor(seconds);
    deadline.tv_sec += static_cast<time_t>(whole);
    deadline.tv_nsec += static_cast<long>((seconds - whole) * 1e9);
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec += 1;
        deadline.tv_nsec -= 1000000000L;
    }
    while (::clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &deadline, nullptr) == EINTR) {
    }
}

bool in_range(double t) { return t >= kMinTime && t < kMaxTime + 1.0; }

std::size_t utc_iso(double t, bool ms, char* out) {
    if (!in_range(t)) return 0;
    std::int64_t sec;
    int msec;
    split(t, sec, msec);
    time_t tt = static_cast<time_t>(sec);
    struct tm tm;
    if (::gmtime_r(&tt, &tm) == nullptr) return 0;
    put_datetime(out, tm);
    std::size_t n = 19;
    if (ms) {
        put_ms(out + n, msec);
        n += 4;
    }
    out[n++] = 'Z';
    return n;
}

std::size_t local_iso(double t, bool ms, char* out) {
    if (!in_range(t)) return 0;
    std::int64_t sec;
    int msec;
    split(t, sec, msec);
    thread_local LocalCache cache;
    if (sec != cache.sec || tzname[0] != cache.tz0 || tzname[1] != cache.tz1 || timezone != cache.tz) {
        time_t tt = static_cast<time_t>(sec);
        struct tm tm;
        if (::localtime_r(&tt, &tm) == nullptr) return 0;
        put_datetime(cache.datetime, tm);
        put_offset(cache.offset, tm.tm_gmtoff);
        // Read the zone globals after localtime_r, which may have run the first tzset().
        cache.tz0 = tzname[0];
        cache.tz1 = tzname[1];
        cache.tz = timezone;
        cache.sec = sec;
    }
    std::memcpy(out, cache.datetime, 19);
    std::size_t n = 19;
    if (ms) {
        put_ms(out + n, msec);
        n += 4;
    }
    std::memcpy(out + n, cache.offset, 6);
    return n + 6;
}

bool format(const std::string& fmt, double t, bool local, std::string& out) {
    time_t tt = static_cast<time_t>(std::floor(t));
    struct tm tm;
    if ((local ? ::localtime_r(&tt, &tm) : ::gmtime_r(&tt, &tm)) == nullptr) return false;
    // strftime returns 0 both for "did not fit" and for an empty result; a trailing
    // space that we strip again tells the two apart.
    std::string f = fmt + " ";
    std::vector<char> buf(256);
    while (true) {
        std::size_t n = ::strftime(buf.data(), buf.size(), f.c_str(), &tm);
        if (n > 0) {
            out.assign(buf.data(), n - 1);
            return true;
        }
        if (buf.size() >= 65536) return false;
        buf.resize(buf.size() * 4);
    }
}

std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
    // Howard Hinnant's algorithm (chrono-Compatible Low-Level Date Algorithms).
    y -= m <= 2;
    const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

namespace {

struct IsoParser {
    std::string_view s;
    std::size_t pos = 0;
    std::string what;

    bool fail(const std::string& w) {
        what = w;
        return false;
    }
    bool digits(int count, int& value, const char* field) {
        value = 0;
        for (int i = 0; i < count; ++i) {
            if (pos >= s.size() || s[pos] < '0' || s[pos] > '9') return fail(std::string("expected a digit of the ") + field);
            value = value * 10 + (s[pos++] - '0');
        }
        return true;
    }
    bool literal(char c, const char* what_expected) {
        if (pos >= s.size() || s[pos] != c) return fail(std::string("expected ") + what_expected);
        ++pos;
        return true;
    }
    bool range(int v, int lo, int hi, const char* field, std::size_t at) {
        if (v >= lo && v <= hi) return true;
        pos = at;
        return fail(std::string(field) + " " + std::to_string(v) + " out of range");
    }
};

bool leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

}  // namespace

bool parse_iso(std::string_view s, double& out, std::string& err) {
    IsoParser p{s, 0, {}};
    int year, month, day, hour, minute, second;
    double frac = 0;
    long offset = 0;
    auto parse = [&]() -> bool {
        if (!p.digits(4, year, "year") || !p.literal('-', "'-'")) return false;
        std::size_t at = p.pos;
        if (!p.digits(2, month, "month") || !p.range(month, 1, 12, "month", at) || !p.literal('-', "'-'")) return false;
        at = p.pos;
        static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
        int mdays = kDays[month - 1] + (month == 2 && leap(year) ? 1 : 0);
        if (!p.digits(2, day, "day") || !p.range(day, 1, mdays, "day", at)) return false;
        if (p.pos >= s.size() || (s[p.pos] != 'T' && s[p.pos] != 't' && s[p.pos] != ' '))
            return p.fail("expected 'T' between date and time");
        ++p.pos;
        at = p.pos;
        if (!p.digits(2, hour, "hour") || !p.range(hour, 0, 23, "hour", at) || !p.literal(':', "':'")) return false;
        at = p.pos;
        if (!p.digits(2, minute, "minute") || !p.range(minute, 0, 59, "minute", at) || !p.literal(':', "':'")) return false;
        at = p.pos;
        if (!p.digits(2, second, "second") || !p.range(second, 0, 60, "second", at)) return false;
        if (p.pos < s.size() && (s[p.pos] == '.' || s[p.pos] == ',')) {
            ++p.pos;
            double scale = 0.1;
            std::size_t start = p.pos;
            while (p.pos < s.size() && s[p.pos] >= '0' && s[p.pos] <= '9') {
                frac += (s[p.pos++] - '0') * scale;
                scale /= 10;
            }
            if (p.pos == start) return p.fail("expected a digit of the fraction");
        }
        if (p.pos >= s.size()) return p.fail("expected a time zone (Z or +HH:MM)");
        char z = s[p.pos];
        if (z == 'Z' || z == 'z') {
            ++p.pos;
        } else if (z == '+' || z == '-') {
            ++p.pos;
            int oh, om;
            at = p.pos;
            if (!p.digits(2, oh, "zone hour") || !p.range(oh, 0, 23, "zone hour", at) || !p.literal(':', "':' in the zone")) return false;
            at = p.pos;
            if (!p.digits(2, om, "zone minute") || !p.range(om, 0, 59, "zone minute", at)) return false;
            offset = (z == '-' ? -1 : 1) * (oh * 3600L + om * 60L);
        } else {
            return p.fail("expected a time zone (Z or +HH:MM)");
        }
        if (p.pos != s.size()) return p.fail("unexpected text after the time zone");
        return true;
    };
    if (!parse()) {
        std::string shown(s.substr(0, 64));
        for (char& c : shown)
            if (static_cast<unsigned char>(c) < 0x20) c = '?';
        err = "parse_iso: \"" + shown + (s.size() > 64 ? "...\"" : "\"") + ": " + p.what + " at offset " +
              std::to_string(p.pos);
        return false;
    }
    std::int64_t days = days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
    std::int64_t secs = days * 86400 + hour * 3600 + minute * 60 + second - offset;
    out = static_cast<double>(secs) + frac;
    return true;
}

}  // namespace hostsync::clock
