#pragma once
// libarchive converts path names between the current locale's charset and UTF-8 (pax
// `path=` records). To make archives independent of the process locale (LANG, LC_ALL,
// or a script calling os.setlocale), the tar reader and writer switch the *calling
// thread* to the C.UTF-8 locale for the duration of a call (uselocale(3)); the process
// locale is untouched. Paths are required to be valid UTF-8, so they pass unchanged.
#include <locale.h>

#include <string>

namespace hostsync::tar {

class Utf8LocaleScope {
public:
    Utf8LocaleScope();
    ~Utf8LocaleScope();
    Utf8LocaleScope(const Utf8LocaleScope&) = delete;
    Utf8LocaleScope& operator=(const Utf8LocaleScope&) = delete;
    // False if C.UTF-8 could not be loaded (err says so); the caller must then fail.
    bool ok(std::string& err) const;

private:
    locale_t previous_ = nullptr;
    bool ok_ = false;
};

}  // namespace hostsync::tar
