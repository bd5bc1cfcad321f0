#!/usr/bin/env bash
# Render `dvc plots show`'s page in headless Chromium with the network off and save a PNG,
# to check by eye that every plot is drawn offline. Needs Debian's `chromium`
# (apt-get install chromium); not part of `make setup`.
#
#   scripts/screenshot_plots.sh [OUT.png] [HEIGHT]     # default: build/plots_screenshot.png 9000
#
# OUT may be absolute or relative to the current directory. The window is HEIGHT pixels
# tall and the blank space below the last figure is cropped; if the page is taller than
# the window the script fails and says so, rather than cut a figure off.
# Network off: inside a fresh network namespace (unshare -n: no interface but a downed
# loopback) where that is allowed, else Chromium's own resolver and proxy point nowhere.
# Chromium's console (JavaScript errors included) goes to build/plots_screenshot.log.
set -euo pipefail
root="$(realpath -- "$(dirname "$0")/..")"
out="$(realpath -m -- "${1:-$root/build/plots_screenshot.png}")"
cd "$root"
height="${2:-9000}"
page_dir="build/plots_page_check"
log="build/plots_screenshot.log"
mkdir -p build "$(dirname "$out")"
rm -rf "$page_dir" "$out"
PATH="$root/.venv/bin:$PATH" dvc plots show -o "$page_dir" >/dev/null
profile="$(mktemp -d)"
trap 'rm -rf "$profile"' EXIT

chrome=(chromium --headless --no-sandbox --disable-gpu --disable-background-networking
        --disable-component-update --no-first-run --no-default-browser-check
        --disable-sync --disable-extensions --user-data-dir="$profile"
        --host-resolver-rules="MAP * ~NOTFOUND" --proxy-server="127.0.0.1:9"
        --enable-logging=stderr --v=0 --hide-scrollbars
        --window-size=1400,"$height" --virtual-time-budget=15000
        --screenshot="$out" "file://$root/$page_dir/index.html")
if unshare -n true 2>/dev/null; then
    echo "network: off (unshare -n)"
    unshare -n "${chrome[@]}" 2>"$log" || { cat "$log" >&2; exit 1; }
else
    echo "network: Chromium's resolver and proxy point nowhere (unshare -n not allowed here)"
    "${chrome[@]}" 2>"$log" || { cat "$log" >&2; exit 1; }
fi
grep -i "console\|uncaught\|error" "$log" | grep -v "dbus\|gpu\|GLES\|viz\|sandbox" || true
# Chromium exits 0 even when it wrote nothing: check the file.
if [ ! -s "$out" ]; then
    echo "error: $out: Chromium wrote no screenshot; see $log" >&2
    exit 1
fi
# Crop the blank space below the last figure; a page that reaches the bottom edge was cut.
"$root/.venv/bin/python" - "$out" "$height" <<'EOF'
import sys
from PIL import Image, ImageChops

path, height = sys.argv[1], int(sys.argv[2])
img = Image.open(path).convert("RGB")
box = ImageChops.difference(img, Image.new("RGB", img.size, (255, 255, 255))).getbbox()
if box is None:
    sys.exit(f"error: {path}: the page rendered blank")
bottom = box[3]
if bottom >= img.height - 20:
    sys.exit(f"error: {path}: the page is taller than {height} px and was cut; pass a larger HEIGHT")
img.crop((0, 0, img.width, bottom + 20)).save(path)
print(f"page height: {bottom} px of {height}")
EOF
echo "screenshot: $out"
