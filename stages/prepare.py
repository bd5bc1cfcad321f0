"""Stage `prepare`: the image pools and every draw's pair indices → data/prepared/.

The params it reads are dvc.yaml's `prepare` stage's (the one list).
"""

from digitcmp import bounds, params as P
from digitcmp.stage import run_stage
from digitcmp.data import prepare_arrays, save_prepared

OUT = "data/prepared"


def main(argv: list[str]) -> None:
    params = P.load()
    bounds.check_prepare(params)
    data, repeats = params["data"], params["train"]["repeats"]
    arrays = prepare_arrays(data["source"], data["seed"], data["n_pairs"], repeats, data["root"], data["download"])
    meta = {"source": data["source"], "seed": data["seed"], "n_pairs": data["n_pairs"], "repeats": repeats}
    save_prepared(OUT, arrays, meta)


if __name__ == "__main__":
    run_stage(main)
