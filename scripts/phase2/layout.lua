-- Where Phase 2 reads and writes, relative to --root (see docs/phase2.md, "Layout").
local fs = require "hostsync.fs"
local cli = require "hostsync.cli"
local time = require "hostsync.time"

local M = {}

local function join(a, b)
  if b:sub(1, 1) == "/" then return b end
  if a == "" or a == "." then return b end
  return (a:gsub("/+$", "")) .. "/" .. b
end
M.join = join

-- Drops "." and empty components and resolves "x/.."; nil if the path climbs above its
-- start ("../x", "a/../../x").
local function normalize(path)
  local parts = {}
  for part in path:gmatch("[^/]+") do
    if part == ".." then
      if #parts == 0 then return nil end
      parts[#parts] = nil
    elseif part ~= "." then
      parts[#parts + 1] = part
    end
  end
  return table.concat(parts, "/")
end

local function under(path, dir)
  if dir == "/" then return path:sub(2) end
  if path:sub(1, #dir + 1) == dir .. "/" then return path:sub(#dir + 2) end
  return nil
end

-- What packets name as source.path: the index's path relative to the root (docs/phase2.md).
-- An absolute --index inside the root (as written, or once symlinks are resolved) becomes
-- relative; one outside the root is refused, since readers find the file as root/source.path.
function M.source_path(root, index)
  if index:sub(1, 1) ~= "/" then
    local rel = normalize(index)
    if rel and rel ~= "" then return rel end
    return nil, "--index " .. index .. " is not a file under --root " .. root
  end
  local abs = "/" .. (normalize(index) or "")
  local roots = {}
  if root:sub(1, 1) == "/" then roots[#roots + 1] = "/" .. (normalize(root) or "") end
  local real_root = fs.realpath(root)
  if real_root then roots[#roots + 1] = real_root end
  local real_index = fs.realpath(index)
  for _, r in ipairs(roots) do
    local rel = under(abs, r) or (real_index and under(real_index, r))
    if rel and rel ~= "" then return rel end
  end
  return nil, string.format("--index %s is outside --root %s; packets name the index relative to the "
    .. "root (source.path), so pass a --root that holds it", index, root)
end

function M.from_options(opts)
  local root = opts.root or "."
  local index_opt = opts.index or "infield/ai_save/index.csv"
  local index_rel, err = M.source_path(root, index_opt)
  if not index_rel then cli.usage_error(err) end
  local outbox_rel = opts.outbox or "infield/ai_save/outbox"
  local state_rel = opts.state_dir or "infield/ai_save/phase2"
  local outbox = join(root, outbox_rel)
  local state_dir = join(root, state_rel)
  return {
    root = root,
    index = join(root, index_opt),
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
function M.adoption_name(run_id) return "adoption_" .. run_id .. ".json" end
M.ADOPTION_PATTERN = "^adoption_(%d%d%d%d%d%d%d%d_%d%d%d%d%d%d)%.json$"

-- run_id is a UTC second, unique in the outbox: a run that would reuse the last seal's
-- (or a file's) waits for the next second, so file names never collide and run_id
-- identifies a run.
function M.unique_run_id(paths, last_run_id)
  while true do
    local run_id = time.format_utc("%Y%m%d_%H%M%S")
    local taken = last_run_id == run_id
      or fs.exists(M.join(paths.outbox, M.sync_name(run_id)))
      or fs.exists(M.join(paths.outbox, M.sync_name(run_id) .. ".torn"))
      or fs.exists(M.join(paths.outbox, M.adoption_name(run_id)))
    if not taken then return run_id end
    time.sleep(1.0 - (time.now() % 1.0) + 0.001)
  end
end

return M
