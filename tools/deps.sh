#!/bin/sh
# tools/deps.sh: make sure every Debian package the build, the tests and the
# demo need is installed. As root it installs what is missing; otherwise it
# prints the exact command to run and stops.
set -eu

PACKAGES="cmake make gcc pkg-config liblua5.4-dev lua-cjson-dev libcurl4-openssl-dev
libsqlite3-dev sqlite3 python3 ca-certificates util-linux procps chromium"

missing=""
for p in $PACKAGES; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    case "$status" in
        *"install ok installed"*) ;;
        *) missing="$missing $p" ;;
    esac
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    echo "baton needs these Debian packages:$missing" >&2
    echo "run: sudo apt-get update && sudo apt-get install -y$missing" >&2
    exit 1
fi
echo "installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q $missing
