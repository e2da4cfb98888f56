#include "http_url.hpp"

#include <cctype>

namespace hostsync::http {

std::string Url::peer() const {
    bool v6 = host.find(':') != std::string::npos;
    return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::string Url::origin() const { return scheme + "://" + peer(); }

std::optional<Url> parse_url(std::string_view text, std::string& error) {
    Url u;
    auto sep = text.find("://");
    if (sep == std::string_view::npos) {
        error = "not an absolute URL (expected http:// or https://)";
        return std::nullopt;
    }
    for (char c : text.substr(0, sep)) u.scheme.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    if (u.scheme != "http" && u.scheme != "https") {
        error = "unsupported scheme '" + u.scheme + "' (expected http or https)";
        return std::nullopt;
    }
    std::string_view rest = text.substr(sep + 3);
    auto path_at = rest.find_first_of("/?#");
    std::string_view authority = rest.substr(0, path_at);
    std::string_view target = path_at == std::string_view::npos ? "" : rest.substr(path_at);
    if (auto hash = target.find('#'); hash != std::string_view::npos) target = target.substr(0, hash);
    if (authority.find('@') != std::string_view::npos) {
        error = "credentials in the URL are not supported (send an Authorization header)";
        return std::nullopt;
    }
    std::string_view port_text;
    if (!authority.empty() && authority[0] == '[') {
        auto close = authority.find(']');
        if (close == std::string_view::npos) {
            error = "unterminated IPv6 address";
            return std::nullopt;
        }
        u.host.assign(authority.substr(1, close - 1));
        std::string_view after = authority.substr(close + 1);
        if (!after.empty()) {
            if (after[0] != ':') {
                error = "bad authority";
                return std::nullopt;
            }
            port_text = after.substr(1);
        }
    } else {
        auto colon = authority.rfind(':');
        u.host.assign(authority.substr(0, colon));
        if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
    }
    if (u.host.empty()) {
        error = "missing host";
        return std::nullopt;
    }
    u.port = u.scheme == "https" ? 443 : 80;
    if (!port_text.empty()) {
        if (port_text.size() > 5 || port_text.find_first_not_of("0123456789") != std::string_view::npos ||
            std::stoi(std::string(port_text)) < 1 || std::stoi(std::string(port_text)) > 65535) {
            error = "bad port '" + std::string(port_text) + "'";
            return std::nullopt;
        }
        u.port = std::stoi(std::string(port_text));
    }
    u.target = target.empty() ? "/" : (target[0] == '?' ? "/" + std::string(target) : std::string(target));
    return u;
}

}  // namespace hostsync::http
