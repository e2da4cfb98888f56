-- The web view's static files (docs/web.md): the page at GET /, its scripts, styles and
-- icon at GET /view/<name>. They hold no data: the page calls the API with the token the
-- person signs in with, so a file is public (access rule "public") and the data is not.
--
-- Safe by construction: the directory is read once, when a worker loads, into a table of
-- name -> {body, type, etag}. A request only looks a name up in that table; nothing on
-- the request reaches the file system, so there is no path to traverse and no listing.
-- A name must be a plain file name with a known extension; anything else in the
-- directory (a subdirectory, a symlink, an unknown type, a file others may write) stops
-- the server from starting rather than being skipped or served with a guessed type.
local fs = require "hostsync.fs"
local hash = require "hostsync.hash"

local M = {}

M.INDEX = "index.html"

-- The only types served; an extension not listed here is a load error.
M.TYPES = {
  html = "text/html; charset=utf-8",
  css = "text/css; charset=utf-8",
  js = "text/javascript; charset=utf-8",
  svg = "image/svg+xml",
  png = "image/png",
}

-- Sent with every answer of the view (files, 304s, its 404s). The policy allows only
-- this server's own scripts, styles, images and API: no inline script or style, no
-- framing, no <base>, forms only back to this origin.
M.HEADERS = {
  ["Content-Security-Policy"] = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    .. "img-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  ["X-Content-Type-Options"] = "nosniff",
  ["Referrer-Policy"] = "no-referrer",
  ["X-Frame-Options"] = "DENY",
  ["Cross-Origin-Opener-Policy"] = "same-origin",
  ["Cross-Origin-Resource-Policy"] = "same-origin",
  -- Revalidate every time (a 304 is cheap): after an upgrade the page and the API it
  -- calls come from the same version.
  ["Cache-Control"] = "no-cache",
}

local function headers(extra)
  local h = {}
  for k, v in pairs(M.HEADERS) do h[k] = v end
  for k, v in pairs(extra or {}) do h[k] = v end
  return h
end

-- The view's directory -> files table | nil, err. dir false: no view (an empty table).
function M.load(dir)
  local files = {}
  if dir == false then return files end
  local st, serr = fs.stat(dir, { follow = true })
  if not st then return nil, "web view: " .. serr end
  if st.type ~= "dir" then return nil, "web view: " .. dir .. " is not a directory" end
  if st.mode % 4 >= 2 then return nil, "web view: " .. dir .. " is writable by every user" end
  local names, lerr = fs.listdir(dir)
  if not names then return nil, "web view: " .. lerr end
  for _, name in ipairs(names) do
    local path = dir .. "/" .. name
    local ext = name:match("^[%w_][%w_.-]*%.(%w+)$")
    local info = assert(fs.stat(path))
    if info.type ~= "file" then return nil, "web view: " .. path .. " is not a plain file (" .. info.type .. ")" end
    if not ext or not M.TYPES[ext] then
      return nil, "web view: " .. path .. ": not a servable name (letters, digits, _ . - and one of .html .css .js .svg .png)"
    end
    if info.mode % 4 >= 2 then return nil, "web view: " .. path .. " is writable by every user" end
    local body, rerr = fs.read_file(path)
    if not body then return nil, "web view: " .. rerr end
    files[name] = { body = body, type = M.TYPES[ext], etag = '"' .. hash.sha256_hex(body):sub(1, 32) .. '"' }
  end
  if not files[M.INDEX] then return nil, "web view: " .. dir .. " has no " .. M.INDEX end
  return files
end

-- The file a request names: "/" is the page, "/view/<name>" one of its files; nil otherwise.
local function requested(files, req)
  if req.method ~= "GET" and req.method ~= "HEAD" then return nil end
  if req.path == "/" then return files[M.INDEX] end
  local name = req.path:match("^/view/([^/]+)$")
  return name and files[name] or nil
end

-- Whether a request is for one of the view's files (it then needs no token: app.authorize).
-- An unknown name is not: a stranger gets 401 for it like for any unknown path.
function M.serves(files, req)
  return requested(files, req) ~= nil
end

-- The answer for GET / or GET /view/:file: the file, 304 when the client has it, 404.
function M.respond(files, req)
  local f = requested(files, req)
  if not f then return 404, headers(), { error = "no such file in the web view" } end
  local inm = req.headers["if-none-match"]
  if inm then
    for tag in inm:gmatch("[^,%s]+") do
      if tag == "*" or tag:gsub("^W/", "") == f.etag then return 304, headers({ ETag = f.etag }), "" end
    end
  end
  return 200, headers({ ["Content-Type"] = f.type, ETag = f.etag }), f.body
end

return M
