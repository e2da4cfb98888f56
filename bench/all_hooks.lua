-- bench/hooks_bench.sh: a hooks file that handles every event and does nothing, so the
-- bench measures the hooks machinery (queueing, claiming, the sandbox call, the record).
local function handled() return nil end
return { on_chat = handled, on_handoff = handled, on_task = handled, on_conflict = handled,
         on_lock_expired = handled, on_sync_event = handled }
