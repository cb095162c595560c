"""Synthetic participant-level data for the IPS in Pain trial, rebuilt so that every published margin is reproduced."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from ipsreport.data.dictionary import dataset

from ipsreport.synth._search import (
    ArmTarget,
    Display,
    RowProblem,
    hscl_targets,
    solve_hscl,
    solve_row,
)

__all__ = ["synthesize_ips_pain", "write_ips_pain", "published_values", "FILES"]

FILES = ("participants", "questionnaires", "employment", "work_12m", "jobs", "historical_controls")
ARMS = ("ips", "tau")
OUTCOMES = ("odi", "eq_vas", "hscl", "hscl_anxiety", "hscl_depression", "bpi_current", "bpi_worst", "bpi_average", "bpi_least")
BPI = ("bpi_current", "bpi_worst", "bpi_average", "bpi_least")
NOTICE = ("The IPS in Pain trial data are a synthetic reconstruction that matches the paper's published "
          "summaries; they are not the trial's participant records.")

# Value tables: a score is table[unit]; units are what the search moves.
BPI_TABLE = np.arange(11.0)
EQ_TABLE = np.arange(101.0)
AGE_TABLE = np.arange(66.0)
ANX_TABLE = np.round(np.arange(41) / 10, 1)
DEP_TABLE = np.round(np.arange(61) / 15, 6)
HSCL_TABLE = np.round(np.arange(101) / 25, 2)
HOURS_TABLE = np.arange(3601) / 2


def _odi_table() -> tuple[np.ndarray, np.ndarray]:
    """ODI scores: 2 x item sum when all 10 items are answered, else 20 x sum / (items answered), 8 or 9 items."""
    full = {round(2.0 * s, 2): 0 for s in range(51)}
    nine = {round(20.0 * s / 9, 2): 1 for s in range(46)}
    eight = {round(2.5 * s, 2): 1 for s in range(41)}
    merged = {**eight, **nine, **full}  # a value reachable several ways counts as the fullest answer
    values = np.array(sorted(merged))
    return values, np.array([merged[v] for v in values], dtype=np.int64)


ODI_TABLE, ODI_PRORATED = _odi_table()


@dataclass(frozen=True)
class Summary:
    """Printed n, mean and SD of one arm."""

    n: int
    mean: str
    sd: str


def published_values(published: dict) -> dict[str, str]:
    """Key -> printed string of a published-values document."""
    return {item["key"]: str(item["printed"]) for item in published["items"]}


def _summary(pub: dict[str, str], prefix: str, arm: str, n: int | None = None) -> Summary:
    count = n if n is not None else int(pub[f"{prefix}.{arm}.n"])
    return Summary(count, pub[f"{prefix}.{arm}.mean"], pub[f"{prefix}.{arm}.sd"])


def _single_problem(name: str, table: np.ndarray, lo: int, hi: int, ips: Summary, tau: Summary, p_value: str | None,
                    test: str, shapes: tuple[str, str] = ("normal", "normal"), **extra) -> RowProblem:
    mean = lambda s: s.mean if "." in s.mean else f"{float(s.mean):.2f}"  # noqa: E731  ("6" printed for 6.00)
    return RowProblem(
        name=name, levels=((lo, hi),), displays=(Display(name, (1,), table),),
        ips=ArmTarget(ips.n, (mean(ips),), (ips.sd,)), tau=ArmTarget(tau.n, (mean(tau),), (tau.sd,)),
        p_values=(p_value,), equal_var=(test == "student",), shapes=shapes, **extra)


def _odi_problem(name: str, ips: Summary, tau: Summary, p_value: str, test: str, max_prorated: int) -> RowProblem:
    return _single_problem(name, ODI_TABLE, 0, len(ODI_TABLE) - 1, ips, tau, p_value, test,
                           max_off_grid=max_prorated, off_grid=ODI_PRORATED, steps=(1, 2, 2))


def _shapes_for(test: str) -> tuple[str, str]:
    # a significant Levene test is easier with light tails, a non-significant one with heavy tails
    return ("light", "light") if test == "welch" else ("heavy", "heavy")


def _hscl_problem(name: str, pub: dict[str, str], prefix: str, n: dict[str, int], tests: dict[str, str],
                  below: dict[str, tuple[int, int, int] | None]) -> RowProblem:
    keys = ("hscl_anxiety", "hscl_depression", "hscl")
    arms = {}
    for arm in ARMS:
        s = [_summary(pub, f"{prefix}.{k}", arm, n[arm]) for k in keys]
        arms[arm] = ArmTarget(n[arm], tuple(x.mean for x in s), tuple(x.sd for x in s), below=below[arm])
    return RowProblem(
        name=name, levels=((10, 40), (15, 60)),
        displays=(Display("hscl_anxiety", (1, 0), ANX_TABLE), Display("hscl_depression", (0, 1), DEP_TABLE),
                  Display("hscl", (1, 1), HSCL_TABLE)),
        ips=arms["ips"], tau=arms["tau"],
        p_values=tuple(pub[f"{prefix}.{k}.p_value"] for k in keys),
        equal_var=tuple(tests[k] == "student" for k in keys))


def _check(result: dict, name: str) -> None:
    if float(result["error"]) != 0:
        raise RuntimeError(f"{name}: no sample meets the published targets (error {float(result['error']):.3f})")


# ---------------------------------------------------------------------------------------------------------
# Participants


def _allocation(choices: dict, rng: np.random.Generator) -> pd.DataFrame:
    flow = choices["flow"]
    first = flow["two_to_one_first"]
    total = sum(flow["randomized"].values())
    arms: list[str] = []
    while len(arms) < first:
        arms += list(rng.permutation(["IPS", "IPS", "TAU"]))
    while len(arms) < total:
        arms += list(rng.permutation(["IPS", "TAU"]))
    arms = arms[:total]
    if arms.count("IPS") != flow["randomized"]["ips"]:
        raise ValueError("allocation blocks do not give the chosen randomized numbers")
    dates = flow["recruitment"]
    start, switch, end = (dt.date.fromisoformat(dates[k]) for k in ("first", "switch", "last"))
    early = np.sort(rng.choice((switch - start).days, size=first - 1, replace=False))
    late = np.sort(rng.choice(np.arange(1, (end - switch).days), size=total - first - 1, replace=False))
    days = [start + dt.timedelta(days=int(d)) for d in np.concatenate([[0], early[1:], [early[-1] + 1]])][:first]
    days = sorted(days)
    days += [switch] + [switch + dt.timedelta(days=int(d)) for d in late]
    withdrawn = np.zeros(total, dtype=int)
    for arm in ARMS:
        members = [i for i, a in enumerate(arms) if a.lower() == arm]
        withdrawn[rng.choice(members, size=flow["withdrawn"][arm], replace=False)] = 1
    return pd.DataFrame({
        "participant_id": [f"NO-{i + 1:03d}" for i in range(total)],
        "arm": arms,
        "withdrawn": withdrawn,
        "randomized_on": [d.isoformat() for d in sorted(days)],
    })


def _binary_column(frame: pd.DataFrame, pub: dict[str, str], var: str, rng: np.random.Generator,
                   denominators: dict[str, int]) -> pd.Series:
    out = pd.Series(pd.NA, index=frame.index, dtype="Int64")
    for arm in ARMS:
        members = frame.index[(frame["arm"] == arm.upper()) & (frame["withdrawn"] == 0)].to_numpy()
        respond = rng.choice(members, size=denominators[arm], replace=False)
        ones = rng.choice(respond, size=int(pub[f"baseline.{var}.{arm}.count"]), replace=False)
        out.loc[respond] = 0
        out.loc[ones] = 1
    return out


def _denominator(count: int, percent: str, candidates: range) -> int:
    """The smallest denominator whose valid percentage matches the printed one (to its last printed digit)."""
    decimals = len(percent.split(".")[1]) if "." in percent else 0
    best = min(candidates, key=lambda n: (abs(100 * count / n - float(percent)), n))
    if abs(100 * count / best - float(percent)) > 10.0 ** -decimals:
        raise ValueError(f"no denominator reproduces {count} ({percent}%)")
    return best


# ---------------------------------------------------------------------------------------------------------
# Assigning summaries to persons


def _rank_assign(values: np.ndarray, persons: np.ndarray, latent: pd.Series, rng: np.random.Generator,
                 loading: float, direction: int) -> pd.Series:
    """Give sorted values to persons ordered by a noisy copy of their latent severity."""
    key = loading * latent.loc[persons].to_numpy() + np.sqrt(1 - loading**2) * rng.standard_normal(len(persons))
    order = np.argsort(direction * key, kind="stable")
    out = pd.Series(np.nan, index=persons)
    out.iloc[order] = np.sort(values)
    return out


def _pick(members: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    return np.sort(rng.choice(members, size=n, replace=False))


def synthesize_ips_pain(published: dict, choices: dict, seed: int) -> dict[str, pd.DataFrame]:
    """Build the six IPS in Pain data frames (file name -> frame) from the published values and the choices."""
    pub = published_values(published)
    rng = np.random.default_rng(seed)
    loading = float(choices["latent_correlation"]["value"])

    # --- participants ---------------------------------------------------------------------------------
    people = _allocation(choices, rng)
    analysed = people.index[people["withdrawn"] == 0].to_numpy()
    arm_of = people["arm"].str.lower()
    members = {arm: people.index[(arm_of == arm) & (people["withdrawn"] == 0)].to_numpy() for arm in ARMS}
    n_arm = {arm: len(members[arm]) for arm in ARMS}
    latent = pd.Series(rng.standard_normal(len(people)), index=people.index)

    denominators: dict[str, dict[str, int]] = {}
    for var in ("female", "higher_education", "partner", "has_children", "benefit_any", "out_of_work_2y"):
        denominators[var] = {}
        for arm in ARMS:
            count = int(pub[f"baseline.{var}.{arm}.count"])
            # the printed IPS partner percentage is inconsistent; its P value and Table 2 both imply 11/34
            percent = "32.4" if (var, arm) == ("partner", "ips") else pub[f"baseline.{var}.{arm}.percent"]
            denominators[var][arm] = _denominator(count, percent, range(max(count, 1), n_arm[arm] + 1))
    for var in ("female", "higher_education", "partner", "has_children", "out_of_work_2y"):
        column = "female" if var == "female" else var
        people[column] = _binary_column(people, pub, var, rng, denominators[var])
    benefit = pd.Series(pd.NA, index=people.index, dtype="string")
    for arm in ARMS:
        kinds = (["work_assessment_allowance"] * int(pub[f"baseline.benefit_waa.{arm}.count"])
                 + ["disability_benefit"] * int(pub[f"baseline.benefit_disability.{arm}.count"])
                 + ["other_benefit"] * int(pub[f"baseline.benefit_other.{arm}.count"]))
        kinds += ["none"] * (denominators["benefit_any"][arm] - len(kinds))
        respond = _pick(members[arm], denominators["benefit_any"][arm], rng)
        benefit.loc[respond] = list(rng.permutation(kinds))
    people["benefit_type"] = benefit
    # withdrawn participants: sex known from the consent form, other characteristics not recorded
    withdrawn = people.index[people["withdrawn"] == 1]
    people.loc[withdrawn, "female"] = (rng.random(len(withdrawn)) < 0.7).astype(int)

    # --- baseline summaries -------------------------------------------------------------------------
    base = choices["baseline_tests"]
    scores: dict[tuple[str, int], pd.Series] = {}
    direction = {k: (-1 if k == "eq_vas" else 1) for k in OUTCOMES}

    age_n = dict(zip(ARMS, base["age"]["n"]))
    problem = _single_problem("age", AGE_TABLE, 18, 65, _summary(pub, "baseline.age", "ips", age_n["ips"]),
                              _summary(pub, "baseline.age", "tau", age_n["tau"]), pub["baseline.age.p_value"],
                              base["age"]["test"], _shapes_for(base["age"]["test"]))
    result = solve_row(problem, rng)
    _check(result, "age")
    age = pd.Series(pd.NA, index=people.index, dtype="Int64")
    for arm in ARMS:
        # age is only weakly related to severity
        assigned = _rank_assign(AGE_TABLE[result[arm][:, 0]], members[arm], latent, rng, 0.2, 1)
        age.loc[assigned.index] = assigned.astype(int).to_numpy()
    age.loc[withdrawn] = rng.integers(22, 62, size=len(withdrawn))
    people["age"] = age

    baseline_persons: dict[str, dict[str, np.ndarray]] = {}
    for var in ("odi", "eq_vas") + BPI:
        n = dict(zip(ARMS, base[var]["n"]))
        test = base[var]["test"]
        ips, tau = (_summary(pub, f"baseline.{var}", arm, n[arm]) for arm in ARMS)
        if var == "odi":
            problem = _odi_problem(var, ips, tau, pub[f"baseline.{var}.p_value"], test, choices["odi_prorated"]["max_per_arm"])
            table = ODI_TABLE
        else:
            table = EQ_TABLE if var == "eq_vas" else BPI_TABLE
            problem = _single_problem(var, table, 0, len(table) - 1, ips, tau, pub[f"baseline.{var}.p_value"], test,
                                      _shapes_for(test))
        result = solve_row(problem, rng, iterations=20000 if var == "odi" else 6000)
        _check(result, f"baseline {var}")
        values = pd.Series(np.nan, index=analysed)
        for arm in ARMS:
            persons = _pick(members[arm], n[arm], rng)
            values.loc[persons] = _rank_assign(table[result[arm][:, 0]], persons, latent, rng, loading, direction[var])
        scores[(var, 0)] = values

    # HSCL: total, anxiety and depression are linked within a person (total units = anxiety + depression units)
    n = dict(zip(ARMS, base["hscl"]["n"]))
    below = {arm: (2, 1.75, n[arm] - int(pub[f"baseline.hscl_above_cutoff.{arm}.count"])) for arm in ARMS}
    tests = {k: base[k]["test"] for k in ("hscl", "hscl_anxiety", "hscl_depression")}
    offset = int(choices["hscl_total_offset"]["baseline_ips"])
    _hscl_scores(scores, 0, _hscl_problem("baseline hscl", pub, "baseline", n, tests, below), members, n, rng,
                 latent, loading, analysed, ips_deltas=(offset,))

    # --- follow-up -----------------------------------------------------------------------------------
    response = choices["questionnaire_response"]
    for month in (6, 12):
        prefix = f"secondary.m{month}"
        tests = {k: choices["followup_tests"][f"m{month}"][k]["test"] for k in OUTCOMES}
        resp = response[f"m{month}"]
        responders = {"ips": _pick(members["ips"], resp["ips"], rng), "tau": _pick(members["tau"], resp["tau"], rng)}
        core = {arm: np.sort(rng.choice(responders[arm], size=int(pub[f"{prefix}.hscl.{arm}.n"]), replace=False))
                for arm in ARMS}
        for var in ("odi", "eq_vas") + BPI:
            ips, tau = (_summary(pub, f"{prefix}.{var}", arm) for arm in ARMS)
            if var == "odi":
                problem = _odi_problem(f"m{month} {var}", ips, tau, pub[f"{prefix}.{var}.p_value"], tests[var],
                                       choices["odi_prorated"]["max_per_arm"])
                table = ODI_TABLE
            else:
                table = EQ_TABLE if var == "eq_vas" else BPI_TABLE
                problem = _single_problem(f"m{month} {var}", table, 0, len(table) - 1, ips, tau,
                                          pub[f"{prefix}.{var}.p_value"], tests[var], _shapes_for(tests[var]))
            result = solve_row(problem, rng, iterations=20000 if var == "odi" else 6000)
            _check(result, f"{month} months {var}")
            values = pd.Series(np.nan, index=analysed)
            for arm, summary in (("ips", ips), ("tau", tau)):
                if summary.n == len(core[arm]):
                    persons = core[arm]
                else:
                    # the extra respondent answered the first instruments only
                    extra = np.setdiff1d(responders[arm], core[arm])[: summary.n - len(core[arm])]
                    persons = np.sort(np.concatenate([core[arm], extra]))
                values.loc[persons] = _rank_assign(table[result[arm][:, 0]], persons, latent, rng, loading, direction[var])
            scores[(var, month)] = values
        n = {arm: int(pub[f"{prefix}.hscl.{arm}.n"]) for arm in ARMS}
        offset = int(choices["hscl_total_offset"][f"m{month}_ips"])
        _hscl_scores(scores, month, _hscl_problem(f"m{month} hscl", pub, prefix, n, tests, {"ips": None, "tau": None}),
                     {arm: core[arm] for arm in ARMS}, n, rng, latent, loading, analysed, ips_deltas=(offset,),
                     persons_fixed=True)

    questionnaires = _questionnaire_frame(people, analysed, scores)
    employment = _employment_frame(people, members, choices, rng)
    work = _work_frame(people, members, employment, pub, choices, rng)
    jobs, first_sector = _jobs_frame(people, members, employment, choices, rng)
    work["job_sector"] = work["participant_id"].map(first_sector)
    historical = _historical_frame(pub, rng)
    return {
        "participants": people,
        "questionnaires": questionnaires,
        "employment": employment,
        "work_12m": work,
        "jobs": jobs,
        "historical_controls": historical,
    }


def _hscl_scores(scores: dict, month: int, problem: RowProblem, members: dict[str, np.ndarray], n: dict[str, int],
                 rng: np.random.Generator, latent: pd.Series, loading: float, analysed: np.ndarray,
                 ips_deltas: tuple[int, ...], persons_fixed: bool = False) -> None:
    targets = hscl_targets(problem.ips, problem.tau, problem.p_values, problem.equal_var, ips_deltas=ips_deltas)
    result = solve_hscl(problem, targets, rng)
    frames = {k: pd.Series(np.nan, index=analysed) for k in ("hscl", "hscl_anxiety", "hscl_depression")}
    for arm in ARMS:
        units = result[arm]
        extra = result["ips_extra"] if arm == "ips" else np.zeros(len(units), dtype=np.int64)
        total = units[:, 0] + units[:, 1] + extra
        persons = members[arm] if persons_fixed else _pick(members[arm], n[arm], rng)
        key = loading * latent.loc[persons].to_numpy() + np.sqrt(1 - loading**2) * rng.standard_normal(len(persons))
        person_order = persons[np.argsort(key, kind="stable")]
        unit_order = np.argsort(total + 0.01 * units[:, 0], kind="stable")
        frames["hscl_anxiety"].loc[person_order] = ANX_TABLE[units[unit_order, 0]]
        frames["hscl_depression"].loc[person_order] = DEP_TABLE[units[unit_order, 1]]
        frames["hscl"].loc[person_order] = HSCL_TABLE[total[unit_order]]
    for k, v in frames.items():
        scores[(k, month)] = v


def _questionnaire_frame(people: pd.DataFrame, analysed: np.ndarray, scores: dict) -> pd.DataFrame:
    rows = []
    for month in (0, 6, 12):
        frame = pd.DataFrame({"participant_id": people.loc[analysed, "participant_id"].to_numpy(), "month": month})
        for var in OUTCOMES:
            frame[var] = scores[(var, month)].loc[analysed].to_numpy()
        rows.append(frame)
    return pd.concat(rows).sort_values(["participant_id", "month"]).reset_index(drop=True)


def _employment_frame(people: pd.DataFrame, members: dict[str, np.ndarray], choices: dict,
                      rng: np.random.Generator) -> pd.DataFrame:
    rows = []
    for arm in ARMS:
        patterns = [p["pattern"] for p in choices["employment_patterns"][arm] for _ in range(p["count"])]
        if len(patterns) != len(members[arm]):
            raise ValueError(f"employment patterns for {arm} do not cover the analysed participants")
        for person, k in zip(members[arm], rng.permutation(len(patterns))):
            for month, value in zip((6, 12, 24), patterns[k]):
                rows.append({"participant_id": people.at[person, "participant_id"], "month": month,
                             "employed": pd.NA if value is None else int(value)})
    frame = pd.DataFrame(rows).sort_values(["participant_id", "month"]).reset_index(drop=True)
    frame["employed"] = frame["employed"].astype("Int64")
    return frame


def _employed_by(employment: pd.DataFrame, month: int) -> set[str]:
    hit = employment[(employment["month"] <= month) & (employment["employed"] == 1)]
    return set(hit["participant_id"])


def _work_frame(people: pd.DataFrame, members: dict[str, np.ndarray], employment: pd.DataFrame, pub: dict[str, str],
                choices: dict, rng: np.random.Generator) -> pd.DataFrame:
    employed = _employed_by(employment, 12)
    ids = {arm: people.loc[members[arm], "participant_id"].to_numpy() for arm in ARMS}
    no_answer_12 = set(employment[(employment["month"] == 12) & employment["employed"].isna()]["participant_id"])
    plan = {}
    for arm in ARMS:
        workers = sorted(p for p in ids[arm] if p in employed)
        # hours are missing for 12-month non-respondents who were not known to be employed, then one other
        missing = sorted(p for p in ids[arm] if p in no_answer_12 and p not in employed)
        others = sorted(p for p in ids[arm] if p not in employed and p not in missing)
        need = int(choices["hours"][f"missing_{arm}"]) - len(missing)
        missing += list(rng.choice(others, size=need, replace=False))
        zeros = sorted(p for p in ids[arm] if p not in employed and p not in missing)
        plan[arm] = (workers, zeros, missing)
    n_hours = {arm: int(pub[f"hours.{arm}.n"]) for arm in ARMS}
    for arm in ARMS:
        if len(plan[arm][0]) + len(plan[arm][1]) != n_hours[arm]:
            raise ValueError("hours plan does not give the published n")
    maxima = {arm: int(2 * float(pub[f"hours.{arm}.max"])) for arm in ARMS}
    targets = {}
    for arm in ARMS:
        workers, zeros, _ = plan[arm]
        fixed = tuple((0,) for _ in zeros) + ((maxima[arm],),)
        targets[arm] = ArmTarget(n_hours[arm], (pub[f"hours.{arm}.mean"],), (pub[f"hours.{arm}.sd"],), fixed=fixed)
    test = choices["hours_test"]["test"]
    problem = RowProblem(
        name="hours", levels=((2, max(maxima.values())),),
        displays=(Display("hours", (1,), HOURS_TABLE),), ips=targets["ips"], tau=targets["tau"],
        p_values=(pub["hours.p_value"],), equal_var=(test == "student",), shapes=("skew", "skew"),
        steps=(1, 3, 20, 100, 400))
    # each arm's free values must stay below its own maximum: search the arms with their own bounds
    result = _solve_hours(problem, maxima, rng)
    frames = []
    for arm in ARMS:
        workers, zeros, missing = plan[arm]
        free = np.sort(HOURS_TABLE[result[arm][:, 0]])
        hours = np.concatenate([free, [HOURS_TABLE[maxima[arm]]]])
        order = rng.permutation(len(workers))
        worked = dict(zip([workers[i] for i in order], hours))
        ranked = sorted(worked, key=lambda p: (-worked[p], p))
        count20 = int(pub[f"hours20.{arm}.count"])
        n20 = round(100 * count20 / float(pub[f"hours20.{arm}.percent"]))
        lacking = n_hours[arm] - n20
        # the worker(s) with the item missing are among those with modest hours
        no_item = ranked[len(ranked) // 2: len(ranked) // 2 + lacking]
        frame = pd.DataFrame({"participant_id": list(ids[arm])})
        frame["hours_worked"] = frame["participant_id"].map(lambda p: worked.get(p, 0.0 if p in zeros else np.nan))
        frame["worked_20h_week"] = pd.array([pd.NA if (p in missing or p in no_item) else int(p in ranked[:count20])
                                             for p in frame["participant_id"]], dtype="Int64")
        frames.append(frame)
    return pd.concat(frames).sort_values("participant_id").reset_index(drop=True)


def _solve_hours(problem: RowProblem, maxima: dict[str, int], rng: np.random.Generator) -> dict:
    # the shared search uses one bound for both arms; retry until the TAU values stay within the TAU maximum
    for _ in range(20):
        result = solve_row(problem, rng, max_restarts=10, iterations=12000)
        if float(result["error"]) == 0 and result["tau"].max() <= maxima["tau"] and result["ips"].max() <= maxima["ips"]:
            return result
    raise RuntimeError("hours: no sample meets the published targets")


def _jobs_frame(people: pd.DataFrame, members: dict[str, np.ndarray], employment: pd.DataFrame, choices: dict,
                rng: np.random.Generator) -> tuple[pd.DataFrame, dict[str, str]]:
    employed = _employed_by(employment, 24)
    holders = sorted(p for p in people.loc[members["ips"], "participant_id"] if p in employed)
    sectors = [s for s, k in choices["jobs"]["sectors"].items() for _ in range(k)]
    extra = len(sectors) - len(holders)
    second = set(rng.choice(holders, size=extra, replace=False))
    slots = [(p, 1) for p in holders] + [(p, 2) for p in sorted(second)]
    shuffled = [sectors[i] for i in rng.permutation(len(sectors))]
    jobs = pd.DataFrame({"participant_id": [s[0] for s in slots], "job_number": [s[1] for s in slots],
                         "job_sector": shuffled})
    jobs = jobs.sort_values(["participant_id", "job_number"]).reset_index(drop=True)
    first = dict(zip(jobs.loc[jobs["job_number"] == 1, "participant_id"], jobs.loc[jobs["job_number"] == 1, "job_sector"]))
    return jobs, first


def _historical_frame(pub: dict[str, str], rng: np.random.Generator) -> pd.DataFrame:
    n, employed = int(pub["ancillary.historical.n"]), int(pub["ancillary.historical.employed"])
    flags = np.zeros(n, dtype=int)
    flags[rng.choice(n, size=employed, replace=False)] = 1
    return pd.DataFrame({"control_id": [f"HC-{i + 1:04d}" for i in range(n)], "employed_12m": flags})


# ---------------------------------------------------------------------------------------------------------
# Writing


def _format_number(value, decimals: int) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return ""
    text = f"{float(value):.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


# Column order comes from the data dictionary, the one definition of every file's layout.
COLUMNS = {name: list(dataset("ips-pain").file(f"{name}.csv").column_names)
           for name in ("participants", "questionnaires", "employment", "work_12m", "jobs", "historical_controls")}
DECIMALS = {"odi": 2, "eq_vas": 0, "hscl": 2, "hscl_anxiety": 1, "hscl_depression": 6, "hours_worked": 1,
            **{k: 0 for k in BPI}}


def to_csv_text(name: str, frame: pd.DataFrame) -> str:
    """The frame as deterministic CSV text: fixed column order, fixed decimals, '\\n' line ends."""
    out = pd.DataFrame()
    for column in COLUMNS[name]:
        series = frame[column]
        if column in DECIMALS:
            out[column] = [_format_number(v, DECIMALS[column]) for v in series]
        elif pd.api.types.is_numeric_dtype(series):
            out[column] = [_format_number(v, 0) for v in series]
        else:
            out[column] = ["" if pd.isna(v) else str(v) for v in series]
    return out.to_csv(index=False, lineterminator="\n")


def write_ips_pain(data_dir: Path) -> list[Path]:
    """Synthesize from ``data/published/`` and write the CSV files and ``dataset.yaml`` into ``data_dir``.

    ``data_dir`` is the ``data/ips-pain`` folder; the published-values files are read from its parent's
    ``published/`` folder.
    """
    data_dir = Path(data_dir)
    root = data_dir.parent
    published = yaml.safe_load((root / "published" / "ips-pain-2022.yaml").read_text(encoding="utf-8"))
    choices = yaml.safe_load((root / "published" / "ips-pain-reconstruction.yaml").read_text(encoding="utf-8"))
    frames = synthesize_ips_pain(published, choices, int(choices["seed"]["value"]))
    target = data_dir
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for name in FILES:
        path = target / f"{name}.csv"
        path.write_text(to_csv_text(name, frames[name]), encoding="utf-8", newline="")
        written.append(path)
    meta = {"synthetic": True,
            "description": "IPS in Pain randomized trial (Oslo), participant-level data.",
            "notice": NOTICE,
            "generated_by": "ipsreport synthesize"}
    path = target / "dataset.yaml"
    path.write_text(yaml.safe_dump(meta, sort_keys=False, width=120), encoding="utf-8", newline="")
    written.append(path)
    return written
