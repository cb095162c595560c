"""The synthetic InStep files: reproducible byte for byte, meeting every published number, structurally sound."""

from __future__ import annotations

import shutil
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from ipsreport.synth.instep import synthesize_instep, write_instep

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
INSTEP = DATA / "instep"
PUBLISHED = yaml.safe_load((DATA / "published" / "instep.yaml").read_text(encoding="utf-8"))
RECON = yaml.safe_load((DATA / "published" / "instep-reconstruction.yaml").read_text(encoding="utf-8"))
FILES = ["recruitment.csv", "participants.csv", "followup.csv", "employer_themes.csv", "dataset.yaml"]


def _read(name: str) -> pd.DataFrame:
    return pd.read_csv(INSTEP / name, dtype={"participant_id": str, "contact_id": str}, keep_default_na=False,
                       na_values=[""])


RECRUITMENT = _read("recruitment.csv")
PARTICIPANTS = _read("participants.csv")
FOLLOWUP = _read("followup.csv")
THEMES = _read("employer_themes.csv")


# ---------------------------------------------------------------- independent recomputation of published keys

def half_up(value: float, decimals: int) -> Decimal:
    return Decimal(repr(float(value))).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)


def stata_quantile(values: pd.Series, q: float) -> float:
    # Stata's `summarize, detail` percentiles are Hyndman-Fan type 2 (averaged inverted CDF).
    return float(np.quantile(values.dropna().to_numpy(float), q, method="averaged_inverted_cdf"))


def group(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    return frame if name == "all" else frame[frame["arm"] == name.upper()]


HOURS = {"0_8": "0-8", "9_15": "9-15", "16_24": "16-24", "25_plus": "25+", "not_applicable": "not_applicable"}


def level_mask(frame: pd.DataFrame, var: str, level: str) -> pd.Series:
    if level == "missing":
        return frame[var].isna()
    if var == "marital_status" and level == "single_or_divorced":
        return frame[var].isin(["single", "divorced"])
    if var == "years_since_paid_work" and level == "over_20y":
        return frame[var] > 20
    if var == "part_time_hours":
        return frame[var] == HOURS[level]
    if level in ("yes", "no") and pd.api.types.is_numeric_dtype(frame[var]):
        return frame[var] == (1 if level == "yes" else 0)
    return frame[var] == level


def returns_per_person() -> pd.DataFrame:
    wide = FOLLOWUP.pivot(index="participant_id", columns="month", values="returned")
    work = FOLLOWUP.pivot(index="participant_id", columns="month", values="in_paid_work")
    people = PARTICIPANTS.set_index("participant_id")
    return pd.DataFrame({"arm": people["arm"], "n_returned": wide.sum(axis=1), "r12": wide[12],
                         "w3": work[3], "w6": work[6], "w12": work[12], "status": people["status_12m"],
                         "ever_worked": (work == 1).any(axis=1)})


def recompute(key: str) -> float:
    parts = key.split(".")
    assert parts[0] == "feasibility"
    p, r, f = PARTICIPANTS, RECRUITMENT, returns_per_person()
    if parts[1] == "recruitment":
        method, what = parts[2], parts[3]
        rows = r[r["method"] == method]
        return {
            "approached": lambda: len(rows),
            "ineligible": lambda: rows["outcome"].isin(["enquired_ineligible", "after_closure"]).sum(),
            "recruited": lambda: (rows["outcome"] == "recruited").sum(),
            "enquiries": lambda: rows["outcome"].isin(["enquired_ineligible", "recruited", "after_closure"]).sum(),
            "not_contactable": lambda: (rows["outcome"] == "not_contactable").sum(),
            "ineligible_in_paid_work": lambda: (rows["ineligible_reason"] == "in_paid_work").sum(),
        }[what]()
    if parts[1] == "recruited":
        rec = r[r["outcome"] == "recruited"]
        return len(rec) if parts[2] == "total" else (rec["setting"] == parts[2]).sum()
    if parts[1] == "approached":
        return ((r["setting"] == parts[2]) & (r["method"] != "poster")).sum()
    if parts[1] == "arm":
        return (p["arm"] == parts[2].upper()).sum()
    if parts[1] == "allocation" and parts[2] == "randomised":
        return (p["allocation"] == "randomised").sum()
    if parts[1] == "baseline":
        var = parts[2]
        if var in ("age_left_school", "years_since_paid_work") and parts[3] in ("all", "ips", "tau"):
            values = group(p, parts[3])[var]
            stat = parts[4]
            return {"mean": lambda: values.mean(), "sd": lambda: values.std(ddof=1),
                    "median": lambda: stata_quantile(values, 0.5), "q1": lambda: stata_quantile(values, 0.25),
                    "q3": lambda: stata_quantile(values, 0.75)}[stat]()
        level, grp, stat = parts[3], parts[4], parts[5]
        sub = group(p, grp)
        count = level_mask(sub, var, level).sum()
        return count if stat == "count" else 100 * count / len(sub)
    if parts[1] == "subgroup":
        sub = p[p["setting"] == parts[2]]
        what = parts[3]
        if what == "years_since_paid_work":
            return stata_quantile(sub[what], {"median": 0.5, "q1": 0.25, "q3": 0.75}[parts[4]])
        if what == "never_worked":
            return (sub["ever_paid_job"] == 0).sum()
        mask = {"non_white": sub["ethnicity"] != "white", "single": sub["marital_status"] == "single",
                "further_education": sub["further_education"] == 1}[what]
        return 100 * mask.sum() / len(sub)
    if parts[1] == "retention":
        what = parts[2]
        if what == "none_returned_profile":
            silent = p[p["participant_id"].isin(f.index[f["n_returned"] == 0])]
            return {"male": (silent["sex"] == "male").sum(), "white": (silent["ethnicity"] == "white").sum(),
                    "single": (silent["marital_status"] == "single").sum(),
                    "further_education": (silent["further_education"] == 1).sum()}[parts[3]]
        sub = group(f, parts[3])
        if what == "none_returned":
            return (sub["n_returned"] == 0).sum()
        if what == "all_returned":
            return 100 * (sub["n_returned"] == 3).mean()
        if what == "not_all_returned":
            return 100 * (sub["n_returned"] < 3).mean()
    if parts[1] == "employed_12m":
        sub = group(p, parts[2])
        paid = (sub["status_12m"] == "paid_work").sum()
        return {"count": paid, "n": len(sub), "percent": 100 * paid / len(sub)}[parts[3]]
    if parts[1] == "status_12m":
        return (group(p, parts[3])["status_12m"] == parts[2]).sum()
    if parts[1] == "work_pattern":
        tau = f[f["arm"] == "TAU"]
        paid = tau["status"] == "paid_work"
        partial = (~tau["ever_worked"]) & (tau["n_returned"].between(1, 2)) & (tau["r12"] == 0)
        return {
            "working_from_m3": (paid & (tau["w3"] == 1) & (tau["w6"] == 1) & (tau["w12"] == 1)).sum(),
            "working_from_m6": (paid & (tau["w3"] != 1) & (tau["w6"] == 1) & (tau["w12"] == 1)).sum(),
            "not_in_paid_work_12m": (~paid).sum(),
            "never_worked": (~paid & ~tau["ever_worked"] & ~partial).sum(),
            "worked_then_stopped": (~paid & tau["ever_worked"]).sum(),
            "partial_not_working": partial.sum(),
        }[parts[3]]
    if parts[1] == "employers" and parts[2] == "themes":
        return len(THEMES)
    raise KeyError(key)


DETERMINED = [item for item in PUBLISHED["items"] if item["determined"]]
CONSISTENT = [i for i in DETERMINED if not str(i.get("note", "")).startswith("Inconsistent")]
INCONSISTENT = [i for i in DETERMINED if str(i.get("note", "")).startswith("Inconsistent")]


@pytest.mark.parametrize("item", CONSISTENT, ids=[i["key"] for i in CONSISTENT])
def test_published_item_is_met(item):
    value = recompute(item["key"])
    assert half_up(value, item["decimals"]) == Decimal(item["printed"]).quantize(
        Decimal(1).scaleb(-item["decimals"])), f"{item['key']}: computed {value}, printed {item['printed']}"


@pytest.mark.parametrize("item", INCONSISTENT, ids=[i["key"] for i in INCONSISTENT])
def test_inconsistent_item_is_flagged_not_met(item):
    # The data follow the paper's counts, so a printed value the counts contradict stays a mismatch.
    value = recompute(item["key"])
    assert half_up(value, item["decimals"]) != Decimal(item["printed"])


def test_published_file_format():
    keys = [i["key"] for i in PUBLISHED["items"]]
    assert len(keys) == len(set(keys))
    for item in PUBLISHED["items"]:
        assert set(item) <= {"key", "location", "printed", "decimals", "determined", "note"}
        assert item["key"].startswith("feasibility.")
        assert isinstance(item["printed"], str) and isinstance(item["determined"], bool)
        if not item["determined"]:
            assert item.get("note"), f"{item['key']}: undetermined items say why"
    assert len(INCONSISTENT) == 2


# ---------------------------------------------------------------- reproducibility

def test_write_reproduces_committed_files_byte_for_byte(tmp_path):
    shutil.copytree(DATA / "published", tmp_path / "published")
    written = write_instep(tmp_path)
    assert sorted(p.name for p in written) == sorted(FILES)
    for name in FILES:
        assert (tmp_path / "instep" / name).read_bytes() == (INSTEP / name).read_bytes(), name


def test_synthesize_is_deterministic_and_seed_dependent():
    a = synthesize_instep(PUBLISHED, RECON["seed"], reconstruction=RECON)
    b = synthesize_instep(PUBLISHED, RECON["seed"], reconstruction=RECON)
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name])
    c = synthesize_instep(PUBLISHED, RECON["seed"] + 1, reconstruction=RECON)
    assert not a["participants"].equals(c["participants"])


def test_csv_format():
    for name in FILES[:4]:
        raw = (INSTEP / name).read_bytes()
        assert b"\r" not in raw and raw.endswith(b"\n")
    assert PARTICIPANTS["participant_id"].is_monotonic_increasing
    assert RECRUITMENT["contact_id"].is_monotonic_increasing
    assert list(FOLLOWUP[["participant_id", "month"]].itertuples(index=False)) == sorted(
        FOLLOWUP[["participant_id", "month"]].itertuples(index=False))
    meta = yaml.safe_load((INSTEP / "dataset.yaml").read_text(encoding="utf-8"))
    assert meta["synthetic"] is True and meta["generated_by"] == "ipsreport synthesize" and meta["notice"]


# ---------------------------------------------------------------- structure

def test_participants_and_arms():
    assert len(PARTICIPANTS) == 50
    assert PARTICIPANTS["participant_id"].str.fullmatch(r"UK-0\d{2}").all()
    assert PARTICIPANTS["arm"].value_counts().to_dict() == {"TAU": 28, "IPS": 22}
    dates = pd.to_datetime(PARTICIPANTS["recruited_on"])
    assert dates.is_unique
    assert dates.between("2017-11-01", "2019-03-31").all()


def balanced_blocks(arms: list[str], sizes=(2, 4)) -> bool:
    # Can the sequence be cut into consecutive blocks of the given sizes, each half IPS?
    ok = [True] + [False] * len(arms)
    for end in range(1, len(arms) + 1):
        for size in sizes:
            start = end - size
            if start >= 0 and ok[start] and arms[start:end].count("IPS") == size // 2:
                ok[end] = True
    return ok[-1]


def test_allocation_story():
    ordered = PARTICIPANTS.sort_values("recruited_on")
    first, rest = ordered.iloc[:18], ordered.iloc[18:]
    assert (first["allocation"] == "randomised").all() and (rest["allocation"] == "allocated").all()
    assert first["arm"].value_counts().to_dict() == {"IPS": 9, "TAU": 9}
    assert balanced_blocks(first["arm"].tolist())
    cutoff = str(RECON["allocation"]["ips_available_until"])
    assert (rest["arm"] == np.where(rest["recruited_on"] <= cutoff, "IPS", "TAU")).all()
    # The 13 from the one large practice are among the first 18.
    large = [w for w in RECON["schedule"] if w["large_practice"]]
    assert sum(w["n"] for w in large) == 13
    assert all(str(w["to"]) <= first["recruited_on"].max() for w in large)
    pain = ordered[ordered["setting"] == "pain_service"]
    assert (pain["arm"] == "IPS").sum() >= 2
    assert (pain["ethnicity"] != "white").sum() == 4
    assert (ordered.loc[ordered["setting"] == "primary_care", "ethnicity"] == "white").all()


def test_recruitment_links_to_participants():
    recruited = RECRUITMENT[RECRUITMENT["outcome"] == "recruited"]
    assert sorted(recruited["participant_id"]) == sorted(PARTICIPANTS["participant_id"])
    assert RECRUITMENT["participant_id"].notna().sum() == 50
    merged = recruited.merge(PARTICIPANTS, on="participant_id", suffixes=("_r", "_p"))
    assert (merged["setting_r"] == merged["setting_p"]).all()
    assert ((RECRUITMENT["method"] == "opportunistic_pain_service") == (RECRUITMENT["setting"] == "pain_service")).all()
    ineligible = RECRUITMENT["outcome"] == "enquired_ineligible"
    assert (RECRUITMENT["ineligible_reason"].notna() == ineligible).all()
    assert set(RECRUITMENT.loc[ineligible, "ineligible_reason"]) <= {"in_paid_work", "retired", "no_chronic_pain", "other"}
    assert RECRUITMENT["contact_id"].str.fullmatch(r"UK-C\d{4}").all()


def test_baseline_logic():
    p = PARTICIPANTS
    never = p["ever_paid_job"] == 0
    assert p.loc[never, ["years_since_paid_work", "left_job_health"]].isna().all().all()
    assert (p.loc[never, [c for c in p if c.startswith("hrjl_")]] == 0).all().all()
    assert ((p["left_job_health"] == "no") == (p["hrjl_not_applicable"] == 1)).all()
    health = p["left_job_health"].isin(["mainly", "partly"])
    types = p[["hrjl_chronic_pain", "hrjl_musculoskeletal", "hrjl_mental_health", "hrjl_heart_lungs", "hrjl_other"]]
    assert (types[health].sum(axis=1) >= 1).all() and (types[~health].sum(axis=1) == 0).all()
    assert ((p["future_work"] == "full_time") == (p["part_time_hours"] == "not_applicable")).all()
    assert (p.loc[(p["qual_degree"] == 1) | (p["qual_higher_professional"] == 1), "further_education"] == 1).all()
    assert (p["years_since_paid_work"].dropna() >= 0.25).all()


def test_followup_structure_and_consistency():
    assert len(FOLLOWUP) == 150
    assert (FOLLOWUP.groupby("participant_id")["month"].apply(list) == [[3, 6, 12]] * 50).all()
    assert set(FOLLOWUP["participant_id"]) == set(PARTICIPANTS["participant_id"])
    assert (FOLLOWUP["in_paid_work"].notna() == (FOLLOWUP["returned"] == 1)).all()
    m12 = FOLLOWUP[(FOLLOWUP["month"] == 12) & (FOLLOWUP["returned"] == 1)].merge(PARTICIPANTS, on="participant_id")
    assert ((m12["in_paid_work"] == 1) == (m12["status_12m"] == "paid_work")).all()
    f = returns_per_person()
    silent = f[f["n_returned"] == 0]
    assert set(silent["status"]) <= {"paid_work", "lost_to_follow_up"}
    assert (f.loc[f["arm"] == "TAU", "status"] == "lost_to_follow_up").sum() == 1
    assert (f["status"] == "lost_to_follow_up").groupby(f["arm"]).sum().to_dict() == {"IPS": 2, "TAU": 1}


def test_employer_themes():
    assert THEMES["theme_id"].tolist() == list(range(1, 9))
    assert THEMES["theme"].str.len().between(3, 60).all()
    assert not THEMES["summary"].str.contains('"|\u201c|\u201d').any()
