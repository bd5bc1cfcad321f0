"""The study's report, in rooms by job (each imports only what it needs):

- `stats`: Welch, paired and Holm tests, Hedges' g, paired changes (numpy, scipy);
- `labels`: the study's names for the architectures;
- `tables`: Table 2, the tests, the metrics DVC shows, metrics/results.json and the plots' CSV (pandas);
- `markdown`: results.md;
- `figures`: the PNGs (matplotlib);
- `build`: `build_report`, everything the report stage writes.
"""
