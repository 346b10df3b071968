-- baton.project: turns a project folder and a run's configuration into a
-- ready engine: the database, the team and its roles, the policy and the
-- scheduler (all user-overridable Lua, loaded through baton.script), and
-- the LLM options. Shared by `baton run` and `baton resume`.
local errors = require "baton.errors"
local script = require "baton.script"

local M = {}

-- The absolute, resolved path of an existing file or folder; what names it
-- in the error ("workspace", "offline script").
function M.abspath(p, what)
  local abs, err = require("baton.sys").realpath(p)
  if not abs then errors.raise(errors.USAGE, "%s %s", what or "workspace", err) end
  return abs
end

-- An absolute path for a file that may not exist yet (a cassette to
-- record): saved in the run, it must mean the same file on resume from
-- another folder.
function M.absolute(p)
  if p == nil or p:sub(1, 1) == "/" then return p end
  return M.abspath(".") .. "/" .. p
end

-- Puts <workspace>/.baton first on the search path (the CLI already has
-- ./.baton when the workspace is the working directory).
function M.use_workspace(ws)
  local dot = ws .. "/.baton/?.lua;" .. ws .. "/.baton/?/init.lua;"
  if package.path:sub(1, #dot) ~= dot then package.path = dot .. package.path end
end

function M.db_path(ws) return ws .. "/.baton/baton.db" end

function M.open_db(ws)
  local ssot = require "baton.ssot"
  local db, err = ssot.open(M.db_path(ws))
  if not db then errors.raise(errors.FAILED, "%s", err) end
  return db
end

-- The workspace, its database and the run named by id (prefix) or the
-- latest one, for the commands that read a run. The caller holds db in a
-- <close> variable.
function M.open_run(opts, id)
  local ws = M.abspath(opts.workspace or ".")
  local db = M.open_db(ws)
  local run = id and db:run(id) or (not id and db:latest_run())
  if not run then
    db:close()
    if id then errors.usage("no run '%s' in this workspace (see `baton runs`)", id) end
    errors.usage("no run in this workspace (start one with `baton run`)")
  end
  return db, run, ws
end

local function module_name(kind, name)
  if name:find("/", 1, true) or name:match("%.lua$") then return name end
  if kind == "team" then return "teams." .. name end
  if kind == "scheduler" then return "schedulers." .. name end
  return name
end

-- Loads a team and every role it names; checks their shapes.
function M.load_team(name)
  local team = script.load_table(module_name("team", name), "team", { agents = "table", name = "string?" })
  team.name = team.name or name
  local roles = {}
  for i, a in ipairs(team.agents) do
    if type(a) ~= "table" or type(a.name) ~= "string" or type(a.role) ~= "string" then
      errors.raise(errors.USAGE, "team '%s': agents[%d] must be {name=STRING, role=STRING}", name, i)
    end
    if not roles[a.role] then
      roles[a.role] = script.load_table("roles." .. a.role, "role",
        { prompt = "string", tools = "table?", harness = "table?", max_turns = "number?" })
      roles[a.role] = require("baton.util").copy(roles[a.role]) -- two teams may share a role table
      roles[a.role].name = roles[a.role].name or a.role
      roles[a.role].tools = roles[a.role].tools or {}
      local ok, err = pcall(require("baton.tools").for_role, roles[a.role].tools)
      if not ok then errors.raise(errors.USAGE, "role '%s': %s", a.role, err) end
    end
  end
  return team, roles
end

function M.load_policy(name)
  return script.load_table(module_name("policy", name), "policy", { decide = "function", actions = "table?" })
end

function M.load_scheduler(name)
  return script.load_table(module_name("scheduler", name), "scheduler", { select = "function" })
end

-- Configures the LLM layer from the run's saved configuration.
function M.configure_llm(cfg, ws)
  local llm = require "baton.llm"
  local offline = cfg.offline_script
  if not offline then
    local f = io.open(ws .. "/.baton/offline.lua", "r")
    if f then f:close() offline = ws .. "/.baton/offline.lua" end
  end
  -- a cassette that cannot be read or written, or a broken offline script,
  -- is a configuration mistake: exit 2 before anything runs
  local ok, err = pcall(llm.configure, { offline = offline, record = cfg.record, replay = cfg.replay })
  if not ok then errors.usage("%s", tostring(err)) end
  return offline
end

-- Builds the engine for a run (new or resumed).
function M.engine(db, run, ws, opts)
  local Engine = require "baton.engine"
  local cfg = (run.meta or {}).config or {}
  local team, roles = M.load_team(run.team or "default")
  -- `baton run` configured the LLM layer already (to fail before creating a
  -- run); it passes what it found, false for "no offline script"
  local offline_script = opts.offline_script
  if offline_script == nil then offline_script = M.configure_llm(cfg, ws) end
  return Engine.new {
    offline_script = offline_script,
    db = db, run = run, workspace = ws, team = team, roles = roles,
    policy = M.load_policy(run.policy or "fsm"), policy_name = run.policy or "fsm",
    scheduler = M.load_scheduler(cfg.scheduler or "keyword"), scheduler_name = cfg.scheduler or "keyword",
    jobs = opts.jobs or cfg.jobs or 4, model = (run.models or {}).default, progress = opts.progress,
    replaying = cfg.replay ~= nil, ignore = team.snapshot_ignore,
  }
end

return M
