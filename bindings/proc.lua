-- hostsync.proc: run programs from an argument list, never through a shell.
--
--   local proc = require "hostsync.proc"
--   local r = assert(proc.run({ "git", "commit", "-m", msg }, { cwd = repo, timeout = 60 }))
--   if not r.ok then print(r.status, r.stderr) end
--   proc.which("git")   --> "/usr/bin/git" | nil, "git: No such file or directory"
--
-- A program that cannot be started returns nil, err ("git: No such file or directory");
-- one that ran returns its result whatever its exit status. Reference: docs/api/proc.md.
local _, raw = ...

local type, error, tostring, pairs = type, error, tostring, pairs

local check_opts = require("hostsync.check").opts

local M = {}

local RUN_USAGE = "Usage: proc.run(argv: {string...} [, {cwd=, env=, env_clear=, stdin=, timeout=, grace=, capture=}])"

local OPTION_TYPES = {
  cwd = "string", env = "table", env_clear = "boolean", stdin = "string",
  timeout = "number", grace = "number", capture = "boolean",
}

function M.run(argv, opts)
  if type(argv) ~= "table" or #argv == 0 then error(RUN_USAGE .. ": argv must be a non-empty list", 2) end
  for i = 1, #argv do
    local a = argv[i]
    if type(a) == "number" then a = tostring(a) end
    if type(a) ~= "string" then error(RUN_USAGE .. ": argv[" .. i .. "] must be a string, got " .. type(a), 2) end
    if a:find("\0", 1, true) then error(RUN_USAGE .. ": argv[" .. i .. "] contains a NUL byte", 2) end
  end
  opts = check_opts(opts, OPTION_TYPES, RUN_USAGE)
  if opts.env then
    for k, v in pairs(opts.env) do
      if type(k) ~= "string" or k == "" or k:find("[=%z]") then
        error(RUN_USAGE .. ": env keys must be names without '=', got " .. tostring(k), 2)
      end
      if not (type(v) == "string" or v == false) or (type(v) == "string" and v:find("\0", 1, true)) then
        error(RUN_USAGE .. ": env." .. k .. " must be a string (or false to unset)", 2)
      end
    end
  end
  if opts.timeout and opts.timeout <= 0 then error(RUN_USAGE .. ": timeout must be positive", 2) end
  if opts.grace and opts.grace < 0 then error(RUN_USAGE .. ": grace must be non-negative", 2) end
  local strings = {}
  for i = 1, #argv do strings[i] = tostring(argv[i]) end
  return raw.run(strings, opts.cwd, opts.env, opts.env_clear == true, opts.stdin,
    opts.timeout, opts.grace, opts.capture ~= false)
end

function M.which(name, path)
  if type(name) ~= "string" or name == "" then error("Usage: proc.which(name: string [, path: string])", 2) end
  if path ~= nil and type(path) ~= "string" then error("Usage: proc.which(name: string [, path: string])", 2) end
  return raw.which(name, path)
end

return M
