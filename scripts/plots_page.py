#!/usr/bin/env python3
"""Build the HTML template that `dvc plots show` fills, with Vega inlined (run by `make setup`).

DVC's default page loads Vega, Vega-Lite and Vega-Embed from a CDN, so it is blank
offline. `.dvc/config` points `plots.html_template` at the file this script writes:
`scripts/plots_page.html` with the three libraries' minified builds inlined, fetched
once from the npm registry with `npm pack` (pinned versions, checked by npm against the
registry's integrity hashes; npm's cache makes reruns offline). Inlined rather than
linked so the page works wherever `dvc plots show -o DIR` puts it, and when copied.

    python3 scripts/plots_page.py [OUTPUT]      # default: build/dvc_plots_page.html

Standard library only: it runs before the project's virtual environment matters.
"""

import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SKELETON = ROOT / "scripts" / "plots_page.html"
DEFAULT_OUTPUT = ROOT / "build" / "dvc_plots_page.html"
MARKER = "<!-- VEGA_SCRIPTS -->"
# Load order matters: vega-embed needs the globals of the other two. vega-lite 5 / vega 5
# compile DVC's templates (schema vega-lite v5); DVC's own page pins older 5.x builds.
PACKAGES = (("vega", "5.33.1"), ("vega-lite", "5.23.0"), ("vega-embed", "6.29.0"))
# DVC fills its page with str.replace on these; they must not occur inside the libraries.
DVC_PLACEHOLDERS = ("{plot_divs}", "{scripts}", "{refresh_tag}")


def fetch(name: str, version: str, workdir: Path) -> str:
    """The package's build/<name>.min.js, from the tarball `npm pack` downloads."""
    out = subprocess.run(["npm", "pack", "--silent", f"{name}@{version}"], cwd=workdir,
                         check=True, capture_output=True, text=True).stdout.split()
    with tarfile.open(workdir / out[-1]) as tar:
        member = tar.extractfile(f"package/build/{name}.min.js")
        if member is None:
            raise SystemExit(f"plots_page: {name}@{version} has no build/{name}.min.js")
        return member.read().decode()


def script_tag(name: str, version: str, code: str) -> str:
    for placeholder in DVC_PLACEHOLDERS:
        if placeholder in code:
            raise SystemExit(f"plots_page: {name}@{version} contains {placeholder!r}, which DVC would replace")
    # "</script" inside the code would end the element early; "<\/script" means the same in JS.
    code = code.replace("</script", "<\\/script")
    return f'<script data-package="{name}@{version}">\n{code}\n</script>'


def build(output: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tags = [script_tag(name, version, fetch(name, version, Path(tmp))) for name, version in PACKAGES]
    page = SKELETON.read_text(encoding="utf-8")
    if MARKER not in page or "{plot_divs}" not in page:
        raise SystemExit(f"plots_page: {SKELETON} lacks {MARKER} or {{plot_divs}}")
    page = page.replace(MARKER, "\n".join(tags))
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(f".{output.name}.tmp")
    tmp.write_text(page, encoding="utf-8")
    os.replace(tmp, output)  # whole or not at all
    print(f"plots_page: wrote {output.relative_to(ROOT) if output.is_relative_to(ROOT) else output} "
          f"({', '.join(f'{n}@{v}' for n, v in PACKAGES)} inlined)")


if __name__ == "__main__":
    build(Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else DEFAULT_OUTPUT)
