-- A conflict policy that decides nothing: every write applies and the incoming side
-- always wins. bench/sync_bench.sh runs the server with it to measure what the real
-- policy (policies/truth_hierarchy.lua) costs on top of the sandbox call itself.
return {
  check_write = function() return { action = "apply", rule = "noop", reason = "no-op policy" } end,
  decide = function(_, remote) return { winner = "remote", item = remote, rule = "noop", reason = "no-op policy" } end,
}
