"""Values the article's introduction and discussion repeat from the chapters, under the chapters' keys.

The introduction and discussion restate results that the chapters compute and register. Each runs in its own
kernel, so it registers the values it prints again, as *repeats* (``ipsreport.results.register_many(…,
repeats=True)``): the numbers on its pages are then marked like the chapters' numbers, and the change report
files each key under the chapter that reports it.
"""

from __future__ import annotations

from . import feasibility as fz
from . import trial

__all__ = ["introduction_values", "discussion_values"]


def introduction_values(ips_pain, instep, design: dict) -> dict:
    """The trial's randomized count, the pilot's size and the protocol's planning rates."""
    flow = trial.participant_flow(ips_pain.participants, ips_pain.employment, ips_pain.questionnaires)
    return {"flow.randomized": flow["randomized"], "feasibility.recruited.total": len(instep.participants),
            **trial.design_results(design["ips_pain"])}


def discussion_values(ips_pain, instep, design: dict) -> dict:
    """What the discussion restates: the primary comparison, the flow, the secondary comparisons, the design
    and sample size, response to the employment question, and the pilot's recruitment and allocation."""
    p, e, q = ips_pain.participants, ips_pain.employment, ips_pain.questionnaires
    response = trial.response_rates(p, e)["percent"]
    size = trial.sample_size(design["ips_pain"])
    out = {f"primary.{k}": v for k, v in trial.employment_results(trial.employment_by_arm(p, e)).items()}
    out |= {f"flow.{k}": v for k, v in trial.participant_flow(p, e, q).items()}
    out |= {f"secondary.{k}": v for k, v in trial.secondary_results(trial.secondary_outcomes(p, q)).items()}
    out |= trial.design_results(design["ips_pain"])
    out |= {"sample_size.per_group": size.n_per_group, "sample_size.total": 2 * size.n_per_group,
            "response.primary.min_percent": response.min(), "response.primary.max_percent": response.max()}
    out |= {k: v for k, v in fz.all_results(instep).items()
            if k.startswith(("feasibility.recruited.", "feasibility.recruitment.database_mailout.",
                             "feasibility.allocation."))}
    return out
