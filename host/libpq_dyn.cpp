#define HOSTSYNC_LIBPQ_DYN_IMPL
#include "libpq_dyn.hpp"

#include <dlfcn.h>

#include <mutex>

namespace hostsync::libpq {
namespace {

Api g_api;
std::string g_error;
bool g_loaded = false;

void load_once() {
    void* lib = ::dlopen("libpq.so.5", RTLD_NOW | RTLD_LOCAL);
    if (lib == nullptr) {
        const char* e = ::dlerror();
        g_error = std::string("PostgreSQL support needs libpq (Debian package libpq5): ") + (e ? e : "dlopen failed");
        return;
    }
#define HOSTSYNC_PQ_RESOLVE(name)                                                               \
    g_api.name = reinterpret_cast<decltype(g_api.name)>(::dlsym(lib, #name));                   \
    if (g_api.name == nullptr) {                                                                \
        g_error = "libpq.so.5 has no " #name;                                                   \
        return;                                                                                 \
    }
    HOSTSYNC_PQ_FUNCTIONS(HOSTSYNC_PQ_RESOLVE)
#undef HOSTSYNC_PQ_RESOLVE
    g_loaded = true;  // never dlclose'd: connections may live until exit
}

}  // namespace

bool load(std::string& err) {
    static std::once_flag once;
    std::call_once(once, load_once);
    if (!g_loaded) err = g_error;
    return g_loaded;
}

const Api& api() { return g_api; }

}  // namespace hostsync::libpq
