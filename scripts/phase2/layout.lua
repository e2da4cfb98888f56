-- Where Phase 2 reads and writes, relative to --root (see docs/phase2.md, "Layout").
local M = {}

local function join(a, b)
  if b:sub(1, 1) == "/" then return b end
  if a == "" or a == "." then return b end
  return (a:gsub("/+$", "")) .. "/" .. b
end
M.join = join

function M.from_options(opts)
  local root = opts.root or "."
  local index_rel = opts.index or "infield/ai_save/index.csv"
  local outbox_rel = opts.outbox or "infield/ai_save/outbox"
  local state_rel = opts.state_dir or "infield/ai_save/phase2"
  local outbox = join(root, outbox_rel)
  local state_dir = join(root, state_rel)
  return {
    root = root,
    index = join(root, index_rel),
    index_rel = index_rel,          -- what packets name as source.path
    outbox = outbox,
    outbox_rel = outbox_rel,
    state_dir = state_dir,
    seals = join(outbox, "seals.jsonl"),
    quarantine = join(outbox, "quarantine.jsonl"),
    diff_state = join(state_dir, "diff_state.json"),
    state = join(state_dir, "state.json"),
    lock = join(state_dir, "run.lock"),
  }
end

function M.sync_name(run_id) return "sync_" .. run_id .. ".jsonl" end
function M.tmp_name(run_id) return ".sync_" .. run_id .. ".jsonl.tmp" end

return M
