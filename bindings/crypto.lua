-- hostsync.crypto: age v1 encryption (c2sp.org/age) on OpenSSL 3. X25519 recipients and
-- identities, scrypt passphrases, ChaCha20-Poly1305 STREAM in 64 KiB chunks; streaming
-- both ways in constant memory. Files it writes open with the plain `age` tool, and it
-- opens what `age` writes.
--
--   local crypto = require "hostsync.crypto"
--   local identity, recipient = crypto.age_keygen()
--   local w = assert(crypto.age_writer("out.age", { recipients = { recipient } }))
--   w:write("hello "):write("world"); assert(w:close())
--   local r = assert(crypto.age_reader("out.age", { identities = { identity } }))
--   repeat local piece, err = r:read() ... until piece == nil
--
-- Failures of the world return nil, err, kind; kind is "header" (not a valid age
-- header), "no_match" (wrong key or passphrase), "hmac" (header modified), "payload"
-- (body modified, truncated or extended) or "io". Reference: docs/api/crypto.md.
local _, raw = ...

local type, error, pairs, ipairs, tostring = type, error, pairs, ipairs, tostring
local floor = math.floor

local M = {}

local check_opts = require("hostsync.check").opts

local function string_list(v, name, usage)
  if type(v) == "string" then return { v } end
  if type(v) ~= "table" then error(usage .. ": " .. name .. " must be a string or a list of strings", 3) end
  local out = {}
  for i, s in ipairs(v) do
    if type(s) ~= "string" then error(usage .. ": " .. name .. "[" .. i .. "] must be a string", 3) end
    out[i] = s
  end
  for k in pairs(v) do
    if type(k) ~= "number" or k < 1 or k > #out or k ~= floor(k) then
      error(usage .. ": " .. name .. " must be a list (array) of strings", 3)
    end
  end
  return out
end

local function check_factor(v, name, usage)
  if v ~= nil and (type(v) ~= "number" or v ~= floor(v) or v < 1 or v > 30) then
    error(usage .. ": " .. name .. " must be an integer from 1 to 30", 3)
  end
end

-- { recipients = {...} | recipient = "age1...", passphrase = "...", work_factor = n }
-- -> recipients list or nil, passphrase or nil, work_factor or nil
-- The options each encrypting function takes: the encryption's, plus its own (built once).
local function with_enc_keys(extra)
  local allowed = { recipients = "any", recipient = "any", passphrase = "any", work_factor = "any" }
  for k, want in pairs(extra or {}) do allowed[k] = want end
  return allowed
end
local ENC_KEYS = with_enc_keys()
local ENC_FILE_KEYS = with_enc_keys { atomic = "boolean" }
local ENC_FILE_HASH_KEYS = with_enc_keys { atomic = "boolean", sha256 = "boolean" }

local function encrypt_opts(opts, usage, allowed)
  if type(opts) ~= "table" then error(usage, 3) end
  check_opts(opts, allowed, usage, 4)
  local list
  if opts.recipients ~= nil then list = string_list(opts.recipients, "recipients", usage) end
  if opts.recipient ~= nil then
    if type(opts.recipient) ~= "string" then error(usage .. ": recipient must be a string", 3) end
    list = list or {}
    list[#list + 1] = opts.recipient
  end
  local pass = opts.passphrase
  if pass ~= nil and type(pass) ~= "string" then error(usage .. ": passphrase must be a string", 3) end
  if pass == "" then error(usage .. ": passphrase must not be empty", 3) end
  check_factor(opts.work_factor, "work_factor", usage)
  if opts.work_factor and opts.work_factor > 22 then
    error(usage .. ": work_factor above 22 would not decrypt with age's default limit", 3)
  end
  if opts.work_factor ~= nil and pass == nil then error(usage .. ": work_factor needs a passphrase", 3) end
  if pass ~= nil and list and #list > 0 then
    error(usage .. ": a passphrase cannot be combined with recipients (age refuses such files)", 3)
  end
  if pass == nil and (list == nil or #list == 0) then error(usage .. ": give recipients or a passphrase", 3) end
  return list, pass, opts.work_factor
end

-- { identities = {...} | identity = "AGE-SECRET-KEY-1...", passphrase = "...", max_work_factor = n }
local DEC_KEYS = { identities = "any", identity = "any", passphrase = "any", max_work_factor = "any" }
local function decrypt_opts(opts, usage)
  if type(opts) ~= "table" then error(usage, 3) end
  check_opts(opts, DEC_KEYS, usage, 4)
  local list
  if opts.identities ~= nil then list = string_list(opts.identities, "identities", usage) end
  if opts.identity ~= nil then
    if type(opts.identity) ~= "string" then error(usage .. ": identity must be a string", 3) end
    list = list or {}
    list[#list + 1] = opts.identity
  end
  local pass = opts.passphrase
  if pass ~= nil and type(pass) ~= "string" then error(usage .. ": passphrase must be a string", 3) end
  check_factor(opts.max_work_factor, "max_work_factor", usage)
  if opts.max_work_factor ~= nil and pass == nil then error(usage .. ": max_work_factor needs a passphrase", 3) end
  if pass == nil and (list == nil or #list == 0) then error(usage .. ": give identities or a passphrase", 3) end
  return list, pass, opts.max_work_factor
end

local function check_path(p, usage)
  if type(p) ~= "string" or p == "" then error(usage, 3) end
end

-- Keys ------------------------------------------------------------------------

function M.age_keygen()
  return raw.keygen()
end

function M.age_recipient(identity)
  if type(identity) ~= "string" then error("Usage: crypto.age_recipient(identity: string)", 2) end
  return raw.recipient_of(identity)
end

function M.age_check_recipient(recipient)
  if type(recipient) ~= "string" then error("Usage: crypto.age_check_recipient(recipient: string)", 2) end
  return raw.check_recipient(recipient)
end

-- The identities in the text of an identity file (`age-keygen` output): one
-- AGE-SECRET-KEY-1... per line, '#' comments and blank lines ignored.
function M.age_parse_identities(text)
  if type(text) ~= "string" then error("Usage: crypto.age_parse_identities(text: string)", 2) end
  local out, n = {}, 0
  for line in (text .. "\n"):gmatch("([^\n]*)\n") do
    n = n + 1
    line = line:gsub("\r$", ""):match("^%s*(.-)%s*$")
    if line ~= "" and line:sub(1, 1) ~= "#" then
      local ok, err = raw.recipient_of(line)
      if not ok then return nil, "line " .. n .. ": " .. err end
      out[#out + 1] = line
    end
  end
  if #out == 0 then return nil, "no identity found" end
  return out
end

-- In memory -------------------------------------------------------------------

function M.age_encrypt(data, opts)
  local usage = "Usage: crypto.age_encrypt(data: string, {recipients={...} | passphrase=s [, work_factor=n]})"
  if type(data) ~= "string" then error(usage, 2) end
  local list, pass, wf = encrypt_opts(opts, usage, ENC_KEYS)
  return raw.encrypt(data, list, pass, wf)
end

function M.age_decrypt(data, opts)
  local usage = "Usage: crypto.age_decrypt(data: string, {identities={...} | passphrase=s [, max_work_factor=n]})"
  if type(data) ~= "string" then error(usage, 2) end
  local list, pass, mwf = decrypt_opts(opts, usage)
  return raw.decrypt(data, list, pass, mwf)
end

-- Files -----------------------------------------------------------------------

function M.age_encrypt_file(src, dst, opts)
  local usage = "Usage: crypto.age_encrypt_file(src, dst, {recipients={...} | passphrase=s [, work_factor=n, atomic=bool]})"
  check_path(src, usage)
  check_path(dst, usage)
  local list, pass, wf = encrypt_opts(opts, usage, ENC_FILE_KEYS)
  return raw.encrypt_file(src, dst, list, pass, wf, opts.atomic)
end

function M.age_decrypt_file(src, dst, opts)
  local usage = "Usage: crypto.age_decrypt_file(src, dst, {identities={...} | passphrase=s [, max_work_factor=n]})"
  check_path(src, usage)
  check_path(dst, usage)
  local list, pass, mwf = decrypt_opts(opts, usage)
  return raw.decrypt_file(src, dst, list, pass, mwf)
end

-- Streaming writer ------------------------------------------------------------

local writer = {
  write = raw.writer_write,
  close = raw.writer_close,
  abort = raw.writer_abort,
  bytes = raw.writer_bytes,
  encrypted_bytes = raw.writer_encrypted_bytes,
  sha256_hex = raw.writer_sha256_hex,
  is_open = raw.writer_is_open,
  path = raw.writer_path,
}
raw.writer_mt.__index = writer
raw.writer_mt.__tostring = function(w)
  return "hostsync.crypto.age_writer (" .. raw.writer_path(w) .. ", " ..
    (raw.writer_is_open(w) and "open" or "closed") .. ", " .. raw.writer_bytes(w) .. " bytes)"
end

function M.age_writer(path, opts)
  local usage = "Usage: crypto.age_writer(path, {recipients={...} | passphrase=s [, work_factor=n, atomic=bool, sha256=bool]})"
  check_path(path, usage)
  local list, pass, wf = encrypt_opts(opts, usage, ENC_FILE_HASH_KEYS)
  return raw.writer(path, list, pass, wf, opts.atomic, opts.sha256)
end

-- Streaming reader ------------------------------------------------------------

local reader = {
  read = raw.reader_read,
  close = raw.reader_close,
  bytes = raw.reader_bytes,
  is_open = raw.reader_is_open,
}
raw.reader_mt.__index = reader
raw.reader_mt.__tostring = function(r)
  return "hostsync.crypto.age_reader (" .. (raw.reader_is_open(r) and "open" or "closed") .. ", " ..
    raw.reader_bytes(r) .. " bytes)"
end

function M.age_reader(path, opts)
  local usage = "Usage: crypto.age_reader(path, {identities={...} | passphrase=s [, max_work_factor=n]})"
  check_path(path, usage)
  local list, pass, mwf = decrypt_opts(opts, usage)
  return raw.reader(path, list, pass, mwf)
end

return M
