-- hostsync.testing: a small test runner for Lua test files (`hostsync test FILE...`).
--
--   local t = require "hostsync.testing"
--   t.test("sha256 of empty string", function()
--     t.eq(hash.sha256_hex(""), "e3b0c442...")
--   end)
--
-- Assertions: t.eq (deep equality), t.ne, t.ok, t.is_nil, t.raises(fn, pattern),
-- t.fails(pattern, fn_or_results...) for the `nil, err` convention, t.match(s, pattern).
-- t.tmpdir() makes a fresh directory removed after the test.
local M = {}

local registry = {}
local cleanups = {}

function M.test(name, fn)
  if type(name) ~= "string" or type(fn) ~= "function" then
    error("Usage: testing.test(name, fn)", 2)
  end
  registry[#registry + 1] = { name = name, fn = fn }
end

local function show(v, depth)
  depth = depth or 0
  if type(v) == "string" then return string.format("%q", v) end
  if type(v) ~= "table" or depth > 3 then return tostring(v) end
  local keys = {}
  for k in pairs(v) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  local parts = {}
  for _, k in ipairs(keys) do
    parts[#parts + 1] = "[" .. show(k, depth + 1) .. "]=" .. show(v[k], depth + 1)
  end
  return "{" .. table.concat(parts, ", ") .. "}"
end
M.show = show

local function deep_eq(a, b)
  if a == b then return true end
  if type(a) ~= "table" or type(b) ~= "table" then return false end
  for k, v in pairs(a) do if not deep_eq(v, b[k]) then return false end end
  for k in pairs(b) do if a[k] == nil then return false end end
  return true
end
M.deep_eq = deep_eq

local function fail(msg, level)
  error(msg, (level or 1) + 2)
end

function M.eq(actual, expected, msg)
  if not deep_eq(actual, expected) then
    local a, e = show(actual), show(expected)
    if #a > 400 then a = a:sub(1, 400) .. "..." end
    if #e > 400 then e = e:sub(1, 400) .. "..." end
    fail((msg and (msg .. ": ") or "") .. "expected " .. e .. ", got " .. a)
  end
end

function M.ne(actual, unexpected, msg)
  if deep_eq(actual, unexpected) then
    fail((msg and (msg .. ": ") or "") .. "did not expect " .. show(actual))
  end
end

function M.ok(v, msg)
  if not v then fail(msg or ("expected a true value, got " .. show(v))) end
  return v
end

function M.is_nil(v, msg)
  if v ~= nil then fail((msg and (msg .. ": ") or "") .. "expected nil, got " .. show(v)) end
end

function M.match(s, pattern, msg)
  if type(s) ~= "string" or not s:find(pattern) then
    fail((msg and (msg .. ": ") or "") .. "expected " .. show(s) .. " to match " .. show(pattern))
  end
end

-- t.raises(fn, pattern): fn must raise an error whose message matches pattern (plain find).
function M.raises(fn, pattern)
  local ok, err = pcall(fn)
  if ok then fail("expected an error matching " .. show(pattern) .. ", got none") end
  local text = type(err) == "table" and tostring(err.message or err) or tostring(err)
  if pattern and not text:find(pattern, 1, true) then
    fail("expected an error matching " .. show(pattern) .. ", got " .. show(text))
  end
  return text
end

-- t.fails(pattern, v, err): asserts the `nil, err` convention and err containing pattern.
function M.fails(pattern, v, err)
  if v ~= nil then fail("expected nil, err; got " .. show(v)) end
  if type(err) ~= "string" then fail("expected an error message, got " .. show(err)) end
  if pattern and not err:find(pattern, 1, true) then
    fail("expected an error containing " .. show(pattern) .. ", got " .. show(err))
  end
  return err
end

-- The hostsync binary running the tests, for tests that start child processes.
function M.hostsync_binary()
  return assert(arg and arg[-1], "hostsync test sets arg[-1] to the binary")
end

function M.tmpdir()
  local p = io.popen("mktemp -d /tmp/hostsync-test.XXXXXX")
  local dir = p:read("*l")
  p:close()
  cleanups[#cleanups + 1] = function() os.execute("rm -rf '" .. dir .. "'") end
  return dir
end

function M.write_file(path, data)
  local f = assert(io.open(path, "wb"))
  f:write(data)
  f:close()
end

function M.read_file(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local d = f:read("*a")
  f:close()
  return d
end

local function run_cleanups()
  for i = #cleanups, 1, -1 do pcall(cleanups[i]) end
  cleanups = {}
end

-- Runs the given files; returns the process exit status (0 if nothing failed).
function M.main(files)
  local verbose = false
  local passed, failed = 0, 0
  for _, file in ipairs(files) do
    if file == "-v" or file == "--verbose" then
      verbose = true
    else
      registry = {}
      local chunk, err = loadfile(file)
      local ok = chunk ~= nil
      if ok then
        ok, err = xpcall(chunk, debug.traceback)
      end
      if not ok then
        failed = failed + 1
        io.stdout:write("FAIL ", file, ": could not load\n  ", tostring(err), "\n")
      end
      for _, case in ipairs(registry) do
        if verbose then io.stdout:write("... ", file, ": ", case.name, "\n") end
        local ok2, err2 = xpcall(case.fn, function(e)
          local text = type(e) == "table" and tostring(e.message or e) or tostring(e)
          return debug.traceback(text, 2)
        end)
        run_cleanups()
        if ok2 then
          passed = passed + 1
        else
          failed = failed + 1
          io.stdout:write("FAIL ", file, ": ", case.name, "\n  ", tostring(err2):gsub("\n", "\n  "), "\n")
        end
      end
    end
  end
  io.stdout:write(string.format("%d passed, %d failed\n", passed, failed))
  return failed == 0 and 0 or 1
end

return M
