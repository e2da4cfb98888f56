-- artifact_ingest: RAW. Copies an untrusted input file into artifacts/raw/ as is.
local codec = require "hostsync.codec"
local fs = require "hostsync.fs"
local names = require "adam.names"

local M = {
  summary = "copy an input file into artifacts/raw/ (RAW, no parents)",
  options = {
    { "--src", "FILE", "the input file (required)", required = true },
    { "--media-type", "TYPE", "its media type (default: from the extension)" },
  },
}

local MEDIA = { md = "text/markdown", txt = "text/plain", json = "application/json", csv = "text/csv",
                jsonl = "application/jsonl", html = "text/html", yaml = "application/yaml", yml = "application/yaml" }

function M.run(store, opts)
  local st = fs.stat(opts.src)
  if not st then return nil, opts.src .. ": No such file" end
  if st.type ~= "file" then return nil, opts.src .. " is not a regular file (symlinks are refused)" end
  local data, err = fs.read_file(opts.src)
  if not data then return nil, err end
  local name = opts.src:match("([^/]+)$")
  local ext = name:match("%.([%w]+)$")
  -- The exact original name, for the record: as text if it is UTF-8, else its bytes in
  -- base64 (a file name on Linux is any bytes; JSON text is UTF-8).
  local meta = names.valid_utf8(name) and { source_name = name } or { source_name_base64 = codec.base64_encode(name) }
  local rec, perr = store:put({
    type = "raw", name = name, data = data, parents = {},
    media_type = opts.media_type or MEDIA[ext and ext:lower() or ""] or "application/octet-stream",
    meta = meta,
  })
  if not rec then return nil, perr end
  return { rec }
end

return M
