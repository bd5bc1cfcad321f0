"""Rebuild `.dvc/plots_page.html`, the page `dvc plots show` fills, with Vega inlined.

DVC's default page loads Vega, Vega-Lite and Vega-Embed from a CDN, so it is blank
offline. `.dvc/config` points `plots.html_template` at `.dvc/plots_page.html`, which is
committed, so that every clone draws its plots offline with nothing to build first. This
script makes that file: `scripts/plots_page.html` with the three libraries' minified
builds inlined. They come from a PyPI package, `django-js-lib-vega-embed` (a dev
dependency; it needs no Django: it is the npm builds, without their source-map comment,
as static files), so neither building nor using the page needs npm. Each file is pinned
by its SHA-256 below: a new package version that changes them stops here until the pins
are updated. Inlined rather than linked so that the page works wherever
`dvc plots show -o DIR` puts it, and when copied.

    .venv/bin/python -m scripts.plots_page [OUTPUT]     # default: .dvc/plots_page.html
"""

import hashlib
import importlib.util
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SKELETON = ROOT / "scripts" / "plots_page.html"
DEFAULT_OUTPUT = ROOT / ".dvc" / "plots_page.html"
MARKER = "<!-- VEGA_SCRIPTS -->"
SOURCE = "js_lib_vega_embed"  # the import name of django-js-lib-vega-embed==6.29.0.3
# Load order matters: vega-embed needs the globals of the other two. Vega-Lite 5 compiles
# DVC's templates (schema vega-lite v5).
LIBRARIES = (
    ("vega", "5.33.0", "vega5.js", "6a6c1e9978bd78435dfbb51344d1d536319262e70f2c569ca9764ce5acc203da"),
    ("vega-lite", "5.23.0", "vega-lite5.js", "594f554cecafe6b992d51b7c00f4c0e5fc5f92114c7e1a641d2cf150f21cc60d"),
    ("vega-embed", "6.29.0", "vega-embed6.js", "dbd49aff8999dfb12983cbcefeefb355ae72af68d7556ddcec12193a0eb46450"),
)
# DVC fills its page with str.replace on these; they must not occur inside the libraries.
DVC_PLACEHOLDERS = ("{plot_divs}", "{scripts}", "{refresh_tag}")


def static_dir() -> Path:
    # find_spec locates the package without importing it (its apps.py would want Django).
    spec = importlib.util.find_spec(SOURCE)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("error: plots_page: django-js-lib-vega-embed is not installed; "
                         "allowed: pip install 'django-js-lib-vega-embed==6.29.0.3'")
    return Path(spec.submodule_search_locations[0]) / "static" / SOURCE


def script_tag(name: str, version: str, path: Path, sha256: str) -> str:
    blob = path.read_bytes()
    if hashlib.sha256(blob).hexdigest() != sha256:
        raise SystemExit(f"error: plots_page: {path}: not the pinned {name}@{version} (SHA-256 differs)")
    code = blob.decode("utf-8")
    for placeholder in DVC_PLACEHOLDERS:
        if placeholder in code:
            raise SystemExit(f"error: plots_page: {name}@{version} contains {placeholder!r}, which DVC would replace")
    # "</script" inside the code would end the element early; "<\/script" means the same in JS.
    code = code.replace("</script", "<\\/script")
    return f'<script data-package="{name}@{version}">\n{code}\n</script>'


def page() -> str:
    src = static_dir()
    tags = [script_tag(name, version, src / file, sha) for name, version, file, sha in LIBRARIES]
    skeleton = SKELETON.read_text(encoding="utf-8")
    if MARKER not in skeleton or "{plot_divs}" not in skeleton:
        raise SystemExit(f"error: plots_page: {SKELETON} lacks {MARKER} or {{plot_divs}}")
    return skeleton.replace(MARKER, "\n".join(tags))


def build(output: Path) -> None:
    text = page()
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(f".{output.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, output)  # whole or not at all
    print(f"plots_page: wrote {output} ({', '.join(f'{n}@{v}' for n, v, _, _ in LIBRARIES)} inlined)")


if __name__ == "__main__":
    build(Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else DEFAULT_OUTPUT)
