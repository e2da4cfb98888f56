local t = require "hostsync.testing"
local proc = require "hostsync.proc"
local clock = require "hostsync.time"

t.test("exit status, ok, and a missing program", function()
  local r = assert(proc.run({ "true" }))
  t.eq({ r.status, r.ok, r.signal, r.timed_out, r.stdout, r.stderr }, { 0, true, nil, false, "", "" })
  r = assert(proc.run({ "sh", "-c", "echo out; echo err >&2; exit 3" }))
  t.eq({ r.status, r.ok, r.stdout, r.stderr }, { 3, false, "out\n", "err\n" })
  t.fails("no-such-program-hostsync: No such file or directory", proc.run({ "no-such-program-hostsync" }))
  t.fails("/nonexistent/prog: No such file or directory", proc.run({ "/nonexistent/prog" }))
  local dir = t.tmpdir()
  t.write_file(dir .. "/notexec", "#!/bin/sh\n")
  t.fails("notexec: Permission denied", proc.run({ dir .. "/notexec" }))
end)

t.test("a signal ends the child: signal set, no status", function()
  local r = assert(proc.run({ "sh", "-c", "kill -KILL $$" }))
  t.eq({ r.status, r.signal, r.ok }, { nil, 9, false })
end)

t.test("argv goes to the program literally, with no shell in between", function()
  local args = { "a b", "it's \"quoted\"", "x; rm -rf /nonexistent", "$(echo no)", "*", "`id`", "", "tab\there" }
  local argv = { "printf", "[%s]\\n" }
  for _, a in ipairs(args) do argv[#argv + 1] = a end
  local r = assert(proc.run(argv))
  local want = {}
  for _, a in ipairs(args) do want[#want + 1] = "[" .. a .. "]\n" end
  t.eq(r.stdout, table.concat(want))
  t.eq(assert(proc.run({ "printf", "%s", 42 })).stdout, "42", "numbers are passed as strings")
end)

t.test("stdin is fed while output is read: 5 MB through cat, binary-safe", function()
  local chunk = {}
  for i = 0, 255 do chunk[#chunk + 1] = string.char(i) end
  local data = string.rep(table.concat(chunk), 5 * 4096)  -- 5 MiB with every byte value
  local r = assert(proc.run({ "cat" }, { stdin = data }))
  t.ok(r.stdout == data, "cat echoed " .. #r.stdout .. " of " .. #data .. " bytes")
  t.eq(assert(proc.run({ "cat" }, { stdin = "" })).stdout, "")
  t.eq(assert(proc.run({ "cat" })).stdout, "", "no stdin option: /dev/null")
  -- A child that exits without reading its input is not an error (and no SIGPIPE for us).
  r = assert(proc.run({ "true" }, { stdin = string.rep("x", 1048576) }))
  t.eq(r.status, 0)
end)

t.test("several MB on stdout and stderr at once do not deadlock", function()
  local r = assert(proc.run({ "sh", "-c",
    "yes out | head -c 6000000 & yes err | head -c 6000000 >&2; wait" }, { timeout = 20 }))
  t.eq(r.status, 0)
  t.eq(#r.stdout, 6000000)
  t.eq(#r.stderr, 6000000)
  t.eq(r.stdout:sub(1, 8), "out\nout\n")
  t.eq(r.stderr:sub(-4), "err\n")
  t.ok(not r.timed_out)
end)

t.test("timeout: SIGTERM to the whole group, SIGKILL after the grace period", function()
  -- The signal proves the timeout ended it (sleep 300 exits 0 on its own).
  local r = assert(proc.run({ "sleep", "300" }, { timeout = 0.3 }))   -- only the timeout can end it
  t.eq({ r.timed_out, r.signal, r.status }, { true, 15, nil })
  -- A shell that ignores SIGTERM, with a grandchild holding the output pipe: the group
  -- SIGKILL ends both, so the call returns instead of waiting for EOF (which would hang
  -- this test for 300 s, past CTest's timeout, if the grandchild survived).
  local t0 = clock.monotonic()
  r = assert(proc.run({ "sh", "-c", "trap '' TERM; sleep 300 & sleep 300; echo never" }, { timeout = 0.2, grace = 0.3 }))
  t.eq({ r.timed_out, r.signal }, { true, 9 })
  t.eq(r.stdout, "")
  t.ok(clock.monotonic() - t0 >= 0.5, "SIGKILL only after timeout + grace")
  -- A fast program is not affected by a timeout.
  r = assert(proc.run({ "echo", "quick" }, { timeout = 10 }))
  t.eq({ r.timed_out, r.stdout }, { false, "quick\n" })
end)

t.test("env: merged by default, replaced with env_clear, false unsets", function()
  local r = assert(proc.run({ "sh", "-c", 'printf "%s|%s" "$HOSTSYNC_X" "${HOME-unset}"' },
    { env = { HOSTSYNC_X = "a b=c", HOME = false } }))
  t.eq(r.stdout, "a b=c|unset")
  r = assert(proc.run({ "env" }, { env_clear = true, env = { ONLY = "1" } }))
  t.eq(r.stdout, "ONLY=1\n")
  -- The child's PATH decides where a bare name is found.
  local dir = t.tmpdir()
  t.write_file(dir .. "/hs-tool", "#!/bin/sh\necho from-tool\n")
  os.execute("chmod +x " .. dir .. "/hs-tool")
  t.fails("hs-tool: No such file or directory", proc.run({ "hs-tool" }))
  t.eq(assert(proc.run({ "hs-tool" }, { env = { PATH = dir .. ":/usr/bin:/bin" } })).stdout, "from-tool\n")
end)

t.test("cwd, capture=false, which", function()
  local dir = t.tmpdir()
  t.eq(assert(proc.run({ "pwd", "-P" }, { cwd = dir })).stdout, assert(io.popen("cd " .. dir .. " && pwd -P")):read("*l") .. "\n")
  t.fails("cwd " .. dir .. "/missing: No such file or directory", proc.run({ "pwd" }, { cwd = dir .. "/missing" }))
  local r = assert(proc.run({ "true" }, { capture = false }))
  t.eq({ r.status, r.stdout, r.stderr }, { 0, nil, nil })
  t.match(assert(proc.which("sh")), "/sh$")
  t.fails("no-such-hs: No such file or directory", proc.which("no-such-hs"))
  t.eq(proc.which("/bin/sh"), "/bin/sh")
end)

t.test("caller mistakes raise Usage", function()
  t.raises(function() proc.run("git status") end, "argv must be a non-empty list")
  t.raises(function() proc.run({}) end, "argv must be a non-empty list")
  t.raises(function() proc.run({ "echo", {} }) end, "argv[2] must be a string")
  t.raises(function() proc.run({ "echo" }, { shell = true }) end, "unknown option 'shell'")
  t.raises(function() proc.run({ "echo" }, { timeout = "5" }) end, "option 'timeout' must be a number")
  t.raises(function() proc.run({ "echo" }, { timeout = 0 }) end, "timeout must be positive")
  t.raises(function() proc.run({ "echo" }, { env = { ["A=B"] = "x" } }) end, "env keys must be names")
  t.raises(function() proc.run({ "echo" }, { env = { A = 1 } }) end, "env.A must be a string")
  t.raises(function() proc.which(nil) end, "Usage: proc.which")
end)

t.test("drives real git: init, add, commit with a tricky message, log", function()
  if not proc.which("git") then return end
  local dir = t.tmpdir()
  local env = { GIT_AUTHOR_NAME = "Claude", GIT_AUTHOR_EMAIL = "claude@example.invalid",
    GIT_COMMITTER_NAME = "Claude", GIT_COMMITTER_EMAIL = "claude@example.invalid",
    GIT_CONFIG_NOSYSTEM = "1", HOME = dir, GIT_TERMINAL_PROMPT = "0" }
  local function git(...)
    local r = assert(proc.run({ "git", ... }, { cwd = dir .. "/repo", env = env, timeout = 30 }))
    if not r.ok then error("git " .. table.concat({ ... }, " ") .. ": " .. r.stderr, 2) end
    return r.stdout
  end
  assert(proc.run({ "git", "init", "-q", "-b", "main", dir .. "/repo" }, { env = env }))
  t.write_file(dir .. "/repo/a file; with spaces.txt", "hello\n")
  git("add", "--", "a file; with spaces.txt")
  local message = "[Jai.OS] Claude/@marcus | Machine: m1\n\nit's \"quoted\"; $(not run) `nor this`"
  git("commit", "-q", "-m", message)
  t.eq(git("log", "-1", "--format=%B"), message .. "\n\n")
  t.eq(git("ls-files"), "a file; with spaces.txt\n")
  t.match(git("rev-parse", "HEAD"), "^%x+\n$")
  local r = assert(proc.run({ "git", "rev-parse", "no-such-ref" }, { cwd = dir .. "/repo", env = env }))
  t.eq(r.status, 128)
  t.match(r.stderr, "no%-such%-ref")
end)
