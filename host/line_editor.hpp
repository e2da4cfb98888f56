#pragma once
// Line editing with history for an interactive session, over libedit (BSD editline).
//
// Plain mechanism: it reads a line on a terminal, keeps a history file and asks a
// callback what to insert when the user presses Tab. What a line means, what to
// complete and how to print are decided by the caller (the REPL, in Lua).
#include <functional>
#include <memory>
#include <string>

namespace hostsync {

class LineEditor {
public:
    // What a Tab press does: `insert` goes in at the cursor; `listing`, if not empty, is
    // printed below the line (the candidates when there is no common prefix to add).
    struct Completion {
        std::string insert;
        std::string listing;
    };
    // Called with the text before the cursor.
    using Completer = std::function<Completion(const std::string& before_cursor)>;

    enum class Result { Line, Cancelled, Eof };

    // `history_path` may be empty (no history file). Needs stdin/stdout on a terminal.
    LineEditor(const std::string& program, const std::string& history_path);
    ~LineEditor();
    LineEditor(const LineEditor&) = delete;
    LineEditor& operator=(const LineEditor&) = delete;

    // Reads one line (without its newline). Ctrl-C gives Cancelled, Ctrl-D on an empty
    // line gives Eof.
    Result read(const std::string& prompt, std::string& line);

    // Adds an entry (a whole multi-line chunk is one entry) and saves the history file,
    // so a session killed later loses nothing.
    void add_history(const std::string& entry);

    void set_completer(Completer completer) { completer_ = std::move(completer); }

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
    Completer completer_;
    std::string prompt_;
    bool cancelled_ = false;

    friend struct LineEditorCallbacks;
};

}  // namespace hostsync
