-- baton.llm.prices: turns token usage into USD. A table of model -> {input=,
-- output=} in USD per million tokens. A user overrides or adds entries with a
-- `prices` module on the search path (e.g. .baton/prices.lua returning the same
-- shape) or llm.configure{prices=}. An unknown model costs nil (unknown), never 0.
local M = {}

-- Lookup order for "provider:model": the full string, the bare model, the
-- bare model without a date suffix (-20250514, -2024-07-18), then
-- "provider:*". Figures are list prices; check them before trusting a budget.
M.default = {
  ["gpt-4o-mini"] = { input = 0.15, output = 0.60 },
  ["gpt-4o"] = { input = 2.50, output = 10.00 },
  ["gpt-4.1"] = { input = 2.00, output = 8.00 },
  ["gpt-4.1-mini"] = { input = 0.40, output = 1.60 },
  ["gpt-4.1-nano"] = { input = 0.10, output = 0.40 },
  ["gpt-5"] = { input = 1.25, output = 10.00 },
  ["gpt-5-mini"] = { input = 0.25, output = 2.00 },
  ["gpt-5-nano"] = { input = 0.05, output = 0.40 },
  ["o3-mini"] = { input = 1.10, output = 4.40 },
  ["o4-mini"] = { input = 1.10, output = 4.40 },
  ["claude-3-haiku"] = { input = 0.25, output = 1.25 },
  ["claude-3-5-haiku"] = { input = 0.80, output = 4.00 },
  ["claude-3-5-haiku-latest"] = { input = 0.80, output = 4.00 },
  ["claude-3-5-sonnet"] = { input = 3.00, output = 15.00 },
  ["claude-3-7-sonnet"] = { input = 3.00, output = 15.00 },
  ["claude-sonnet-4"] = { input = 3.00, output = 15.00 },
  ["claude-sonnet-4-5"] = { input = 3.00, output = 15.00 },
  ["claude-haiku-4-5"] = { input = 1.00, output = 5.00 },
  ["claude-opus-4"] = { input = 15.00, output = 75.00 },
  ["claude-opus-4-1"] = { input = 15.00, output = 75.00 },
  ["ollama:*"] = { input = 0, output = 0 },   -- local models: no bill
  ["offline:*"] = { input = 0, output = 0 },
  ["replay:*"] = { input = 0, output = 0 },
}

local overrides = {}
local user_loaded = false
local found = {} -- model -> entry or false: a lookup per request is the same lookup

-- Adds or replaces entries (llm.configure{prices=}); validates the shape.
function M.set(tbl)
  for model, p in pairs(tbl) do
    if type(model) ~= "string" or type(p) ~= "table" or type(p.input) ~= "number"
        or type(p.output) ~= "number" then
      error(string.format("prices: entry %s must be {input=<USD/1M>, output=<USD/1M>}", tostring(model)), 0)
    end
    overrides[model] = p
  end
  found = {}
end

local function user_table()
  if user_loaded then return end
  user_loaded = true
  if not package.searchpath("prices", package.path) then return end
  local t = require "prices"
  if type(t) ~= "table" then error("prices.lua must return a table of model -> {input=, output=}", 0) end
  local saved = overrides
  overrides = {}
  M.set(t)
  for k, v in pairs(saved) do overrides[k] = v end -- configure{} wins over the file
end

local function find(name)
  return overrides[name] or M.default[name]
end

-- The price entry for a full model string, or nil when unknown.
function M.lookup(model)
  user_table()
  local p = found[model]
  if p ~= nil then return p or nil end
  local provider, bare = model:match("^([^:]+):(.*)$")
  bare = bare or model
  local undated = bare:gsub("%-%d%d%d%d%-?%d%d%-?%d%d$", "")
  p = find(model) or find(bare) or find(undated) or (provider and find(provider .. ":*"))
  found[model] = p or false
  return p
end

-- USD for usage under model, or nil when the price is unknown.
function M.cost(model, usage)
  local p = M.lookup(model)
  if not p or not usage then return nil end
  return ((usage.input_tokens or 0) * p.input + (usage.output_tokens or 0) * p.output) / 1e6
end

return M
