-- tests/lua/test_lazy_curl.lua: libcurl (and its thirty libraries) is loaded
-- when first used (core/curl_lazy.c), on a thread from exec for `run` and
-- `resume`, never for commands that do not need it. LD_DEBUG=files makes the
-- real dynamic loader say what it loads.
local T = ...

local function loads_curl(r) return (r.err or ""):find("file=libcurl.so.4", 1, true) ~= nil end

T.test("lazy-1 --version and status do not load libcurl", function()
  local r = T.baton({ "--version" }, { env = { LD_DEBUG = "files" } })
  T.eq(r.code, 0, "exit")
  T.ok(not loads_curl(r), "libcurl not loaded by --version")
  local dir = T.tmpdir()
  r = T.baton({ "status" }, { cwd = dir, env = { LD_DEBUG = "files" } })
  T.ok(not loads_curl(r), "libcurl not loaded by status")
end)

T.test("lazy-2 the first curl call loads it, and it works", function()
  local dir = T.tmpdir()
  T.write(dir .. "/v.lua", 'print(require("baton.sys").versions().curl)')
  local r = T.baton({ "exec", dir .. "/v.lua" }, { env = { LD_DEBUG = "files" } })
  T.eq(r.code, 0, "exit")
  T.ok(loads_curl(r), "libcurl loaded on first use")
  T.match(r.out, "^%d+%.%d+%.%d+\n$", "curl's version")
end)

T.test("lazy-3 run starts loading it at exec and still works", function()
  local dir = T.tmpdir()
  local r = T.baton({ "run", "add a hello file", "--model", "offline", "--quiet" },
    { cwd = dir, env = { LD_DEBUG = "files" } })
  T.ok(loads_curl(r), "libcurl loaded by run")
  T.match(r.err, "\nrun r%w+: %u+", "the run's summary")
end)

T.test("lazy-4 a libcurl that cannot be loaded is a clear error, only where it is needed", function()
  local dir = T.tmpdir()
  T.write(dir .. "/libcurl.so.4", "not a library")
  T.write(dir .. "/v.lua", 'print(require("baton.sys").versions().curl)')
  local r = T.baton({ "exec", dir .. "/v.lua" }, { env = { LD_LIBRARY_PATH = dir } })
  T.eq(r.code, 1, "exit")
  T.eq(r.out, "", "nothing printed")
  T.match(r.err, "^baton: cannot load libcurl%.so%.4: " .. dir:gsub("%p", "%%%0") .. "/libcurl%.so%.4: ")
  r = T.baton({ "--version" }, { env = { LD_LIBRARY_PATH = dir } })
  T.eq(r.code, 0, "--version does not need it")
end)
