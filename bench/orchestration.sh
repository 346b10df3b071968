#!/bin/bash
# bench/orchestration.sh: the reference workflow (issue 8) through `baton run`
# with the openai provider pointed at bench/mock_openai.py over real HTTP.
# One requirement -> 1 planner call, N tasks x 2 worker calls, 1 review call.
# Prints one line per configuration with medians of REPEAT runs.
#   bench/orchestration.sh [BATON] ; env: NS="16 64 256" LATENCIES="50 0" REPEAT=5
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BATON=$(realpath "${1:-$HERE/../build/baton}")
NS=${NS:-"16 64 256"}
LATENCIES=${LATENCIES:-"50 0"}
REPEAT=${REPEAT:-5}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"; [ -n "${MOCK:-}" ] && kill $MOCK 2>/dev/null || true' EXIT

make_project() { # $1 = folder
  mkdir -p "$1/.baton/teams" "$1/.baton/roles"
  cat > "$1/.baton/teams/bench.lua" <<'LUA'
return { name = "bench", agents = { { name = "planner", role = "bench_planner" },
  { name = "worker", role = "backend" }, { name = "reviewer", role = "review" } },
  models = { default = "openai:mock" } }
LUA
  cat > "$1/.baton/roles/bench_planner.lua" <<'LUA'
local p = require "roles.planner"
local r = {} for k, v in pairs(p) do r[k] = v end
r.name, r.max_turns = "planner", 1   -- one planner call, as the reference workflow says
return r
LUA
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

echo "# baton orchestration benchmark, $(date -u +%F), $(nproc) cores, $(uname -r)"
echo "# N latency_ms requests wall_s limit_s wall/limit cpu_s cpu_ms/request maxrss_kb"
for lat in $LATENCIES; do
  for n in $NS; do
    python3 "$HERE/mock_openai.py" "$n" "$lat" > "$TMP/port" &
    MOCK=$!
    for _ in $(seq 100); do [ -s "$TMP/port" ] && break; sleep 0.05; done
    port=$(head -1 "$TMP/port")
    : > "$TMP/wall"; : > "$TMP/cpu"; : > "$TMP/rss"
    for i in $(seq "$REPEAT"); do
      ws="$TMP/ws-$n-$lat-$i"; make_project "$ws"
      ( cd "$ws" && OPENAI_API_KEY=bench OPENAI_BASE_URL="http://127.0.0.1:$port/v1" \
        /usr/bin/time -f "%e %U %S %M" -o "$TMP/time" "$BATON" run "write $n files" \
        --team bench --jobs "$n" --quiet --max-iterations 1000 > /dev/null 2> "$TMP/err" ) || {
          echo "run failed:"; cat "$TMP/err"; exit 1; }
      read -r wall user sys rss < "$TMP/time"
      echo "$wall" >> "$TMP/wall"
      echo "$user $sys" | awk '{print $1 + $2}' >> "$TMP/cpu"
      echo "$rss" >> "$TMP/rss"
    done
    kill $MOCK; wait $MOCK 2>/dev/null || true; MOCK=
    reqs=$((2 + 2 * n))
    wall=$(median < "$TMP/wall"); cpu=$(median < "$TMP/cpu"); rss=$(median < "$TMP/rss")
    awk -v n="$n" -v lat="$lat" -v r="$reqs" -v w="$wall" -v c="$cpu" -v m="$rss" 'BEGIN {
      limit = 4 * lat / 1000; ratio = limit > 0 ? sprintf("%.2f", w / limit) : "-";
      printf "%d %d %d %.3f %.3f %s %.3f %.3f %d\n", n, lat, r, w, limit, ratio, c, 1000 * c / r, m }'
  done
done
echo "# start-up"
hyperfine -N --warmup 5 --runs 50 "$BATON --version" --export-json "$TMP/h.json" > /dev/null 2>&1 || \
  hyperfine --warmup 5 --runs 50 "$BATON --version" --export-json "$TMP/h.json" > /dev/null
python3 -c "import json;r=json.load(open('$TMP/h.json'))['results'][0];print('baton --version median %.2f ms' % (r['median']*1000))"
