"""Synthetic InStep pilot data rebuilt deterministically so that every published number of the pilot paper is met."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from ipsreport.data.dictionary import dataset

__all__ = ["synthesize_instep", "write_instep", "published_targets"]

ARMS = ("IPS", "TAU")
MONTHS = (3, 6, 12)
PUBLISHED_FILE = "instep.yaml"
RECONSTRUCTION_FILE = "instep-reconstruction.yaml"
NOTICE = (
    "The InStep pilot data are a synthetic reconstruction that matches the pilot paper's published "
    "numbers; they are not the pilot's participant records."
)

# Column order comes from the data dictionary, the one definition of every file's layout.
PARTICIPANT_COLUMNS = list(dataset("instep").file("participants.csv").column_names)
HRJL_TYPES = ["hrjl_chronic_pain", "hrjl_musculoskeletal", "hrjl_mental_health", "hrjl_heart_lungs", "hrjl_other"]
COMORBIDITIES = [c for c in PARTICIPANT_COLUMNS if c.startswith("comorb_")]
# Key levels that are not spelled as the data value.
_HOURS_LEVELS = {"0_8": "0-8", "9_15": "9-15", "16_24": "16-24", "25_plus": "25+", "not_applicable": "not_applicable"}
_IPS_OTHER_STATUSES = ("voluntary_work", "vocational_training", "job_seeking")
_FLOAT_COLUMNS = ("age_left_school", "years_since_paid_work")


def published_targets(published: Mapping[str, Any]) -> dict[str, float]:
    """The determined published items as numbers, by key (printed text that is not a number is skipped)."""
    targets: dict[str, float] = {}
    for item in published["items"]:
        if not item.get("determined", False):
            continue
        try:
            targets[item["key"]] = float(item["printed"])
        except ValueError:
            continue
    return targets


def _count(targets: Mapping[str, float], key: str) -> int:
    return int(round(targets.get(key, 0.0)))


def _date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def _recruits(reconstruction: Mapping[str, Any], rng: np.random.Generator) -> pd.DataFrame:
    """One row per recruit from the schedule windows, with distinct weekday dates, ordered and numbered by date."""
    used: set[dt.date] = set()
    rows = []
    for window in reconstruction["schedule"]:
        start, end = _date(window["from"]), _date(window["to"])
        days = [start + dt.timedelta(d) for d in range((end - start).days + 1)]
        free = [d for d in days if d.weekday() < 5 and d not in used]
        picked = sorted(free[i] for i in rng.choice(len(free), size=window["n"], replace=False))
        used.update(picked)
        setting = "pain_service" if window["method"] == "opportunistic_pain_service" else "primary_care"
        rows += [{"method": window["method"], "setting": setting, "large_practice": bool(window["large_practice"]),
                  "recruited_on": d} for d in picked]
    frame = pd.DataFrame(rows).sort_values("recruited_on", kind="stable").reset_index(drop=True)
    frame.insert(0, "participant_id", [f"UK-{i:03d}" for i in range(1, len(frame) + 1)])
    return frame


def _allocate(recruits: pd.DataFrame, reconstruction: Mapping[str, Any], rng: np.random.Generator) -> pd.DataFrame:
    """Blocked 1:1 randomisation of the first recruits, then IPS while it was available and TAU afterwards."""
    rules = reconstruction["allocation"]
    n_random = int(rules["randomised_first"])
    sizes: list[int] = []
    while sum(sizes) < n_random:
        left = n_random - sum(sizes)
        options = [s for s in rules["block_sizes"] if s <= left]
        sizes.append(int(rng.choice(options)))
    arms: list[str] = []
    for size in sizes:
        arms += list(rng.permutation(["IPS"] * (size // 2) + ["TAU"] * (size // 2)))
    cutoff = _date(rules["ips_available_until"])
    later = recruits["recruited_on"].iloc[n_random:]
    arms += ["IPS" if day <= cutoff else "TAU" for day in later]
    out = recruits.copy()
    out["arm"] = arms
    out["allocation"] = ["randomised"] * n_random + ["allocated"] * (len(out) - n_random)
    out["cell"] = out["arm"].str.lower() + "_" + out["setting"]
    return out


def _deal(rng: np.random.Generator, frame: pd.DataFrame, column: str, members: pd.Index, values: Sequence) -> None:
    """Give ``values`` (exactly one per member) to ``members`` in a seeded random order."""
    if len(values) != len(members):
        raise ValueError(f"{column}: {len(values)} values for {len(members)} participants")
    order = rng.permutation(len(values))
    frame.loc[members, column] = pd.Series([values[i] for i in order], index=members, dtype=object)


def _margin(targets: Mapping[str, float], var: str, levels: Mapping[str, Any], group: str) -> list:
    """The list of data values whose level counts are the published counts of ``var`` in ``group``."""
    values: list = []
    for level, value in levels.items():
        values += [value] * _count(targets, f"feasibility.baseline.{var}.{level}.{group}.count")
    return values


def _baseline(people: pd.DataFrame, targets: Mapping[str, float], recon: Mapping[str, Any],
              rng: np.random.Generator) -> pd.DataFrame:
    """Baseline characteristics meeting the Table 2 margins by arm and the published setting contrasts."""
    frame = people.copy()
    base = recon["baseline"]
    for column in PARTICIPANT_COLUMNS:
        if column not in frame:
            frame[column] = pd.Series([None] * len(frame), index=frame.index, dtype=object)
    cells = {cell: frame.index[frame["cell"] == cell] for cell in sorted(frame["cell"].unique())}

    for arm in ARMS:
        key, members = arm.lower(), frame.index[frame["arm"] == arm]
        _deal(rng, frame, "sex", members, _margin(targets, "sex", {"male": "male", "female": "female"}, key))

        # Ethnicity: the pain-service cell is fixed by the reconstruction, primary care gets the rest of the margin.
        eth_levels = ["white", "black_caribbean", "black_african", "black_other", "indian", "pakistani",
                      "bangladeshi", "chinese"]
        remaining = {lv: _count(targets, f"feasibility.baseline.ethnicity.{lv}.{key}.count") for lv in eth_levels}
        pain_cell = base["ethnicity_by_cell"].get(f"{key}_pain_service", {})
        for lv, n in pain_cell.items():
            remaining[lv] -= n
        _deal(rng, frame, "ethnicity", cells[f"{key}_pain_service"],
              [lv for lv, n in pain_cell.items() for _ in range(n)])
        _deal(rng, frame, "ethnicity", cells[f"{key}_primary_care"],
              [lv for lv in eth_levels for _ in range(remaining[lv])])

        # Marital status: singles fixed per cell, the other statuses dealt over the arm's non-singles.
        singles = []
        for setting in ("pain_service", "primary_care"):
            cell = cells[f"{key}_{setting}"]
            k = base["single_by_cell"][f"{key}_{setting}"]
            singles += list(cell[rng.permutation(len(cell))[:k]])
        frame.loc[singles, "marital_status"] = "single"
        others = members.difference(singles)
        marital = {lv: lv for lv in ("married", "civil_partnership", "widowed", "divorced", "living_with_partner")}
        _deal(rng, frame, "marital_status", others, _margin(targets, "marital_status", marital, key))
        if len(singles) != _count(targets, f"feasibility.baseline.marital_status.single.{key}.count"):
            raise ValueError("single_by_cell does not add up to the published margin")

        for setting in ("pain_service", "primary_care"):
            cell = cells[f"{key}_{setting}"]
            k = base["further_education_by_cell"][f"{key}_{setting}"]
            _deal(rng, frame, "further_education", cell, [1] * k + [0] * (len(cell) - k))
        if frame.loc[members, "further_education"].sum() != _count(
                targets, f"feasibility.baseline.further_education.yes.{key}.count"):
            raise ValueError("further_education_by_cell does not add up to the published margin")

        # Work history: the never-worked have no job-loss reason, no job-loss type and no time since work.
        n_never = _count(targets, f"feasibility.baseline.ever_paid_job.no.{key}.count")
        pool = cells[f"{key}_{base['never_worked_setting']}"]
        never = pool[rng.permutation(len(pool))[:n_never]]
        frame.loc[members, "ever_paid_job"] = 1
        frame.loc[never, "ever_paid_job"] = 0
        workers = members.difference(never)
        if n_never != _count(targets, f"feasibility.baseline.left_job_health.missing.{key}.count"):
            raise ValueError("the missing job-loss reasons are expected to be the never-worked")
        _deal(rng, frame, "left_job_health", workers,
              _margin(targets, "left_job_health", {"no": "no", "mainly": "mainly", "partly": "partly"}, key))
        for column in HRJL_TYPES + ["hrjl_not_applicable"]:
            frame.loc[members, column] = 0
        frame.loc[members, "hrjl_not_applicable"] = (frame.loc[members, "left_job_health"] == "no").astype(int)
        if frame.loc[members, "hrjl_not_applicable"].sum() != _count(
                targets, f"feasibility.baseline.hrjl_not_applicable.yes.{key}.count"):
            raise ValueError("HRJL not applicable is expected to equal 'left job for health: no'")
        health_leavers = members[frame.loc[members, "left_job_health"].isin(["mainly", "partly"]).to_numpy()]
        n_types = pd.Series(0, index=health_leavers)
        for column in HRJL_TYPES:
            k = _count(targets, f"feasibility.baseline.{column}.yes.{key}.count")
            # Those with no type yet come first, so that every health-related job loss gets at least one type.
            tiebreak = pd.Series(rng.permutation(len(health_leavers)), index=health_leavers)
            chosen = pd.DataFrame({"n": n_types, "t": tiebreak}).sort_values(["n", "t"]).index[:k]
            frame.loc[chosen, column] = 1
            n_types[chosen] += 1
        if (n_types == 0).any():
            raise ValueError("a health-related job loss without a type")

        for setting in ("pain_service", "primary_care"):
            cell = cells[f"{key}_{setting}"]
            cell_workers = cell.difference(never)
            values = base["years_since_paid_work"][f"{key}_{setting}"]
            with_value = cell_workers[np.sort(rng.permutation(len(cell_workers))[:len(values)])]
            _deal(rng, frame, "years_since_paid_work", with_value, [float(v) for v in values])
        if frame.loc[members, "years_since_paid_work"].isna().sum() != _count(
                targets, f"feasibility.baseline.years_since_paid_work.missing.{key}.count"):
            raise ValueError("years_since_paid_work does not leave the published number missing")

        ages = [float(age) for age, n in base["age_left_school"][key].items() for _ in range(n)]
        _deal(rng, frame, "age_left_school", members, ages + [None] * (len(members) - len(ages)))

        for column in ("qual_gcse", "qual_a_level", "qual_vocational"):
            k = _count(targets, f"feasibility.baseline.{column}.yes.{key}.count")
            _deal(rng, frame, column, members, [1] * k + [0] * (len(members) - k))
        educated = members[(frame.loc[members, "further_education"] == 1).to_numpy()]
        for column in ("qual_degree", "qual_higher_professional"):
            pool = educated if base.get("degree_needs_further_education", False) else members
            k = _count(targets, f"feasibility.baseline.{column}.yes.{key}.count")
            frame.loc[members, column] = 0
            frame.loc[pool[rng.permutation(len(pool))[:k]], column] = 1

        _deal(rng, frame, "future_work", members,
              _margin(targets, "future_work", {"part_time": "part_time", "full_time": "full_time"}, key))
        full_time = members[(frame.loc[members, "future_work"] == "full_time").to_numpy()]
        if len(full_time) != _count(targets, f"feasibility.baseline.part_time_hours.not_applicable.{key}.count"):
            raise ValueError("part-time hours 'not applicable' is expected to equal wanting full-time work")
        frame.loc[full_time, "part_time_hours"] = "not_applicable"
        hours = {lv: value for lv, value in _HOURS_LEVELS.items() if lv != "not_applicable"}
        hours_values = _margin(targets, "part_time_hours", {**hours, "missing": None}, key)
        _deal(rng, frame, "part_time_hours", members.difference(full_time), hours_values)

    everyone = frame.index
    for column in COMORBIDITIES:
        levels = {"no": "no", "yes": "yes", "not_sure": "not_sure", "missing": None}
        _deal(rng, frame, column, everyone, _margin(targets, column, levels, "all"))
    return frame


_PROFILE = ("male", "white", "single", "further_education")


def _profile(frame: pd.DataFrame, pid: Any) -> tuple[int, ...]:
    row = frame.loc[pid]
    return (int(row["sex"] == "male"), int(row["ethnicity"] == "white"), int(row["marital_status"] == "single"),
            int(row["further_education"] == 1))


def _nonreturners(frame: pd.DataFrame, targets: Mapping[str, float], rng: np.random.Generator) -> dict[str, list]:
    """The participants who returned no questionnaire, chosen so their profile matches the text.

    IPS sets are tried in seeded order; the first that some TAU set completes wins, with the first such TAU
    set in seeded order.
    """
    pools = {arm: list(frame.index[frame["arm"] == arm][rng.permutation(int((frame["arm"] == arm).sum()))])
             for arm in ARMS}
    sizes = {arm: _count(targets, f"feasibility.retention.none_returned.{arm.lower()}") for arm in ARMS}
    want = tuple(_count(targets, f"feasibility.retention.none_returned_profile.{k}.count") for k in _PROFILE)
    profiles = {pid: _profile(frame, pid) for pid in frame.index}
    tau_by_sum: dict[tuple[int, ...], tuple] = {}
    for tau in itertools.combinations(pools["TAU"], sizes["TAU"]):
        total = tuple(sum(profiles[pid][j] for pid in tau) for j in range(len(_PROFILE)))
        tau_by_sum.setdefault(total, tau)
    for ips in itertools.combinations(pools["IPS"], sizes["IPS"]):
        total = tuple(sum(profiles[pid][j] for pid in ips) for j in range(len(_PROFILE)))
        need = tuple(w - t for w, t in zip(want, total))
        if need in tau_by_sum:
            return {"IPS": list(ips), "TAU": list(tau_by_sum[need])}
    raise ValueError("no set of non-returners matches the published profile")


def _outcomes(frame: pd.DataFrame, targets: Mapping[str, float], recon: Mapping[str, Any],
              rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    """12-month status and the per-month questionnaire returns and paid work."""
    spec = recon["followup"]
    months = list(spec["months"])
    frame = frame.copy()
    plan: dict[Any, tuple[list[int], list[int]]] = {}  # participant -> (returned by month, worked by month)
    silent = _nonreturners(frame, targets, rng)

    def starts_at(start: int) -> list[int]:
        return [int(m >= start) for m in months]

    # IPS: the employment support workers knew the job status of some who returned nothing.
    ips_spec = spec["ips"]
    n_silent_paid = int(ips_spec["nonreturners_in_paid_work"])
    for i, pid in enumerate(silent["IPS"]):
        frame.loc[pid, "status_12m"] = "paid_work" if i < n_silent_paid else "lost_to_follow_up"
        plan[pid] = ([0] * len(months), [0] * len(months))
    ips_returners = frame.index[(frame["arm"] == "IPS") & ~frame.index.isin(silent["IPS"])]
    ips_returners = ips_returners[rng.permutation(len(ips_returners))]
    paid_specs = ips_spec["paid_work"]
    for pid, job in zip(ips_returners[:len(paid_specs)], paid_specs):
        frame.loc[pid, "status_12m"] = "paid_work"
        plan[pid] = (list(job["returned"]), starts_at(int(job["starts"])))
    not_in_work = ips_returners[len(paid_specs):]
    statuses = [s for s in _IPS_OTHER_STATUSES for _ in range(_count(targets, f"feasibility.status_12m.{s}.ips"))]
    _deal(rng, frame, "status_12m", not_in_work, statuses)
    patterns = ips_spec["not_in_work"]["returned"]
    if len(patterns) != len(not_in_work):
        raise ValueError("followup.ips.not_in_work does not cover the IPS participants without a job")
    for pid, i in zip(not_in_work, rng.permutation(len(patterns))):
        plan[pid] = (list(patterns[i]), [0] * len(months))

    # TAU: everything known comes from the questionnaires.
    tau_spec = spec["tau"]
    for pid in silent["TAU"]:
        frame.loc[pid, "status_12m"] = "lost_to_follow_up"
        plan[pid] = ([0] * len(months), [0] * len(months))
    tau_returners = frame.index[(frame["arm"] == "TAU") & ~frame.index.isin(silent["TAU"])]
    tau_returners = list(tau_returners[rng.permutation(len(tau_returners))])
    roles: list[tuple[str, list[int], list[int]]] = []
    for job in tau_spec["paid_work"]:
        roles += [("paid_work", list(job["returned"]), starts_at(int(job["starts"])))] * int(job["n"])
    roles += [("not_working", list(s["returned"]), list(s["worked"])) for s in tau_spec["worked_then_stopped"]]
    roles += [("not_working", list(r), [0] * len(months)) for r in tau_spec["never_worked"]["returned"]]
    roles += [("not_working", list(r), [0] * len(months)) for r in tau_spec["partial_not_working"]["returned"]]
    if len(roles) != len(tau_returners):
        raise ValueError("followup.tau does not cover the TAU participants who returned a questionnaire")
    for pid, (status, returned, worked) in zip(tau_returners, roles):
        frame.loc[pid, "status_12m"] = status
        plan[pid] = (returned, worked)

    for arm in ARMS:
        paid = int(((frame["arm"] == arm) & (frame["status_12m"] == "paid_work")).sum())
        if paid != _count(targets, f"feasibility.status_12m.paid_work.{arm.lower()}"):
            raise ValueError(f"{arm}: paid work at 12 months does not match the published count")

    rows = []
    for pid in frame.index:
        returned, worked = plan[pid]
        for month, r, w in zip(months, returned, worked):
            rows.append({"participant_id": frame.loc[pid, "participant_id"], "month": month, "returned": int(r),
                         "in_paid_work": int(w) if r else pd.NA})
    followup = pd.DataFrame(rows)
    followup["in_paid_work"] = followup["in_paid_work"].astype("Int64")
    return frame, followup.sort_values(["participant_id", "month"]).reset_index(drop=True)


def _recruitment(participants: pd.DataFrame, targets: Mapping[str, float], recon: Mapping[str, Any],
                 rng: np.random.Generator) -> pd.DataFrame:
    """One row per person approached or enquiring, linked to the recruits by method and date order."""
    spec = recon["recruitment"]
    rows: list[dict[str, Any]] = []
    for method in spec["method_order"]:
        setting = "pain_service" if method == "opportunistic_pain_service" else "primary_care"
        recruits = participants[participants["method"] == method].sort_values("recruited_on")["participant_id"]
        prefix = f"feasibility.recruitment.{method}"
        if method == "poster":
            outcomes = [("after_closure", None)] * _count(targets, f"{prefix}.ineligible")
        elif method == "database_mailout":
            reasons = ["in_paid_work"] * _count(targets, f"{prefix}.ineligible_in_paid_work")
            reasons += [r for r, n in spec["mailout_other_ineligible"].items() for _ in range(n)]
            if len(reasons) != _count(targets, f"{prefix}.ineligible"):
                raise ValueError("mailout ineligibility reasons do not add up to the published count")
            enquiries = len(reasons) + len(recruits)
            if enquiries != _count(targets, f"{prefix}.enquiries"):
                raise ValueError("mailout enquiries do not add up to the published count")
            n_silent = _count(targets, f"{prefix}.not_contactable")
            n_no_reply = _count(targets, f"{prefix}.approached") - enquiries - n_silent
            outcomes = ([("enquired_ineligible", r) for r in reasons] + [("not_contactable", None)] * n_silent
                        + [("no_reply", None)] * n_no_reply + [("recruited", None)] * len(recruits))
            outcomes = [outcomes[i] for i in rng.permutation(len(outcomes))]
        else:
            outcomes = [("recruited", None)] * len(recruits)
        linked = iter(recruits)
        for outcome, reason in outcomes:
            rows.append({"method": method, "setting": setting, "outcome": outcome, "ineligible_reason": reason,
                         "participant_id": next(linked) if outcome == "recruited" else None})
    frame = pd.DataFrame(rows)
    frame.insert(0, "contact_id", [f"UK-C{i:04d}" for i in range(1, len(frame) + 1)])
    return frame


def synthesize_instep(published: dict, seed: int, reconstruction: Mapping[str, Any] | None = None
                      ) -> dict[str, pd.DataFrame]:
    """Build the InStep frames ``recruitment``, ``participants``, ``followup``, ``employer_themes``.

    Parameters
    ----------
    published
        The parsed ``data/published/instep.yaml``.
    seed
        Seed of the one random generator; the same inputs and seed give identical frames.
    reconstruction
        The parsed ``data/published/instep-reconstruction.yaml`` (choices the paper leaves open); if omitted,
        ``published["reconstruction"]`` is used.
    """
    recon = reconstruction if reconstruction is not None else published.get("reconstruction")
    if recon is None:
        raise ValueError("synthesize_instep needs the reconstruction choices (instep-reconstruction.yaml)")
    targets = published_targets(published)
    rng = np.random.default_rng(seed)

    people = _allocate(_recruits(recon, rng), recon, rng)
    for arm in ARMS:
        if int((people["arm"] == arm).sum()) != _count(targets, f"feasibility.arm.{arm.lower()}.n"):
            raise ValueError(f"the schedule does not allocate the published number to {arm}")
    people = _baseline(people, targets, recon, rng)
    people, followup = _outcomes(people, targets, recon, rng)
    recruitment = _recruitment(people, targets, recon, rng)

    participants = people.copy()
    participants["recruited_on"] = participants["recruited_on"].map(dt.date.isoformat)
    participants = participants[PARTICIPANT_COLUMNS].sort_values("participant_id").reset_index(drop=True)
    for column in _FLOAT_COLUMNS:
        participants[column] = participants[column].astype("float64")
    int_columns = [c for c in PARTICIPANT_COLUMNS if c == "further_education" or c.startswith(("qual_", "hrjl_"))]
    for column in int_columns + ["ever_paid_job"]:
        participants[column] = participants[column].astype("int64")

    themes = pd.DataFrame(recon["employer_themes"])[["theme", "summary"]]
    themes["summary"] = themes["summary"].str.strip()
    themes.insert(0, "theme_id", range(1, len(themes) + 1))
    return {
        "recruitment": recruitment.sort_values("contact_id").reset_index(drop=True),
        "participants": participants,
        "followup": followup,
        "employer_themes": themes,
    }


def _csv_text(frame: pd.DataFrame) -> str:
    """Fixed formatting: floats with one decimal, integers plain, missing as an empty cell."""
    def cell(value: Any, is_float: bool) -> str:
        if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
            return ""
        if is_float:
            return f"{float(value):.1f}"
        if isinstance(value, (bool, np.bool_)):
            return str(int(value))
        if isinstance(value, (int, np.integer)):
            return str(int(value))
        return str(value)

    text = frame.copy().astype(object)
    for column in frame.columns:
        is_float = pd.api.types.is_float_dtype(frame[column])
        text[column] = [cell(v, is_float) for v in frame[column].tolist()]
    return text.to_csv(index=False, lineterminator="\n")


def write_instep(data_dir: Path) -> list[Path]:
    """Synthesize from ``data_dir/published`` and write ``data_dir/instep/*.csv`` and ``dataset.yaml``."""
    data_dir = Path(data_dir)
    published = yaml.safe_load((data_dir / "published" / PUBLISHED_FILE).read_text(encoding="utf-8"))
    recon = yaml.safe_load((data_dir / "published" / RECONSTRUCTION_FILE).read_text(encoding="utf-8"))
    frames = synthesize_instep(published, int(recon["seed"]), reconstruction=recon)
    out = data_dir / "instep"
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name in ("recruitment", "participants", "followup", "employer_themes"):
        path = out / f"{name}.csv"
        with open(path, "w", encoding="utf-8", newline="") as handle:
            handle.write(_csv_text(frames[name]))
        written.append(path)
    meta = out / "dataset.yaml"
    meta.write_text(
        "synthetic: true\n"
        'description: "InStep pilot (UK, n=50): recruitment, baseline characteristics, questionnaire follow-up '
        'and employers\' reflections."\n'
        f'notice: "{NOTICE}"\n'
        "generated_by: ipsreport synthesize\n",
        encoding="utf-8", newline="\n",
    )
    written.append(meta)
    return written
