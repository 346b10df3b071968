-- The test engineer: writes tests only; its harness lets it write nothing
-- but tests/ (and run the test command).
local coder = require "roles.coder"
local role = {}
for k, v in pairs(coder) do role[k] = v end
role.name = "test"
role.description = "writes and runs tests"
role.keywords = { "test", "tests", "verify", "check", "spec", "coverage" }
role.prompt = coder.prompt .. "\nYou write tests under tests/ only; never change the code under test."
role.harness = {}
for k, v in pairs(coder.harness) do role.harness[k] = v end
role.harness.write = { "tests/**" }
return role
