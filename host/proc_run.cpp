// proc::run: posix_spawn with an argument vector (no shell), one poll loop over stdin,
// stdout, stderr and a pidfd for the child's exit, and a timeout that stops the whole
// process group (SIGTERM, then SIGKILL after a grace period).
#include "proc_run.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "proc_path.hpp"

extern char** environ;

namespace hostsync::proc {

namespace {

using Clock = std::chrono::steady_clock;

// Closes on scope exit: every early return leaves no descriptor behind.
struct Fd {
    int fd = -1;
    Fd() = default;
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    ~Fd() { reset(); }
    void reset() {
        if (fd >= 0) ::close(fd);
        fd = -1;
    }
};

bool make_pipe(Fd& r, Fd& w) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) return false;
    r.fd = p[0];
    w.fd = p[1];
    return true;
}

std::string env_value(const std::vector<std::string>& env, const std::string& key) {
    for (const auto& kv : env)
        if (kv.size() > key.size() && kv.compare(0, key.size(), key) == 0 && kv[key.size()] == '=') return kv.substr(key.size() + 1);
    return "";
}

int pidfd_open(pid_t pid) {
#ifdef SYS_pidfd_open
    return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
#else
    (void)pid;
    errno = ENOSYS;
    return -1;
#endif
}

// SIGPIPE from writing to a child that stopped reading must not kill us: block it on
// this thread while the loop runs, and swallow one that we caused.
struct SigpipeGuard {
    sigset_t old{};
    bool was_pending = false;
    SigpipeGuard() {
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGPIPE);
        sigset_t pending;
        sigpending(&pending);
        was_pending = sigismember(&pending, SIGPIPE);
        pthread_sigmask(SIG_BLOCK, &set, &old);
    }
    ~SigpipeGuard() {
        sigset_t pending;
        sigpending(&pending);
        if (!was_pending && sigismember(&pending, SIGPIPE)) {
            sigset_t set;
            sigemptyset(&set);
            sigaddset(&set, SIGPIPE);
            timespec zero{0, 0};
            sigtimedwait(&set, nullptr, &zero);
        }
        pthread_sigmask(SIG_SETMASK, &old, nullptr);
    }
};

// Reads what is available; false at end of file (or error).
bool drain(int fd, std::string& out) {
    char buf[65536];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n > 0) {
            out.append(buf, static_cast<size_t>(n));
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) return true;
        return false;
    }
}

}  // namespace

std::vector<std::string> child_environment(const RunOptions& opts) {
    std::vector<std::string> env;
    if (!opts.env_clear)
        for (char** e = environ; *e; ++e) env.emplace_back(*e);
    for (const auto& [key, value] : opts.env) {
        std::erase_if(env, [&](const std::string& kv) {
            return kv.size() > key.size() && kv.compare(0, key.size(), key) == 0 && kv[key.size()] == '=';
        });
        if (value) env.push_back(key + "=" + *value);
    }
    return env;
}

bool run(const RunOptions& opts, RunResult& result, std::string& error) {
    result = RunResult{};
    if (opts.argv.empty()) {
        error = "empty argument list";
        return false;
    }
    std::vector<std::string> env = child_environment(opts);
    std::string path = env_value(env, "PATH");
    if (path.empty()) path = env_value(child_environment(RunOptions{}), "PATH");
    if (path.empty()) path = "/usr/local/bin:/usr/bin:/bin";
    std::string program = find_program(opts.argv[0], path, error);
    if (program.empty()) return false;
    // posix_spawn reports a bad directory as the same ENOENT as a missing program.
    if (opts.cwd) {
        struct stat st {};
        int e = ::stat(opts.cwd->c_str(), &st) != 0 ? errno : S_ISDIR(st.st_mode) ? 0 : ENOTDIR;
        if (e != 0) {
            error = "cwd " + *opts.cwd + ": " + std::strerror(e);
            return false;
        }
    }

    Fd in_r, in_w, out_r, out_w, err_r, err_w;
    bool ok = true;
    if (opts.stdin_data) ok = make_pipe(in_r, in_w);
    else in_r.fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (opts.capture) ok = ok && make_pipe(out_r, out_w) && make_pipe(err_r, err_w);
    if (!ok || in_r.fd < 0) {
        error = opts.argv[0] + ": pipe: " + std::strerror(errno);
        return false;
    }

    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in_r.fd, 0);
    if (opts.capture) {
        posix_spawn_file_actions_adddup2(&fa, out_w.fd, 1);
        posix_spawn_file_actions_adddup2(&fa, err_w.fd, 2);
    }
    if (opts.cwd) posix_spawn_file_actions_addchdir_np(&fa, opts.cwd->c_str());
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    // Own process group (for the timeout's group kill); default signal handling and an
    // empty mask, whatever the host set up for itself.
    sigset_t all, none;
    sigfillset(&all);
    sigemptyset(&none);
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);

    std::vector<char*> argv, envp;
    for (const auto& a : opts.argv) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);

    pid_t pid = -1;
    int rc = posix_spawn(&pid, program.c_str(), &fa, &attr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    if (rc != 0) {
        error = opts.argv[0] + ": " + std::strerror(rc);
        return false;
    }
    in_r.reset();
    out_w.reset();
    err_w.reset();
    for (Fd* f : {&in_w, &out_r, &err_r})
        if (f->fd >= 0) ::fcntl(f->fd, F_SETFL, ::fcntl(f->fd, F_GETFL) | O_NONBLOCK);

    SigpipeGuard sigpipe;
    Fd pidfd;
    pidfd.fd = pidfd_open(pid);
    size_t written = 0;
    const std::string empty;
    const std::string& input = opts.stdin_data ? *opts.stdin_data : empty;
    if (opts.stdin_data && input.empty()) in_w.reset();
    bool reaped = false;
    int wstatus = 0;
    auto now = Clock::now();
    std::optional<Clock::time_point> term_at, kill_at;
    if (opts.timeout > 0) term_at = now + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(opts.timeout));

    while (!reaped || out_r.fd >= 0 || err_r.fd >= 0) {
        now = Clock::now();
        if (term_at && now >= *term_at) {
            ::kill(-pid, SIGTERM);
            result.timed_out = true;
            term_at.reset();
            kill_at = now + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(opts.grace));
        }
        if (kill_at && now >= *kill_at) {
            ::kill(-pid, SIGKILL);
            kill_at.reset();
        }
        pollfd fds[4];
        int n = 0;
        int i_in = -1, i_out = -1, i_err = -1, i_pid = -1;
        if (in_w.fd >= 0) fds[i_in = n++] = {in_w.fd, POLLOUT, 0};
        if (out_r.fd >= 0) fds[i_out = n++] = {out_r.fd, POLLIN, 0};
        if (err_r.fd >= 0) fds[i_err = n++] = {err_r.fd, POLLIN, 0};
        if (!reaped && pidfd.fd >= 0) fds[i_pid = n++] = {pidfd.fd, POLLIN, 0};
        int wait_ms = -1;
        auto next = term_at ? term_at : kill_at;
        if (next) wait_ms = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(*next - now).count()) + 1;
        if (!reaped && pidfd.fd < 0 && (wait_ms < 0 || wait_ms > 20)) wait_ms = 20;  // no pidfd: poll waitpid
        int pr = ::poll(fds, static_cast<nfds_t>(n), wait_ms);
        if (pr < 0 && errno != EINTR) {
            ::kill(-pid, SIGKILL);
            ::waitpid(pid, nullptr, 0);
            error = opts.argv[0] + ": poll: " + std::strerror(errno);
            return false;
        }
        if (pr > 0 && i_in >= 0 && fds[i_in].revents) {
            ssize_t w = ::write(in_w.fd, input.data() + written, std::min<size_t>(input.size() - written, 65536));
            if (w > 0) written += static_cast<size_t>(w);
            // EPIPE: the child closed its stdin; what it did not read is not our error.
            if ((w < 0 && errno != EAGAIN && errno != EINTR) || written == input.size()) in_w.reset();
        }
        if (pr > 0 && i_out >= 0 && fds[i_out].revents && !drain(out_r.fd, result.out)) out_r.reset();
        if (pr > 0 && i_err >= 0 && fds[i_err].revents && !drain(err_r.fd, result.err)) err_r.reset();
        if (!reaped && (pidfd.fd < 0 || (pr > 0 && i_pid >= 0 && fds[i_pid].revents))) {
            pid_t w = ::waitpid(pid, &wstatus, WNOHANG);
            if (w == pid) {
                reaped = true;
                in_w.reset();  // nobody left to read it (grandchildren get EOF)
            }
        }
    }
    if (WIFEXITED(wstatus)) {
        result.exited = true;
        result.status = WEXITSTATUS(wstatus);
    } else if (WIFSIGNALED(wstatus)) {
        result.signal = WTERMSIG(wstatus);
    }
    return true;
}

}  // namespace hostsync::proc
