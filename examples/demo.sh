#!/bin/sh
# examples/demo.sh: what `make demo` runs. Until the orchestration engine
# lands this is the honest smaller demo: the machine report, then a script
# run through `baton exec` using the modules that exist.
set -eu
BATON=${1:-build/baton}
echo "== baton doctor"
"$BATON" doctor
echo
echo "== baton exec examples/hello.lua"
"$BATON" exec examples/hello.lua one two
