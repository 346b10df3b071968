-- The offline turns of the custom-team example: a two-page plan, two
-- writers working at once, a reviewer that approves.
local function call(name, args) return { name = name, arguments = args } end
local function page(who, path, text)
  return {
    { when = { agent = who, contains = "Task " }, reply = { tool_calls = {
      call("write_file", { path = path, content = text }) } } },
    { when = { agent = who, contains = "wrote" }, reply = { tool_calls = {
      call("task_done", { summary = path .. " written" }) } } },
  }
end
local turns = {
  { when = { agent = "planner", contains = "Requirement:" }, reply = { tool_calls = {
    call("add_requirement", { key = "install", role = "writer", description = "Write docs/install.md",
      acceptance = { "says how to build and install" } }),
    call("add_requirement", { key = "usage", role = "writer", description = "Write docs/usage.md",
      acceptance = { "shows one example" } }) } } },
  { when = { agent = "planner" }, reply = { text = "plan complete" } },
  { when = { agent = "reviewer" }, once = false,
    reply = { text = '{"approved": true, "reasons": ["both pages are there"]}' } },
}
for _, t in ipairs(page("writer-1", "docs/install.md", "# Install\n\n    make && make install\n")) do turns[#turns + 1] = t end
for _, t in ipairs(page("writer-2", "docs/usage.md", "# Usage\n\n    tool --help\n")) do turns[#turns + 1] = t end
return { turns = turns }
