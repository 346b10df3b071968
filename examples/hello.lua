-- examples/hello.lua: a first script for `baton exec`. It uses the modules
-- built into baton to show what this machine offers, as a script would.
--   baton exec examples/hello.lua
local sys = require "baton.sys"
local cjson = require "cjson"

local v = sys.versions()
print(("baton's core: %s, libcurl %s (%s), SQLite %s"):format(v.lua, v.curl, v.tls, v.sqlite))
local c = sys.confinement()
print(("sandbox: Landlock ABI %d, network namespaces %s, pid namespaces %s"):format(
  c.landlock_abi, c.netns and "yes" or "no", c.pidns and "yes" or "no"))
print("as JSON: " .. cjson.encode({ args = { ... }, pid = sys.pid() }))
