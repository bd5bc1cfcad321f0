#!/usr/bin/env bash
# Render `dvc plots show`'s page in headless Chromium with the network off and save a PNG,
# to check by eye that every plot is drawn offline. Needs Debian's `chromium`
# (apt-get install chromium); not part of `make setup`.
#
#   scripts/screenshot_plots.sh [OUT.png] [HEIGHT]     # default: build/plots_screenshot.png 4600
#
# Network off: inside a fresh network namespace (unshare -n: no interface but a downed
# loopback) where that is allowed, else Chromium's own resolver and proxy point nowhere.
# Chromium's console (JavaScript errors included) goes to build/plots_screenshot.log.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-build/plots_screenshot.png}"
height="${2:-4600}"
page_dir="build/plots_page_check"
log="build/plots_screenshot.log"
mkdir -p build "$(dirname "$out")"
rm -rf "$page_dir"
PATH="$PWD/.venv/bin:$PATH" dvc plots show -o "$page_dir" >/dev/null
profile="$(mktemp -d)"
trap 'rm -rf "$profile"' EXIT

chrome=(chromium --headless --no-sandbox --disable-gpu --disable-background-networking
        --disable-component-update --no-first-run --no-default-browser-check
        --disable-sync --disable-extensions --user-data-dir="$profile"
        --host-resolver-rules="MAP * ~NOTFOUND" --proxy-server="127.0.0.1:9"
        --enable-logging=stderr --v=0 --hide-scrollbars
        --window-size=1400,"$height" --virtual-time-budget=15000
        --screenshot="$PWD/$out" "file://$PWD/$page_dir/index.html")
if unshare -n true 2>/dev/null; then
    echo "network: off (unshare -n)"
    unshare -n "${chrome[@]}" 2>"$log" || { cat "$log" >&2; exit 1; }
else
    echo "network: Chromium's resolver and proxy point nowhere (unshare -n not allowed here)"
    "${chrome[@]}" 2>"$log" || { cat "$log" >&2; exit 1; }
fi
grep -i "console\|uncaught\|error" "$log" | grep -v "dbus\|gpu\|GLES\|viz\|sandbox" || true
echo "screenshot: $out"
