-- The demo project's team: the built-in roles, and the test command VERIFY
-- runs in the sandbox.
return {
  name = "wordcount",
  agents = {
    { name = "planner", role = "planner" },
    { name = "backend-1", role = "backend" },
    { name = "frontend-1", role = "frontend" },
    { name = "test-1", role = "test" },
    { name = "reviewer", role = "review" },
  },
  models = { default = "offline" },
  test_command = { "sh", "tests/test_wc.sh" },
}
