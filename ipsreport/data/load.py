"""Loaders of the two datasets: validated, typed data frames plus the facts of ``dataset.yaml``.

Every loader validates its folder first and raises :class:`~ipsreport.data.validate.DataValidationError`
listing every problem, so analysis code never sees data that break the contract. Column types follow the
dictionary: IDs and categories as ``str``, 0/1 and integer columns as nullable ``Int64``, scores as
``float64`` (NaN = missing), dates as ``datetime64[ns]``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ipsreport.data.validate import CheckedDataset, DataValidationError, check_dataset, default_data_dir

__all__ = ["IpsPainData", "InstepData", "load_ips_pain", "load_instep", "SYNTHETIC_NOTICE"]

SYNTHETIC_NOTICE = (
    "These data are a synthetic reconstruction from the published summaries, not the trial's participant "
    "data: summaries match the publication, individual records are invented."
)


@dataclass(frozen=True)
class IpsPainData:
    """The IPS in Pain RCT: one frame per file of ``data/ips-pain/`` and the facts of its ``dataset.yaml``."""

    participants: pd.DataFrame
    questionnaires: pd.DataFrame
    employment: pd.DataFrame
    work_12m: pd.DataFrame
    jobs: pd.DataFrame
    historical_controls: pd.DataFrame
    synthetic: bool
    description: str
    generated_by: str
    notice: str
    source_dir: Path

    @property
    def analysed(self) -> pd.DataFrame:
        """The participants who did not withdraw (the analysed sample)."""
        return self.participants[self.participants["withdrawn"] == 0].reset_index(drop=True)


@dataclass(frozen=True)
class InstepData:
    """The InStep pilot: one frame per file of ``data/instep/`` and the facts of its ``dataset.yaml``."""

    recruitment: pd.DataFrame
    participants: pd.DataFrame
    followup: pd.DataFrame
    employer_themes: pd.DataFrame
    synthetic: bool
    description: str
    generated_by: str
    notice: str
    source_dir: Path


def _checked(data_dir: str | Path | None, name: str) -> tuple[CheckedDataset, dict[str, Any], Path]:
    folder = Path(default_data_dir() if data_dir is None else data_dir)
    checked = check_dataset(folder, name)
    if checked.problems:
        raise DataValidationError(checked.problems)
    assert checked.facts is not None  # no problems means the facts were read
    return checked, checked.facts, folder / name


def _frame(checked: CheckedDataset, file_name: str) -> pd.DataFrame:
    frame = checked.frames[file_name]
    return frame[list(checked.dataset.file(file_name).column_names)].reset_index(drop=True)


def _facts(facts: dict[str, Any]) -> dict[str, Any]:
    synthetic = bool(facts["synthetic"])
    notice = str(facts.get("notice") or SYNTHETIC_NOTICE) if synthetic else ""
    return {
        "synthetic": synthetic,
        "description": str(facts["description"]).strip(),
        "generated_by": str(facts["generated_by"]).strip(),
        "notice": notice.strip(),
    }


def load_ips_pain(data_dir: str | Path | None = None) -> IpsPainData:
    """Validate and load ``data_dir/ips-pain`` (default: the project's ``data/``)."""
    checked, facts, folder = _checked(data_dir, "ips-pain")
    return IpsPainData(
        participants=_frame(checked, "participants.csv"),
        questionnaires=_frame(checked, "questionnaires.csv"),
        employment=_frame(checked, "employment.csv"),
        work_12m=_frame(checked, "work_12m.csv"),
        jobs=_frame(checked, "jobs.csv"),
        historical_controls=_frame(checked, "historical_controls.csv"),
        source_dir=folder,
        **_facts(facts),
    )


def load_instep(data_dir: str | Path | None = None) -> InstepData:
    """Validate and load ``data_dir/instep`` (default: the project's ``data/``)."""
    checked, facts, folder = _checked(data_dir, "instep")
    return InstepData(
        recruitment=_frame(checked, "recruitment.csv"),
        participants=_frame(checked, "participants.csv"),
        followup=_frame(checked, "followup.csv"),
        employer_themes=_frame(checked, "employer_themes.csv"),
        source_dir=folder,
        **_facts(facts),
    )
