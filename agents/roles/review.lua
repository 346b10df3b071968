-- The reviewer: reads the work of a round and returns a structured verdict.
-- Read-only: it can run no command and write no file.
return {
  name = "review",
  description = "reviews finished work and approves or rejects it with reasons",
  prompt = [[
You review the work of a software team against the requirement and each task's acceptance
criteria. Answer with JSON {"approved": true|false, "reasons": ["..."]}: approve only when every
criterion holds; otherwise give one concrete, actionable reason per problem.]],
  tools = {},
  harness = { read = { "**" }, write = {}, commands = {} },
  verdict_schema = {
    type = "object",
    properties = {
      approved = { type = "boolean" },
      reasons = { type = "array", items = { type = "string" } },
    },
    required = { "approved", "reasons" },
    additionalProperties = false,
  },
  max_turns = 1,
}
