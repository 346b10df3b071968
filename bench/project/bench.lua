-- The reference workflow's team (bench/README.md): a planner limited to one
-- turn, the built-in backend worker and reviewer, all on the mock. The bench
-- scripts copy it into a workspace as .baton/teams/bench.lua.
return { name = "bench", agents = { { name = "planner", role = "bench_planner" },
  { name = "worker", role = "backend" }, { name = "reviewer", role = "review" } },
  models = { default = "openai:mock" } }
