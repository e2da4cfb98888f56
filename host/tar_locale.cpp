#include "tar_locale.hpp"

namespace hostsync::tar {
namespace {

locale_t utf8_locale() {
    // Loaded once and never freed: shared by every thread, as uselocale allows.
    static locale_t loc = [] {
        locale_t l = ::newlocale(LC_ALL_MASK, "C.UTF-8", static_cast<locale_t>(0));
        if (l == static_cast<locale_t>(0)) l = ::newlocale(LC_ALL_MASK, "C.utf8", static_cast<locale_t>(0));
        return l;
    }();
    return loc;
}

}  // namespace

Utf8LocaleScope::Utf8LocaleScope() {
    locale_t l = utf8_locale();
    if (l == static_cast<locale_t>(0)) return;
    previous_ = ::uselocale(l);
    ok_ = previous_ != static_cast<locale_t>(0);
}

Utf8LocaleScope::~Utf8LocaleScope() {
    if (ok_) ::uselocale(previous_);
}

bool Utf8LocaleScope::ok(std::string& err) const {
    if (!ok_) err = "tar: the C.UTF-8 locale is not available (needed for locale-independent path names)";
    return ok_;
}

}  // namespace hostsync::tar
