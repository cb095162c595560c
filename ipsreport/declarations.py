"""The manuscript's declarations (registration, ethics, funding, competing interests, data availability),
written from the facts the trials' papers publish (``config/trial-facts.yaml``) and this reanalysis' own
settings (``config/manuscript.yaml``). Facts the papers do not state are said to be unstated, never guessed."""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ipsreport.paths import config_file

__all__ = ["TrialFacts", "load_trial_facts", "load_manuscript_settings", "registration_sentence",
           "ethics_sentence", "funding_sentence", "competing_interests_sentence", "data_availability_sentence",
           "declarations_markdown", "fidelity_sentence", "blinding_sentence"]

STUDY_ORDER = ("ips-pain", "instep")


@dataclass(frozen=True)
class TrialFacts:
    """The published facts of each study, keyed by study id (``ips-pain``, ``instep``)."""

    studies: dict[str, dict[str, Any]]

    def __getitem__(self, study: str) -> dict[str, Any]:
        return self.studies[study]


def _yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as e:
        raise ValueError(f"{path}: invalid YAML: {e}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: must be a YAML mapping")
    return data


def load_trial_facts(path: str | Path | None = None) -> TrialFacts:
    path = Path(path) if path else config_file("trial-facts.yaml")
    studies = _yaml(path).get("studies") or {}
    missing = [s for s in STUDY_ORDER if s not in studies]
    if missing:
        raise ValueError(f"{path}: studies {', '.join(missing)} missing")
    for sid, study in studies.items():
        for key in ("name", "registration", "ethics", "funding", "competing_interests"):
            if key not in study:
                raise ValueError(f"{path}: studies.{sid}.{key} missing")
    return TrialFacts(studies)


def load_manuscript_settings(path: str | Path | None = None) -> dict[str, Any]:
    return _yaml(Path(path) if path else config_file("manuscript.yaml"))


def _date(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = _dt.date.fromisoformat(value)
    return f"{value.day} {value.strftime('%B %Y')}"


def registration_sentence(facts: TrialFacts) -> str:
    parts = []
    for sid in STUDY_ORDER:
        study, reg = facts[sid], facts[sid]["registration"]
        when = _date(reg.get("date"))
        parts.append(f"the {study['name']} at {reg['registry']} ({reg['id']}"
                     + (f", registered {when})" if when else ")"))
    return f"Registration: {parts[0]}; {parts[1]}."


def ethics_sentence(facts: TrialFacts, synthetic: bool) -> str:
    pain, instep = facts["ips-pain"]["ethics"], facts["instep"]["ethics"]
    text = (f"Ethics: the {facts['ips-pain']['name']} was approved by the {pain['approved_by']} "
            f"(project {pain['approval']}) after referral from the Norwegian Regional Ethical Committee, and its "
            f"participants gave written informed consent; the {facts['instep']['name']} was approved by the "
            f"{instep['body']} (ID {instep['approval']}), with {instep['governance']}. ")
    if synthetic:
        text += ("This reanalysis used no participant data: its data are synthetic reconstructions from published "
                 "summaries, so no further approval was needed.")
    else:
        text += "This reanalysis used the trials' participant data under the approvals above."
    return text


def _funders(study: dict[str, Any]) -> str:
    items = []
    for f in study["funding"]:
        grant = f.get("grant")
        items.append(f"{f['funder']} (grant {grant})" if grant else f"{f['funder']} (grant number not stated)")
    return " and the ".join(items)


def funding_sentence(facts: TrialFacts, reanalysis_funding: str) -> str:
    return (f"Funding: {reanalysis_funding.rstrip('.')}. The {facts['ips-pain']['name']} was funded by the "
            f"{_funders(facts['ips-pain'])}; its report states that the funders had no role in the study. The "
            f"{facts['instep']['name']} was commissioned by the {_funders(facts['instep'])}.")


def competing_interests_sentence(facts: TrialFacts, reanalysis_interests: str) -> str:
    parts = []
    for sid in STUDY_ORDER:
        decl = facts[sid]["competing_interests"].get("declaration")
        parts.append(f"the {facts[sid]['name']}'s authors declared that {decl}" if decl
                     else f"the {facts[sid]['name']}'s report states no declaration")
    return (f"Competing interests: {reanalysis_interests.rstrip('.')}. Of the reanalysed studies, "
            f"{parts[0]}; {parts[1]}.")


def data_availability_sentence(synthetic: bool, repository: str) -> str:
    what = ("synthetic reconstructions of both studies' participant data, generated from the published summaries, "
            "together with" if synthetic else "the data and")
    return (f"Data availability: {what} the code that computes every number, table and figure of this article "
            f"are available at {repository}.")


def fidelity_sentence(facts: TrialFacts) -> str:
    """What the trial paper reports on IPS fidelity, or that the paper reports none."""
    fid = facts["ips-pain"].get("fidelity") or {}
    if not fid.get("scores"):
        return f"The {facts['ips-pain']['name']} report gives no fidelity scores."
    scores = fid["scores"]
    below = [s for s in scores if s <= fid.get("below_threshold", -1)]
    text = (f"Fidelity to IPS, rated {len(scores)} times by {fid.get('rater', 'an evaluator')} on the "
            f"{fid['scale']}, ranged from {min(scores)} to {max(scores)} (mean {fid['mean']}, {fid['rating']})")
    return text + (f", the first {len(below)} ratings below the accepted threshold" if below else "")


def blinding_sentence(facts: TrialFacts) -> str:
    blind = facts["ips-pain"].get("blinding") or {}
    if blind.get("statistician"):
        return "the trial's statistician analysed the data without knowing the allocation"
    return "the trial report does not say whether its statistician knew the allocation"


def _div(ident: str, text: str, classes: str = "") -> str:
    return f"::: {{#{ident}{' ' + classes if classes else ''}}}\n{text}\n:::"


def declarations_markdown(facts: TrialFacts, settings: dict[str, Any], synthetic: bool) -> str:
    """The declarations as markdown, one labelled div each (``decl-registration``, ``decl-ethics``,
    ``decl-funding``, ``decl-competing-interests``, ``decl-data-availability``: the CONSORT checklist points at
    them); funding and acknowledgements have the class ``identifying``, which the blinded version removes."""
    re_ = settings.get("reanalysis") or {}
    return "\n\n".join([
        _div("decl-registration", registration_sentence(facts)),
        _div("decl-ethics", ethics_sentence(facts, synthetic)),
        _div("decl-funding", funding_sentence(facts, str(re_.get("funding", ""))), ".identifying"),
        _div("decl-acknowledgements", f"Acknowledgements: {re_.get('acknowledgements', '')}", ".identifying"),
        _div("decl-competing-interests", competing_interests_sentence(facts, str(re_.get("competing-interests", "")))),
        _div("decl-data-availability", data_availability_sentence(synthetic, str(re_.get("repository", "")))),
    ]) + "\n"
