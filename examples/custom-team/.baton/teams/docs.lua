-- docs: this project's team. Its own role (writer, from .baton/roles/) and a
-- model per role. Offline labels here, so the example runs anywhere; for a
-- real team put e.g. planner = "anthropic:claude-3-5-sonnet-latest",
-- writer = "openai:gpt-4o-mini", review = "ollama:qwen2.5-coder:7b".
return {
  name = "docs",
  agents = {
    { name = "planner", role = "planner" },
    { name = "writer-1", role = "writer" },
    { name = "writer-2", role = "writer" },
    { name = "reviewer", role = "review" },
  },
  models = {
    default = "offline",
    planner = "offline:big-planner",
    writer = "offline:small-writer",
    review = "offline:careful-reviewer",
  },
}
