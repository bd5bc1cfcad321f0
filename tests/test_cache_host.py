"""The training cache and the host kind: one kind's bits are never served as another's."""

import json

from digitcmp import host
from digitcmp.cache import task_key
from tests.dvcproject import clone, env, run, study_argv

ARCH = "shallow_sharing_aux"
XEON = {"cpu_vendor": "GenuineIntel", "cpu_model": "Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz",
        "cpu_family": "6", "kernel_flags": ["sse4_1", "sse4_2", "avx", "avx2", "fma", "f16c", "avx512f"],
        "aten_capability": "AVX512", "torch": "2.14.1+cu130", "blas": "2024.2", "onednn": "v3.12.0",
        "mkldnn_enabled": True}


def test_every_field_of_the_host_kind_changes_its_id_and_the_cache_key():
    ids = {host.kind_id(XEON)}
    for field, other in [("cpu_vendor", "AuthenticAMD"), ("cpu_model", "AMD EPYC"), ("cpu_family", "25"),
                         ("kernel_flags", ["avx2"]), ("aten_capability", "AVX2"), ("torch", "2.13.0"),
                         ("blas", "2023.1"), ("onednn", "v3.5.0"), ("mkldnn_enabled", False)]:
        ids.add(host.kind_id({**XEON, field: other}))
    assert len(ids) == 10
    task = {"spec": {"arch": ARCH}, "draw": 1}
    assert task_key(task, "data", "cpu", host.kind_id(XEON)) != task_key(task, "data", "cpu", host.kind_id())


def test_this_hosts_kind_names_its_cpu_and_software():
    d = host.describe()
    assert set(d) == set(XEON)
    assert d["cpu_vendor"] and d["torch"] and d["aten_capability"].lower() in host.kind_id()


def test_an_entry_from_another_host_kind_is_never_served(base, tmp_path):
    """Each entry of a real run rewritten as a Xeon's, with other accuracies, under the name
    this host looks up (a shared cache, or keys that ignore the host): every training runs
    again, with one warning per entry, and the results are this host's own."""
    repo = clone(base, tmp_path / "repo")
    store = tmp_path / "store"
    e = {**env(repo), "DIGITCMP_CACHE": str(store)}
    run(repo, *study_argv(ARCH), env=e)
    runs = json.loads((repo / "metrics/runs" / f"{ARCH}.json").read_text())
    assert runs["hosts"] == [host.kind_id()]
    entries = sorted(store.glob("*.json"))
    assert len(entries) == 3 and all(json.loads(p.read_text())["host"] == host.kind_id() for p in entries)
    for path in entries:
        entry = json.loads(path.read_text())
        entry["host"] = host.kind_id(XEON)
        for name, acc in entry["result"]["acc"].items():  # another count of correct pairs
            entry["result"]["acc"][name] = 0.5 if acc != 0.5 else 1.0
        path.write_text(json.dumps(entry))
    again = run(repo, *study_argv(ARCH), env=e)
    assert again.stderr.count(f"computed on host kind '{host.kind_id(XEON)}'") == 3
    assert json.loads((repo / "metrics/runs" / f"{ARCH}.json").read_text()) == runs
