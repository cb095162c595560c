"""Declarations are written from the papers' facts; facts are the papers' (checked against the seed texts)."""

from pathlib import Path

import pytest
import yaml

from ipsreport import declarations as decl

ROOT = Path(__file__).resolve().parents[1]
SEEDS = Path("/work/shared/seeds")


@pytest.fixture(scope="module")
def facts():
    return decl.load_trial_facts(ROOT / "config" / "trial-facts.yaml")


def test_registrations_and_approvals_are_the_published_identifiers(facts):
    assert facts["ips-pain"]["registration"]["id"] == "NCT02697656"
    assert facts["instep"]["registration"]["id"] == "ISRCTN30094062"
    assert facts["ips-pain"]["ethics"]["approval"] == "2015/14224"
    assert facts["instep"]["ethics"]["approval"] == "23853"
    assert [f["grant"] for f in facts["ips-pain"]["funding"]] == ["15/5589-11", "16/2239"]
    assert facts["ips-pain"]["fidelity"]["scores"] == [71, 71, 86, 89]


@pytest.mark.skipif(not SEEDS.exists(), reason="the papers' texts are not on this machine")
def test_every_identifier_appears_in_its_paper(facts):
    texts = {"ips-pain": (SEEDS / "ips-in-pain-rct-2022.txt").read_text(),
             "instep": (SEEDS / "instep-pilot-feasibility.txt").read_text()}
    for sid, study in facts.studies.items():
        assert study["registration"]["id"].replace("ISRCTN", "") in texts[sid]
        assert study["ethics"]["approval"] in texts[sid]
        for f in study["funding"]:
            if f["grant"]:
                assert f["grant"] in texts[sid]
    fid = facts["ips-pain"]["fidelity"]
    assert f"mean score of {fid['mean']}" in texts["ips-pain"]


def test_every_fact_says_where_the_paper_states_it():
    raw = yaml.safe_load((ROOT / "config" / "trial-facts.yaml").read_text())
    for sid, study in raw["studies"].items():
        for key in ("registration", "ethics", "competing_interests", "fidelity", "blinding", "recruitment"):
            assert study[key].get("stated"), f"{sid}.{key} has no 'stated'"
        assert study.get("funding_stated"), sid


def test_declarations_name_identifiers_and_mark_identifying_parts(facts):
    md = decl.declarations_markdown(facts, {"reanalysis": {"funding": "None", "competing-interests": "None declared",
                                                           "repository": "https://example.org/x"}}, synthetic=True)
    assert "NCT02697656" in md and "ISRCTN30094062, registered 1 December 2016" in md
    assert "grant 15/5589-11" in md and "grant number not stated" in md
    assert "::: {#decl-funding .identifying}" in md
    assert "synthetic reconstructions" in md and "https://example.org/x" in md
    assert "InStep pilot trial's report states no declaration" in md


def test_real_data_changes_the_ethics_and_data_wording(facts):
    assert "used no participant data" not in decl.ethics_sentence(facts, synthetic=False)
    assert "synthetic" not in decl.data_availability_sentence(False, "x")


def test_fidelity_and_blinding_sentences(facts):
    assert decl.fidelity_sentence(facts) == (
        "Fidelity to IPS, rated 4 times by an independent, experienced evaluator on the 25-item IPS fidelity scale "
        "(Norwegian translation), ranged from 71 to 89 (mean 79, fair fidelity), the first 2 ratings below the "
        "accepted threshold")
    assert decl.blinding_sentence(facts).endswith("without knowing the allocation")


def test_missing_study_is_a_located_error(tmp_path):
    path = tmp_path / "f.yaml"
    path.write_text("studies:\n  ips-pain: {}\n")
    with pytest.raises(ValueError, match="instep missing"):
        decl.load_trial_facts(path)
