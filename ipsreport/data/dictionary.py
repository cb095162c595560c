"""The data dictionary in code: every file and column of ``data/``, from which the schemas, the loaders and
``data/README.md`` are all built.

``docs/data-contract.md`` is the prose version of the same layout; when the two disagree, this module is
what the code enforces. Regenerate the README after any change::

    .venv/bin/python -m ipsreport.data.dictionary
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Literal

__all__ = [
    "Kind",
    "Missing",
    "Column",
    "DataFile",
    "Fact",
    "Dataset",
    "IPS_PAIN",
    "INSTEP",
    "DATASETS",
    "GRID_TOLERANCE",
    "ODI_GRID",
    "grid_tolerance",
    "dataset",
    "grid_text",
    "render_data_readme",
    "write_data_readme",
]

Kind = Literal["id", "category", "text", "integer", "binary", "number", "date"]
"""How a column is stored: ``id``/``category``/``text`` as strings, ``integer``/``binary`` as nullable Int64,
``number`` as float64, ``date`` as datetime64 (ISO ``YYYY-MM-DD`` in the file)."""

Missing = Literal["no", "yes", "if withdrawn"]
"""Whether an empty cell is allowed: never, always, or only in the row of a withdrawn participant."""

# A score on a grid (e.g. HSCL, a multiple of 1/25) is accepted when it is within this distance of the grid,
# so values written with at least four decimals pass (1/15 written as 0.0667 is 3.3e-5 away).
GRID_TOLERANCE = 1e-4
# ODI steps with 10, 8 and 9 items answered (prorated scores are written to 2 decimals).
ODI_GRID = (Fraction(2), Fraction(5, 2), Fraction(20, 9))


def grid_tolerance(step: Fraction) -> float:
    """Values are written to at most 6 decimals; a step that has no short decimal (20/9) is written to 2."""
    return 0.005 + 1e-9 if step.denominator not in (1, 2, 4, 5, 10, 15, 25) else GRID_TOLERANCE

_PANDAS_DTYPE: dict[str, str] = {
    "id": "str",
    "category": "str",
    "text": "str",
    "integer": "Int64",
    "binary": "Int64",
    "number": "float64",
    "date": "datetime64[ns]",
}


@dataclass(frozen=True)
class Column:
    """One column of a CSV file.

    ``allowed`` lists the admissible values of a category (strings) or a coded integer (e.g. months);
    ``minimum``/``maximum`` bound numbers and dates (inclusive); ``grid`` is the step every value is a
    multiple of (``Fraction(2)``: even integers, ``Fraction(1, 25)``: HSCL item means), or a tuple of steps
    of which the value must fit one (ODI, prorated when items are unanswered); ``pattern`` is a
    regular expression an ID or code must match in full; ``source`` says where the published margins of
    this column are printed.
    """

    name: str
    kind: Kind
    description: str
    unit: str = ""
    allowed: tuple[str | int, ...] = ()
    examples: tuple[str, ...] = ()
    minimum: float | dt.date | None = None
    maximum: float | dt.date | None = None
    grid: Fraction | tuple[Fraction, ...] | None = None
    pattern: str | None = None
    missing: Missing = "no"
    source: str = ""

    @property
    def dtype(self) -> str:
        """The pandas dtype of the loaded column."""
        return _PANDAS_DTYPE[self.kind]

    @property
    def nullable(self) -> bool:
        return self.missing != "no"

    @property
    def codes(self) -> tuple[str | int, ...]:
        """The admissible values, binary columns included (``()`` when not a closed list)."""
        return (0, 1) if self.kind == "binary" else self.allowed


@dataclass(frozen=True)
class DataFile:
    """One CSV file: its columns in file order, its key (unique per row) and the sort order of its rows."""

    name: str
    description: str
    rows: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    notes: str = ""

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.name} has no column {name!r}")


@dataclass(frozen=True)
class Fact:
    """One key of ``dataset.yaml``."""

    name: str
    type: Literal["bool", "str", "mapping"]
    required: bool
    description: str


@dataclass(frozen=True)
class Dataset:
    """A folder of ``data/``: its CSV files and its ``dataset.yaml``."""

    name: str
    title: str
    description: str
    files: tuple[DataFile, ...]
    facts: tuple[Fact, ...]

    def file(self, name: str) -> DataFile:
        for f in self.files:
            if f.name == name:
                return f
        raise KeyError(f"{self.name} has no file {name!r}")


# -- shared building blocks ------------------------------------------------------------------------------

_ARMS = ("IPS", "TAU")
_SETTINGS = ("primary_care", "pain_service")
_SNAKE = r"^[a-z][a-z0-9_]*$"

FACTS = (
    Fact(
        "synthetic",
        "bool",
        True,
        "`true` while the files are the reconstruction from published summaries (a notice is shown on every "
        "page); set to `false` when the files hold the real participant data.",
    ),
    Fact("description", "str", True, "One or two sentences on what the files are."),
    Fact("generated_by", "str", True, "What produced the files (e.g. `ipsreport synthesize`, seed) or who supplied them."),
    Fact("notice", "str", False, "Optional wording of the notice shown while `synthetic` is true."),
    Fact(
        "sources",
        "mapping",
        False,
        "Optional: per file, the SPSS (`.sav`), Stata (`.dta`), Excel (`.xlsx`, a named sheet) or CSV file it is "
        "read from instead, with the mapping of source variables, codes and IDs (see docs/data-contract.md).",
    ),
)


def _binary(name: str, description: str, missing: Missing = "no", source: str = "") -> Column:
    return Column(name, "binary", description, allowed=(), missing=missing, source=source)


def _ips_id(description: str) -> Column:
    return Column("participant_id", "id", description, pattern=r"^NO-(?:\d{3}|\d{5})$")


def _score(name: str, description: str, lo: float, hi: float, grid: Fraction | tuple[Fraction, ...],
           unit: str) -> Column:
    return Column(
        name,
        "number",
        description,
        unit=unit,
        minimum=lo,
        maximum=hi,
        grid=grid,
        missing="yes",
        source="Table 1 (month 0), Table 3 (months 6, 12), Table 4 (mixed model)",
    )


# -- IPS in Pain RCT -------------------------------------------------------------------------------------

IPS_PARTICIPANTS = DataFile(
    name="participants.csv",
    description="Every randomized participant of the IPS in Pain RCT.",
    rows="one per randomized participant (67)",
    key=("participant_id",),
    notes="Withdrawn participants keep `arm` and `randomized_on`, may have missing characteristics and have no "
    "rows in the follow-up files.",
    columns=(
        Column("participant_id", "id", "Participant ID.", pattern=r"^NO-(?:\d{3}|\d{5})$", source="Figure 1 (flow)"),
        Column("arm", "category", "Randomized arm.", allowed=_ARMS, source="Figure 1 (flow), Table 1 columns"),
        _binary("withdrawn", "1 = withdrew after randomization (not analysed).", source="Figure 1 (flow), text"),
        Column(
            "randomized_on",
            "date",
            "Date of randomization; early participants allocated 2:1 (IPS:TAU), later 1:1.",
            minimum=dt.date(2015, 11, 1),
            maximum=dt.date(2017, 12, 31),
            source="text, recruitment period",
        ),
        _binary("female", "1 = female.", missing="if withdrawn", source="Table 1"),
        Column(
            "age",
            "integer",
            "Age at baseline.",
            unit="years",
            minimum=18,
            maximum=65,
            missing="if withdrawn",
            source="Table 1",
        ),
        _binary("higher_education", "1 = higher education.", missing="yes", source="Table 1"),
        _binary("partner", "1 = married or living with a partner.", missing="yes", source="Table 1"),
        _binary("has_children", "1 = has children.", missing="yes", source="Table 1"),
        Column(
            "benefit_type",
            "category",
            "Type of benefit received at baseline.",
            allowed=("work_assessment_allowance", "disability_benefit", "other_benefit", "none"),
            missing="yes",
            source="Table 1 (benefit rows, sub-rows as % of recipients)",
        ),
        _binary("out_of_work_2y", "1 = out of working life more than 2 years.", missing="yes", source="Table 1"),
    ),
)

IPS_QUESTIONNAIRES = DataFile(
    name="questionnaires.csv",
    description="Questionnaire scores, long: one row per analysed participant and month.",
    rows="one per analysed participant and month 0, 6, 12 (58 × 3)",
    key=("participant_id", "month"),
    notes="Any score may be missing; a row with every score missing means the questionnaire was not returned. "
    "`hscl = (10 × hscl_anxiety + 15 × hscl_depression) / 25` whenever all three are present.",
    columns=(
        _ips_id("Analysed participant (in participants.csv, not withdrawn)."),
        Column("month", "integer", "Months since baseline.", unit="months", allowed=(0, 6, 12)),
        _score("odi", "Oswestry Disability Index: 2 × sum of 10 items scored 0–5; with one or two items "
               "unanswered, prorated as 100 × sum / (5 × items answered), written to 2 decimals.", 0, 100,
               ODI_GRID, "points"),
        _score("eq_vas", "EQ-5D visual analogue scale (health-related quality of life).", 0, 100, Fraction(1), "points"),
        _score("hscl", "Hopkins Symptom Checklist: mean of 25 items (psychological distress).", 1, 4, Fraction(1, 25), "item mean"),
        _score("hscl_anxiety", "HSCL anxiety: mean of 10 items.", 1, 4, Fraction(1, 10), "item mean"),
        _score("hscl_depression", "HSCL depression: mean of 15 items.", 1, 4, Fraction(1, 15), "item mean"),
        _score("bpi_current", "Brief Pain Inventory: pain now.", 0, 10, Fraction(1), "points"),
        _score("bpi_worst", "Brief Pain Inventory: worst pain.", 0, 10, Fraction(1), "points"),
        _score("bpi_average", "Brief Pain Inventory: average pain.", 0, 10, Fraction(1), "points"),
        _score("bpi_least", "Brief Pain Inventory: least pain.", 0, 10, Fraction(1), "points"),
    ),
)

IPS_EMPLOYMENT = DataFile(
    name="employment.csv",
    description="Primary outcome, long: competitive employment since baseline.",
    rows="one per analysed participant and month 6, 12, 24",
    key=("participant_id", "month"),
    notes="Cumulative: once `employed` is 1, later months are 1 or missing.",
    columns=(
        _ips_id("Analysed participant."),
        Column("month", "integer", "Months since baseline.", unit="months", allowed=(6, 12, 24)),
        _binary(
            "employed",
            "1 = any competitive employment since baseline (cumulative); empty = no response.",
            missing="yes",
            source="Table 2, Figure 2",
        ),
    ),
)

IPS_WORK_12M = DataFile(
    name="work_12m.csv",
    description="Work during the first 12 months.",
    rows="one per analysed participant (58)",
    key=("participant_id",),
    columns=(
        _ips_id("Analysed participant."),
        Column(
            "hours_worked",
            "number",
            "Total hours worked in the 12 months.",
            unit="hours",
            minimum=0,
            grid=Fraction(1, 2),
            missing="yes",
            source="text, hours worked",
        ),
        _binary(
            "worked_20h_week",
            "1 = worked at least 20 hours in one week during the 12 months.",
            missing="yes",
            source="text, ≥ 20 hours a week",
        ),
        Column(
            "job_sector",
            "text",
            "Sector of the first job attained (IPS participants with a job), else missing; as job 1 in jobs.csv.",
            missing="yes",
            source="text, job sectors",
        ),
    ),
)

IPS_JOBS = DataFile(
    name="jobs.csv",
    description="Jobs attained by IPS participants (the sector shares).",
    rows="one per job attained by an analysed IPS participant",
    key=("participant_id", "job_number"),
    columns=(
        _ips_id("Analysed IPS participant."),
        Column("job_number", "integer", "1, 2, … within participant, consecutive.", minimum=1),
        Column(
            "job_sector",
            "text",
            "Sector of the job, free text as recorded by the employment specialists. The report names the codes "
            "health_social, childcare_school, business_assistant and retail; any other text is shown as written "
            "(escaped).",
            source="text, job sectors (shares)",
        ),
    ),
)

IPS_HISTORICAL = DataFile(
    name="historical_controls.csv",
    description="The registry patients used as historical controls in the ancillary analysis.",
    rows="one per registry patient (315)",
    key=("control_id",),
    columns=(
        Column("control_id", "id", "Registry patient ID.", pattern=r"^HC-(?:\d{4}|\d{6})$"),
        _binary("employed_12m", "1 = employed at the 12-month registry follow-up.", source="text, ancillary analysis"),
    ),
)

IPS_PAIN = Dataset(
    name="ips-pain",
    title="IPS in Pain RCT (Oslo)",
    description="Randomized trial of Individual Placement and Support versus treatment as usual for people "
    "with chronic pain out of work.",
    files=(IPS_PARTICIPANTS, IPS_QUESTIONNAIRES, IPS_EMPLOYMENT, IPS_WORK_12M, IPS_JOBS, IPS_HISTORICAL),
    facts=FACTS,
)

# -- InStep pilot ----------------------------------------------------------------------------------------

# IDs are two digits wider in a scaled copy of the data (ipsreport.synth.scale).
_UK_ID = r"^UK-(?:\d{3}|\d{5})$"
_COMORB = ("no", "yes", "not_sure")

UK_RECRUITMENT = DataFile(
    name="recruitment.csv",
    description="Everyone approached or enquiring, by recruitment method.",
    rows="one per person approached or enquiring",
    key=("contact_id",),
    notes="Posters have no denominator: only the people who enquired have rows. `ineligible_reason` is given "
    "only when `outcome` is `enquired_ineligible`; `participant_id` is given exactly when `outcome` is "
    "`recruited`.",
    columns=(
        Column("contact_id", "id", "Contact ID.", pattern=r"^UK-C(?:\d{4}|\d{6})$"),
        Column(
            "method",
            "category",
            "Recruitment method.",
            allowed=("database_mailout", "hand_search_telephone", "poster", "opportunistic_gp", "opportunistic_pain_service"),
            source="Table 1 (recruitment by method)",
        ),
        Column("setting", "category", "Recruitment setting.", allowed=_SETTINGS, source="Table 1, text"),
        Column(
            "outcome",
            "category",
            "What came of the approach.",
            allowed=("no_reply", "enquired_ineligible", "not_contactable", "recruited", "after_closure"),
            source="Table 1",
        ),
        Column(
            "ineligible_reason",
            "category",
            "Why an enquirer was ineligible.",
            allowed=("in_paid_work", "retired", "no_chronic_pain", "other"),
            missing="yes",
            source="Table 1",
        ),
        Column("participant_id", "id", "The participant ID when recruited, else missing.", pattern=_UK_ID, missing="yes"),
    ),
)

UK_PARTICIPANTS = DataFile(
    name="participants.csv",
    description="The participants recruited to the InStep pilot.",
    rows="one per recruited participant (50)",
    key=("participant_id",),
    columns=(
        Column("participant_id", "id", "Participant ID.", pattern=_UK_ID),
        Column("arm", "category", "Arm allocated.", allowed=_ARMS, source="text, allocation; Table 2 columns"),
        Column("setting", "category", "Where recruited.", allowed=_SETTINGS, source="text, recruitment by setting"),
        Column(
            "recruited_on",
            "date",
            "Date of recruitment.",
            minimum=dt.date(2017, 11, 1),
            maximum=dt.date(2019, 3, 31),
            source="text, recruitment period",
        ),
        Column(
            "allocation",
            "category",
            "`randomised` (the first 18, blocks 1:1) or `allocated` (by IPS availability).",
            allowed=("randomised", "allocated"),
            source="text, allocation",
        ),
        Column("sex", "category", "Sex.", allowed=("male", "female"), source="Table 2"),
        Column(
            "ethnicity",
            "category",
            "Ethnic group.",
            allowed=("white", "black_caribbean", "black_african", "black_other", "indian", "pakistani", "bangladeshi", "chinese"),
            source="Table 2",
        ),
        Column(
            "marital_status",
            "category",
            "Marital status.",
            allowed=("married", "single", "civil_partnership", "widowed", "divorced", "living_with_partner"),
            source="Table 2",
        ),
        Column("age_left_school", "number", "Age on leaving school.", unit="years", minimum=0, missing="yes", source="Table 2"),
        _binary("further_education", "1 = further education.", source="Table 2"),
        *(
            _binary(f"qual_{q}", f"1 = holds {label} (qualifications are not exclusive).", source="Table 2")
            for q, label in (
                ("gcse", "GCSE"),
                ("a_level", "A level"),
                ("vocational", "a vocational qualification"),
                ("degree", "a degree"),
                ("higher_professional", "a higher professional qualification"),
            )
        ),
        _binary("ever_paid_job", "1 = has ever had a paid job.", source="Table 2, text"),
        Column(
            "years_since_paid_work",
            "number",
            "Time since last in paid work.",
            unit="years",
            minimum=0,
            missing="yes",
            source="Table 2, text",
        ),
        Column(
            "left_job_health",
            "category",
            "Left the last job because of health.",
            allowed=("no", "mainly", "partly"),
            missing="yes",
            source="Table 2",
        ),
        *(
            _binary(f"hrjl_{h}", f"1 = {label} behind the job loss (not exclusive).", source="Table 2")
            for h, label in (
                ("chronic_pain", "chronic pain"),
                ("musculoskeletal", "a musculoskeletal problem"),
                ("mental_health", "a mental health problem"),
                ("heart_lungs", "a heart or lung problem"),
                ("other", "another health problem"),
                ("not_applicable", "not applicable"),
            )
        ),
        Column("future_work", "category", "Work wanted in future.", allowed=("part_time", "full_time"), source="Table 2"),
        Column(
            "part_time_hours",
            "category",
            "Hours a week wanted, if part time.",
            unit="hours a week",
            allowed=("0-8", "9-15", "16-24", "25+", "not_applicable"),
            missing="yes",
            source="Table 2",
        ),
        *(
            Column(f"comorb_{c}", "category", f"Comorbidity: {label}.", allowed=_COMORB, missing="yes", source="Table 2")
            for c, label in (
                ("high_blood_pressure", "high blood pressure"),
                ("heart", "heart disease"),
                ("diabetes", "diabetes"),
                ("kidney", "kidney disease"),
                ("stroke", "stroke"),
                ("arthritis", "arthritis"),
                ("lung", "lung disease"),
                ("anxiety_depression", "anxiety or depression"),
                ("gastro", "gastrointestinal disease"),
            )
        ),
        Column(
            "status_12m",
            "category",
            "Work status at 12 months.",
            allowed=("paid_work", "voluntary_work", "vocational_training", "job_seeking", "not_working", "lost_to_follow_up"),
            source="text, outcomes at 12 months",
        ),
    ),
)

UK_FOLLOWUP = DataFile(
    name="followup.csv",
    description="Postal follow-up questionnaires, long.",
    rows="one per participant and month 3, 6, 12 (150)",
    key=("participant_id", "month"),
    columns=(
        Column("participant_id", "id", "Participant (in participants.csv).", pattern=_UK_ID),
        Column("month", "integer", "Months since recruitment.", unit="months", allowed=(3, 6, 12)),
        _binary("returned", "1 = postal questionnaire returned.", source="text, retention"),
        _binary("in_paid_work", "1 = in paid work at that month; missing when unknown.", missing="yes", source="text, employment"),
    ),
)

UK_EMPLOYER_THEMES = DataFile(
    name="employer_themes.csv",
    description="Employers' reflections on offering a work placement, paraphrased (nothing quoted).",
    rows="one per theme",
    key=("theme_id",),
    columns=(
        Column("theme_id", "integer", "Theme number 1, 2, …", minimum=1),
        Column("theme", "text", "Short title.", source="Table 3"),
        Column("summary", "text", "One or two sentences, paraphrased.", source="Table 3"),
    ),
)

INSTEP = Dataset(
    name="instep",
    title="InStep pilot (UK)",
    description="Feasibility pilot of IPS for people with chronic pain out of work, recruited in primary care "
    "and pain services.",
    files=(UK_RECRUITMENT, UK_PARTICIPANTS, UK_FOLLOWUP, UK_EMPLOYER_THEMES),
    facts=FACTS,
)

DATASETS: tuple[Dataset, ...] = (IPS_PAIN, INSTEP)


def dataset(name: str) -> Dataset:
    """The dataset named ``ips-pain`` or ``instep``."""
    for d in DATASETS:
        if d.name == name:
            return d
    raise KeyError(f"no dataset {name!r}; known: {', '.join(d.name for d in DATASETS)}")


# -- text for people -------------------------------------------------------------------------------------


def _number(x: float | Fraction) -> str:
    if isinstance(x, Fraction) and x.denominator != 1:
        return str(float(x)) if x.denominator in (2, 4, 5, 10) else f"{x.numerator}/{x.denominator}"
    f = float(x)
    return str(int(f)) if f.is_integer() else str(f)


def grid_text(step: Fraction | tuple[Fraction, ...]) -> str:
    """``Fraction(2)`` → 'an even integer', ``Fraction(1)`` → 'a whole number', ``Fraction(1, 25)`` → 'a multiple of 1/25'."""
    if isinstance(step, tuple):
        return "a multiple of " + " or ".join(_number(s) for s in step) + " (to 2 decimals)"
    if step == 1:
        return "a whole number"
    if step == 2:
        return "an even integer"
    return f"a multiple of {_number(step)}"


def _range_text(c: Column) -> str:
    lo, hi = c.minimum, c.maximum
    if lo is None and hi is None:
        return ""
    fmt = (lambda v: v.isoformat()) if c.kind == "date" else _number
    if lo is not None and hi is not None:
        return f"{fmt(lo)} to {fmt(hi)}"
    return f"≥ {fmt(lo)}" if lo is not None else f"≤ {fmt(hi)}"


def _values_text(c: Column) -> str:
    parts = []
    if c.codes:
        parts.append(", ".join(f"`{v}`" for v in c.codes))
    if c.examples:
        parts.append("e.g. " + ", ".join(f"`{v}`" for v in c.examples) + ", or another snake_case code")
    elif c.pattern and c.kind != "id":
        parts.append(f"matching `{c.pattern}`")
    if c.kind == "id" and c.pattern:
        parts.append(f"`{c.pattern}`")
    rng = _range_text(c)
    if rng:
        parts.append(rng)
    if c.grid is not None:
        parts.append(grid_text(c.grid))
    return "; ".join(parts)


_MISSING_TEXT = {"no": "no", "yes": "yes", "if withdrawn": "only if withdrawn"}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_data_readme() -> str:
    """The text of ``data/README.md``, generated from the dictionary."""
    out = [
        "# The data of the report",
        "",
        "<!-- Generated from ipsreport/data/dictionary.py; do not edit by hand. -->",
        "",
        "**This file is generated** from the data dictionary in `ipsreport/data/dictionary.py`. Do not edit it;",
        "change the dictionary and regenerate it with",
        "",
        "```sh",
        ".venv/bin/python -m ipsreport.data.dictionary",
        "```",
        "",
        "Check the files against it with `ipsreport validate` (every problem is listed, with file, line and column).",
        "",
        "## General rules",
        "",
        "- CSV, UTF-8, one header row, comma separator, `\\n` line ends. Columns as listed below (written in that order).",
        "- An empty cell means missing; there is no other missing code (`NA`, `.`, `-99` are errors).",
        "- Binary values are `0`/`1`; dates are ISO `YYYY-MM-DD`; IDs are the non-numeric strings shown.",
        "- Rows are sorted by the file's key (ID, then month or job number); the key is unique.",
        f"- A score on a grid (e.g. HSCL, a multiple of 1/25) is accepted within {GRID_TOLERANCE:g} of the grid, "
        "so write such values with at least four decimals.",
        "- *Published in* says where the paper prints the summaries the column feeds.",
        "",
        "## Replacing the synthetic data with the real data",
        "",
        "The files shipped here are a **synthetic reconstruction** from the published summaries, not participant",
        "data. To render the report from the real data:",
        "",
        "1. Write each file with exactly the columns, types and codes below (same file names, same column names).",
        "2. In each folder's `dataset.yaml`, set `synthetic: false` (this removes the notice from every page) and",
        "   update `description:` and `generated_by:`.",
        "3. Run `ipsreport validate` and fix every problem it lists, then `ipsreport render`.",
        "",
        "If the data are in SPSS (`.sav`), Stata (`.dta`) or Excel (`.xlsx`) files, step 1 can be replaced by a",
        "`sources:` entry in `dataset.yaml` that names each file and maps its variables, codes and IDs to the",
        "columns below (see `docs/data-contract.md`, \"Source files\"; `examples/` holds worked examples);",
        "`ipsreport import` writes the CSV files from them if you want them.",
        "",
    ]
    for d in DATASETS:
        out += [f"## `data/{d.name}/`: {d.title}", "", d.description, ""]
        for f in d.files:
            out += [f"### `{f.name}`", "", f"{f.description} Rows: {f.rows}. Key: {', '.join(f'`{k}`' for k in f.key)}.", ""]
            if f.notes:
                out += [f.notes, ""]
            out += [
                "| column | type | unit | values | missing | description | published in |",
                "|---|---|---|---|---|---|---|",
            ]
            for c in f.columns:
                out.append(
                    "| "
                    + " | ".join(
                        _cell(x)
                        for x in (
                            f"`{c.name}`",
                            f"{c.kind} (`{c.dtype}`)",
                            c.unit,
                            _values_text(c),
                            _MISSING_TEXT[c.missing],
                            c.description,
                            c.source,
                        )
                    )
                    + " |"
                )
            out.append("")
        out += ["### `dataset.yaml`", "", "| key | type | required | description |", "|---|---|---|---|"]
        for fact in d.facts:
            out.append(f"| `{fact.name}` | {fact.type} | {'yes' if fact.required else 'no'} | {_cell(fact.description)} |")
        out.append("")
    return "\n".join(out)


def write_data_readme(path: str | Path | None = None) -> Path:
    """Write ``data/README.md`` (or ``path``) from the dictionary and return the path written."""
    target = Path(path) if path is not None else Path(__file__).resolve().parents[2] / "data" / "README.md"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render_data_readme(), encoding="utf-8", newline="\n")
    return target


if __name__ == "__main__":
    print(f"wrote {write_data_readme()}")
