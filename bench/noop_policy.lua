-- A conflict policy that decides nothing: every write applies, the incoming side always
-- wins (stored as it came), and nobody's reads are redacted. bench/sync_bench.sh runs
-- the server with it to measure what the real policy (policies/truth_hierarchy.lua)
-- costs on top of the sandbox call itself.
return {
  check_write = function() return { action = "apply", rule = "noop", reason = "no-op policy" } end,
  decide = function() return { winner = "remote", rule = "noop", reason = "no-op policy" } end,
  redacts = function() return false end,
}
