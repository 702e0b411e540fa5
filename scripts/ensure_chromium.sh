#!/usr/bin/env bash
# Install Debian's chromium (used headless by the Playwright browser tests) when it is missing
# and apt can install it: as root, or through passwordless sudo. Silent when it is already
# there. Never fails the build: without chromium the browser tests skip (outside CI), so when
# it cannot be installed this prints one line saying why and carries on.
set -uo pipefail

CHROMIUM=/usr/bin/chromium
[ -x "$CHROMIUM" ] && exit 0

note() { echo "note: $1; browser tests will be skipped." >&2; }

if ! command -v apt-get >/dev/null 2>&1; then
    note "$CHROMIUM is missing and there is no apt-get to install it"
    exit 0
fi
if [ "$(id -u)" -eq 0 ]; then
    sudo=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo=(sudo -n)
else
    note "$CHROMIUM is missing; install it with: sudo apt-get install chromium"
    exit 0
fi

echo "Installing Debian's chromium for the browser tests (apt-get install chromium)..."
log=$(mktemp "${TMPDIR:-/tmp}/relance-apt.XXXXXX")
export DEBIAN_FRONTEND=noninteractive
# Recommends would pull a desktop's worth of packages; headless use needs only some fonts.
if "${sudo[@]}" apt-get update -qq >"$log" 2>&1 &&
    "${sudo[@]}" apt-get install -y -qq --no-install-recommends chromium fonts-liberation \
        >>"$log" 2>&1 &&
    [ -x "$CHROMIUM" ]; then
    rm -f "$log"
    exit 0
fi
tail -n 5 "$log" >&2
note "apt-get could not install chromium (full log: $log)"
exit 0
