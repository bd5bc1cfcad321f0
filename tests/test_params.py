"""params.yaml validation: every bad value is one line naming key, value and what is allowed."""

import copy
import os
import subprocess
import sys

import pytest
import yaml

from digitcmp import params as P
from digitcmp.errors import UserError
from tests.dvcproject import ROOT, TINY

pytestmark = pytest.mark.fast  # the fast lane: `make test-fast`


def with_(path: str, value):
    """TINY with one key (dotted path) set to `value`; value DELETE removes it."""
    params = copy.deepcopy(TINY)
    *parents, last = path.split(".")
    node = params
    for key in parents:
        node = node[key]
    if value is DELETE:
        del node[last]
    else:
        node[last] = value
    return params


DELETE = object()

BAD = [  # (key, value, what the message must contain)
    ("lr", -1.0, "a number > 0"),
    ("lr", 0, "a number > 0"),
    ("lr", "abc", "a number > 0"),
    ("lr", [1e-3, "x"], "'x' in"),
    ("lr", [], "an empty list"),
    ("lr", float("nan"), "a number > 0"),
    ("hidden", 0, "an integer >= 1"),
    ("hidden", 2.5, "an integer >= 1"),
    ("hidden", True, "an integer >= 1"),
    ("hidden", [50, -3], "-3 in"),
    ("lambda", -1, "a number >= 0"),
    ("lambda", "0.5", "a number >= 0"),
    ("data.source", "fashion", "mnist5k or mnist"),
    ("data.n_pairs", 0, "an integer >= 1"),
    ("data.n_pairs", 1251, "allowed: 2 to 1250"),
    ("data.seed", -1, "an integer >= 0"),
    ("data.download", "yes", "true or false"),
    ("train.epochs", 0, "an integer >= 1"),
    ("train.batch_size", 0, "an integer >= 1"),
    ("train.val_fraction", 0, "strictly between 0 and 1"),
    ("train.val_fraction", 1.0, "strictly between 0 and 1"),
    ("train.repeats", 1, "an integer >= 2"),
    ("train.workers", 0, "'auto' (one per core) or an integer >= 1"),
    ("train.workers", "many", "'auto' (one per core) or an integer >= 1"),
    ("train.backend", "threads", "fork, spawn, dask"),
    ("train.precision", "fp16", "auto, fp32, bf16"),
    ("train.device", "tpu", "'cpu' or 'cuda'"),
    ("train.curve_epochs", 0, "an integer >= 1"),
    ("train.standardise", "yes", "true or false"),
    ("extras.probcmp_conv.rotate", 90, "a number of degrees from 0 to 45"),
    ("extras.probcmp_conv.shift", [1, -1], "-1 is not allowed"),
    ("extras.probcmp_conv.elastic", float("inf"), "a number of pixels from 0 to 2"),
    ("extras.probcmp_conv.swap", "yes", "true, false"),
    ("extras.probcmp_conv.rotat", 10, "unknown key (did you mean 'rotate'?)"),
    ("extras.probcmp_conv.schedule", "cosine", "constant, onecycle"),
    ("extras.probcmp_conv.label_smoothing", 0.9, "a number from 0 to 0.5"),
    ("extras.probcmp_conv.batch_size", 0, "an integer >= 1"),
    ("extras.probcmp_conv.fit_pairs", 61, "an integer from 1 to data.n_pairs (60)"),
    ("extras.probcmp_conv.tta", 3, "0, 4, 8"),
    ("train.epochs", DELETE, "missing"),
    ("lamda", 0.5, "unknown key (did you mean 'lambda'?)"),
    ("train.epoch", 3, "unknown key (did you mean 'epochs'?)"),
    ("data.sorce", "mnist", "unknown key (did you mean 'source'?)"),
    ("train", [1, 2], "a mapping of keys"),
    ("extras.conv2x_sharing_aux.activation", "swish", "relu, leaky_relu, tanh, sigmoid"),
    ("extras.conv2x_sharing_aux.dropout", 1.0, "a number in [0, 1)"),
    ("extras.deepmlp_sharing_aux.depth", 0, "an integer from 1 to 64"),
    ("extras.deepmlp_sharing_aux.hidden", [8, 0], "0 in"),
    ("extras.deepmlp_sharing_aux.lr", DELETE, "missing"),
    ("extras.deepmlp_sharing_aux.dept", 2, "unknown key (did you mean 'depth'?)"),
    ("extras.probcmp_cnv", {"lr": 1e-3}, "unknown key (did you mean 'probcmp_conv'?)"),
]


@pytest.mark.parametrize("key, value, allowed", BAD, ids=[f"{k}=<deleted>" if v is DELETE else f"{k}={v!r}" for k, v, _ in BAD])
def test_bad_input_is_one_line_naming_key_value_and_allowed(key, value, allowed):
    with pytest.raises(UserError) as err:
        P.validate(with_(key, value))
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(f"{key}: ")
    assert allowed in message
    if value is not DELETE and "unknown key" not in allowed and not isinstance(value, (list, dict)):
        assert repr(value) in message  # the value, as the user wrote it


def test_count_of_bad_inputs():
    assert len(BAD) >= 20


def test_good_params_pass_and_axes_become_lists():
    params = P.validate(with_("lr", 1e-3))
    assert params["lr"] == [1e-3] and params["hidden"] == [16] and params["lambda"] == [0.5]
    assert params["extras"]["deepmlp_sharing_aux"] == {"lr": [1e-3], "hidden": [8], "lambda": [0.5], "depth": [2],
                                                       "width": [16]}
    assert P.load(ROOT / "params.yaml")["train"]["repeats"] == 30


def test_stage_prints_one_line_and_exits_2(tmp_path):
    (tmp_path / "params.yaml").write_text("lr: [abc]\n")
    proc = subprocess.run([sys.executable, "-m", "stages.prepare"], cwd=tmp_path,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == ["error: lr: 'abc' in ['abc'] is not allowed; allowed: a number > 0, or a list of them"]


def test_quick_profile_is_params_yaml_with_smaller_values():
    """params_quick.yaml (`make quick`) stands in for params.yaml: same keys, valid, small; of the
    extras, a subset with a subset of their axes (a new architecture needs no quick grid)."""
    def keys(tree, prefix=""):
        return {prefix + k for k in tree} | {p for k, v in tree.items() if isinstance(v, dict)
                                              for p in keys(v, f"{prefix}{k}.")}

    full, quick = (yaml.safe_load((ROOT / name).read_text()) for name in ("params.yaml", "params_quick.yaml"))
    full_extras, quick_extras = full.pop("extras"), quick.pop("extras")
    assert keys(quick) == keys(full)
    assert quick_extras and set(quick_extras) <= set(full_extras)
    assert all(set(axes) <= set(full_extras[name]) for name, axes in quick_extras.items())
    quick["extras"] = quick_extras
    checked = P.validate(quick)
    assert checked["data"]["n_pairs"] <= 100 and checked["train"]["epochs"] <= 2 and checked["train"]["repeats"] == 2
    assert len(checked["lr"]) == len(checked["hidden"]) == len(checked["lambda"]) == 1
