-- baton.util: small pure helpers shared by the engine and usable from user
-- scripts (no I/O).
local M = {}

function M.copy(t)
  local c = {}
  for k, v in pairs(t or {}) do c[k] = v end
  return c
end

function M.merge(a, b)
  local c = M.copy(a)
  for k, v in pairs(b or {}) do c[k] = v end
  return c
end

-- The text cut to n characters with a marker, for prompts and one-line logs.
function M.clip(s, n)
  s = tostring(s or "")
  if #s <= n then return s end
  return s:sub(1, n) .. string.format("... [%d more bytes]", #s - n)
end

-- The last n characters, for the tail of a command's output.
function M.tail(s, n)
  s = tostring(s or "")
  if #s <= n then return s end
  return "[...] " .. s:sub(-n)
end

function M.oneline(s, n)
  return M.clip(tostring(s or ""):gsub("%s+", " "), n or 120)
end

-- Lowercase, punctuation and white space runs as one space, trimmed. The
-- ends are cut with sub: a gsub anchored at the end tries every position.
function M.normalize(s)
  local t = tostring(s or ""):lower():gsub("[%p%s]+", " ")
  local i, j = 1, #t
  if t:byte(1) == 32 then i = 2 end
  if j >= i and t:byte(j) == 32 then j = j - 1 end
  return t:sub(i, j)
end

function M.map(t, f)
  local r = {}
  for i, v in ipairs(t) do r[i] = f(v, i) end
  return r
end

function M.filter(t, f)
  local r = {}
  for _, v in ipairs(t) do if f(v) then r[#r + 1] = v end end
  return r
end

function M.contains(t, x)
  for _, v in ipairs(t or {}) do if v == x then return true end end
  return false
end

function M.sorted_keys(t)
  local ks = {}
  for k in pairs(t) do ks[#ks + 1] = k end
  table.sort(ks, function(a, b) return tostring(a) < tostring(b) end)
  return ks
end

-- Deep-freezes a table for policies: reads work, writes raise. One proxy
-- per table (a policy walking a view reads the same tables again) sharing
-- one metatable; both maps are weak, so a proxy lives as long as it is used.
local target = setmetatable({}, { __mode = "k" }) -- proxy -> table
local proxy_of = setmetatable({}, { __mode = "k" }) -- table -> proxy
local RO = {
  -- a plain value (most reads: strings, numbers) returned as is, without
  -- the call: a scheduler reads several fields of every task it places
  __index = function(p, k)
    local v = target[p][k]
    if type(v) ~= "table" then return v end
    return M.readonly(v)
  end,
  __newindex = function(_, k) error("the view is read-only (tried to set '" .. tostring(k) .. "')", 2) end,
  __len = function(p) return #target[p] end,
  __metatable = false, -- shared by every proxy: not for a script to change
  __pairs = function(p)
    local t = target[p]
    return function(_, k)
      local nk, nv = next(t, k)
      return nk, M.readonly(nv)
    end, p, nil
  end,
}

function M.readonly(t)
  if type(t) ~= "table" or target[t] then return t end
  local proxy = proxy_of[t]
  if proxy then return proxy end
  proxy = setmetatable({}, RO)
  target[proxy], proxy_of[t] = t, proxy
  return proxy
end

function M.format_cost(usd)
  if usd == nil then return "unknown" end
  return string.format("$%.4f", usd)
end

function M.format_duration(s)
  if s < 60 then return string.format("%.1fs", s) end
  return string.format("%dm%02ds", s // 60, math.floor(s % 60))
end

return M
