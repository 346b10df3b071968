#!/bin/bash
# bench/orchestration.sh: the reference workflow (issue 8) through `baton run`
# with the openai provider pointed at bench/mock_openai.py over real HTTP.
# One requirement -> 1 planner call, N tasks x 2 worker calls, 1 review call.
# Prints one line per configuration with medians of REPEAT runs, an N = 0 run
# (the planner adds nothing: the run fails at once, exit 1), `baton --version`
# (hyperfine), and writes the block into OUT (between markers, so the rest of
# bench/RESULTS.md stays).
#   bench/orchestration.sh [BATON] ; env: NS="16 64 256" LATENCIES="50 0" REPEAT=5
#   OUT=bench/RESULTS.md (OUT=- to write nothing)
#   BENCH_DIR=/tmp: where the workspaces go (e.g. /dev/shm for tmpfs)
# Workspaces are kept until the script ends: on ext4 without a journal (this
# VM's disk) creating a file skips every inode freed in the last ~10 s, so an
# rm -rf just before a run made its file creation cost 250-350 us instead
# of 30-50 us, and the figures drifted with whatever ran before.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BATON=$(realpath "${1:-$HERE/../build/baton}")
NS=${NS:-"16 64 256"}
LATENCIES=${LATENCIES:-"50 0"}
REPEAT=${REPEAT:-5}
OUT=${OUT:-$HERE/RESULTS.md}
TMP=$(mktemp -d "${BENCH_DIR:-${TMPDIR:-/tmp}}/baton-bench.XXXXXX")
trap 'rm -rf "$TMP"; [ -n "${MOCK:-}" ] && kill $MOCK 2>/dev/null || true' EXIT

make_project() { # $1 = folder: the team and planner role of bench/project/
  mkdir -p "$1/.baton/teams" "$1/.baton/roles"
  cp "$HERE/project/bench.lua" "$1/.baton/teams/bench.lua"
  cp "$HERE/project/bench_planner.lua" "$1/.baton/roles/bench_planner.lua"
}

# Stops with a message: the mock goes too (a failure in the piped results()
# runs in a subshell, where the EXIT trap does not).
die() { echo "$*"; [ -n "${MOCK:-}" ] && kill "$MOCK" 2>/dev/null; exit 1; }

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

# How many requests the mock on port $1 has answered so far (GET /stats).
served() {
  python3 -c "import json,sys,urllib.request as u; print(json.load(u.urlopen('http://127.0.0.1:%s/stats' % sys.argv[1]))['requests'])" "$1"
}

# measure N LATENCY_MS: REPEAT runs against one mock; prints the table line.
measure() {
  local n=$1 lat=$2 want=0 jobs=$1 reqs=$((2 + 2 * $1))
  if [ "$n" -eq 0 ]; then want=1 jobs=1 reqs=1; fi # nothing planned: FAILED, exit 1
  python3 "$HERE/mock_openai.py" "$n" "$lat" > "$TMP/port" &
  MOCK=$!
  for _ in $(seq 100); do [ -s "$TMP/port" ] && break; sleep 0.05; done
  local port; port=$(head -1 "$TMP/port")
  : > "$TMP/wall"; : > "$TMP/cpu"; : > "$TMP/rss"
  for i in $(seq "$REPEAT"); do
    local ws="$TMP/ws-$n-$lat-$i" rc=0 before
    before=$(served "$port")
    make_project "$ws"
    ( cd "$ws" && OPENAI_API_KEY=bench OPENAI_BASE_URL="http://127.0.0.1:$port/v1" \
      /usr/bin/time -f "%e %U %S %M" -o "$TMP/time" "$BATON" run "write $n files" \
      --team bench --jobs "$jobs" --quiet --max-iterations 1000 > /dev/null 2> "$TMP/err" ) || rc=$?
    if [ "$rc" -ne "$want" ]; then cat "$TMP/err"; die "run failed (exit $rc, expected $want)"; fi
    local made=$(( $(served "$port") - before ))
    if [ "$made" -ne "$reqs" ]; then die "run made $made LLM requests, the workflow has $reqs"; fi
    read -r wall user sys rss < <(tail -1 "$TMP/time")
    echo "$wall" >> "$TMP/wall"
    echo "$user $sys" | awk '{print $1 + $2}' >> "$TMP/cpu"
    echo "$rss" >> "$TMP/rss"
  done
  # the floor: the same requests from bench/floor.c, which does nothing else
  : > "$TMP/floor"
  if [ "$n" -gt 0 ]; then
    for i in $(seq "$REPEAT"); do "$TMP/floor-client" "$port" "$n" >> "$TMP/floor" || die "floor failed"; done
  fi
  kill $MOCK; wait $MOCK 2>/dev/null || true; MOCK=
  local wall cpu rss floor
  wall=$(median < "$TMP/wall"); cpu=$(median < "$TMP/cpu"); rss=$(median < "$TMP/rss")
  floor=$( [ -s "$TMP/floor" ] && median < "$TMP/floor" || echo 0)
  echo "$n $rss" >> "$TMP/rss-$lat"
  awk -v n="$n" -v lat="$lat" -v r="$reqs" -v w="$wall" -v c="$cpu" -v m="$rss" -v f="$floor" 'BEGIN {
    limit = (n > 0 ? 4 : 1) * lat / 1000; ratio = limit > 0 ? sprintf("%.2f", w / limit) : "-";
    fl = f > 0 ? sprintf("%.3f", f) : "-";
    printf "%d %d %d %.3f %.3f %s %.3f %.3f %d %s\n", n, lat, r, w, limit, ratio, c, 1000 * c / r, m, fl }'
}

results() {
  echo "# baton orchestration benchmark, $(date -u '+%F %H:%M UTC'), REPEAT=$REPEAT (medians)"
  echo "# machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'),"\
    "Linux $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "# workspaces in $(dirname "$TMP") ($(df -T "$TMP" | awk 'NR == 2 {print $2}'))"
  echo "# floor_s: the same requests from bench/floor.c, a client that does nothing else (mock + kernel)"
  echo "# N latency_ms requests wall_s limit_s wall/limit cpu_s cpu_ms/request maxrss_kb floor_s"
  for lat in $LATENCIES; do
    for n in $NS; do measure "$n" "$lat"; done
    # peak RSS growth per concurrent agent (--jobs N): between the smallest and largest N
    sort -n "$TMP/rss-$lat" | awk -v lat="$lat" 'NR == 1 {n0 = $1; r0 = $2} {n1 = $1; r1 = $2}
      END { if (n1 > n0) printf "# rss growth at %d ms: %.1f KB per concurrent agent (N %d -> %d)\n",
        lat, (r1 - r0) / (n1 - n0), n0, n1 }'
  done
  echo "# start-up: N = 0 (start-up, one planner request, FAILED exit 1)"
  measure 0 0
  # the same with hyperfine (finer than /usr/bin/time's 10 ms): a fresh database each run
  local ws="$TMP/ws-0"; make_project "$ws"
  python3 "$HERE/mock_openai.py" 0 0 > "$TMP/port" &
  MOCK=$!
  for _ in $(seq 100); do [ -s "$TMP/port" ] && break; sleep 0.05; done
  ( cd "$ws" && OPENAI_API_KEY=bench OPENAI_BASE_URL="http://127.0.0.1:$(head -1 "$TMP/port")/v1" \
    hyperfine -N -i --warmup 3 --runs 30 --prepare "rm -rf $ws/.baton/baton.db $ws/.baton/baton.db-wal $ws/.baton/baton.db-shm $ws/.baton/objects" \
    "$BATON run 'write 0 files' --team bench --jobs 1 --quiet" --export-json "$TMP/h0.json" > /dev/null 2>&1 )
  kill $MOCK; wait $MOCK 2>/dev/null || true; MOCK=
  python3 -c "import json;r=json.load(open('$TMP/h0.json'))['results'][0];print('# N = 0 run (hyperfine) median %.1f ms wall, mean %.1f ms user+sys' % (r['median']*1000, (r['user']+r['system'])*1000))"
  hyperfine -N --warmup 5 --runs 50 "$BATON --version" --export-json "$TMP/h.json" > /dev/null 2>&1 || \
    hyperfine --warmup 5 --runs 50 "$BATON --version" --export-json "$TMP/h.json" > /dev/null
  python3 -c "import json;r=json.load(open('$TMP/h.json'))['results'][0];print('# baton --version median %.2f ms' % (r['median']*1000))"
}

cc -O2 -Wall -Wextra -o "$TMP/floor-client" "$HERE/floor.c"
results | tee "$TMP/block"
[ "$OUT" = "-" ] && exit 0
# Replace the block between the markers in OUT (or append one).
python3 - "$OUT" "$TMP/block" <<'PY'
import os, sys
out, block = sys.argv[1], open(sys.argv[2]).read()
begin, end = "<!-- orchestration.sh: begin -->", "<!-- orchestration.sh: end -->"
text = open(out).read() if os.path.exists(out) else "# Benchmark results\n"
new = begin + "\n```\n" + block + "```\n" + end
if begin in text and end in text:
    text = text[:text.index(begin)] + new + text[text.index(end) + len(end):]
else:
    text = text.rstrip("\n") + "\n\n## Latest run of bench/orchestration.sh\n\n" + new + "\n"
open(out, "w").write(text)
PY
echo "wrote $(realpath "$OUT")"
