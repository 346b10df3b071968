-- writer: a role of this project only. It writes documentation under docs/
-- and nothing else; it may run no command at all.
return {
  name = "writer",
  description = "writes user documentation",
  keywords = { "doc", "docs", "readme", "guide", "manual" },
  prompt = [[
You write short, exact user documentation in Markdown. Write under docs/ only, then call
task_done with a one-line summary.]],
  tools = { "list_files", "read_file", "write_file", "task_done", "task_blocked" },
  harness = { read = { "**" }, write = { "docs/**" }, commands = {} },
  max_turns = 6,
}
