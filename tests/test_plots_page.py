"""The offline plots page: committed, rebuilt from a PyPI package, no npm anywhere."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
COMMITTED = ROOT / ".dvc" / "plots_page.html"


def path_without_npm(tmp_path: Path) -> str:
    """A PATH with the venv's programs and git, and no npm or node."""
    tools = tmp_path / "tools"
    tools.mkdir()
    git = shutil.which("git")
    assert git is not None
    (tools / "git").symlink_to(git)
    path = os.pathsep.join([str(VENV_BIN), str(tools)])
    assert shutil.which("npm", path=path) is None and shutil.which("node", path=path) is None
    return path


def test_config_points_dvc_at_the_committed_page_and_never_phones_home():
    config = (ROOT / ".dvc" / "config").read_text()
    assert "html_template = plots_page.html" in config
    assert "analytics = false" in config and "check_update = false" in config
    page = COMMITTED.read_text(encoding="utf-8")
    assert "{plot_divs}" in page and "{scripts}" not in page  # DVC's CDN scripts are left out
    for package in ("vega@5.33.0", "vega-lite@5.23.0", "vega-embed@6.29.0"):
        assert page.count(f'<script data-package="{package}">') == 1


def test_page_step_runs_without_npm_and_rebuilds_the_committed_page(tmp_path):
    out = tmp_path / "page.html"
    env = {**os.environ, "PATH": path_without_npm(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "scripts.plots_page", str(out)], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert out.read_bytes() == COMMITTED.read_bytes()


def test_a_library_that_is_not_the_pinned_build_is_refused(tmp_path):
    from scripts import plots_page

    name, version, file, sha = plots_page.LIBRARIES[0]
    fake = tmp_path / file
    fake.write_bytes((plots_page.static_dir() / file).read_bytes() + b"\n")
    with pytest.raises(SystemExit, match=r"not the pinned vega@5\.33\.0"):
        plots_page.script_tag(name, version, fake, sha)


def test_both_architecture_plots_take_their_order_from_the_data():
    # The CSVs list Table 2's order, then the extras; a hand-written list in a template
    # would put the extras (which params can change) in an order of Vega's choosing.
    from digitcmp.training.models import ARCHITECTURES

    for name in ("errorbars", "boxplot"):
        template = (ROOT / ".dvc" / "plots" / f"{name}.json").read_text().lower()
        assert not any(arch in template for arch in ARCHITECTURES), name
    assert '"sort": null' in (ROOT / ".dvc/plots/errorbars.json").read_text()
    assert '"first_row"' in (ROOT / ".dvc/plots/boxplot.json").read_text()
