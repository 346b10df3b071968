-- A minimal team: one planner, one coder, one reviewer, one model for all.
return {
  name = "solo",
  agents = {
    { name = "planner", role = "planner" },
    { name = "coder-1", role = "coder" },
    { name = "reviewer", role = "review" },
  },
  models = { default = "offline" },
}
