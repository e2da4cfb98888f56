-- The sanitize policy of the artifact pipeline (artifact_sanitize). Replaceable: copy this
-- file, change the rules, and pass --policy your_copy.lua; no recompiling.
--
-- It runs in hostsync.sandbox (docs/policies.md): no io, no os.execute, no require, and
-- budgets of instructions and memory. Everything it needs is in this file.
--
-- The pipeline calls sanitize(text), which must return
--   { text = <sanitized text>, redactions = { <rule name> = <count>, ... }, name = <policy name> }
-- The counts and the name are recorded in the artifact's meta; the matched text never is.
-- This file builds sanitize from:
--   name      a short name
--   redact    an ordered list of { name = ..., pattern = <Lua pattern>, replace = <string> }
--             applied with string.gsub to the whole text
--   normalize(text) -> text   newline and control-character normalisation
local M = { name = "default-sanitize-v1" }

M.redact = {
  { name = "private_key_block",
    pattern = "%-%-%-%-%-BEGIN [%u ]*PRIVATE KEY%-%-%-%-%-.-%-%-%-%-%-END [%u ]*PRIVATE KEY%-%-%-%-%-",
    replace = "[REDACTED:private_key]" },
  { name = "age_secret_key", pattern = "AGE%-SECRET%-KEY%-1[%w]+", replace = "[REDACTED:age_secret_key]" },
  { name = "aws_access_key_id", pattern = "AKIA[%u%d][%u%d][%u%d][%u%d][%u%d][%u%d][%u%d][%u%d][%u%d][%u%d][%u%d][%u%d][%u%d][%u%d][%u%d][%u%d]",
    replace = "[REDACTED:aws_access_key_id]" },
  { name = "github_token", pattern = "gh[pousr]_[%w]+", replace = "[REDACTED:github_token]" },
  { name = "openai_key", pattern = "sk%-[%w%-_]+", replace = "[REDACTED:api_key]" },
  { name = "bearer_token", pattern = "([Bb]earer%s+)[%w%-%._~%+/]+=*", replace = "%1[REDACTED:bearer_token]" },
  -- The patterns below start with %f (a word start): a pattern that starts with a
  -- repeated class ("[%w_]*password") is retried from every byte of a long word and takes
  -- quadratic time (a 40 KB base64 line took 8 s; a 1 MB one, hours).
  { name = "url_password", pattern = "%f[%w+.-](%a[%w+.-]*://[^:/%s@]+:)[^@%s/]+@", replace = "%1[REDACTED:password]@" },
  { name = "key_value_secret",
    pattern = "%f[%w_]([%w_]*[Pp][Aa][Ss][Ss][Ww][Oo][Rr][Dd][%w_]*%s*[:=]%s*)[^%s,;\"']+",
    replace = "%1[REDACTED:password]" },
  { name = "api_key_assignment",
    pattern = "%f[%w_]([%w_]*[Aa][Pp][Ii]_?[Kk][Ee][Yy][%w_]*%s*[:=]%s*)[^%s,;\"']+",
    replace = "%1[REDACTED:api_key]" },
}

-- CRLF and lone CR become LF; control characters other than TAB and LF are removed; the
-- text ends with exactly one LF.
function M.normalize(text)
  text = text:gsub("\r\n", "\n"):gsub("\r", "\n")
  text = text:gsub("[%z\1-\8\11\12\14-\31\127]", "")
  -- Trailing LFs by hand: gsub("\n*$") retries from every LF, quadratic in their number.
  local last = #text
  while last > 0 and text:byte(last) == 10 do last = last - 1 end
  return text:sub(1, last) .. "\n"
end

function M.sanitize(text)
  local counts = {}
  for _, rule in ipairs(M.redact) do
    local n
    text, n = text:gsub(rule.pattern, rule.replace)
    counts[rule.name] = n
  end
  if M.normalize then text = M.normalize(text) end
  return { text = text, redactions = counts, name = M.name }
end

return M
