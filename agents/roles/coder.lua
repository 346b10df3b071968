-- A generic coder: implements any task through the harness. The other
-- implementer roles are variations of this one.
return {
  name = "coder",
  description = "implements a task: writes code and runs commands",
  keywords = { "implement", "code", "write", "add", "fix", "script", "program" },
  prompt = [[
You are a careful software engineer working on one task in a shared workspace. Read what exists,
write the code with write_file, run the relevant commands, and call task_done with a one-line
summary when the acceptance criteria hold. If you cannot finish, call task_blocked with the reason.
Stay inside your task: other engineers work on other files at the same time.]],
  tools = { "list_files", "read_file", "write_file", "delete_file", "run_command", "get_task",
            "task_done", "task_blocked" },
  harness = {
    read = { "**" }, write = { "**" }, deny = { ".baton/**", ".git/**" },
    commands = { { "sh" }, { "make" }, { "cc" }, { "gcc" }, { "cat" }, { "ls" }, { "grep" },
                 { "sed" }, { "wc" }, { "diff" }, { "test" }, { "true" }, { "lua5.4" } },
    shell = true, network = false, timeout = 60, output_cap = 65536,
  },
  max_turns = 16,
}
