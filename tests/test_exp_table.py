"""scripts/exp_table.py: experiments side by side within a terminal's width (the README's
command on a real project: tests/test_readme.py)."""

from digitcmp.training.registry import NAMES
from scripts import exp_table


def cell(line: str, j: int) -> str:
    """Column j's text on one line of `render`'s output."""
    start = exp_table.LABEL + j * exp_table.CELL
    return line[start:start + exp_table.CELL].strip()


def test_many_experiments_split_into_blocks_that_fit_the_width():
    cols = [(f"exp-{i:02d}-with-a-long-name", {"lambda": 0.25 * i, "lr": 0.001},
             {"best": "conv2_sharing_aux", "conv2_sharing_aux.mean": 0.8 + i / 100, "conv2_sharing_aux.std": 0.01,
              "mlp_sharing_aux.mean": 0.8})
            for i in range(12)]
    text = exp_table.render(cols, exp_table.rows(cols, only_changed=True), 120)
    assert max(map(len, text.splitlines())) <= 120
    blocks = [b.splitlines() for b in text.split("\n\n")]
    assert len(blocks) == 2
    # A name wider than its cell wraps, in full: "exp-00-with-" / "a-long-name"
    header, rows = blocks[0][:2], blocks[0][2:]
    assert [cell(line, 0) for line in header] == ["exp-00-with-", "a-long-name"]
    assert [line.split()[0] for line in rows] == ["lambda", "conv2_sharing_aux"]  # lr and mlp unchanged
    assert rows[1].split()[1] == "0.8000*"  # the best, marked
    assert blocks[1][2].startswith("lambda")


def test_values_are_never_cut():
    cols = [("base", {"lr": [1e-5, 1e-3, 1e-1], "lambda": [0.25, 0.5]}, {}),
            ("exp", {"lr": 1e-5, "lambda": 1.0}, {})]
    lines = exp_table.render(cols, exp_table.rows(cols, only_changed=False), 120).splitlines()
    lam = lines.index(next(line for line in lines if line.startswith("lambda")))
    lr = lines.index(next(line for line in lines if line.startswith("lr")))
    assert [cell(line, 0) for line in lines[lam:lr]] == ["[0.25,0.5]"]
    assert [cell(line, 0) for line in lines[lr:]] == ["[1e-05,", "0.001,0.1]"]  # wrapped after a comma
    assert cell(lines[lr], 1) == "1e-05"  # 1e-5 does not read as 0
    assert f"with {len(NAMES)} architectures" in " ".join(exp_table.__doc__.split())  # the registry's count
