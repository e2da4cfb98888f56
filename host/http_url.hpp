#pragma once
// URL splitting for the HTTP client: what cpp-httplib needs (scheme://host:port) and the
// request target (path?query). Kept apart from httplib so it is unit-tested alone.
#include <optional>
#include <string>
#include <string_view>

namespace hostsync::http {

struct Url {
    std::string scheme;  // "http" or "https"
    std::string host;    // without brackets for IPv6
    int port = 0;        // explicit or the scheme's default
    std::string target;  // "/path?query", never empty
    // "host:port" as error messages name the peer ("[::1]:8080" for IPv6).
    std::string peer() const;
    // "scheme://host:port" for httplib::Client.
    std::string origin() const;
};

// nullopt with `error` set for anything but an absolute http(s) URL.
std::optional<Url> parse_url(std::string_view text, std::string& error);

}  // namespace hostsync::http
