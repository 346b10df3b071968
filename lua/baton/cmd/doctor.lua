-- baton doctor: what this machine offers baton: library versions, the
-- sandbox mechanisms the kernel allows, and which providers have keys.
-- A key's value is never printed, only whether it is set.
local sys = require "baton.sys"
local harness = require "baton.harness"
local cjson = require "cjson"

local PROVIDERS = {
  { name = "openai", var = "OPENAI_API_KEY", url = "OPENAI_BASE_URL" },
  { name = "anthropic", var = "ANTHROPIC_API_KEY", url = "ANTHROPIC_BASE_URL" },
  { name = "ollama", url = "OLLAMA_HOST", default = "http://127.0.0.1:11434" },
}

local function yesno(b) return b and "yes" or "no" end

local function provider_lines()
  local out = {}
  for _, p in ipairs(PROVIDERS) do
    local parts = {}
    if p.var then
      parts[#parts + 1] = p.var .. ((os.getenv(p.var) or "") ~= "" and " set" or " not set")
    end
    local url = os.getenv(p.url)
    parts[#parts + 1] = p.url .. (url and url ~= "" and (" = " .. url) or
      (p.default and (" not set (default " .. p.default .. ")") or " not set"))
    out[#out + 1] = { name = p.name, text = table.concat(parts, ", "),
      key_set = p.var and (os.getenv(p.var) or "") ~= "" }
  end
  return out
end

local function report(host)
  local v, c, hp = sys.versions(), sys.confinement(), harness.probe()
  return {
    baton = host.version, root = host.root, lua = v.lua, curl = v.curl, tls = v.tls,
    sqlite = v.sqlite, landlock_abi = hp.landlock_abi, netns = hp.netns, pidns = hp.pidns,
    userns = c.userns, cgroup_pids = hp.cgroup_pids, sandbox_missing = hp.missing,
    providers = provider_lines(), lua_path = package.path,
  }
end

local function print_report(r)
  local w = function(k, fmt, ...) io.stdout:write(string.format("%-11s " .. fmt .. "\n", k, ...)) end
  w("baton", "%s (%s)", r.baton, r.root)
  w("lua", "%s", r.lua)
  w("libcurl", "%s, TLS %s", r.curl, r.tls)
  w("sqlite", "%s", r.sqlite)
  if r.landlock_abi > 0 then
    w("landlock", "ABI %d: commands may write only under the workspace", r.landlock_abi)
  else
    w("landlock", "not available: file confinement falls back to the policy checks")
  end
  w("namespaces", "network %s, pid %s, user %s%s", yesno(r.netns), yesno(r.pidns),
    yesno(r.userns), r.netns and "" or " (commands cannot be cut off the network)")
  w("pids", "%s", r.cgroup_pids and "a pids cgroup caps each command's process count"
    or "no writable pids cgroup: process counts rely on RLIMIT_NPROC (does not bind root)")
  for _, m in ipairs(r.sandbox_missing) do w("sandbox", "missing %s", m) end
  for _, p in ipairs(r.providers) do w("provider", "%-9s %s", p.name, p.text) end
  w("lua path", "%s", (r.lua_path:gsub(";", "\n            ")))
end

return {
  summary = "show versions, sandbox support and provider keys",
  usage = "doctor [--json]",
  flags = { json = { type = "boolean" } },
  help = [[
Prints the versions of Lua, libcurl (with its TLS backend) and SQLite; the
Landlock ABI and whether network and pid namespaces work (what the harness
sandbox can use here); which providers have keys or URLs set (never the key
itself); and the Lua search path. --json prints the same as one object.]],
  run = function(opts, _, host)
    local r = report(host)
    if opts.json then
      io.stdout:write(cjson.encode(r), "\n")
    else
      print_report(r)
    end
    return 0
  end,
}
