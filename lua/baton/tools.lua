-- baton.tools: the tools agents call. Each tool has a JSON schema the model
-- sees and a function run(t, args) returning the text the model reads back.
-- Files and commands go through the agent's harness; SSOT tools through the
-- database. A refusal is a readable result, never an error.
local util = require "baton.util"

local M = {}

local function str(desc) return { type = "string", description = desc } end
local function obj(props, required)
  return { type = "object", properties = props, required = required or {}, additionalProperties = false }
end

local function denied(msg, code)
  return (code == "denied" and "" or "error: ") .. tostring(msg)
end

M.defs = {}

-- The key a path is owned under in a round: "./src//a.c" and "src/a.c" are
-- one file, so a model cannot slip past the clobber guard by spelling.
local function path_key(path)
  if type(path) ~= "string" then return path end
  -- no empty or "." part: the path is its own key
  if not ("/" .. path .. "/"):find("/%.?/") then return path end
  local parts = {}
  for part in path:gmatch("[^/]+") do
    if part ~= "." then parts[#parts + 1] = part end
  end
  return table.concat(parts, "/")
end

local function def(name, description, parameters, run)
  M.defs[name] = { name = name, description = description, parameters = parameters, run = run }
end

def("list_files", "List the workspace's files matching a glob (default **).",
  obj({ glob = str("a glob relative to the workspace, e.g. src/**") }),
  function(t, a)
    local files, err, code = t.h:list(a.glob or "**")
    if not files then return denied(err, code) end
    if #files == 0 then return "(no files)" end
    return table.concat(files, "\n")
  end)

def("read_file", "Read a file of the workspace.", obj({ path = str("relative path") }, { "path" }),
  function(t, a)
    local text, err, code = t.h:read(a.path)
    if not text then return denied(err, code) end
    return text
  end)

def("write_file", "Create or replace a file of the workspace with the given content.",
  obj({ path = str("relative path"), content = str("the whole new content") }, { "path", "content" }),
  function(t, a)
    local key = path_key(a.path)
    local owner = t.round.writes[key]
    if owner and owner ~= t.task.id then
      return string.format("refused: %s was already written by task %s in this round; do not " ..
        "clobber another task's file: use a different file or a contract, or call task_blocked",
        a.path, owner)
    end
    local ok, err, code = t.h:write(a.path, a.content)
    if not ok then return denied(err, code) end
    t.round.writes[key] = t.task.id
    return string.format("wrote %d bytes to %s", #a.content, a.path)
  end)

def("delete_file", "Delete a file of the workspace.", obj({ path = str("relative path") }, { "path" }),
  function(t, a)
    local owner = t.round.writes[path_key(a.path)]
    if owner and owner ~= t.task.id then
      return string.format("refused: %s belongs to task %s in this round", a.path, owner)
    end
    local ok, err, code = t.h:delete(a.path)
    if not ok then return denied(err, code) end
    return "deleted " .. a.path
  end)

def("run_command", "Run a command (an argv list, no shell unless allowed) in the workspace.",
  obj({ argv = { type = "array", items = { type = "string" }, description = "program and arguments" } },
    { "argv" }),
  function(t, a)
    local res, err, code = t.h:run(a.argv)
    if not res then return denied(err, code) end
    local status = res.timed_out and "timed out" or res.signal and ("killed by signal " .. res.signal)
      or ("exit " .. tostring(res.code))
    return string.format("%s\n--- stdout\n%s\n--- stderr\n%s", status, util.tail(res.stdout, 4000),
      util.tail(res.stderr, 2000))
  end)

def("get_task", "Read your task, its acceptance criteria and its contracts.", obj({}),
  function(t) return t.describe_task() end)

def("task_done", "Report your task finished: every acceptance criterion holds.",
  obj({ summary = str("one line: what you did") }, { "summary" }),
  function(t, a)
    t.outcome = { status = "DONE", reason = a.summary or "done" }
    return "recorded: task done"
  end)

def("task_blocked", "Report that you cannot finish your task, and why.",
  obj({ reason = str("what blocks you") }, { "reason" }),
  function(t, a)
    t.outcome = { status = "BLOCKED", reason = a.reason or "blocked" }
    return "recorded: task blocked"
  end)

def("add_requirement", "Add a task to the plan.",
  obj({
    key = str("a short unique name for this task, e.g. parser, used in depends_on"),
    description = str("what to build, precisely"),
    acceptance = { type = "array", items = { type = "string" }, description = "acceptance criteria" },
    depends_on = { type = "array", items = { type = "string" }, description = "keys or ids of tasks this needs" },
    role = str("role hint: backend, frontend, test or coder"),
  }, { "description", "acceptance" }),
  function(t, a) return t.plan.add(a) end)

def("register_contract", "Register a contract one task provides to others (a file, function, http or cli).",
  obj({
    name = str("unique contract name"),
    kind = { type = "string", enum = { "function", "http", "file", "cli" } },
    owner = str("key or id of the task that provides it"),
    spec = { type = "object", description = "the contract: e.g. {file=..., signature=...}" },
  }, { "name", "kind", "spec" }),
  function(t, a) return t.plan.contract(a) end)

-- The tool list (name, description, parameters) for a role's tool names.
-- One list per names table (a role's, loaded once): every task of the role
-- sends the same tables, which the LLM layer encodes once.
local by_names = setmetatable({}, { __mode = "k" })
function M.for_role(names)
  local cached = names and by_names[names]
  if cached then return cached end
  local list = {}
  for _, n in ipairs(names or {}) do
    local d = M.defs[n]
    if not d then error(string.format("unknown tool '%s' (known: %s)", n,
      table.concat(util.sorted_keys(M.defs), ", ")), 0) end
    list[#list + 1] = { name = d.name, description = d.description, parameters = d.parameters }
  end
  if names then by_names[names] = list end
  return list
end

-- Whether a call may yield to the loop (a command waits for its child):
-- the agent runs a turn without one in a single SSOT transaction.
function M.yields(name) return name == "run_command" end

-- Runs one tool call; unknown tools and bad arguments become readable errors.
function M.call(t, name, args, allowed)
  local d = M.defs[name]
  if not d or not util.contains(allowed, name) then
    return string.format("error: unknown tool '%s'; your tools are: %s", tostring(name),
      table.concat(allowed, ", "))
  end
  if type(args) ~= "table" then return "error: arguments must be a JSON object" end
  for _, req in ipairs(d.parameters.required or {}) do
    if args[req] == nil then return string.format("error: %s needs the argument '%s'", name, req) end
  end
  local ok, res = pcall(d.run, t, args)
  if not ok then return "error: " .. tostring(res) end
  return res
end

return M
