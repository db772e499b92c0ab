/**
 * Lua scripts of the Redis driver. Redis runs each script atomically: nothing else runs in
 * between its commands, so a message is never in two places or in none.
 */

/**
 * take: pop up to n messages of one queue (its priority lists in order, oldest first, as kombu's
 * BRPOP serves them) and, unless noAck, record each in kombu's `unacked` hash and
 * `unacked_index` in the same step, so a consumer killed at any moment loses nothing: what it
 * took is in `unacked`, and returns after the visibility timeout (restored by any worker,
 * Python's included).
 *
 * Replay: the tags of each take are kept under its sequence number in the consumer's `taking`
 * hash until the consumer confirms it received the reply (by passing that number as
 * `confirmed` next time). A take sent again after a lost reply (reconnect) finds its sequence
 * number and returns the same messages instead of taking more, so none is stranded.
 *
 * A delivery tag already present in `unacked` (the same envelope pushed twice), a missing one, or
 * text that is not an envelope get a fresh tag; unparseable text is stored as a JSON string and
 * handed out as is (the worker rejects it as malformed, logged, instead of it vanishing).
 *
 * KEYS: lists..., unacked, unacked_index, taking
 * ARGV: n, now (s), seq, confirmed seq or '', queue, noAck '1'|'0', taking TTL (ms), tag prefix
 * Returns: flat triples tag, text, kind ('m' envelope text, 'u' an unacked entry for a replay);
 * noAck takes return '' tags.
 */
export const TAKE = `
local nl = #KEYS - 3
local unacked, index, taking = KEYS[nl + 1], KEYS[nl + 2], KEYS[nl + 3]
local n = tonumber(ARGV[1])
local now = ARGV[2]
local noack = ARGV[6] == '1'
local out = {}
if not noack then
  if ARGV[4] ~= '' then redis.call('HDEL', taking, ARGV[4]) end
  local prev = redis.call('HGET', taking, ARGV[3])
  if prev then
    for tag in string.gmatch(prev, '[^\\n]+') do
      local v = redis.call('HGET', unacked, tag)
      if v then
        out[#out + 1] = tag
        out[#out + 1] = v
        out[#out + 1] = 'u'
      end
    end
    return out
  end
end
local taken = 0
local tags = {}
local fresh = 0
for i = 1, nl do
  if taken >= n then break end
  local items = redis.call('RPOP', KEYS[i], n - taken)
  if items then
    for _, item in ipairs(items) do
      taken = taken + 1
      if noack then
        out[#out + 1] = ''
        out[#out + 1] = item
        out[#out + 1] = 'm'
      else
        local ok, msg = pcall(cjson.decode, item)
        local tag, ex, rk
        local env = ok and type(msg) == 'table' and type(msg.properties) == 'table'
        if env then
          local p = msg.properties
          if type(p.delivery_tag) == 'string' and p.delivery_tag ~= '' and not string.find(p.delivery_tag, '\\n', 1, true) then tag = p.delivery_tag end
          if type(p.delivery_info) == 'table' then
            ex = p.delivery_info.exchange
            rk = p.delivery_info.routing_key
          end
        end
        if type(ex) ~= 'string' then ex = '' end
        if type(rk) ~= 'string' then rk = ARGV[5] end
        local value
        if env then
          value = '[' .. item .. ', ' .. cjson.encode(ex) .. ', ' .. cjson.encode(rk) .. ']'
        else
          value = cjson.encode({item, ex, rk})
        end
        if tag == nil or redis.call('HSETNX', unacked, tag, value) == 0 then
          fresh = fresh + 1
          tag = ARGV[8] .. fresh
          redis.call('HSET', unacked, tag, value)
        end
        redis.call('ZADD', index, now, tag)
        tags[#tags + 1] = tag
        out[#out + 1] = tag
        out[#out + 1] = item
        out[#out + 1] = 'm'
      end
    end
  end
end
if #tags > 0 then
  redis.call('HSET', taking, ARGV[3], table.concat(tags, '\\n'))
  redis.call('PEXPIRE', taking, ARGV[7])
end
return out
`;

/**
 * restore: put one unacked message back on its queue(s), marked redelivered (the new envelope
 * text is computed by the caller), and forget it from `unacked`. With an expected value, only if
 * the entry still holds exactly that (another restorer, Python's, may have moved it first and
 * a consumer taken it again under the same tag). A missing entry only drops its index entry.
 *
 * KEYS: unacked, unacked_index, target lists...
 * ARGV: tag, envelope, 'front' (RPUSH: served next, kombu's restore) | 'back' (LPUSH: kombu's
 *       reject with requeue), expected value or ''
 * Returns 1 if restored, 0 if not.
 */
export const RESTORE = `
local v = redis.call('HGET', KEYS[1], ARGV[1])
if not v then
  redis.call('ZREM', KEYS[2], ARGV[1])
  return 0
end
if ARGV[4] ~= '' and v ~= ARGV[4] then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
for i = 3, #KEYS do
  if ARGV[3] == 'front' then redis.call('RPUSH', KEYS[i], ARGV[2]) else redis.call('LPUSH', KEYS[i], ARGV[2]) end
end
return 1
`;

/**
 * move due: push delayed messages whose time has come onto their lists (back of the queue, like
 * a fresh publish). A member is "<length of the list key>:<list key><envelope>".
 * KEYS: delayed   ARGV: now (ms), limit
 * Returns: { moved, due time of the next one (ms) or false }.
 */
export const MOVE_DUE = `
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
for _, m in ipairs(due) do
  local colon = string.find(m, ':', 1, true)
  if colon then
    local len = tonumber(string.sub(m, 1, colon - 1))
    if len then
      redis.call('LPUSH', string.sub(m, colon + 1, colon + len), string.sub(m, colon + len + 1))
    end
  end
  redis.call('ZREM', KEYS[1], m)
end
local nxt = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return { #due, nxt[2] or false }
`;

/**
 * delete queue: its lists, its declared options and its bindings (every exchange it was bound to
 * through celeryts, plus Celery's default one named as the queue).
 * KEYS: queue meta hash, the queue's binding-exchange set, lists...
 * ARGV: queue, binding key prefix ("<prefix>_kombu.binding."), separator
 */
export const DELETE_QUEUE = `
redis.call('HDEL', KEYS[1], ARGV[1])
local exchanges = redis.call('SMEMBERS', KEYS[2])
exchanges[#exchanges + 1] = ARGV[1]
local suffix = ARGV[3] .. ARGV[1]
for _, ex in ipairs(exchanges) do
  local bkey = ARGV[2] .. ex
  for _, m in ipairs(redis.call('SMEMBERS', bkey)) do
    if #m >= #suffix and string.sub(m, -#suffix) == suffix then redis.call('SREM', bkey, m) end
  end
end
for i = 2, #KEYS do redis.call('DEL', KEYS[i]) end
return 1
`;

/** purge: drop a queue's ready messages. KEYS: lists. Returns how many. */
export const PURGE = `
local n = 0
for i = 1, #KEYS do
  n = n + redis.call('LLEN', KEYS[i])
  redis.call('DEL', KEYS[i])
end
return n
`;

/** release a lock taken with SET NX PX, only if still ours (redis-py's Lock does the same). */
export const UNLOCK = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;
