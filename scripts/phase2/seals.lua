-- The seal chain: outbox/seals.jsonl, one canonical JSON line per sync file.
-- chain = sha256_hex(prev_chain .. file_sha256), the first prev_chain is 64 zeros.
local fs = require "hostsync.fs"
local json = require "hostsync.json"
local hash = require "hostsync.hash"
local layout = require "phase2.layout"

local M = {}

M.GENESIS = string.rep("0", 64)

function M.chain(prev_chain, file_sha256)
  return hash.sha256_hex(prev_chain .. file_sha256)
end

local SEAL_FIELDS = {
  seal_version = "string", file = "string", sha256 = "string", bytes = "number",
  packets = "number", first_seq = "number", last_seq = "number", prev_chain = "string",
  chain = "string", run_id = "string", cursor = "table", sealed_at = "string",
}

-- Reads every seal. Returns {seals = {...}, fragments = {line numbers}, torn_tail = bytes}
-- or nil, err. A line that is not valid JSON is a fragment of a write torn by a crash
-- (it was terminated by a later repair); a valid line that is not a proper seal is an error.
function M.read(path)
  local result = { seals = {}, fragments = {}, torn_tail = 0 }
  if not fs.exists(path) then return result end
  local reader, err = fs.line_reader(path)
  if not reader then return nil, err end
  local line_no = 0
  while true do
    local line = reader:next()
    if not line then break end
    line_no = line_no + 1
    local seal = json.decode(line)
    if seal == nil then
      result.fragments[#result.fragments + 1] = line_no
    else
      for field, kind in pairs(SEAL_FIELDS) do
        if type(seal[field]) ~= kind then
          return nil, string.format("%s:%d: seal has no valid '%s' field", path, line_no, field)
        end
      end
      seal.line_no = line_no
      result.seals[#result.seals + 1] = seal
    end
  end
  result.torn_tail = reader:partial_bytes()
  reader:close()
  return result
end

-- Terminates a torn last line by appending a newline: the fragment becomes a line of its
-- own that readers skip, and the file is never rewritten (the rule for append-only data,
-- docs/architecture.md: "writers repair a torn tail only by appending, never by rewriting").
function M.repair_torn_tail(path, torn_bytes)
  if torn_bytes == 0 then return true end
  return fs.append(path, "\n")
end

-- Is this the seal of an adoption manifest (docs/phase2.md, "Taking over ...")?
function M.is_adoption(seal) return seal.file:match(layout.ADOPTION_PATTERN) ~= nil end

-- Checks that the seals link up: each prev_chain is the previous chain and each chain is
-- recomputed correctly; seq continues by one from seal to seal. An adoption seal may only
-- come first: its prev_chain is the old implementation's chain head (64 zeros if it had
-- none) and its seq range is the old packets' lowest..highest (1..0 without any).
-- Returns the last chain and last seq, or nil, err naming the seal.
function M.check_links(path, seals)
  local prev = M.GENESIS
  local last_seq = 0
  for i, s in ipairs(seals) do
    local where = string.format("%s:%d (%s)", path, s.line_no, s.file)
    if M.is_adoption(s) then
      if i ~= 1 then return nil, where .. ": an adoption seal can only be the first seal" end
      if not s.prev_chain:match("^[0-9a-f]+$") or #s.prev_chain ~= 64 then
        return nil, where .. ": prev_chain is not 64 lowercase hex digits"
      end
      if (s.packets == 0 and (s.first_seq ~= 1 or s.last_seq ~= 0))
          or (s.packets > 0 and (s.first_seq < 0 or s.first_seq > s.last_seq)) then
        return nil, string.format("%s: seq %d..%d does not fit %d adopted packets", where, s.first_seq,
          s.last_seq, s.packets)
      end
    else
      if s.prev_chain ~= prev then
        return nil, where .. ": prev_chain does not match the previous seal's chain"
      end
      if s.first_seq ~= last_seq + 1 or s.last_seq ~= s.first_seq + s.packets - 1 then
        return nil, string.format("%s: seq %d..%d does not continue from %d", where, s.first_seq, s.last_seq, last_seq)
      end
    end
    if s.chain ~= M.chain(s.prev_chain, s.sha256) then
      return nil, where .. ": chain is not sha256(prev_chain + sha256)"
    end
    prev, last_seq = s.chain, s.last_seq
  end
  return prev, last_seq
end

-- The seal whose chain is `chain`, or nil.
function M.find_chain(seals, chain)
  for i = #seals, 1, -1 do
    if seals[i].chain == chain then return seals[i] end
  end
  return nil
end

function M.append(path, seal)
  return fs.append(path, json.canonical(seal) .. "\n")
end

return M
