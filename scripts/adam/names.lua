-- Artifact file names: the part after "<sha256[0:16]>-" in an artifact's relpath, made
-- from an untrusted input's name (docs/pipeline.md, "File names"). Valid UTF-8 letters
-- are kept as they are; what could hide, reorder or redirect a name, or break it on
-- another system, becomes "_".
local M = {}

M.MAX_BYTES = 80
local MAX_EXTENSION = 16

-- ASCII: letters, digits, '.', '_' and '-' are kept; everything else (controls, space,
-- path separators '/' and '\', Windows' reserved < > : " | ? *, shell metacharacters)
-- becomes "_", as it always did.
local function ascii_ok(c) return c:match("^[%w%._%-]$") ~= nil end

-- Code points that are valid UTF-8 but must not appear in a name: C1 controls, invisible
-- format characters (soft hyphen, zero-width characters, word joiners, BOM, interlinear
-- annotation), line and paragraph separators, bidirectional controls (LRM/RLM/ALM,
-- embeddings and overrides, isolates: "txt.exe" shown as "exe.txt"), tag characters,
-- and noncharacters.
local REFUSED = {
  { 0x80, 0x9F }, { 0xAD, 0xAD }, { 0x061C, 0x061C }, { 0x180E, 0x180E }, { 0x200B, 0x200F },
  { 0x2028, 0x202E }, { 0x2060, 0x206F }, { 0xFDD0, 0xFDEF }, { 0xFEFF, 0xFEFF }, { 0xFFF9, 0xFFFB },
  { 0xE0000, 0xE007F },
}

local function refused(cp)
  for _, r in ipairs(REFUSED) do
    if cp >= r[1] and cp <= r[2] then return true end
  end
  return cp % 0x10000 >= 0xFFFE  -- the noncharacters at the end of every plane
end

-- The UTF-8 sequence starting at byte i of s (RFC 3629: no overlongs, no surrogates,
-- nothing above U+10FFFF): returns its length and code point, or nil if invalid.
local function utf8_at(s, i)
  local b = s:byte(i)
  local n, cp, min
  if b < 0x80 then return 1, b
  elseif b >= 0xC2 and b <= 0xDF then n, cp, min = 2, b - 0xC0, 0x80
  elseif b >= 0xE0 and b <= 0xEF then n, cp, min = 3, b - 0xE0, 0x800
  elseif b >= 0xF0 and b <= 0xF4 then n, cp, min = 4, b - 0xF0, 0x10000
  else return nil end
  for k = 1, n - 1 do
    local c = s:byte(i + k)
    if not c or c < 0x80 or c > 0xBF then return nil end
    cp = cp * 64 + (c - 0x80)
  end
  if cp < min or cp > 0x10FFFF or (cp >= 0xD800 and cp <= 0xDFFF) then return nil end
  return n, cp
end

-- True if s is valid UTF-8 (JSON text can only hold such strings).
function M.valid_utf8(s)
  local i = 1
  while i <= #s do
    local n = utf8_at(s, i)
    if not n then return false end
    i = i + n
  end
  return true
end

-- Cuts s to at most max bytes without splitting a UTF-8 sequence.
local function cut(s, max)
  if #s <= max then return s end
  local i = max + 1
  while i > 1 and s:byte(i) >= 0x80 and s:byte(i) < 0xC0 do i = i - 1 end
  return s:sub(1, i - 1)
end

-- The file name hint for an artifact made from `name` (any bytes).
function M.safe_name(name)
  if not name:match("[^.]") then return "artifact" end  -- "", ".", "..": no name at all
  local out, i = {}, 1
  while i <= #name do
    local n, cp = utf8_at(name, i)
    local piece = n and name:sub(i, i + n - 1)
    if not n then
      out[#out + 1] = "_"  -- one "_" per invalid byte
      i = i + 1
    else
      if n == 1 then
        out[#out + 1] = ascii_ok(piece) and piece or "_"
      else
        out[#out + 1] = refused(cp) and "_" or piece
      end
      i = i + n
    end
  end
  local s = table.concat(out)
  -- Windows drops trailing dots and spaces (spaces are "_" already): "a." and "a" would
  -- be one file there.
  s = s:gsub("%.+$", function(dots) return ("_"):rep(#dots) end)
  if #s > M.MAX_BYTES then
    -- Keep a short extension: the name is a hint for people and tools, and the type is in it.
    local stem, ext = s:match("^(.*)(%.[^.]+)$")
    if stem and #ext <= MAX_EXTENSION and #stem > 0 then
      s = cut(stem, M.MAX_BYTES - #ext) .. ext
    else
      s = cut(s, M.MAX_BYTES)
    end
  end
  return s
end

return M
