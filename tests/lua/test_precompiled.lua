-- tests/lua/test_precompiled.lua: baton's own Lua files load from the bytecode
-- built into the executable (core/bytecode.c, sys.precompiled, main.c's
-- searcher) exactly as if parsed; any other or edited text is parsed.
local T = ...
local sys = require "baton.sys"

local function src(rel) return T.read(T.src .. "/" .. rel) end

T.test("pre-1 an unchanged built-in file comes back as the chunk load() gives", function()
  local text = src("lua/baton/util.lua")
  local f = T.ok(sys.precompiled(text, "@/some/where/util.lua"), "precompiled")
  local g = assert(load(text, "@/some/where/util.lua", "t"))
  local a, b = f(), g()
  T.eq(debug.getinfo(a.clip, "S").source, "@/some/where/util.lua", "source of a nested function")
  T.eq(debug.getinfo(a.clip, "S").linedefined, debug.getinfo(b.clip, "S").linedefined, "line")
  T.eq(debug.getinfo(f, "S").source, "@/some/where/util.lua", "source of the chunk")
  T.eq(a.oneline("a \n b", 10), b.oneline("a \n b", 10), "same behaviour")
  T.eq(select(2, debug.getupvalue(f, 1)), _G, "_ENV is the globals table")
end)

T.test("pre-2 an edited or foreign text is not precompiled", function()
  local text = src("lua/baton/util.lua")
  T.eq(sys.precompiled(text .. " ", "@x.lua"), nil, "one more byte")
  T.eq(sys.precompiled(text:gsub("M.copy", "M.cop_"), "@x.lua"), nil, "same length, other bytes")
  T.eq(sys.precompiled("return 1", "@x.lua"), nil, "unknown text")
  T.eq(sys.precompiled(text, ""), nil, "no chunk name")
end)

T.test("pre-3 an environment becomes the chunk's _ENV, as with load(text, name, 't', env)", function()
  local env = { setmetatable = setmetatable, require = require, pairs = pairs }
  local f = T.ok(sys.precompiled(src("policies/schedulers/balanced.lua"), "@balanced.lua", env))
  T.eq(select(2, debug.getupvalue(f, 1)), env, "_ENV")
  T.eq(f().name, "balanced", "runs in env")
end)

T.test("pre-4 require loads built-in modules from bytecode with their real file names", function()
  local root = debug.getregistry()["baton.host"].root
  local util = require "baton.util"
  T.eq(debug.getinfo(util.clip, "S").source, "@" .. root .. "/lua/baton/util.lua")
  -- a runtime error names the file and line of the source
  local ok, err = pcall(util.format_duration, nil)
  T.ok(not ok)
  T.match(err, "^" .. root:gsub("%p", "%%%0") .. "/lua/baton/util%.lua:%d+: ")
end)

T.test("pre-5 require of other files: parsed; missing and broken ones fail as in plain Lua", function()
  local dir = T.tmpdir()
  T.write(dir .. "/pre5mod.lua", "#!/usr/bin/env lua\nreturn { line = debug.getinfo(1, 'l').currentline }")
  T.write(dir .. "/pre5bad.lua", "return {")
  local saved = package.path
  T.defer(function() package.path = saved end)
  package.path = dir .. "/?.lua"
  T.eq(require("pre5mod").line, 2, "a first # line is skipped and counted")
  local ok, err = pcall(require, "pre5bad")
  T.ok(not ok)
  T.eq(err, "error loading module 'pre5bad' from file '" .. dir .. "/pre5bad.lua':\n\t" ..
    select(2, loadfile(dir .. "/pre5bad.lua")))
  ok, err = pcall(require, "pre5none")
  T.ok(not ok)
  T.match(err, "^module 'pre5none' not found:\n\tno field package.preload%['pre5none'%]\n\tno file '" ..
    dir:gsub("%p", "%%%0") .. "/pre5none%.lua'")
  package.path = 42
  T.raises(function() require("pre5other") end, "'package.path' must be a string")
end)
