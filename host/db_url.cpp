// URL redaction and placeholder translation; see db_url.hpp.
#include "db_url.hpp"

#include <cctype>
#include <vector>

namespace hostsync::db {

bool is_postgres_url(const std::string& url) {
    return url.rfind("postgres://", 0) == 0 || url.rfind("postgresql://", 0) == 0;
}

namespace {

// Drops `password=...` from a query string ("a=1&password=x&b=2" -> "a=1&b=2").
std::string redact_query(const std::string& query) {
    std::string out;
    size_t start = 0;
    while (start <= query.size()) {
        size_t end = query.find('&', start);
        if (end == std::string::npos) end = query.size();
        std::string part = query.substr(start, end - start);
        if (part.rfind("password=", 0) != 0 && !part.empty()) {
            if (!out.empty()) out += '&';
            out += part;
        }
        start = end + 1;
    }
    return out;
}

}  // namespace

std::string redact_url(const std::string& url) {
    if (!is_postgres_url(url)) return url;
    size_t scheme_end = url.find("://") + 3;
    // The authority ends at the first '/' or '?' after the scheme; user info is what
    // precedes its last '@' (a password may itself contain '@' if percent-encoding was
    // forgotten, so the last one is the separator).
    size_t auth_end = url.find_first_of("/?", scheme_end);
    if (auth_end == std::string::npos) auth_end = url.size();
    std::string authority = url.substr(scheme_end, auth_end - scheme_end);
    size_t at = authority.rfind('@');
    if (at != std::string::npos) {
        std::string userinfo = authority.substr(0, at);
        size_t colon = userinfo.find(':');
        if (colon != std::string::npos) userinfo.resize(colon);
        authority = userinfo + "@" + authority.substr(at + 1);
    }
    std::string rest = url.substr(auth_end);
    size_t q = rest.find('?');
    if (q != std::string::npos) {
        std::string query = redact_query(rest.substr(q + 1));
        rest = rest.substr(0, q) + (query.empty() ? "" : "?" + query);
    }
    return url.substr(0, scheme_end) + authority + rest;
}

namespace {

std::string percent_decode(const std::string& s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
            std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
            out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
            i += 2;
        } else {
            out += s[i];
        }
    }
    return out;
}

void replace_all(std::string& text, const std::string& secret) {
    if (secret.empty()) return;
    for (size_t pos; (pos = text.find(secret)) != std::string::npos;) text.replace(pos, secret.size(), "***");
}

}  // namespace

std::string scrub_secrets(const std::string& message, const std::string& url) {
    if (!is_postgres_url(url)) return message;
    std::vector<std::string> secrets;
    size_t scheme_end = url.find("://") + 3;
    size_t auth_end = url.find_first_of("/?", scheme_end);
    if (auth_end == std::string::npos) auth_end = url.size();
    std::string authority = url.substr(scheme_end, auth_end - scheme_end);
    size_t at = authority.rfind('@');
    if (at != std::string::npos) {
        size_t colon = authority.find(':');
        if (colon != std::string::npos && colon < at) secrets.push_back(authority.substr(colon + 1, at - colon - 1));
    }
    for (size_t pos = url.find("password=", auth_end); pos != std::string::npos; pos = url.find("password=", pos + 1)) {
        size_t start = pos + 9, end = url.find('&', start);
        secrets.push_back(url.substr(start, end == std::string::npos ? std::string::npos : end - start));
    }
    std::string out = message;
    for (const auto& s : secrets) {
        replace_all(out, s);
        replace_all(out, percent_decode(s));
    }
    return out;
}

std::string sqlite_path(const std::string& url) {
    if (url.rfind("sqlite://", 0) == 0) return url.substr(9);
    if (url.rfind("sqlite:", 0) == 0) return url.substr(7);
    return url;
}

std::string translate_placeholders(const std::string& sql, int& count) {
    std::string out;
    out.reserve(sql.size() + 16);
    count = 0;
    size_t i = 0, n = sql.size();
    auto copy_until = [&](size_t end) {
        out.append(sql, i, end - i);
        i = end;
    };
    while (i < n) {
        char c = sql[i];
        if (c == '\'' || c == '"') {
            // '...' literal or "..." identifier; a doubled quote is an escaped one. E'..'
            // strings also allow backslash escapes.
            bool backslash = c == '\'' && i > 0 && (sql[i - 1] == 'E' || sql[i - 1] == 'e');
            size_t j = i + 1;
            while (j < n) {
                if (backslash && sql[j] == '\\') {
                    j += 2;
                    continue;
                }
                if (sql[j] == c) {
                    if (j + 1 < n && sql[j + 1] == c) {
                        j += 2;
                        continue;
                    }
                    break;
                }
                ++j;
            }
            copy_until(j < n ? j + 1 : n);
        } else if (c == '-' && i + 1 < n && sql[i + 1] == '-') {
            size_t j = sql.find('\n', i);
            copy_until(j == std::string::npos ? n : j);
        } else if (c == '/' && i + 1 < n && sql[i + 1] == '*') {
            size_t j = sql.find("*/", i + 2);
            copy_until(j == std::string::npos ? n : j + 2);
        } else if (c == '$' && (i == 0 || !(std::isalnum(static_cast<unsigned char>(sql[i - 1])) || sql[i - 1] == '_'))) {
            // $tag$ ... $tag$ (tag may be empty); a `$1` is left alone.
            size_t j = i + 1;
            while (j < n && (std::isalnum(static_cast<unsigned char>(sql[j])) || sql[j] == '_')) ++j;
            if (j < n && sql[j] == '$' && !(j > i + 1 && std::isdigit(static_cast<unsigned char>(sql[i + 1])))) {
                std::string tag = sql.substr(i, j - i + 1);
                size_t end = sql.find(tag, j + 1);
                copy_until(end == std::string::npos ? n : end + tag.size());
            } else {
                copy_until(j);
            }
        } else if (c == '?') {
            if (i + 1 < n && sql[i + 1] == '?') {
                out += '?';
                i += 2;
            } else {
                out += '$';
                out += std::to_string(++count);
                ++i;
            }
        } else {
            out += c;
            ++i;
        }
    }
    return out;
}

}  // namespace hostsync::db
