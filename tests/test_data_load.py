"""Loaders: typed frames with the dictionary's dtypes, the facts of dataset.yaml, and validation first."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import pytest

from data_fixture import set_cell, valid_files, valid_yamls, write_data_dir
from ipsreport.data.dictionary import INSTEP, IPS_PAIN
from ipsreport.data.load import SYNTHETIC_NOTICE, InstepData, IpsPainData, load_instep, load_ips_pain
from ipsreport.data.validate import DataValidationError, Problem

PROJECT = Path(__file__).resolve().parents[1]


def test_ips_pain_frames_have_dictionary_columns_and_dtypes(tmp_path):
    d = load_ips_pain(write_data_dir(tmp_path))
    assert isinstance(d, IpsPainData)
    for f in IPS_PAIN.files:
        frame = getattr(d, f.name.removesuffix(".csv"))
        assert list(frame.columns) == list(f.column_names)
        assert {c: str(t) for c, t in frame.dtypes.items()} == {c.name: c.dtype for c in f.columns}
        assert isinstance(frame.index, pd.RangeIndex) and frame.index.start == 0


def test_instep_frames_have_dictionary_columns_and_dtypes(tmp_path):
    d = load_instep(write_data_dir(tmp_path))
    assert isinstance(d, InstepData)
    for f in INSTEP.files:
        frame = getattr(d, f.name.removesuffix(".csv"))
        assert list(frame.columns) == list(f.column_names)
        assert {c: str(t) for c, t in frame.dtypes.items()} == {c.name: c.dtype for c in f.columns}


def test_values_and_missing_values_are_typed(tmp_path):
    d = load_ips_pain(write_data_dir(tmp_path))
    p = d.participants.set_index("participant_id")
    assert p.loc["NO-001", "age"] == 45
    assert p.loc["NO-003", "age"] is pd.NA  # withdrawn, characteristics missing
    assert p.loc["NO-001", "randomized_on"] == pd.Timestamp("2015-11-10")
    q = d.questionnaires
    row = q[(q.participant_id == "NO-001") & (q.month == 0)].iloc[0]
    assert row.odi == 40.0 and row.hscl == pytest.approx((10 * 2.3 + 15 * 2.0) / 25)
    assert q[(q.participant_id == "NO-005") & (q.month == 12)].odi.isna().all()
    assert d.employment.employed.isna().sum() == 2
    assert list(d.analysed.participant_id) == ["NO-001", "NO-002", "NO-004", "NO-005"]


def test_facts_of_dataset_yaml(tmp_path):
    d = load_ips_pain(write_data_dir(tmp_path))
    assert d.synthetic is True
    assert d.notice == SYNTHETIC_NOTICE
    assert d.description == "A small test fixture."
    assert d.generated_by == "tests/data_fixture.py"
    assert d.source_dir == tmp_path / "data" / "ips-pain"


def test_notice_from_yaml_and_none_for_real_data(tmp_path):
    yamls = valid_yamls()
    yamls["ips-pain/dataset.yaml"] += "notice: Reconstructed data.\n"
    yamls["instep/dataset.yaml"] = yamls["instep/dataset.yaml"].replace("synthetic: true", "synthetic: false")
    data = write_data_dir(tmp_path, yamls=yamls)
    assert load_ips_pain(data).notice == "Reconstructed data."
    real = load_instep(data)
    assert real.synthetic is False and real.notice == ""


def test_loaded_data_are_frozen(tmp_path):
    d = load_instep(write_data_dir(tmp_path))
    with pytest.raises(dataclasses.FrozenInstanceError):
        d.synthetic = False


def test_loader_raises_with_every_problem(tmp_path):
    files = valid_files()
    line_arm = set_cell(files, "ips-pain/participants.csv", 0, "arm", "IPSX")
    line_odi = set_cell(files, "ips-pain/questionnaires.csv", 0, "odi", "37")
    data = write_data_dir(tmp_path, files)
    with pytest.raises(DataValidationError) as err:
        load_ips_pain(data)
    assert err.value.problems == (
        Problem("data/ips-pain/participants.csv", line_arm, "arm", "IPSX", "is not one of IPS, TAU"),
        Problem("data/ips-pain/questionnaires.csv", line_odi, "odi", "37", "is not a multiple of 2 or 2.5 or 20/9 (to 2 decimals)"),
    )


def test_a_dataset_loads_when_only_the_other_is_broken(tmp_path):
    files = valid_files()
    set_cell(files, "instep/recruitment.csv", 0, "method", "newspaper")
    data = write_data_dir(tmp_path, files)
    assert len(load_ips_pain(data).participants) == 5
    with pytest.raises(DataValidationError):
        load_instep(data)


def test_missing_folder_raises(tmp_path):
    with pytest.raises(DataValidationError) as err:
        load_instep(tmp_path / "data")
    assert {p.rule for p in err.value.problems} == {"file is missing"}
    assert len(err.value.problems) == 1 + len(INSTEP.files)


@pytest.mark.skipif(
    not (PROJECT / "data" / "ips-pain" / "participants.csv").exists()
    or not (PROJECT / "data" / "instep" / "participants.csv").exists(),
    reason="the project's data files have not been generated yet",
)
def test_project_instep_data_load_by_default():
    u = load_instep()
    assert len(u.participants) == 50
    assert len(u.followup) == 150
    assert u.participants.arm.value_counts().to_dict() == {"TAU": 28, "IPS": 22}


@pytest.mark.skipif(
    not (PROJECT / "data" / "ips-pain" / "participants.csv").exists(),
    reason="the project's data files have not been generated yet",
)
def test_project_ips_pain_data_load_by_default():
    d = load_ips_pain()
    assert len(d.participants) == 67
    assert int((d.participants.withdrawn == 1).sum()) == 9
    assert d.analysed.arm.value_counts().to_dict() == {"IPS": 38, "TAU": 20}
    assert len(d.questionnaires) == 58 * 3
    assert len(d.work_12m) == 58
    assert len(d.historical_controls) == 315
