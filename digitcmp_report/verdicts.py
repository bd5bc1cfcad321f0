"""A verdict on one screen: each claim of the study, its evidence, ours, and whether it holds.

Rules (stated in the table's note, applied here):
- a "helps" claim is *reproduced* when our effect has the study's sign in at least 6 of the
  8 comparisons and at least half of the 8 stay significant under the N&B-corrected test
  (Holm); *partly* when the sign agrees in at least 6 but fewer survive (or, for the
  auxiliary loss, when the equal-budget comparison removes most of the effect); else *not*;
- Table 2's ordering: Kendall's τ between the study's 16 means and ours: *reproduced* at
  τ ≥ 0.8, *partly* at τ ≥ 0.5, else *not*;
- "Conv2_sharing_aux is the best": *reproduced* if it is our best and better than our
  runner-up under the N&B-corrected test, *partly* if best but not significantly so, else *not*.
"""

import pandas as pd
from scipy import stats

from digitcmp_report import formats as fmt
from digitcmp_report.dependence import NB_RHO, corrected_t
from digitcmp_report.stats import ALPHA

STUDY_BEST = "conv2_sharing_aux"


def _helps(corrected: pd.DataFrame, study: pd.DataFrame, factor: str) -> dict:
    rows = corrected[corrected["test"].str.startswith(factor)]
    study_sign = [(study.loc[r.a, "mean"] > study.loc[r.b, "mean"]) for r in rows.itertuples()]
    ours_sign = [r.diff > 0 for r in rows.itertuples()]
    agree = sum(s == o for s, o in zip(study_sign, ours_sign))
    return {"n": len(rows), "study_pos": sum(study_sign), "ours_pos": sum(ours_sign), "agree": agree,
            "welch": int(rows["welch_sig"].sum()), "nb": int(rows["nb_sig"].sum()),
            "overlap": int(rows["overlap_sig"].sum()), "mean_diff": float(rows["diff"].mean())}


def _helps_verdict(h: dict) -> str:
    if h["agree"] >= 6 and h["nb"] >= h["n"] / 2:
        return "reproduced"
    return "partly" if h["agree"] >= 6 else "not"


def verdicts(table: pd.DataFrame, corrected: pd.DataFrame, study: pd.DataFrame, runs: dict,
             budget: pd.DataFrame) -> list[dict]:
    """[{claim, study, ours, verdict, why}] for the four claims."""
    out = []
    share = _helps(corrected, study, "sharing")
    out.append({"claim": "Weight sharing helps", "study": f"sharing higher in {share['study_pos']} of 8 pairs",
                "ours": f"higher in {share['ours_pos']} of 8 (mean Δ {share['mean_diff']:+.4f}); significant: "
                        f"Welch {share['welch']}, N&B-corrected {share['nb']}, ρ=overlap {share['overlap']} of 8",
                "verdict": _helps_verdict(share),
                "why": f"sign agrees in {share['agree']} of 8; {share['nb']} of 8 survive the corrected test"})
    aux = _helps(corrected, study, "aux")
    equal = int((budget["diff_equal"] > 0).sum())
    verdict = _helps_verdict(aux)
    if verdict == "reproduced" and equal < len(budget) / 2:
        verdict = "partly"
    out.append({"claim": "The auxiliary loss helps", "study": f"aux higher in {aux['study_pos']} of 8 pairs",
                "ours": f"higher in {aux['ours_pos']} of 8 (mean Δ {aux['mean_diff']:+.4f}); significant: Welch "
                        f"{aux['welch']}, N&B {aux['nb']}, ρ=overlap {aux['overlap']}; at equal budget (validation) "
                        f"aux ahead in {equal} of {len(budget)}",
                "verdict": verdict,
                "why": f"sign agrees in {aux['agree']} of 8; {aux['nb']} survive; budget-matched {equal} of {len(budget)}"})
    common = [a for a in table.index if a in study.index]
    tau = stats.kendalltau(study.loc[common, "mean"], table.loc[common, "mean"]).statistic
    out.append({"claim": "Table 2's ordering", "study": "16 means (its Table 2)",
                "ours": f"Kendall's τ with the study's order {tau:.2f}",
                "verdict": "reproduced" if tau >= 0.8 else "partly" if tau >= 0.5 else "not",
                "why": "τ ≥ 0.8 reproduced, ≥ 0.5 partly"})
    ranked = table.loc[common, "mean"].sort_values(ascending=False)
    best, second = ranked.index[0], ranked.index[1]
    p = corrected_t(runs[best]["test_acc"], runs[second]["test_acc"], NB_RHO)["p"]
    is_best = best == STUDY_BEST
    out.append({"claim": "Conv2_sharing_aux is the best of the sixteen", "study": "highest mean of its Table 2",
                "ours": f"our best: {best}; over the runner-up {second}: Δ {ranked.iloc[0] - ranked.iloc[1]:+.4f}, "
                        f"N&B-corrected p = {fmt.p_value(p)}",
                "verdict": ("reproduced" if p < ALPHA else "partly") if is_best else "not",
                "why": ("best, and significantly ahead" if p < ALPHA else "best, but not significantly ahead of "
                        "the runner-up") if is_best else "another architecture is our best"})
    return out


def verdicts_markdown(rows: list[dict]) -> str:
    lines = ["## Verdict", "", "| claim of the study | its evidence | ours | verdict | why |",
             "| --- | --- | --- | --- | --- |"]
    lines += [f"| {r['claim']} | {r['study']} | {r['ours']} | **{r['verdict']}** | {r['why']} |" for r in rows]
    lines += ["", "Rules: `digitcmp_report.verdicts`; the corrected tests, the equal-budget comparison and the "
              "hosts checked are in the sections at the end."]
    return "\n".join(lines)
