-- Runs hostsync.crypto over prepared CCTV age vectors (see test_age_cctv.py).
-- arg[1]: a JSON-lines manifest {name, file, identities, passphrase}; arg[2]: output
-- JSON lines {name, kind, sha256, message}: kind is "success" or the error kind, sha256
-- the hash of all plaintext the reader released (even before a failure).
local crypto = require "hostsync.crypto"
local json = require "hostsync.json"
local hash = require "hostsync.hash"

local out = assert(io.open(arg[2], "wb"))
for line in io.lines(arg[1]) do
  local v = assert(json.decode(line))
  local opts = {}
  if #v.identities > 0 then opts.identities = v.identities end
  if v.passphrase ~= json.null and v.passphrase ~= nil then opts.passphrase = v.passphrase end
  -- A few header-failure vectors name no key at all: use an unrelated one.
  if not opts.identities and not opts.passphrase then opts.identities = { (crypto.age_keygen()) } end
  local h = hash.sha256_new()
  local kind, message = "success", ""
  local r, err, k = crypto.age_reader(v.file, opts)
  if not r then
    kind, message = k, err
  else
    while true do
      local piece, e, ek = r:read()
      if piece == nil then
        if e then kind, message = ek, e end
        break
      end
      h:update(piece)
    end
    r:close()
  end
  out:write(json.encode({ name = v.name, kind = kind, sha256 = h:hex(), message = message }), "\n")
end
out:close()
