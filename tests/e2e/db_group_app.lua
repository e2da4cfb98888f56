-- The app test_db_group_commit.py serves: every worker opens the SQLite file named by
-- GROUP_DB with group_commit, so concurrent requests' transactions share batches.
local db = require "hostsync.db"
local json = require "hostsync.json"
local time = require "hostsync.time"

local h = assert(db.open(assert(os.getenv("GROUP_DB")), { group_commit = true }))

local app = {}

-- Two rows per transaction, so a half-applied one would show.
local function insert_pair(tx, key)
  assert(tx:exec("INSERT INTO rows(k, part) VALUES (?, 1)", key))
  assert(tx:exec("INSERT INTO rows(k, part) VALUES (?, 2)", key))
end

local function batch() return h:group_stats().last_batch end

app.routes = {
  -- Commits two rows.
  { "POST", "/ok/:k", function(req)
    assert(h:transaction(function(tx) insert_pair(tx, req.params.k); return true end))
    return { k = req.params.k, batch = batch() }
  end },
  -- Inserts two rows, then fails: the transaction (only it) rolls back.
  { "POST", "/fail/:k", function(req)
    local ok, err = pcall(h.transaction, h, function(tx)
      insert_pair(tx, req.params.k)
      error("failing on purpose")
    end)
    assert(not ok and tostring(err):find("failing on purpose", 1, true))
    return 409, { k = req.params.k, batch = batch() }
  end },
  -- Inserts two rows, creates GROUP_DB.holding, then waits inside its transaction until
  -- `n` other transactions queue behind it, so they all land in its batch (a 20 s bound
  -- keeps a broken test from hanging).
  { "POST", "/hold/:k/:n", function(req)
    local n = tonumber(req.params.n)
    local saw
    assert(h:transaction(function(tx)
      insert_pair(tx, req.params.k)
      -- Tells the test it may send the others now (they must not start before this).
      assert(io.open(os.getenv("GROUP_DB") .. ".holding", "wb")):close()
      local deadline = time.now() + 120
      repeat
        saw = h:group_stats().queued
        if saw >= n then break end
        time.sleep(0.005)   -- polling an observed count: cannot change an outcome
      until time.now() > deadline
      return true
    end))
    return { k = req.params.k, batch = batch(), queued = saw }
  end },
  { "GET", "/stats", function() return h:group_stats() end },
}

return app
