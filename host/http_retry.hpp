#pragma once
// When the HTTP client tries again, and how long it waits first. Pure functions, so the
// policy is unit-tested without sockets.
#include <optional>
#include <random>
#include <string_view>

namespace hostsync::http {

// What came back from one attempt.
enum class Outcome {
    Response,        // a status line was read (see `status`)
    ConnectFailed,   // no connection: the request never reached the server
    Broken,          // connected, then a read/write failed or timed out mid-exchange
    Fatal,           // TLS verification, bad certificate files, cancellation: never retried
};

// Idempotent methods (RFC 9110 9.2.2) may be replayed after the server might have seen
// them; POST and PATCH only when nothing was sent.
bool idempotent(std::string_view method);

// Retry after connection failures, after 502/503/504/429, and after a broken exchange of an
// idempotent request, or of any request the caller declared `replay_safe` (a POST that
// carries an idempotency key the server deduplicates on). Never after any other status
// (a 4xx is the caller's answer).
bool should_retry(Outcome outcome, int status, std::string_view method, bool replay_safe = false);

// Delay before retry number `attempt` (1-based): base * 2^(attempt-1), capped at `cap`,
// with "equal jitter" (half fixed, half random) so clients that failed together spread out.
double backoff_delay(double base, int attempt, double cap, std::mt19937_64& rng);

// Retry-After as delta-seconds ("120"); an HTTP-date or garbage gives nullopt (the client
// then uses its own backoff).
std::optional<double> parse_retry_after(std::string_view value);

}  // namespace hostsync::http
