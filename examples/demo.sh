#!/bin/sh
# examples/demo.sh: what `make demo` runs. A real orchestration, offline:
# the wordcount project is copied to a fresh workspace and taken from one
# requirement to verified, committed code. No network, no key.
set -eu
BATON=$(cd "$(dirname "${1:-build/baton}")" && pwd)/$(basename "${1:-build/baton}")
HERE=$(cd "$(dirname "$0")" && pwd)
WS=${DEMO_WORKSPACE:-$(dirname "$BATON")/demo-workspace}

rm -rf "$WS"
mkdir -p "$WS"
cp -R "$HERE/wordcount/." "$WS/"
cd "$WS"
echo "== workspace: $WS"
"$BATON" run "Add a word-count tool src/wc.sh that prints the lines, words and bytes of its standard input, with tests and usage docs" --jobs 4
echo
echo "== baton tasks --tree"
"$BATON" tasks --tree
echo
echo "== the verified tool"
printf 'hello baton\nfrom the demo\n' | sh src/wc.sh
echo
echo "== baton report"
"$BATON" report -o "$WS/report.html"
echo "open it in a browser: file://$WS/report.html"
