// Raw table of hostsync.repl: the few things the REPL cannot do in Lua. Line editing
// and history (host/line_editor, libedit), terminal detection, the SIGINT hook that
// interrupts a running statement, chdir for --root, and the running thread (the
// debugger inspects a suspended thread's frames). Everything else is in repl.lua.
#include <lua.hpp>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <memory>
#include <string>

#include "host/line_editor.hpp"
#include "host/lua_guard.hpp"
#include "host/lua_object.hpp"
#include "host/lua_runtime.hpp"

namespace {

using hostsync::guarded;
using hostsync::LineEditor;
namespace lo = hostsync::lua_object;

const char kEditorMeta[] = "hostsync.repl.editor";

struct Editor {
    std::unique_ptr<LineEditor> ed;  // its destructor restores the terminal
    lua_State* L = nullptr;          // the thread inside read(); the completer runs on it
    int completer_ref = LUA_NOREF;   // released by l_editor_gc, which has a lua_State
};

Editor* check_editor(lua_State* L) {
    Editor* e = *lo::slot_of<Editor>(L, 1, kEditorMeta);
    if (e == nullptr) throw hostsync::UsageError("Usage: the line editor is closed");
    return e;
}

// Asks the Lua completer (set by repl.lua) what Tab should do. Runs inside libedit's
// key handler, so a Lua error must not unwind through libedit: pcall, and show it.
LineEditor::Completion run_completer(Editor* e, const std::string& before) {
    LineEditor::Completion c;
    lua_State* L = e->L;
    if (L == nullptr || e->completer_ref == LUA_NOREF) return c;
    lua_rawgeti(L, LUA_REGISTRYINDEX, e->completer_ref);
    lua_pushlstring(L, before.data(), before.size());
    std::string error;
    if (!hostsync::pcall_traceback_message(L, 1, 2, error)) {
        c.listing = "completion failed: " + error;
        return c;
    }
    if (const char* s = lua_tostring(L, -2)) c.insert = s;
    if (const char* s = lua_tostring(L, -1)) c.listing = s;
    lua_pop(L, 2);
    return c;
}

int l_editor(lua_State* L) {
    std::string history = luaL_optstring(L, 1, "");
    Editor** slot = lo::new_slot<Editor>(L, kEditorMeta);
    *slot = new Editor();
    Editor* e = *slot;
    e->ed = std::make_unique<LineEditor>("hostsync", history);
    e->ed->set_completer([e](const std::string& before) { return run_completer(e, before); });
    return 1;
}

// read(ed, prompt) -> line | false (Ctrl-C) | nil (Ctrl-D / end of input)
int l_read(lua_State* L) {
    Editor* e = check_editor(L);
    std::string prompt = luaL_checkstring(L, 2);
    std::string line;
    e->L = L;
    LineEditor::Result r = e->ed->read(prompt, line);
    e->L = nullptr;
    switch (r) {
        case LineEditor::Result::Line: lua_pushlstring(L, line.data(), line.size()); break;
        case LineEditor::Result::Cancelled: lua_pushboolean(L, 0); break;
        case LineEditor::Result::Eof: lua_pushnil(L); break;
    }
    return 1;
}

int l_add_history(lua_State* L) {
    Editor* e = check_editor(L);
    e->ed->add_history(luaL_checkstring(L, 2));
    return 0;
}

// set_completer(ed, fn): fn(text_before_cursor) -> text_to_insert, listing
int l_set_completer(lua_State* L) {
    Editor* e = check_editor(L);
    luaL_checktype(L, 2, LUA_TFUNCTION);
    if (e->completer_ref != LUA_NOREF) luaL_unref(L, LUA_REGISTRYINDEX, e->completer_ref);
    lua_pushvalue(L, 2);
    e->completer_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    return 0;
}

// __gc and close(): releases the completer, then the editor (restoring the terminal).
int l_editor_gc(lua_State* L) {
    Editor* e = *lo::slot_of<Editor>(L, 1, kEditorMeta);
    if (e != nullptr && e->completer_ref != LUA_NOREF) luaL_unref(L, LUA_REGISTRYINDEX, e->completer_ref);
    return lo::gc_slot<Editor>(L, kEditorMeta);
}

int l_isatty(lua_State* L) {
    lua_pushboolean(L, ::isatty(static_cast<int>(luaL_checkinteger(L, 1))));
    return 1;
}

int l_chdir(lua_State* L) {
    const char* dir = luaL_checkstring(L, 1);
    if (::chdir(dir) != 0) return hostsync::push_fail(L, std::string("chdir ") + dir + ": " + std::strerror(errno));
    lua_pushboolean(L, 1);
    return 1;
}

int l_current_thread(lua_State* L) {
    lua_pushthread(L);
    return 1;
}

// --- interrupting a running statement --------------------------------------------
// The SIGINT handler may only do async-signal-safe things; lua_sethook is the one Lua
// call meant for that (lua.c does the same). The hook then raises "interrupted" at the
// next call, return or instruction the interpreter runs. Code compiled by the JIT does
// not run hooks, so a tight compiled loop is not interruptible: the handler resets
// SIGINT to its default first, and a second Ctrl-C ends the process, as with `lua`.
lua_State* g_interrupt_L = nullptr;  // the outermost thread running user code
int g_interrupt_depth = 0;            // sessions nest: a breakpoint inside REPL code
struct sigaction g_previous_sigint;

void interrupt_hook(lua_State* L, lua_Debug*) {
    lua_sethook(L, nullptr, 0, 0);
    lua_pushliteral(L, "interrupted (Ctrl-C)");  // the traceback shows where
    lua_error(L);
}

void on_sigint(int) {
    std::signal(SIGINT, SIG_DFL);
    if (g_interrupt_L) lua_sethook(g_interrupt_L, interrupt_hook, LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT, 1);
}

void arm_sigint(struct sigaction* previous) {
    struct sigaction sa {};
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, previous);
}

// interrupt(true) before running user code, interrupt(false) after it. Calls nest; the
// process's own SIGINT disposition comes back when the outermost one ends.
int l_interrupt(lua_State* L) {
    if (lua_toboolean(L, 1)) {
        if (g_interrupt_depth++ == 0) {
            g_interrupt_L = L;  // outlives nested sessions: they run above it
            arm_sigint(&g_previous_sigint);
        } else {
            arm_sigint(nullptr);
        }
    } else if (g_interrupt_depth > 0) {
        lua_sethook(L, nullptr, 0, 0);  // a Ctrl-C that came too late to matter
        if (--g_interrupt_depth == 0) {
            sigaction(SIGINT, &g_previous_sigint, nullptr);
            g_interrupt_L = nullptr;
        } else {
            arm_sigint(nullptr);  // the outer statement is still running
        }
    }
    return 0;
}

}  // namespace

int hostsync_raw_repl(lua_State* L) {
    lo::new_meta(L, kEditorMeta, guarded<l_editor_gc>);
    lua_pushliteral(L, "hostsync.repl.editor");
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 1);
    const luaL_Reg fns[] = {
        {"editor", guarded<l_editor>},
        {"read", guarded<l_read>},
        {"add_history", guarded<l_add_history>},
        {"set_completer", guarded<l_set_completer>},
        {"close", guarded<l_editor_gc>},
        {"isatty", guarded<l_isatty>},
        {"chdir", guarded<l_chdir>},
        {"current_thread", guarded<l_current_thread>},
        {"interrupt", guarded<l_interrupt>},
        {nullptr, nullptr},
    };
    lua_newtable(L);
    luaL_register(L, nullptr, fns);
    return 1;
}
