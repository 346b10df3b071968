-- baton.script: loads and calls the Lua that users write (controller
-- policies, schedulers, roles, teams) in a restricted environment: no io,
-- os.execute, loadfile, dofile, package.loadlib, debug or binary chunks;
-- strict globals; an instruction limit per call. Memory is capped for the
-- whole process by main.c's allocator (BATON_MAX_MEMORY_MB): a script that
-- allocates without end gets "not enough memory" here, as its own error.
-- A broken script becomes one error naming file:line and a hint.
local errors = require "baton.errors"
local sys = require "baton.sys"
local util = require "baton.util"

local M = {}

M.INSTRUCTION_LIMIT = 50 * 1000 * 1000 -- per call into user code

local SAFE_OS = { "clock", "date", "difftime", "getenv", "time" }
local SAFE_LIBS = { "string", "table", "math", "utf8", "coroutine" }
local SAFE_GLOBALS = { "assert", "error", "ipairs", "next", "pairs", "pcall", "print", "rawequal",
  "rawget", "rawlen", "rawset", "select", "setmetatable", "getmetatable", "tonumber", "tostring",
  "type", "xpcall", "_VERSION" }
-- baton modules a user script may require (pure helpers, no I/O of their own).
M.ALLOWED_REQUIRES = { cjson = true, ["baton.json"] = true, ["baton.util"] = true }

local function strict(env, file)
  return setmetatable(env, {
    __index = function(_, k)
      error(string.format("undefined global '%s' (declare it with local)", tostring(k)), 2)
    end,
    __newindex = function(_, k)
      error(string.format("assignment to undefined global '%s' in %s (use local)", tostring(k), file), 2)
    end,
  })
end

local loaded = {} -- name -> value, for user modules requiring each other

-- The environment every user script runs in.
local function make_env(file)
  local env = {}
  for _, k in ipairs(SAFE_GLOBALS) do env[k] = _G[k] end
  for _, lib in ipairs(SAFE_LIBS) do env[lib] = util.copy(_G[lib]) end
  env.string.dump = nil
  env.os = {}
  for _, k in ipairs(SAFE_OS) do env.os[k] = os[k] end
  env.require = function(name)
    if M.ALLOWED_REQUIRES[name] then return require(name) end
    return M.load_module(name)
  end
  env.load = function(chunk, name, _, e) return load(chunk, name, "t", e or env) end
  return strict(env, file)
end

local HINT = "fix it and run `baton resume` to continue"

local function keep(e) return e end

-- The end of a guarded call: the caller's hook back, then its results or
-- its error (taken as varargs: no table per call, a scheduler runs per task).
local function settle(what, hook, mask, count, ok, ...)
  debug.sethook(hook, mask, count)
  if not ok then
    local err = ...
    if errors.is(err) then error(err, 0) end
    errors.raise(errors.USAGE, "%s: %s (%s)", what, tostring(err), HINT)
  end
  return ...
end

local function guarded(fn, what, ...)
  local budget = M.INSTRUCTION_LIMIT
  local co_hook = function()
    budget = budget - 10000
    if budget <= 0 then error("instruction limit exceeded (an endless loop?)", 2) end
  end
  local hook, mask, count = debug.gethook()
  debug.sethook(co_hook, "", 10000)
  return settle(what, hook, mask, count, xpcall(fn, keep, ...))
end

-- Finds the file for a module name (or a path ending in .lua).
function M.find(name)
  if name:find("/", 1, true) or name:match("%.lua$") then
    local f = io.open(name, "r")
    if f then f:close() return name end
    return nil, "no such file: " .. name
  end
  return package.searchpath(name, package.path)
end

-- Loads a user module in the restricted environment and returns its value.
function M.load_module(name, what)
  if loaded[name] ~= nil then return loaded[name] end
  what = what or ("module '" .. name .. "'")
  local file = M.find(name)
  if not file then
    errors.raise(errors.USAGE, "%s not found in ./.baton/, BATON_PATH or the built-in folders", what)
  end
  local f = assert(io.open(file, "rb"))
  local text = f:read("a")
  f:close()
  -- "t": never a binary chunk from a file; one of baton's own files, unchanged,
  -- comes compiled with the executable (the same chunk, without the parsing)
  local env = make_env(file)
  local chunk, err = sys.precompiled(text, "@" .. file, env)
  if not chunk then chunk, err = load(text, "@" .. file, "t", env) end
  if not chunk then errors.raise(errors.USAGE, "%s: %s (fix the file and try again)", what, err) end
  local value = guarded(chunk, what .. " in " .. file)
  if value == nil then
    errors.raise(errors.USAGE, "%s: %s returned nothing (a module must `return` a table)", what, file)
  end
  loaded[name] = value
  return value, file
end

-- Calls fn (user code) with the limits on; errors name `what`.
function M.call(what, fn, ...) return guarded(fn, what, ...) end

-- Loads a module and checks it is a table whose fields have the given types.
-- shape = { decide = "function", name = "string?" }
function M.load_table(name, kind, shape)
  local what = string.format("%s '%s'", kind, name)
  local value, file = M.load_module(name, what)
  if type(value) ~= "table" then
    errors.raise(errors.USAGE, "%s: %s must return a table, got %s", what, file or name, type(value))
  end
  for field, want in pairs(shape or {}) do
    local optional = want:sub(-1) == "?"
    local t = want:gsub("%?$", "")
    local got = type(value[field])
    if not (got == t or (optional and got == "nil")) then
      errors.raise(errors.USAGE, "%s: field '%s' must be a %s, got %s (in %s)", what, field, t, got, file or name)
    end
  end
  return value, file
end

return M
