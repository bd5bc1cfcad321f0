"""The "Reproduced on" table: one row per host kind that ran `python -m scripts.reproduce`.

Each run writes experiments/reproduce/<host kind>.json; a later run on another kind of CPU
adds its own file, and the report's table gains its row.
"""

from pathlib import Path

from digitcmp.files import read_json

DIRECTORY = Path("experiments/reproduce")


def read_all(directory: Path = DIRECTORY) -> list[dict]:
    return [read_json(p) for p in sorted(directory.glob("*.json"))] if directory.is_dir() else []


def reproduction_markdown(checks: list[dict]) -> str:
    lines = ["## Reproduced on", "",
             "`python -m scripts.reproduce` retrains each architecture's winning grid point and a seeded sample of "
             "its retrainings with the training cache off and compares them with the committed metrics: "
             "bit-identical, reproduced within noise (TOST on the paired differences, margin = the architecture's "
             "run-to-run std), or differs. One row per host kind checked; run it on another kind of CPU to add a "
             "row (experiments/reproduce/<host kind>.json)."]
    if not checks:
        return "\n".join(lines + ["", "No host checked yet."])
    lines += ["", "| host kind | CPU | ISA (kernel flags) | torch, BLAS, oneDNN | trainings | bit-identical | "
              "verdicts | wall |", "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for c in checks:
        h, rows = c["host"], c["architectures"].values()
        n, same = sum(r["n"] for r in rows), sum(r["identical"] for r in rows)
        verdicts = {}
        for r in rows:
            verdicts[r["verdict"]] = verdicts.get(r["verdict"], 0) + 1
        lines.append(f"| {c['host_kind']} | {h['cpu_vendor']} {h['cpu_model']} | {h['aten_capability']}: "
                     f"{' '.join(h['kernel_flags'])} | {h['torch']}, MKL {h['blas']}, oneDNN {h['onednn']} | "
                     f"{n} (k = {c['k']}) | {same} | " + ", ".join(f"{v}: {k}" for k, v in sorted(verdicts.items()))
                     + f" | {c['wall_s'] / 60:.1f} min |")
    lines += ["", "Compared with the metrics of commit " + ", ".join(sorted({c["compared_with"][:7] for c in checks}))
              + ". Only the hosts listed were reachable: no other kind of CPU has been checked."]
    return "\n".join(lines)
