-- baton.json: canonical JSON encoding and a 64-bit FNV-1a hash (baton.canon,
-- in C, independent of cjson) so request keys (ledger reuse on resume,
-- cassettes) are stable across runs, machines and cjson versions. The
-- decoder is baton.canon's too (json.decode); json.null is cjson.null.
-- Canonical means: object keys sorted bytewise, no whitespace, integers as
-- integers, floats with 17 significant digits, only the escapes JSON requires.
local canon = require "baton.canon"
local reqkey = require "baton.reqkey"
local cjson = require "cjson"

local M = {}

-- Arrays vs objects: a table whose keys are exactly 1..n (n >= 1) is an array;
-- every other table, including the empty one, is an object. Mark an empty
-- table with json.array_mt (setmetatable({}, json.array_mt)) to encode [].
M.array_mt = { __name = "baton.json.array" }
M.null = cjson.null

-- The canonical encoding of v. Raises on functions, cycles, NaN and infinity.
-- In C (core/canon_lua.c): every LLM request encodes its conversation and
-- tool schemas for its key and its body. tests/lua/test_canon.lua checks it
-- against a reference encoder written in Lua.
local raws = setmetatable({}, { __mode = "k" })
local chat_mt = { __name = "baton.json.chat_messages" }
function M.encode(v)
  return canon.encode(v, M.array_mt, M.raw_mt, raws, chat_mt)
end

-- json.chat_messages(system, messages): a value json.encode writes as the
-- OpenAI chat-completions "messages" array of baton's provider-neutral
-- messages (core/canon_chat.c): {role="system", content=system} first
-- unless system is nil, then per message: a tool result as {role, content,
-- tool_call_id}, any other as {role, content} plus, for an assistant with
-- tool calls, tool_calls = {{id, type="function", ["function"]={name,
-- arguments=<json.encode(c.arguments or {})>}}} and a null content when
-- empty; content defaults to "". Built in C: the per-message tables and
-- argument strings of doing it in Lua cost more than the rest of a body.
function M.chat_messages(system, messages)
  return setmetatable({ system, messages }, chat_mt)
end

-- json.raw(text): a fragment already encoded, which json.encode copies as it
-- is (text must be canonical JSON for the result to be). encoded(t) caches
-- json.raw(json.encode(t)) per table: for tables that never change, like the
-- tool schemas every request carries (encoding them was most of the
-- encoding work per request). json.encode copies that text wherever it meets
-- t again.
M.raw_mt = { __name = "baton.json.raw" }
function M.raw(text) return setmetatable({ text }, M.raw_mt) end
function M.encoded(t)
  local r = raws[t]
  if not r then r = M.raw(M.encode(t)) raws[t] = r end
  return r
end

-- Decodes text; returns value, or nil, "json: <reason>". Numbers: Lua 5.4
-- code wants 3, not 3.0, for token counts, line numbers and ids: integral
-- numbers below 2^53 come back as integers, others as floats. null comes
-- back as json.null (cjson.null), or, with strip, is left out (an array
-- keeps its other indices). In C, one pass (canon.decode, core/canon_decode.c;
-- cjson.decode plus a fix-up walk cost ~2x as much): strict JSON, nesting
-- up to 1000 deep, errors worded as cjson's.
function M.decode(text, strip)
  if type(text) ~= "string" then return nil, "json: expected a string, got " .. type(text) end
  return canon.decode(text, strip)
end

-- Replaces every cjson.null in a decoded value by nil (in place) and returns it.
function M.strip_nulls(v)
  if type(v) ~= "table" then return v ~= cjson.null and v or nil end
  return canon.normalize(v, false, true)
end

-- The request key's hash (llm.request_key; baton.reqkey, in C): canonical
-- head, words renamed by aliases (nil, a table or json.aliases(table)), then
-- "tools" appended as it is. json.aliases compiles a word -> name table once
-- (a copy: later changes to the table are not seen), for many keys.
-- tools_text (optional): the encoding of tools, made already (json.tool_list).
M.aliases = reqkey.aliases
function M.request_hash(head, aliases, tools, tools_text)
  return reqkey.hash(M.encode(head), aliases, tools_text or (tools ~= nil and M.encode(tools) or nil))
end

-- json.tool_list(tools, cache) -> the encoding of a list of plain tools
-- (name, description, parameters) each already in cache (wire.tool_cache,
-- filled by wire.tool_raw), or nil when one is not (in C: baton.canon).
M.tool_list = canon.tool_list

-- json.same_tools(list, check, n) -> whether list holds the same n tools with
-- the same parameters, names and descriptions as check recorded (in C; for
-- wire.tool_list_raw).
M.same_tools = canon.same_tools

-- 64-bit FNV-1a over the bytes of s, as 16 lowercase hex digits.
M.fnv1a64 = canon.fnv1a64

return M
