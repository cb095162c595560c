"""Tests of the IPS in Pain reconstruction: byte-for-byte regeneration, every published margin, structure."""

from __future__ import annotations

import math
import re
import shutil
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats

from ipsreport.synth.ips_pain import FILES, write_ips_pain

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data" / "ips-pain"
PUBLISHED = yaml.safe_load((ROOT / "data" / "published" / "ips-pain-2022.yaml").read_text(encoding="utf-8"))
CHOICES = yaml.safe_load((ROOT / "data" / "published" / "ips-pain-reconstruction.yaml").read_text(encoding="utf-8"))

# Printed values that no data can reproduce (see the notes in the published-values file).
KNOWN_INCONSISTENT = {
    "baseline.partner.ips.percent": "11/34 is 32.35%, printed 32.3",
    "baseline.benefit_other.ips.percent": "6/32 is exactly 18.75%, printed 18.7",
}


def half_up(value: float, decimals: int) -> float:
    return float(Decimal(repr(float(value))).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP))


def read(name: str) -> pd.DataFrame:
    return pd.read_csv(DATA / f"{name}.csv", dtype={"participant_id": str})


@pytest.fixture(scope="module")
def data() -> dict[str, pd.DataFrame]:
    return {name: read(name) for name in FILES}


# ----------------------------------------------------------------------------------------------- (1)


def test_synthesis_reproduces_committed_files(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "data" / "published", tmp_path / "published")
    written = write_ips_pain(tmp_path / "ips-pain")
    assert {p.name for p in written} == {f"{n}.csv" for n in FILES} | {"dataset.yaml"}
    for path in written:
        assert path.read_bytes() == (DATA / path.name).read_bytes(), path.name


def test_dataset_yaml_marks_synthetic() -> None:
    meta = yaml.safe_load((DATA / "dataset.yaml").read_text(encoding="utf-8"))
    assert meta["synthetic"] is True
    assert meta["generated_by"] == "ipsreport synthesize"
    assert "synthetic" in meta["notice"]


# ----------------------------------------------------------------------------------------------- (2)


def woolf(a: int, b: int, c: int, d: int) -> tuple[float, float, float]:
    odds = a * d / (b * c)
    se = math.sqrt(1 / a + 1 / b + 1 / c + 1 / d)
    return odds, math.exp(math.log(odds) - 1.959963984540054 * se), math.exp(math.log(odds) + 1.959963984540054 * se)


def levene_t_test(x: np.ndarray, y: np.ndarray) -> tuple[float, str]:
    """P of the t test SPSS-style: Levene (mean-centred) decides between Student and Welch."""
    significant = stats.levene(x, y, center="mean").pvalue < 0.05
    return stats.ttest_ind(x, y, equal_var=not significant).pvalue, ("welch" if significant else "student")


class Computed:
    """Every published key recomputed from the CSV files with code independent of the generator."""

    def __init__(self, d: dict[str, pd.DataFrame]):
        self.d = d
        p = d["participants"]
        self.people = p[p["withdrawn"] == 0]
        self.arm = dict(zip(p["participant_id"], p["arm"].str.lower()))
        q = d["questionnaires"]
        q = q.assign(arm=q["participant_id"].map(self.arm))
        self.q = q
        self.variants: dict[str, str] = {}

    def arms(self, frame: pd.DataFrame, column: str) -> dict[str, np.ndarray]:
        arm = frame["arm"] if "arm" in frame else frame["participant_id"].map(self.arm).str.upper()
        return {a: frame.loc[arm.str.lower() == a, column].dropna().to_numpy(float) for a in ("ips", "tau")}

    def binary(self, var: str) -> dict[str, tuple[int, int]]:
        p = self.people
        if var == "hscl_above_cutoff":
            v = self.arms(self.q[self.q["month"] == 0], "hscl")
            return {a: (int((x >= 1.75).sum()), len(x)) for a, x in v.items()}
        if var.startswith("benefit"):
            out = {}
            for a in ("ips", "tau"):
                b = p.loc[p["arm"].str.lower() == a, "benefit_type"].dropna()
                recipients = b[b != "none"]
                kind = {"benefit_waa": "work_assessment_allowance", "benefit_disability": "disability_benefit",
                        "benefit_other": "other_benefit"}.get(var)
                out[a] = (len(recipients), len(b)) if kind is None else (int((recipients == kind).sum()), len(recipients))
            return out
        v = self.arms(p, var)
        return {a: (int(x.sum()), len(x)) for a, x in v.items()}

    def employment(self, month: int) -> dict[str, tuple[int, int]]:
        e = self.d["employment"]
        e = e[e["month"] == month]
        v = self.arms(e, "employed")
        return {a: (int(x.sum()), len(x)) for a, x in v.items()}

    def value(self, key: str) -> float:
        parts = key.split(".")
        d = self.d
        if parts[0] == "flow":
            p = d["participants"]
            if parts[1] == "randomized":
                return len(p) if len(parts) == 2 else int((p["arm"].str.lower() == parts[2]).sum())
            if parts[1] == "withdrawn":
                return int(p["withdrawn"].sum())
            return len(self.people) if len(parts) == 2 else int((self.people["arm"].str.lower() == parts[2]).sum())
        if parts[0] == "baseline":
            var, stat = parts[1], parts[-1]
            if var in ("age",) or var in self.q.columns:
                frame = self.people if var == "age" else self.q[self.q["month"] == 0]
                v = self.arms(frame, var)
                if stat == "p_value":
                    pval, self.variants[key] = levene_t_test(v["ips"], v["tau"])
                    return pval
                x = v[parts[2]]
                return {"mean": x.mean(), "sd": x.std(ddof=1), "n": len(x)}[stat]
            counts = self.binary(var)
            if stat == "p_value":
                table = [[c, n - c] for c, n in counts.values()]
                if var == "hscl_above_cutoff":
                    return stats.fisher_exact(table).pvalue
                return stats.chi2_contingency(table, correction=False)[1]
            c, n = counts[parts[2]]
            return {"count": c, "denominator": n, "percent": 100 * c / n}[stat]
        if parts[0] == "primary":
            counts = self.employment(int(parts[1][1:]))
            stat = parts[-1]
            (a, n1), (c, n2) = counts["ips"], counts["tau"]
            if stat == "p_value":
                return stats.chi2_contingency([[a, n1 - a], [c, n2 - c]], correction=False)[1]
            if stat in ("odds_ratio", "or_ci_low", "or_ci_high"):
                return woolf(a, n1 - a, c, n2 - c)[("odds_ratio", "or_ci_low", "or_ci_high").index(stat)]
            k, n = counts[parts[2]]
            return {"employed": k, "n": n, "percent": 100 * k / n}[stat]
        if parts[0] == "hours":
            v = self.arms(d["work_12m"], "hours_worked")
            if parts[1] == "p_value":
                pval, self.variants[key] = levene_t_test(v["ips"], v["tau"])
                return pval
            x = v[parts[1]]
            return {"n": len(x), "mean": x.mean(), "sd": x.std(ddof=1), "min": x.min(), "max": x.max()}[parts[2]]
        if parts[0] == "hours20":
            v = self.arms(d["work_12m"], "worked_20h_week")
            (a, n1), (c, n2) = ((int(v[k].sum()), len(v[k])) for k in ("ips", "tau"))
            if parts[1] == "p_value":
                return stats.fisher_exact([[a, n1 - a], [c, n2 - c]]).pvalue
            if parts[1] in ("odds_ratio", "or_ci_low", "or_ci_high"):
                return woolf(a, n1 - a, c, n2 - c)[("odds_ratio", "or_ci_low", "or_ci_high").index(parts[1])]
            k, n = (a, n1) if parts[1] == "ips" else (c, n2)
            return {"count": k, "n": n, "percent": 100 * k / n}[parts[2]]
        if parts[0] == "jobs":
            jobs = d["jobs"]
            return 100 * (jobs["job_sector"] == parts[2]).mean()
        if parts[0] == "secondary":
            month, var, stat = int(parts[1][1:]), parts[2], parts[-1]
            v = self.arms(self.q[self.q["month"] == month], var)
            if stat == "p_value":
                pval, self.variants[key] = levene_t_test(v["ips"], v["tau"])
                return pval
            x = v[parts[3]]
            return {"n": len(x), "mean": x.mean(), "sd": x.std(ddof=1)}[stat]
        if parts[0] == "ancillary":
            h = d["historical_controls"]["employed_12m"]
            k, n = self.employment(12)["ips"]
            table = [[k, n - k], [int(h.sum()), int(len(h) - h.sum())]]
            chi2, pval, dof, _ = stats.chi2_contingency(table, correction=False)
            if parts[1] == "historical":
                return {"n": len(h), "employed": int(h.sum()), "percent": 100 * h.mean()}[parts[2]]
            if parts[1] in ("odds_ratio", "or_ci_low", "or_ci_high"):
                return woolf(*table[0], *table[1])[("odds_ratio", "or_ci_low", "or_ci_high").index(parts[1])]
            return {"chi2": chi2, "df": dof, "n": n + len(h), "p_value": pval}[parts[1]]
        if parts[0] == "sample_size":
            # unpooled normal approximation, 61% vs 23%, two-sided alpha 0.05, power 0.90
            p1, p2 = 0.61, 0.23
            z = stats.norm.ppf(0.975) + stats.norm.ppf(0.90)
            return math.ceil(z**2 * (p1 * (1 - p1) + p2 * (1 - p2)) / (p1 - p2) ** 2)
        if parts[0] == "response":
            rates = [100 * self.employment(m)[a][1] / int((self.people["arm"].str.lower() == a).sum())
                     for m in (6, 12, 24) for a in ("ips", "tau")]
            return min(rates) if parts[2] == "min_percent" else max(rates)
        raise KeyError(key)


DETERMINED = [item for item in PUBLISHED["items"] if item["determined"]]


@pytest.fixture(scope="module")
def computed(data) -> Computed:
    return Computed(data)


@pytest.mark.parametrize("item", DETERMINED, ids=[i["key"] for i in DETERMINED])
def test_published_target_is_met(item: dict, computed: Computed, request) -> None:
    if item["key"] in KNOWN_INCONSISTENT:
        request.applymarker(pytest.mark.xfail(strict=True, reason=KNOWN_INCONSISTENT[item["key"]]))
    value = computed.value(item["key"])
    printed = str(item["printed"])
    if printed.startswith("<"):
        assert value < float(printed[1:])
    else:
        assert half_up(value, item["decimals"]) == float(printed), f"{item['key']}: {value!r} vs {printed}"


def chosen_test(key: str) -> str:
    parts = key.split(".")
    if parts[0] == "baseline":
        return CHOICES["baseline_tests"][parts[1]]["test"]
    if parts[0] == "secondary":
        return CHOICES["followup_tests"][parts[1]][parts[2]]["test"]
    return CHOICES["hours_test"]["test"]


T_TEST_KEYS = [i["key"] for i in DETERMINED if i["key"].endswith("p_value")
               and (i["key"].startswith(("secondary", "hours.")) or (i["key"].startswith("baseline")
                                                                    and i["key"].split(".")[1] in CHOICES["baseline_tests"]))]


@pytest.mark.parametrize("key", T_TEST_KEYS)
def test_levene_picks_the_chosen_t_test(key: str, computed: Computed) -> None:
    computed.value(key)
    assert computed.variants[key] == chosen_test(key)


# ----------------------------------------------------------------------------------------------- (3)


def test_ids_and_sorting(data) -> None:
    p = data["participants"]
    assert list(p["participant_id"]) == [f"NO-{i:03d}" for i in range(1, 68)]
    assert p["participant_id"].str.fullmatch(r"NO-\d{3}").all()
    assert list(p["randomized_on"]) == sorted(p["randomized_on"])
    assert p["randomized_on"].min() >= "2015-11-01" and p["randomized_on"].max() <= "2017-12-31"
    assert set(p["arm"]) == {"IPS", "TAU"}
    analysed = set(p.loc[p["withdrawn"] == 0, "participant_id"])
    for name, keys in (("questionnaires", ["participant_id", "month"]), ("employment", ["participant_id", "month"]),
                       ("work_12m", ["participant_id"]), ("jobs", ["participant_id", "job_number"])):
        frame = data[name]
        assert set(frame["participant_id"]) <= analysed, name
        assert frame.equals(frame.sort_values(keys).reset_index(drop=True)), name
        assert not frame.duplicated(keys).any(), name
    assert len(data["questionnaires"]) == 58 * 3 and len(data["work_12m"]) == 58
    h = data["historical_controls"]
    assert list(h["control_id"]) == [f"HC-{i:04d}" for i in range(1, 316)]


def test_early_allocation_is_two_to_one(data) -> None:
    p = data["participants"]
    first = CHOICES["flow"]["two_to_one_first"]
    assert (p["arm"].iloc[:first] == "IPS").sum() == 2 * first // 3


def test_employment_is_cumulative(data) -> None:
    e = data["employment"].pivot(index="participant_id", columns="month", values="employed")
    for pid, row in e.iterrows():
        seen = False
        for month in (6, 12, 24):
            value = row[month]
            if seen:
                assert pd.isna(value) or value == 1, pid
            if value == 1:
                seen = True


def test_value_grids(data) -> None:
    q = data["questionnaires"]
    on = lambda s, step: np.allclose(s.dropna() / step, np.round(s.dropna() / step), atol=1e-4)  # noqa: E731
    odi = q["odi"].dropna()
    allowed = {round(2.0 * s, 2) for s in range(51)} | {round(20 * s / 9, 2) for s in range(46)} | {2.5 * s for s in range(41)}
    assert odi.isin(allowed).all() and odi.between(0, 100).all()
    assert on(q["eq_vas"], 1) and q["eq_vas"].dropna().between(0, 100).all()
    assert on(q["hscl"], 1 / 25) and on(q["hscl_anxiety"], 1 / 10) and on(q["hscl_depression"], 1 / 15)
    for col in ("hscl", "hscl_anxiety", "hscl_depression"):
        assert q[col].dropna().between(1, 4).all()
    for col in ("bpi_current", "bpi_worst", "bpi_average", "bpi_least"):
        assert on(q[col], 1) and q[col].dropna().between(0, 10).all()
    ages = data["participants"]["age"].dropna()
    assert on(ages, 1) and ages.between(18, 65).all()
    hours = data["work_12m"]["hours_worked"].dropna()
    assert on(hours, 0.5) and (hours >= 0).all()


def test_hscl_total_matches_subscales_except_documented_offsets(data) -> None:
    q = data["questionnaires"].dropna(subset=["hscl", "hscl_anxiety", "hscl_depression"])
    gap = q["hscl"] - (10 * q["hscl_anxiety"] + 15 * q["hscl_depression"]) / 25
    off = q[gap.abs() > 1e-4]
    offsets = CHOICES["hscl_total_offset"]
    expected = {0: offsets["baseline_ips"], 6: offsets["m6_ips"], 12: offsets["m12_ips"]}
    assert len(off) == sum(1 for v in expected.values() if v)
    for _, row in off.iterrows():
        assert round(25 * (row["hscl"] - (10 * row["hscl_anxiety"] + 15 * row["hscl_depression"]) / 25)) == expected[row["month"]]


def test_hours_only_for_the_employed(data) -> None:
    e = data["employment"]
    employed = set(e.loc[(e["month"] <= 12) & (e["employed"] == 1), "participant_id"])
    w = data["work_12m"].dropna(subset=["hours_worked"])
    assert ((w["hours_worked"] > 0) == w["participant_id"].isin(employed)).all()
    twenty = data["work_12m"].dropna(subset=["worked_20h_week"])
    assert (twenty.loc[twenty["worked_20h_week"] == 1, "hours_worked"] >= 20).all()


def test_job_sector_is_first_job(data) -> None:
    jobs = data["jobs"]
    first = jobs[jobs["job_number"] == 1].set_index("participant_id")["job_sector"]
    w = data["work_12m"].set_index("participant_id")["job_sector"].dropna()
    assert w.to_dict() == first.to_dict()
    arms = data["participants"].set_index("participant_id")["arm"]
    assert (arms.loc[jobs["participant_id"]] == "IPS").all()
    assert jobs["job_sector"].str.fullmatch(r"[a-z_]+").all()
    assert (jobs.groupby("participant_id")["job_number"].apply(lambda s: list(s) == list(range(1, len(s) + 1)))).all()


def test_withdrawn_have_no_follow_up(data) -> None:
    p = data["participants"]
    withdrawn = set(p.loc[p["withdrawn"] == 1, "participant_id"])
    for name in ("questionnaires", "employment", "work_12m", "jobs"):
        assert not set(data[name]["participant_id"]) & withdrawn
