"""Stage `check`: the whole params.yaml validated, whichever keys the other stages read.

It depends on the whole file, so any edit reruns it (about a second) and nothing else
that the edit does not touch: a new or misspelt key (`dvc exp run -S +lamda=0.5`) fails
here even when no stage that reads params would run. It writes nothing.
"""

from digitcmp import params as P
from digitcmp.stage import run_stage


def main(argv: list[str]) -> None:
    P.load()


if __name__ == "__main__":
    run_stage(main)
