-- hostsync run phase2.lua: turns new rows of an append-only index.csv into sealed JSONL
-- sync packets (PHASE2_SYNC_SPEC v0.1). The formats are in docs/phase2.md.
local cli = require "hostsync.cli"

local spec = {
  usage = "hostsync run phase2.lua [options] [run|verify|status|adopt|deliver]",
  summary = "Turn the rows appended to index.csv since the last run into sealed JSON Lines\n"
    .. "sync packets in the outbox: diff extract, seal, checkpoint. Safe to rerun.",
  description = "Commands:\n"
    .. "  run     (default) emit, seal and checkpoint the new records\n"
    .. "  verify  re-check every sync file, seal, packet and state.json\n"
    .. "  status  show the cursor, the last seal and the deliveries; changes nothing\n"
    .. "  adopt   take over a deployment of the PowerShell original (run does it too)\n"
    .. "  deliver send the sealed packets to --to URL, at least once, from a durable cursor",
  options = {
    { "--root", "DIR", "project root; paths below are relative to it (default: .)", default = "." },
    { "--index", "PATH", "the CSV (default: infield/ai_save/index.csv)" },
    { "--outbox", "DIR", "the outbox (default: infield/ai_save/outbox)" },
    { "--state-dir", "DIR", "cursor and checkpoint (default: infield/ai_save/phase2)" },
    { "--quarantine", nil, "set bad rows aside in outbox/quarantine.jsonl and go on" },
    { "--max-packets", "N", "emit at most N packets in this run", number = true },
    { "--wait", "SECONDS", "wait this long for another run's lock (default: 60)", number = true, default = 60 },
    { "--deep", nil, "verify: also check all of index.csv against the packets" },
    { "--quiet", nil, "no progress output on stderr" },
    { "--to", "URL", "deliver: the receiver (POST); a URL ending in /sync/push is hostsync serve's" },
    { "--format", "F", "deliver: packets (default) or sync-push (default for .../sync/push)" },
    { "--token-file", "FILE", "deliver: send the bearer token in FILE (Authorization header)" },
    { "--batch", "N", "deliver: packets per request (default: 500; sync-push: at most 1000)", number = true },
    { "--batch-bytes", "N", "deliver: about this many bytes of packets per request at most (default: 4 MiB)", number = true },
    { "--retries", "N", "deliver: retries of a request (default: 5)", number = true },
    { "--backoff", "SECONDS", "deliver: first delay between retries, doubled each time (default: 0.5)", number = true },
    { "--timeout", "SECONDS", "deliver: connect and read timeout (default: 30)", number = true },
    { "--checkpoint-every", "SECONDS", "deliver: write the cursor at most this often (default: 1; 0: after every batch)", number = true },
    { "--skip-adopted", nil, "deliver: do not send the packets of files taken over from the original" },
    { "--watch", nil, "run: keep running, and run after each burst of appends to the index (inotify)" },
    { "--debounce", "SECONDS", "watch: a burst ends after this long without a change (default: 1)", number = true },
    { "--max-delay", "SECONDS", "watch: run at the latest this long after a burst began (default: 30)", number = true },
  },
  epilog = "Exit status: 0 ok (also when nothing is new), 1 refused or failed, 2 usage,\n"
    .. "75 try later (another run holds the lock; deliver: the receiver is away or busy).\n"
    .. "Formats and guarantees: docs/phase2.md.",
}

local opts, rest = cli.parse(arg, spec)
local command = rest[1] or "run"
if #rest > 1 then cli.usage_error("one command at a time, got: " .. table.concat(rest, " "), spec.usage) end
if opts.max_packets and (opts.max_packets < 1 or opts.max_packets % 1 ~= 0) then
  cli.usage_error("--max-packets needs a positive whole number", spec.usage)
end

if opts.watch then
  if command ~= "run" then cli.usage_error("--watch goes with run, not " .. command, spec.usage) end
  require("phase2.watch").run(opts)
elseif command == "run" then
  require("phase2.run").run(opts)
elseif command == "verify" then
  require("phase2.verify").run(opts)
elseif command == "status" then
  require("phase2.verify").status(opts)
elseif command == "deliver" then
  require("phase2.deliver").run(opts)
elseif command == "adopt" then
  require("phase2.run").adopt(opts)
else
  cli.usage_error("unknown command '" .. command .. "'", spec.usage)
end
