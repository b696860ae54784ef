"""The window store's Lua scripts (registered once per client, run with EVALSHA).

Every key a script touches comes in through ``KEYS`` (all under one hash tag, see
:mod:`jibe_alerts.stores.redis_keys`), so they run on Redis Cluster too. Times travel as
Python ``repr`` strings and are written back with ``%.17g``, so a float read back is the float
written (``resolve`` compares ``active_at`` exactly). Log text arrives as raw UTF-8 bytes and
is only stored, never parsed, except inside JSON that Python built (cjson keeps raw bytes).
Every key a script writes gets a PEXPIRE of ``retention`` milliseconds (the mutes hash: as long
as its mutes last, see ``SET_MUTE``); writes that belong to the flusher (and acknowledgements)
skip groups that no longer exist, so they never recreate a resolved group.

Each ``*_call`` function builds the KEYS and ARGV its script's header documents.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from jibe_alerts.stores.base import OVERFLOW_PREFIX, OVERFLOW_TEMPLATE, StoreLimits
from jibe_alerts.stores.redis_keys import (
    MUTE_RETENTION,
    RETENTION_MARGIN,
    Arg,
    RedisKeys,
    encode_json,
    encode_text,
    encode_time,
    message_index_field,
)
from jibe_alerts.window_state import (
    MAX_RESOLVED_LINES,
    GroupDelta,
    GroupState,
    MessageState,
    Timers,
)

#: The scripts, by name (each is registered once per client).
SCRIPT_NAMES = ("ADD", "DROP_MESSAGE", "FORGET_MISSING", "LEASE_ACQUIRE", "LEASE_RELEASE",
                "MARK_GROUPS", "READ_MUTES", "RECORD_POST", "RECORD_UPDATE", "REQUEUE",
                "RESOLVE", "SET_MUTE")
__all__ = ["ADD", "DROP_MESSAGE", "FORGET_MISSING", "LEASE_ACQUIRE", "LEASE_RELEASE",
           "MARK_GROUPS", "READ_MUTES", "RECORD_POST", "RECORD_UPDATE", "REQUEUE", "RESOLVE",
           "SCRIPT_NAMES", "SET_MUTE", "Call", "add_call", "drop_message_call", "forget_call",
           "lease_call", "mark_call", "mutes_call", "post_call", "requeue_call",
           "resolve_call", "set_mute_call", "update_call"]
#: The KEYS and ARGV of one script call.
Call = tuple[list[str], list[Arg]]

_NUM = "local function num(x) return string.format('%.17g', x) end\n"

#: Forget the (channel, ts) index entry of a message hash, unless a newer message took it.
_UNINDEX = r"""
local function unindex(message, index, id)
  local field = redis.call('HGET', message, 'mts')
  if field and redis.call('HGET', index, field) == id then redis.call('HDEL', index, field) end
end
"""

#: Merge a batch of group deltas, exactly like ``MemoryStore._add_one`` for each in turn.
#: A batch whose outcome the sender did not learn (a timeout) is sent again with the same
#: sequence number and skipped if it was applied: counts are exact across hangs.
#: KEYS[1] groups zset, KEYS[2] outbox zset, KEYS[3] mdue zset, KEYS[4] mupd zset,
#: KEYS[5] counters hash, KEYS[6] the sender's last applied batch number,
#: KEYS[7..] three per distinct group: hash, entities zset, samples list.
#: ARGV[1] now, ARGV[2] group_wait (s), ARGV[3] group_interval (s), ARGV[4] retention (ms),
#: ARGV[5] max_open_groups, ARGV[6] max_entities, ARGV[7] max_samples,
#: ARGV[8] the overflow group's template, ARGV[9] JSON list of deltas, each
#: {k: key, i: KEYS index of its hash, ok: overflow key, oi: KEYS index of the overflow hash,
#:  c: channel, l: logger, t: template, s: sample, lv: level, n: count, f: first_seen,
#:  la: last_seen, e: {entity: count}, ss: [samples], w: its own group_wait (optional)},
#: ARGV[10] the batch's sequence number.
#: Returns the number of deltas merged (0 for a batch applied before).
ADD = _NUM + r"""
local done = redis.call('GET', KEYS[6])
if done and tonumber(done) >= tonumber(ARGV[10]) then return 0 end
local now, wait, interval = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local ttl, max_open = tonumber(ARGV[4]), tonumber(ARGV[5])
local max_entities, max_samples = tonumber(ARGV[6]), tonumber(ARGV[7])
local stale = '(' .. num(now - ttl / 1000)
-- a hash another writer (ack) touched may lack the aggregates: only 'count' means open
local function exists(g) return redis.call('HEXISTS', g, 'count') == 1 end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', stale)
redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', stale)

-- memory.py keeps the most frequent entities, ties by name: drop the rarest, among equal
-- counts the greatest names (a zset orders equal scores by name, byte-wise).
local function trim(e)
  local excess = redis.call('ZCARD', e) - max_entities
  if excess <= 0 then return 0 end
  local edge = redis.call('ZRANGE', e, excess - 1, excess - 1, 'WITHSCORES')[2]
  local below = redis.call('ZRANGEBYSCORE', e, '-inf', '(' .. edge, 'WITHSCORES')
  local tied = redis.call('ZRANGEBYSCORE', e, edge, edge)
  local dropped, k = 0, excess - #below / 2
  for i = 2, #below, 2 do dropped = dropped + tonumber(below[i]) end
  for i = #tied - k + 1, #tied do redis.call('ZREM', e, tied[i]) end
  if #below > 0 then redis.call('ZREMRANGEBYSCORE', e, '-inf', '(' .. edge) end
  return dropped + k * tonumber(edge)
end

local function details(g, e, s, d)
  local any = false
  for name, n in pairs(d.e) do
    redis.call('ZINCRBY', e, n, name)
    any = true
  end
  local dropped = any and trim(e) or 0
  if dropped > 0 then
    redis.call('HINCRBY', g, 'entities_other', dropped)
    redis.call('HINCRBY', KEYS[5], 'entities_dropped', dropped)
  end
  local have = redis.call('LLEN', s)
  if have < max_samples and #d.ss > 0 then
    local seen = {}
    for _, v in ipairs(redis.call('LRANGE', s, 0, -1)) do seen[v] = true end
    for _, v in ipairs(d.ss) do
      if have >= max_samples then break end
      if not seen[v] then
        redis.call('RPUSH', s, v)
        seen[v], have = true, have + 1
      end
    end
  end
  for _, key in ipairs({g, e, s}) do redis.call('PEXPIRE', key, ttl) end
end

local function open(key, g, e, s, d)
  redis.call('HSET', g, 'key', key, 'channel', d.c, 'logger', d.l, 'template', d.t,
    'sample', d.s, 'level', d.lv, 'count', d.n, 'first_seen', num(d.f),
    'last_seen', num(d.la), 'opened_at', ARGV[1], 'active_at', ARGV[1], 'entities_other', 0,
    'posted_count', 0, 'posted_level', 0, 'attempts', 0, 'reminder', 0)
  details(g, e, s, d)
  redis.call('ZADD', KEYS[1], ARGV[1], key)
  redis.call('ZADD', KEYS[2], num(now + (d.w or wait)), key)
  redis.call('HINCRBY', KEYS[5], 'incidents_opened', 1)
end

local function merge(key, g, e, s, d)
  local cur = redis.call('HMGET', g, 'level', 'first_seen', 'last_seen', 'message_id')
  local before = tonumber(cur[1])
  redis.call('HINCRBY', g, 'count', d.n)
  if d.lv > before then redis.call('HSET', g, 'level', d.lv) end
  if d.f < tonumber(cur[2]) then redis.call('HSET', g, 'first_seen', num(d.f)) end
  if d.la > tonumber(cur[3]) then redis.call('HSET', g, 'last_seen', num(d.la)) end
  redis.call('HSET', g, 'active_at', ARGV[1])
  details(g, e, s, d)
  redis.call('ZADD', KEYS[1], ARGV[1], key)
  if not cur[4] then return end
  local updated = redis.call('ZSCORE', KEYS[4], cur[4])
  if not updated then return end
  local due = now
  if d.lv <= before then due = math.max(now, tonumber(updated) + interval) end
  redis.call('ZADD', KEYS[3], 'LT', num(due), cur[4])
end

local deltas = cjson.decode(ARGV[9])
for _, d in ipairs(deltas) do
  local key, i = d.k, d.i
  if not exists(KEYS[i]) and redis.call('ZCARD', KEYS[1]) >= max_open then
    redis.call('HINCRBY', KEYS[5], 'overflowed', d.n)
    key, i = d.ok, d.oi
    d = {c = d.c, l = '*', t = ARGV[8], s = ARGV[8], lv = d.lv, n = d.n, f = d.f, la = d.la,
         e = {[d.l] = d.n}, ss = {}}
  end
  if not exists(KEYS[i]) then
    open(key, KEYS[i], KEYS[i + 1], KEYS[i + 2], d)
  else
    merge(key, KEYS[i], KEYS[i + 1], KEYS[i + 2], d)
  end
end
for k = 1, 5 do redis.call('PEXPIRE', KEYS[k], ttl) end
redis.call('SET', KEYS[6], ARGV[10], 'PX', ttl)
return #deltas
"""

#: Take or renew the flush lease.
#: KEYS[1] lease. ARGV[1] owner token, ARGV[2] ttl (ms). Returns 1 if ``owner`` holds it now.
LEASE_ACQUIRE = r"""
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
return 0
"""

#: Give the flush lease up, only if ``owner`` holds it.
#: KEYS[1] lease. ARGV[1] owner token. Returns 1 if it was released.
LEASE_RELEASE = r"""
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

#: Record a posted digest and attach its groups (those that still exist) to it. A group that
#: got records (or a higher level) after it was read is shown stale: the message is then due
#: again at ``changed_due`` (records added meanwhile by any process are never left unshown).
#: The message is indexed by (channel, ts) for ``message_keys``; index entries of messages that
#: expired unseen (never dropped) are swept once they outnumber the live ones.
#: KEYS[1] outbox, KEYS[2] mdue, KEYS[3] mupd, KEYS[4] message hash, KEYS[5] (channel, ts)
#: index hash, KEYS[6..] group hashes.
#: ARGV[1] message id, ARGV[2] channel, ARGV[3] ts, ARGV[4] now, ARGV[5] next_due,
#: ARGV[6] JSON of shown keys, ARGV[7] JSON of overflow keys, ARGV[8] retention (ms),
#: ARGV[9] changed_due, ARGV[10] the message's index field, ARGV[11..] three per group hash
#: KEYS[5 + j]: group key, posted_count, posted_level.
RECORD_POST = _NUM + r"""
local id, now = ARGV[1], ARGV[4]
local due = tonumber(ARGV[5])
redis.call('HSET', KEYS[4], 'channel', ARGV[2], 'ts', ARGV[3], 'keys', ARGV[6],
  'overflow_keys', ARGV[7], 'posted_at', now, 'updated_at', now, 'mts', ARGV[10])
for j = 6, #KEYS do
  local a = 11 + (j - 6) * 3
  if redis.call('HEXISTS', KEYS[j], 'count') == 1 then
    local cur = redis.call('HMGET', KEYS[j], 'count', 'level')
    if tonumber(cur[1]) > tonumber(ARGV[a + 1]) or tonumber(cur[2]) > tonumber(ARGV[a + 2]) then
      due = math.min(due, tonumber(ARGV[9]))
    end
    redis.call('ZREM', KEYS[1], ARGV[a])
    redis.call('HSET', KEYS[j], 'message_id', id, 'posted_count', ARGV[a + 1],
      'posted_level', ARGV[a + 2], 'posted_at', now, 'attempts', 0, 'reminder', 0)
  end
end
redis.call('ZADD', KEYS[2], num(due), id)
redis.call('ZADD', KEYS[3], now, id)
redis.call('HSET', KEYS[5], ARGV[10], id)
if redis.call('HLEN', KEYS[5]) > 2 * redis.call('ZCARD', KEYS[3]) + 64 then
  local index = redis.call('HGETALL', KEYS[5])
  for i = 1, #index, 2 do
    if not redis.call('ZSCORE', KEYS[3], index[i + 1]) then
      redis.call('HDEL', KEYS[5], index[i])
    end
  end
end
for j = 1, 5 do redis.call('PEXPIRE', KEYS[j], ARGV[8]) end
return 1
"""

#: Store what a message shows now; detach groups that left it; forget it when none is left.
#: KEYS[1] mdue, KEYS[2] mupd, KEYS[3] message hash, KEYS[4] (channel, ts) index hash,
#: KEYS[5..] hashes of every group the message may show. ARGV[1] message id, ARGV[2]
#: updated_at, ARGV[3] next_due ('' = none), ARGV[4] retention (ms), ARGV[5] JSON list of
#: resolved lines to append (kept: the last ARGV[6]), ARGV[7..] four per group hash
#: KEYS[4 + j]: group key, posted_count and posted_level ('' for both when the group is not
#: among ``shown``), '1' when a reminder went out for it (its posted_at becomes updated_at).
#: Returns 0 if the message record is gone, else 1.
RECORD_UPDATE = _UNINDEX + r"""
local id = ARGV[1]
if redis.call('EXISTS', KEYS[3]) == 0 then return 0 end
redis.call('HSET', KEYS[3], 'updated_at', ARGV[2])
if ARGV[5] ~= '[]' then
  local old = redis.call('HGET', KEYS[3], 'resolved')
  local lines = old and cjson.decode(old) or {}
  for _, line in ipairs(cjson.decode(ARGV[5])) do lines[#lines + 1] = line end
  while #lines > tonumber(ARGV[6]) do table.remove(lines, 1) end
  redis.call('HSET', KEYS[3], 'resolved', cjson.encode(lines))
end
local attached = {}
for j = 5, #KEYS do
  local a = 7 + (j - 5) * 4
  if redis.call('HGET', KEYS[j], 'message_id') == id then
    attached[ARGV[a]] = true
    if ARGV[a + 1] ~= '' then
      redis.call('HSET', KEYS[j], 'posted_count', ARGV[a + 1], 'posted_level', ARGV[a + 2])
    end
    if ARGV[a + 3] == '1' then redis.call('HSET', KEYS[j], 'posted_at', ARGV[2]) end
  end
end
local function keep(field)
  local kept = {}
  for _, key in ipairs(cjson.decode(redis.call('HGET', KEYS[3], field))) do
    if attached[key] then kept[#kept + 1] = key end
  end
  return kept
end
local keys, overflow = keep('keys'), keep('overflow_keys')
if #keys == 0 and #overflow == 0 then
  unindex(KEYS[3], KEYS[4], id)
  redis.call('DEL', KEYS[3])
  redis.call('ZREM', KEYS[1], id)
  redis.call('ZREM', KEYS[2], id)
  return 1
end
-- cjson encodes an empty table as {}
local function encode(list) if #list == 0 then return '[]' end return cjson.encode(list) end
redis.call('HSET', KEYS[3], 'keys', encode(keys), 'overflow_keys', encode(overflow))
redis.call('ZADD', KEYS[2], ARGV[2], id)
if ARGV[3] == '' then
  redis.call('ZREM', KEYS[1], id)
else
  redis.call('ZADD', KEYS[1], ARGV[3], id)
end
for j = 1, 4 do redis.call('PEXPIRE', KEYS[j], ARGV[4]) end
return 1
"""

#: Close the incidents whose ``active_at`` still is the one the flusher read (compare-and-delete).
#: KEYS[1] groups, KEYS[2] outbox, KEYS[3] counters, KEYS[4..] three per group: hash,
#: entities, samples. ARGV[1] retention (ms), ARGV[2..] two per group: key, active_at as read.
#: Returns the 1-based positions of the groups closed.
RESOLVE = r"""
local closed = {}
for j = 1, (#KEYS - 3) / 3 do
  local g, key, seen = KEYS[1 + 3 * j], ARGV[2 * j], ARGV[2 * j + 1]
  local active = redis.call('HGET', g, 'active_at')
  if active and tonumber(active) == tonumber(seen) then
    redis.call('DEL', g, KEYS[2 + 3 * j], KEYS[3 + 3 * j])
    redis.call('ZREM', KEYS[1], key)
    redis.call('ZREM', KEYS[2], key)
    closed[#closed + 1] = j
  end
end
if #closed > 0 then
  redis.call('HINCRBY', KEYS[3], 'incidents_resolved', #closed)
  redis.call('PEXPIRE', KEYS[3], ARGV[1])
end
return closed
"""

#: Put groups (back) in the outbox, detached from their message.
#: KEYS[1] outbox, KEYS[2..] group hashes. ARGV[1] due_at, ARGV[2] failed ('1'/'0'),
#: ARGV[3] reminder ('1'/'0'), ARGV[4] retention (ms), ARGV[4 + j] key of group hash KEYS[1 + j].
REQUEUE = r"""
for j = 2, #KEYS do
  if redis.call('HEXISTS', KEYS[j], 'count') == 1 then
    redis.call('HDEL', KEYS[j], 'message_id')
    if ARGV[3] == '1' then redis.call('HSET', KEYS[j], 'reminder', 1) end
    if ARGV[2] == '1' then redis.call('HINCRBY', KEYS[j], 'attempts', 1) end
    redis.call('ZADD', KEYS[1], ARGV[1], ARGV[3 + j])
  end
end
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1
"""

#: Forget outbox entries whose group and due entries whose message record no longer exist
#: (expired by TTL), checking existence atomically so a group reopened meanwhile stays due.
#: KEYS[1] outbox, KEYS[2] mdue, KEYS[3] mupd, KEYS[4..3 + n] group hashes, then message
#: hashes. ARGV[1] n, ARGV[1 + j] the group key or message id of KEYS[3 + j].
FORGET_MISSING = r"""
local n = tonumber(ARGV[1])
for j = 4, #KEYS do
  local group = j <= 3 + n
  if redis.call('HEXISTS', KEYS[j], group and 'count' or 'ts') == 0 then
    local member = ARGV[j - 2]
    if group then
      redis.call('ZREM', KEYS[1], member)
    else
      redis.call('ZREM', KEYS[2], member)
      redis.call('ZREM', KEYS[3], member)
    end
  end
end
return 1
"""

#: Forget a message record, its schedule and its (channel, ts) index entry.
#: KEYS[1] mdue, KEYS[2] mupd, KEYS[3] message hash, KEYS[4] index hash. ARGV[1] message id.
DROP_MESSAGE = _UNINDEX + r"""
unindex(KEYS[3], KEYS[4], ARGV[1])
redis.call('DEL', KEYS[3])
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return 1
"""

#: Set fields on the open groups among KEYS[3..] (an acknowledgement, a resolve request) and
#: make their messages due at ``at``, never later than they already were (ZADD LT). A message
#: counts as existing while it is in mupd, as for ``ADD``. Group hashes keep their TTL.
#: KEYS[1] mdue, KEYS[2] mupd, KEYS[3..] group hashes. ARGV[1] at, ARGV[2] retention (ms),
#: ARGV[3..] field, value pairs to set. Returns the 1-based positions of the groups marked.
MARK_GROUPS = r"""
local fields = {}
for i = 3, #ARGV do fields[#fields + 1] = ARGV[i] end
local marked = {}
for j = 3, #KEYS do
  if redis.call('HEXISTS', KEYS[j], 'count') == 1 then
    redis.call('HSET', KEYS[j], unpack(fields))
    local id = redis.call('HGET', KEYS[j], 'message_id')
    if id and redis.call('ZSCORE', KEYS[2], id) then
      redis.call('ZADD', KEYS[1], 'LT', ARGV[1], id)
      redis.call('PEXPIRE', KEYS[1], ARGV[2])
    end
    marked[#marked + 1] = j - 2
  end
end
return marked
"""

#: settle(now, margin, indefinite, sweep): with ``sweep``, delete the mutes of hash KEYS[1]
#: over at ``now``; give the hash a TTL of its longest mute left plus ``margin`` ms (at most
#: 100 years), or ``indefinite`` ms if that is longer and a mute has no end (inf, or nan,
#: which never compares as over). Returns the target, until pairs left, flat.
_SETTLE_MUTES = r"""
local function settle(now, margin, indefinite, sweep)
  local all, kept, ms = redis.call('HGETALL', KEYS[1]), {}, 0
  for i = 1, #all, 2 do
    local ends = tonumber(all[i + 1]) or math.huge
    if sweep and ends <= now then
      redis.call('HDEL', KEYS[1], all[i])
    else
      kept[#kept + 1] = all[i]
      kept[#kept + 1] = all[i + 1]
      if ends == math.huge or ends ~= ends then
        ms = math.max(ms, indefinite)
      else
        ms = math.max(ms, math.min(3153600000000, math.max(0, ends - now) * 1000 + margin))
      end
    end
  end
  if #kept > 0 then redis.call('PEXPIRE', KEYS[1], string.format('%d', math.floor(ms))) end
  return kept
end
"""

#: Mute a target until a time, or unmute it; the hash's TTL follows (see ``settle``).
#: KEYS[1] mutes hash. ARGV[1] target, ARGV[2] until ('' = unmute), ARGV[3] the setter's
#: clock, ARGV[4] margin (ms), ARGV[5] TTL while an indefinite mute is kept (ms).
SET_MUTE = _SETTLE_MUTES + r"""
if ARGV[2] == '' then
  redis.call('HDEL', KEYS[1], ARGV[1])
else
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
end
settle(tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), false)
return 1
"""

#: Return the mutes in force at ``now`` (flat target, until pairs), deleting those over.
#: KEYS[1] mutes hash. ARGV[1] now, ARGV[2] margin (ms), ARGV[3] indefinite TTL (ms).
READ_MUTES = _SETTLE_MUTES + r"""
return settle(tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), true)
"""


# -- calling conventions ------------------------------------------------------------------------


def add_call(ks: RedisKeys, deltas: Sequence[GroupDelta], *, sender: str, seq: int,
             now: float, timers: Timers, limits: StoreLimits, ttl: int) -> Call:
    """KEYS and ARGV of :data:`ADD`."""
    keys = [ks.groups, ks.outbox, ks.message_due, ks.message_updated, ks.counters,
            ks.applied(sender)]
    at: dict[str, int] = {}
    for key in (k for d in deltas for k in (d.key, OVERFLOW_PREFIX + d.channel)):
        if key not in at:
            at[key] = len(keys) + 1
            keys += ks.group_keys(key)
    items = [{"k": d.key, "i": at[d.key], "ok": OVERFLOW_PREFIX + d.channel,
              "oi": at[OVERFLOW_PREFIX + d.channel], "c": d.channel, "l": d.logger,
              "t": d.template, "s": d.sample, "lv": d.level, "n": d.count, "f": d.first_seen,
              "la": d.last_seen, "e": d.entities, "ss": d.samples,
              **({} if d.group_wait is None else {"w": d.group_wait})} for d in deltas]
    return keys, [encode_time(now), encode_time(timers.group_wait),
                  encode_time(timers.group_interval), ttl, limits.max_open_groups,
                  limits.max_entities, limits.max_samples, OVERFLOW_TEMPLATE,
                  encode_json(items), seq]


def lease_call(ks: RedisKeys, owner: str, ttl: float | None = None) -> Call:
    """KEYS and ARGV of :data:`LEASE_ACQUIRE` (with ``ttl``) or :data:`LEASE_RELEASE`."""
    args: list[Arg] = [encode_text(owner)]
    return [ks.lease], args + ([] if ttl is None else [max(1, round(ttl * 1000))])


def post_call(ks: RedisKeys, message: MessageState, groups: Sequence[GroupState], *,
              next_due: float, changed_due: float, ttl: int) -> Call:
    """KEYS and ARGV of :data:`RECORD_POST` (``groups``: shown, then overflow)."""
    keys = [ks.outbox, ks.message_due, ks.message_updated, ks.message(message.id),
            ks.message_index, *(ks.group(g.key) for g in groups)]
    args: list[Arg] = [
        message.id, encode_text(message.channel), encode_text(message.ts),
        encode_time(message.posted_at), encode_time(next_due), encode_json(message.keys),
        encode_json(message.overflow_keys), ttl, encode_time(changed_due),
        message_index_field(message.channel, message.ts)]
    for group in groups:
        args += [encode_text(group.key), group.count, group.level]
    return keys, args


def update_call(ks: RedisKeys, message: MessageState, shown: Sequence[GroupState], *,
                updated_at: float, next_due: float | None, resolved: Sequence[str] = (),
                reminded: Sequence[str] = (), ttl: int) -> Call:
    """KEYS and ARGV of :data:`RECORD_UPDATE`."""
    posted = {g.key: g for g in shown}
    candidates = list(dict.fromkeys([*message.keys, *message.overflow_keys, *posted]))
    keys = [ks.message_due, ks.message_updated, ks.message(message.id), ks.message_index,
            *map(ks.group, candidates)]
    args: list[Arg] = [encode_text(message.id), encode_time(updated_at),
                       "" if next_due is None else encode_time(next_due), ttl,
                       encode_json(list(resolved)), MAX_RESOLVED_LINES]
    for key in candidates:
        group = posted.get(key)
        args += [encode_text(key), *((group.count, group.level) if group else ("", "")),
                 "1" if key in reminded else ""]
    return keys, args


def resolve_call(ks: RedisKeys, groups: Sequence[GroupState], *, ttl: int) -> Call:
    """KEYS and ARGV of :data:`RESOLVE`."""
    keys = [ks.groups, ks.outbox, ks.counters,
            *(k for g in groups for k in ks.group_keys(g.key))]
    args: list[Arg] = [ttl]
    for group in groups:
        args += [encode_text(group.key), encode_time(group.active_at)]
    return keys, args


def requeue_call(ks: RedisKeys, groups: Sequence[GroupState], *, due_at: float, failed: bool,
                 reminder: bool, ttl: int) -> Call:
    """KEYS and ARGV of :data:`REQUEUE`."""
    return [ks.outbox, *(ks.group(g.key) for g in groups)], [
        encode_time(due_at), int(failed), int(reminder), ttl,
        *(encode_text(g.key) for g in groups)]


def forget_call(ks: RedisKeys, groups: Sequence[str], messages: Iterable[str]) -> Call:
    """KEYS and ARGV of :data:`FORGET_MISSING`."""
    messages = list(messages)
    return ([ks.outbox, ks.message_due, ks.message_updated, *map(ks.group, groups),
             *map(ks.message, messages)],
            [len(groups), *map(encode_text, groups), *map(encode_text, messages)])


def drop_message_call(ks: RedisKeys, message_id: str) -> Call:
    """KEYS and ARGV of :data:`DROP_MESSAGE`."""
    return ([ks.message_due, ks.message_updated, ks.message(message_id), ks.message_index],
            [encode_text(message_id)])


def mark_call(ks: RedisKeys, keys: Sequence[str], *, at: float, ttl: int,
              fields: Sequence[tuple[str, Arg]]) -> Call:
    """KEYS and ARGV of :data:`MARK_GROUPS` (``keys``: distinct group keys)."""
    return ([ks.message_due, ks.message_updated, *map(ks.group, keys)],
            [encode_time(at), ttl, *(item for pair in fields for item in pair)])


def set_mute_call(ks: RedisKeys, target: str, until: float | None, *, now: float) -> Call:
    """KEYS and ARGV of :data:`SET_MUTE` (``now``: the setter's clock, for the TTL)."""
    return [ks.mutes], [encode_text(target), "" if until is None else encode_time(until),
                        encode_time(now), *_mute_retention()]


def mutes_call(ks: RedisKeys, now: float) -> Call:
    """KEYS and ARGV of :data:`READ_MUTES`."""
    return [ks.mutes], [encode_time(now), *_mute_retention()]


def _mute_retention() -> tuple[int, int]:
    return round(1000 * RETENTION_MARGIN), round(1000 * MUTE_RETENTION)
