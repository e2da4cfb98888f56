local t = require "hostsync.testing"
local cli = require "hostsync.cli"

local spec = {
  usage = "demo [options]",
  options = {
    { "--root", "DIR", "root", default = "." },
    { "--max-packets", "N", "limit", number = true },
    { "--quarantine", nil, "flag" },
  },
}

t.test("parses values, flags, defaults and positionals", function()
  local opts, rest = cli.parse({ "verify", "--root", "/x", "--quarantine", "--max-packets=5", "--", "--raw" }, spec)
  t.eq(opts, { root = "/x", quarantine = true, max_packets = 5 })
  t.eq(rest, { "verify", "--raw" })
  local defaults = cli.parse({}, spec)
  t.eq(defaults.root, ".")
end)

t.test("unknown option and missing value are usage errors with exit status 2", function()
  local ok, err = pcall(cli.parse, { "--nope" }, spec)
  t.eq(ok, false)
  t.eq(err.exit_code, 2)
  t.match(err.message, "unknown option '%-%-nope'")
  ok, err = pcall(cli.parse, { "--root" }, spec)
  t.eq(err.exit_code, 2)
  t.match(err.message, "needs a value")
  ok, err = pcall(cli.parse, { "--max-packets", "many" }, spec)
  t.match(err.message, "needs a number")
end)

t.test("help text lists every option", function()
  local text = cli.help_text(spec)
  t.match(text, "%-%-root DIR")
  t.match(text, "%-%-quarantine")
  t.match(text, "%-h, %-%-help")
end)
