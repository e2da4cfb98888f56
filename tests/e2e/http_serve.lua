-- Runs http.serve with options given as JSON in arg[1] (for the e2e tests).
local http = require "hostsync.http"
local json = require "hostsync.json"
local opts = json.decode(arg[1])
local ok, err = http.serve(opts)
if not ok then
  io.stderr:write("serve failed: ", err, "\n")
  os.exit(2)
end
io.stderr:write("serve returned\n")
