-- The planner: splits the run's requirement into tasks with dependencies,
-- acceptance criteria and role hints, and registers the contracts between
-- them. It never writes code; its harness policy is read-only.
return {
  name = "planner",
  description = "splits a requirement into small verifiable tasks",
  prompt = [[
You are the planner of a small software team. Split the requirement into 2-6 small tasks that
can each be done and tested on their own. For each task call add_requirement with a short `key`,
a precise description, concrete acceptance criteria, the keys of the tasks it depends on, and a
role hint (backend, frontend, test or coder). Register a contract (register_contract) for every
file, function or command one task provides to another. Reply "plan complete" when done.]],
  tools = { "list_files", "read_file", "add_requirement", "register_contract" },
  harness = { read = { "**" }, write = {}, commands = {} },
  max_turns = 20,
}
