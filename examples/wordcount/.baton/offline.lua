-- The offline provider's script for the demo: every turn an agent takes,
-- matched on the agent and on what it was just told. `delay` makes the
-- parallel work visible (the two first tasks wait at the same time).
local BUGGY = [[
#!/bin/sh
# wc.sh: print the lines, words and bytes of standard input.
awk '{ lines++; words++; bytes += length($0) + 1 } END { print lines + 0, words + 0, bytes + 0 }'
]]
local FIXED = [[
#!/bin/sh
# wc.sh: print the lines, words and bytes of standard input.
awk '{ lines++; words += NF; bytes += length($0) + 1 } END { print lines + 0, words + 0, bytes + 0 }'
]]
local TESTS = [[
#!/bin/sh
# tests for src/wc.sh
fail=0
check() {
  got=$(printf "$1" | sh src/wc.sh)
  if [ "$got" = "$2" ]; then echo "ok: $3"; else echo "FAIL: $3: got '$got', want '$2'"; fail=1; fi
}
check 'one two\nthree\n' '2 3 14' 'two lines, three words'
check '' '0 0 0' 'empty input'
check 'a  b   c\n' '1 3 9' 'runs of spaces'
exit $fail
]]
local USAGE = [[
# wc.sh

    sh src/wc.sh < FILE

prints `LINES WORDS BYTES` for its standard input, like `wc` without the file names.
]]

local function call(name, args) return { name = name, arguments = args } end
local function write(path, content) return call("write_file", { path = path, content = content }) end
local function done(summary) return call("task_done", { summary = summary }) end

return {
  turns = {
    { when = { agent = "planner", contains = "Requirement:" }, delay = 0.2, reply = {
      text = "Three tasks: the tool, its tests, its docs.",
      tool_calls = {
        call("add_requirement", { key = "tool", role = "backend",
          description = "Write src/wc.sh: print the lines, words and bytes of standard input",
          acceptance = { "prints 'LINES WORDS BYTES' on one line", "counts runs of spaces as one separator" } }),
        call("add_requirement", { key = "tests", role = "test",
          description = "Write tests/test_wc.sh checking src/wc.sh on sample inputs",
          acceptance = { "exits non-zero when a count is wrong", "covers empty input" } }),
        call("add_requirement", { key = "docs", role = "frontend", depends_on = { "tool", "tests" },
          description = "Write docs/USAGE.md explaining how to run src/wc.sh",
          acceptance = { "shows the command line and the output format" } }),
        call("register_contract", { name = "wc.sh", kind = "cli", owner = "tool",
          spec = { file = "src/wc.sh", usage = "sh src/wc.sh < FILE", output = "LINES WORDS BYTES" } }),
      } } },
    { when = { agent = "planner", contains = "registered contract" }, reply = { text = "plan complete" } },

    -- the backend: a bug on the first attempt, the fix once it has seen the failure
    { when = { agent = "backend-1", contains = "failed verification" }, delay = 0.3,
      reply = { text = "Fixing the word count.", tool_calls = { write("src/wc.sh", FIXED) } } },
    { when = { agent = "backend-1", contains = "Task " }, delay = 0.3,
      reply = { text = "Writing the tool.", tool_calls = { write("src/wc.sh", BUGGY) } } },
    { when = { agent = "backend-1", contains = "wrote" }, once = false,
      reply = { tool_calls = { done("src/wc.sh prints lines, words and bytes") } } },

    { when = { agent = "test-1", contains = "Task " }, delay = 0.3, once = false,
      reply = { text = "Writing the tests.", tool_calls = { write("tests/test_wc.sh", TESTS) } } },
    { when = { agent = "test-1", contains = "wrote" }, once = false,
      reply = { tool_calls = { done("tests/test_wc.sh covers three cases") } } },

    { when = { agent = "frontend-1", contains = "Task " }, once = false,
      reply = { tool_calls = { write("docs/USAGE.md", USAGE) } } },
    { when = { agent = "frontend-1", contains = "wrote" }, once = false,
      reply = { tool_calls = { done("docs/USAGE.md written") } } },

    { when = { agent = "reviewer", contains = "Automatic checks failed" }, once = false, reply = {
      text = '{"approved": false, "reasons": ["src/wc.sh counts every line as one word: use NF"]}' } },
    { when = { agent = "reviewer" }, once = false, reply = {
      text = '{"approved": true, "reasons": ["tests pass and the contract holds"]}' } },
  },
}
