-- The default team: a planner, two implementers, a tester and a reviewer.
-- models: the model per role ("default" for the rest); `--model` overrides
-- the default. test_command: what VERIFY runs in the sandbox.
return {
  name = "default",
  agents = {
    { name = "planner", role = "planner" },
    { name = "backend-1", role = "backend" },
    { name = "frontend-1", role = "frontend" },
    { name = "test-1", role = "test" },
    { name = "coder-1", role = "coder" },
    { name = "reviewer", role = "review" },
  },
  models = { default = "offline" },
  test_command = nil, -- e.g. { "make", "test" }; a project's .baton/teams/default.lua sets it
}
