#include "http_retry.hpp"

#include <algorithm>
#include <cmath>

namespace hostsync::http {

bool idempotent(std::string_view m) {
    return m == "GET" || m == "HEAD" || m == "PUT" || m == "DELETE" || m == "OPTIONS" || m == "TRACE";
}

bool should_retry(Outcome outcome, int status, std::string_view method, bool replay_safe) {
    switch (outcome) {
        case Outcome::ConnectFailed: return true;
        case Outcome::Broken: return replay_safe || idempotent(method);
        case Outcome::Fatal: return false;
        case Outcome::Response:
            return status == 502 || status == 503 || status == 504 || status == 429;
    }
    return false;
}

double backoff_delay(double base, int attempt, double cap, std::mt19937_64& rng) {
    double full = std::min(cap, base * std::pow(2.0, std::max(0, attempt - 1)));
    std::uniform_real_distribution<double> half(0.0, full / 2);
    return full / 2 + half(rng);
}

std::optional<double> parse_retry_after(std::string_view v) {
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
    if (v.empty() || v.size() > 9 || v.find_first_not_of("0123456789") != std::string_view::npos)
        return std::nullopt;
    double s = 0;
    for (char c : v) s = s * 10 + (c - '0');
    return s;
}

}  // namespace hostsync::http
