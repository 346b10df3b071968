-- baton.llm.replay: cassettes. In record mode (llm.configure{record=FILE},
-- `--record FILE`) every provider reply is appended to FILE as one JSON line
-- {key=, model=, request=, response=}; in replay mode (configure{replay=FILE},
-- `--replay FILE` or model "replay") requests are answered from FILE by
-- request key. A cassette holds the provider-neutral request (model, system,
-- messages, tools, schema, agent, role): never headers, URLs or API keys.
local json = require "baton.json"

local M = {}

local recorder        -- {path=} while recording
local index, source   -- key -> {entries..., next=}, and the cassette's path

-- The parts of a request that go into a cassette and into its key.
function M.stored_request(req)
  return { model = req.model, system = req.system, messages = req.messages, tools = req.tools,
           schema = req.schema, agent = req.agent, role = req.role, key_aliases = req.key_aliases }
end

-- Starts recording to path (truncating it); nil stops.
function M.record_to(path)
  recorder = nil
  if path == nil then return end
  local f, err = io.open(path, "wb")
  if not f then error("replay: cannot record to " .. err, 0) end
  f:close()
  recorder = { path = path }
end

function M.recording() return recorder ~= nil end

local RESPONSE_FIELDS = { "text", "tool_calls", "usage", "finish_reason", "model", "cost", "latency" }

-- Appends one line; flushed and closed at once so a crash loses nothing.
function M.record(key, req, resp)
  if not recorder then return end
  local r = {}
  for _, k in ipairs(RESPONSE_FIELDS) do r[k] = resp[k] end
  if #r.tool_calls == 0 then r.tool_calls = setmetatable({}, json.array_mt) end
  local line = json.encode { key = key, model = req.model, request = M.stored_request(req), response = r }
  local f, err = io.open(recorder.path, "ab")
  if not f then return nil, "replay: cannot append to " .. err, "transport" end
  f:write(line, "\n")
  f:close()
  return true
end

-- Loads a cassette for replay; nil stops replaying. Raises on a bad file,
-- naming the line. `key_fn` computes request keys (llm.request_key).
function M.load(path, key_fn)
  index, source = nil, nil
  if path == nil then return end
  local f, err = io.open(path, "rb")
  if not f then error("replay: cannot open cassette " .. err, 0) end
  local idx, n = {}, 0
  for line in f:lines() do
    n = n + 1
    if line:find("%S") then
      local e, jerr = json.decode(line)
      if type(e) ~= "table" or type(e.key) ~= "string" or type(e.response) ~= "table" then
        f:close()
        error(string.format("replay: %s:%d: not a cassette entry (%s)", path, n, jerr or "missing key or response"), 0)
      end
      json.strip_nulls(e)
      -- a second key lets model "replay" find entries whatever model recorded them
      local any = key_fn(setmetatable({ model = "replay" }, { __index = e.request or {} }))
      for _, k in ipairs { e.key, any } do
        idx[k] = idx[k] or { next = 1 }
        table.insert(idx[k], e.response)
      end
    end
  end
  f:close()
  index, source = idx, path
end

function M.active() return index ~= nil end

-- Answers req from the cassette: identical responses, in recorded order for
-- a key asked several times (the last one repeats).
function M.chat(req, spec, key)
  if not index then
    return nil, "replay: no cassette loaded (use --replay FILE or llm.configure{replay=FILE})", "replay_miss"
  end
  local list = index[key]
  if not list then
    local last = require("baton.llm.offline").last_message(req):gsub("%s+", " ")
    if #last > 80 then last = last:sub(1, 77) .. "..." end
    return nil, string.format("replay: no recorded response for request %s (agent %s, model %s, last message '%s')",
      key, tostring(req.agent or "?"), spec.model, last), "replay_miss"
  end
  local r = list[math.min(list.next, #list)]
  list.next = list.next + 1
  local copy = json.decode(json.encode(r))
  copy.tool_calls = copy.tool_calls or {}
  copy.usage = copy.usage or { input_tokens = 0, output_tokens = 0 }
  copy.from_cassette = source
  return json.strip_nulls(copy)
end

return M
