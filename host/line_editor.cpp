#include "line_editor.hpp"

#include <histedit.h>

#include <clocale>
#include <cstdio>
#include <cstring>

namespace hostsync {

struct LineEditor::Impl {
    EditLine* el = nullptr;
    History* hist = nullptr;
    HistEvent ev{};
    std::string history_path;
};

// libedit calls plain C functions; they find their LineEditor through EL_CLIENTDATA.
struct LineEditorCallbacks {
    static LineEditor* self(EditLine* el) {
        void* data = nullptr;
        el_get(el, EL_CLIENTDATA, &data);
        return static_cast<LineEditor*>(data);
    }

    static char* prompt(EditLine* el) { return const_cast<char*>(self(el)->prompt_.c_str()); }

    // Ctrl-C at the prompt: the tty's signal keys are off while editing (see the
    // constructor), so ^C arrives here as a key and simply abandons the line.
    static unsigned char cancel(EditLine* el, int) {
        self(el)->cancelled_ = true;
        std::fputs("^C\n", stdout);
        return CC_NEWLINE;
    }

    static unsigned char complete(EditLine* el, int) {
        LineEditor* ed = self(el);
        if (!ed->completer_) return CC_ERROR;
        const LineInfo* li = el_line(el);
        std::string before(li->buffer, static_cast<std::size_t>(li->cursor - li->buffer));
        LineEditor::Completion c = ed->completer_(before);
        if (!c.insert.empty() && el_insertstr(el, c.insert.c_str()) != 0) return CC_ERROR;
        if (!c.listing.empty()) {
            std::fputs("\n", stdout);
            std::fputs(c.listing.c_str(), stdout);
            if (c.listing.back() != '\n') std::fputs("\n", stdout);
            std::fflush(stdout);
            return CC_REDISPLAY;
        }
        return c.insert.empty() ? CC_ERROR : CC_REFRESH;  // CC_ERROR beeps: nothing to add
    }
};

LineEditor::LineEditor(const std::string& program, const std::string& history_path)
    : impl_(std::make_unique<Impl>()) {
    // libedit handles multibyte input only with the user's character type.
    std::setlocale(LC_CTYPE, "");
    impl_->history_path = history_path;
    impl_->hist = history_init();
    history(impl_->hist, &impl_->ev, H_SETSIZE, 1000);
    history(impl_->hist, &impl_->ev, H_SETUNIQUE, 1);
    if (!history_path.empty()) history(impl_->hist, &impl_->ev, H_LOAD, history_path.c_str());

    EditLine* el = el_init(program.c_str(), stdin, stdout, stderr);
    impl_->el = el;
    el_set(el, EL_CLIENTDATA, this);
    el_set(el, EL_EDITOR, "emacs");
    el_set(el, EL_PROMPT, &LineEditorCallbacks::prompt);
    el_set(el, EL_HIST, history, impl_->hist);
    // Signal keys off while editing: ^C becomes a key we bind to "cancel the line"
    // instead of a SIGINT racing with libedit's own terminal handling. Running code
    // gets the terminal back in its normal mode, so ^C there is a real SIGINT.
    el_set(el, EL_SETTY, "-d", "-isig", nullptr);
    el_set(el, EL_ADDFN, "hostsync-cancel", "abandon the line", &LineEditorCallbacks::cancel);
    el_set(el, EL_BIND, "^C", "hostsync-cancel", nullptr);
    el_set(el, EL_ADDFN, "hostsync-complete", "complete the word", &LineEditorCallbacks::complete);
    el_set(el, EL_BIND, "^I", "hostsync-complete", nullptr);
    el_source(el, nullptr);  // the user's ~/.editrc, as every libedit program does
}

LineEditor::~LineEditor() {
    if (impl_->el) el_end(impl_->el);
    if (impl_->hist) history_end(impl_->hist);
}

LineEditor::Result LineEditor::read(const std::string& prompt, std::string& line) {
    prompt_ = prompt;
    cancelled_ = false;
    int count = 0;
    // Edit mode before el_gets draws the prompt: libedit prints the prompt first and
    // switches the terminal after, so keys typed the moment the prompt shows were
    // echoed by the terminal driver (and a fast ^D read as a cooked-mode EOF).
    el_set(impl_->el, EL_PREP_TERM, 1);
    const char* got = el_gets(impl_->el, &count);
    if (cancelled_) {
        el_reset(impl_->el);
        return Result::Cancelled;
    }
    if (got == nullptr || count <= 0) return Result::Eof;
    line.assign(got, static_cast<std::size_t>(count));
    if (!line.empty() && line.back() == '\n') line.pop_back();
    return Result::Line;
}

void LineEditor::add_history(const std::string& entry) {
    if (entry.find_first_not_of(" \t\n") == std::string::npos) return;
    history(impl_->hist, &impl_->ev, H_ENTER, entry.c_str());
    if (!impl_->history_path.empty()) history(impl_->hist, &impl_->ev, H_SAVE, impl_->history_path.c_str());
}

}  // namespace hostsync
