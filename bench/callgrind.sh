#!/bin/bash
# bench/callgrind.sh [BATON] N [OUT]: instruction count of one `baton run` of the
# reference workflow (bench/orchestration.sh's team, bench/mock_openai.py at 0 ms)
# under valgrind --tool=callgrind, in a fresh workspace on /dev/shm. Prints the
# total; the profile goes to OUT (default /tmp/callgrind-N.out):
#   callgrind_annotate --inclusive=yes OUT | head -80       # where it goes
#   callgrind_annotate --inclusive=yes --tree=caller OUT    # who calls what
# Counts do not drift with the machine's load as times do (bench/README.md).
# LUA_DEBUG_LIB=DIR puts a liblua5.4.so.0 built with symbols first (readable
# luaV_execute, luaH_*, GC in the profile).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
if [ $# -ge 2 ] && ! [[ $1 =~ ^[0-9]+$ ]]; then BATON=$(realpath "$1"); shift; else BATON=$HERE/../build/baton; fi
N=${1:?usage: bench/callgrind.sh [BATON] N [OUT]}
OUT=${2:-/tmp/callgrind-$N.out}
D=$(mktemp -d "${BENCH_DIR:-/dev/shm}/baton-cg.XXXXXX")
trap 'kill "${MOCK:-}" 2>/dev/null || true; rm -rf "$D"' EXIT
mkdir -p "$D/ws/.baton/teams" "$D/ws/.baton/roles"
cp "$HERE/project/bench.lua" "$D/ws/.baton/teams/bench.lua"
cp "$HERE/project/bench_planner.lua" "$D/ws/.baton/roles/bench_planner.lua"
python3 "$HERE/mock_openai.py" "$N" 0 > "$D/port" &
MOCK=$!
for _ in $(seq 100); do [ -s "$D/port" ] && break; sleep 0.05; done
( cd "$D/ws" && OPENAI_API_KEY=bench OPENAI_BASE_URL="http://127.0.0.1:$(head -1 "$D/port")/v1" \
  LD_LIBRARY_PATH="${LUA_DEBUG_LIB:-}" valgrind --tool=callgrind --callgrind-out-file="$OUT" \
  "$BATON" run "write $N files" --team bench --jobs $((N > 0 ? N : 1)) --quiet --max-iterations 1000 \
  > /dev/null 2> "$D/err" ) || { [ "$N" -eq 0 ] || { cat "$D/err"; exit 1; }; }
callgrind_annotate "$OUT" 2>/dev/null | grep "PROGRAM TOTALS"
echo "profile: $OUT"
