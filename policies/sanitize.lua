-- The sanitize policy of the artifact pipeline (artifact_sanitize). Replaceable: copy this
-- file, change the rules, and pass --policy your_copy.lua; no recompiling.
--
-- A policy returns a table with:
--   name      a short name recorded in the artifact's meta
--   redact    an ordered list of { name = ..., pattern = <Lua pattern>, replace = <string> }
--             applied with string.gsub to the whole text; the count of each rule is
--             recorded in meta, the matched text never is
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
  { name = "url_password", pattern = "(%a[%w+.-]*://[^:/%s@]+:)[^@%s/]+@", replace = "%1[REDACTED:password]@" },
  { name = "key_value_secret",
    pattern = "([%w_]*[Pp][Aa][Ss][Ss][Ww][Oo][Rr][Dd][%w_]*%s*[:=]%s*)[^%s,;\"']+",
    replace = "%1[REDACTED:password]" },
  { name = "api_key_assignment",
    pattern = "([%w_]*[Aa][Pp][Ii]_?[Kk][Ee][Yy][%w_]*%s*[:=]%s*)[^%s,;\"']+",
    replace = "%1[REDACTED:api_key]" },
}

-- CRLF and lone CR become LF; control characters other than TAB and LF are removed; the
-- text ends with exactly one LF.
function M.normalize(text)
  text = text:gsub("\r\n", "\n"):gsub("\r", "\n")
  text = text:gsub("[%z\1-\8\11\12\14-\31\127]", "")
  text = text:gsub("\n*$", "") .. "\n"
  return text
end

return M
