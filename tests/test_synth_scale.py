"""`synthesize --scale K`: a K-times larger copy keeps every margin in proportion, with wider, consistent IDs."""

from pathlib import Path

import pandas as pd
import pytest

from ipsreport.data.validate import validate_data_dir
from ipsreport.synth.scale import SCALED_FILES, scale_data

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture(scope="module")
def tenfold(tmp_path_factory):
    out = tmp_path_factory.mktemp("scaled") / "data"
    scale_data(DATA, out, 10)
    return out


def test_counts_grow_k_fold_and_proportions_stay(tenfold):
    for name in SCALED_FILES:
        assert len(pd.read_csv(tenfold / name)) == 10 * len(pd.read_csv(DATA / name)), name
    old, new = pd.read_csv(DATA / "ips-pain/participants.csv"), pd.read_csv(tenfold / "ips-pain/participants.csv")
    assert new["arm"].value_counts().to_dict() == {k: 10 * v for k, v in old["arm"].value_counts().items()}
    old_e, new_e = pd.read_csv(DATA / "ips-pain/employment.csv"), pd.read_csv(tenfold / "ips-pain/employment.csv")
    assert new_e.groupby("month")["employed"].mean().to_dict() == old_e.groupby("month")["employed"].mean().to_dict()
    assert new["age"].mean() == pytest.approx(old["age"].mean(), rel=1e-12)


def test_ids_are_wider_unique_and_linked(tenfold):
    people = pd.read_csv(tenfold / "ips-pain/participants.csv")["participant_id"]
    assert people.is_unique and people.str.fullmatch(r"NO-\d{5}").all()
    assert people.iloc[0] == "NO-00001" and people.iloc[-1] == f"NO-{len(people):05d}"
    employment = pd.read_csv(tenfold / "ips-pain/employment.csv")["participant_id"]
    assert set(employment) <= set(people)
    controls = pd.read_csv(tenfold / "ips-pain/historical_controls.csv")["control_id"]
    assert controls.is_unique and controls.str.fullmatch(r"HC-\d{6}").all()
    recruitment = pd.read_csv(tenfold / "instep/recruitment.csv")
    uk_people = set(pd.read_csv(tenfold / "instep/participants.csv")["participant_id"])
    assert set(recruitment["participant_id"].dropna()) == uk_people
    assert recruitment["contact_id"].str.fullmatch(r"UK-C\d{6}").all()


def test_scaled_copy_validates_and_says_it_is_scaled(tenfold):
    assert validate_data_dir(tenfold) == []
    assert "scaled 10-fold" in (tenfold / "ips-pain/dataset.yaml").read_text()


def test_scaled_copy_must_go_elsewhere(tmp_path):
    with pytest.raises(ValueError, match="outside the source"):
        scale_data(DATA, DATA / "big", 2)
    with pytest.raises(ValueError, match="at least 1"):
        scale_data(DATA, tmp_path / "x", 0)
