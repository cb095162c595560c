"""Figures: tidy frames and small result dictionaries in, matplotlib Figures out (no statistics here).

Figures are built with ``matplotlib.figure.Figure``, not pyplot, so a notebook shows each exactly once (as the
cell's value) and nothing accumulates in pyplot's global state.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch
from matplotlib.ticker import ScalarFormatter

__all__ = [
    "ARM_COLORS",
    "fig_consort_flow",
    "fig_employment_rates",
    "fig_trajectories",
    "fig_recruitment_funnel",
    "fig_retention",
    "fig_power_curve",
]

ARM_COLORS = {"IPS": "#1f4e79", "TAU": "#c55a11"}
_MARKERS = {"IPS": "o", "TAU": "s"}


def _style(ax) -> None:
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="y", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)


def _box(ax, x, y, w, h, text, *, fill="#f4f6f9"):
    ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.01,rounding_size=0.015",
                                linewidth=0.9, edgecolor="#333333", facecolor=fill))
    ax.text(x, y, text, ha="center", va="center", fontsize=8.5, linespacing=1.35)


def _arrow(ax, x0, y0, x1, y1):
    ax.annotate("", xy=(x1, y1), xytext=(x0, y0), arrowprops={"arrowstyle": "-|>", "color": "#333333", "lw": 0.9})


def fig_consort_flow(flow: dict, months: tuple[int, ...] = (6, 12, 24),
                     withdrawals_reconstructed: bool = False) -> Figure:
    """CONSORT-style participant flow from the counts of ``ipsreport.trial.participant_flow``.

    ``withdrawals_reconstructed`` marks the withdrawal counts by arm as a reconstruction (synthetic data whose
    source prints only the total)."""
    fig = Figure()  # size from rcParams: the cell's fig-width and fig-height
    ax = fig.subplots()
    ax.set_xlim(0, 1)
    ax.set_ylim(0.17, 1.07)
    ax.axis("off")
    # The trial did not record how many were assessed for eligibility or declined; CONSORT asks to say so.
    _box(ax, 0.5, 1.035, 0.62, 0.045, "Assessed for eligibility and declined: not recorded", fill="#f7f7f7")
    _arrow(ax, 0.5, 1.012, 0.5, 0.965)
    _box(ax, 0.5, 0.93, 0.42, 0.07, f"Randomized (n = {flow['randomized']})", fill="#e8eef6")
    for x, arm in ((0.26, "ips"), (0.74, "tau")):
        name = "IPS + treatment as usual" if arm == "ips" else "Treatment as usual"
        _arrow(ax, 0.5, 0.895, x, 0.82)
        _box(ax, x, 0.78, 0.40, 0.075, f"Allocated to {name}\n(n = {flow[f'randomized.{arm}']})")
        _arrow(ax, x, 0.742, x, 0.69)
        withdrew = f"n = {flow[f'withdrawn.{arm}']}" + ("; arm reconstructed" if withdrawals_reconstructed else "")
        _box(ax, x, 0.65, 0.40, 0.07, f"Withdrew after randomization\n({withdrew})", fill="#fbeee6")
        _arrow(ax, x, 0.615, x, 0.565)
        _box(ax, x, 0.525, 0.40, 0.07, f"Analysed (n = {flow[f'analysed.{arm}']})", fill="#e8eef6")
        lines = ["Responded: employment / questionnaire"]
        for m in months:
            emp = flow.get(f"employment_responders.m{m}.{arm}")
            que = flow.get(f"questionnaire_responders.m{m}.{arm}")
            lines.append(f"{m} months: {emp if emp is not None else '–'} / {que if que is not None else '–'}")
        _arrow(ax, x, 0.49, x, 0.41)
        _box(ax, x, 0.30, 0.42, 0.20, "\n".join(lines))
    fig.tight_layout()
    return fig


def fig_employment_rates(employment: pd.DataFrame) -> Figure:
    """Cumulative employment rate by arm at each follow-up, with 95% Wilson intervals."""
    fig = Figure()  # size from rcParams: the cell's fig-width and fig-height
    ax = fig.subplots()
    offsets = {"IPS": -0.35, "TAU": 0.35}
    for arm in ("IPS", "TAU"):
        a = arm.lower()
        x = employment["month"].to_numpy(dtype=float) + offsets[arm]
        y = employment[f"{a}_percent"].to_numpy(dtype=float)
        err = np.vstack([y - employment[f"{a}_ci_low"], employment[f"{a}_ci_high"] - y])
        ax.errorbar(x, y, yerr=err, color=ARM_COLORS[arm], marker=_MARKERS[arm], capsize=3, lw=1.6,
                    label="IPS + treatment as usual" if arm == "IPS" else "Treatment as usual")
    ax.set_xticks(employment["month"].to_numpy())
    ax.set_xticklabels([f"{m} months" for m in employment["month"]])
    ax.set_ylabel("Employed since baseline (%)")
    ax.set_ylim(0, 100)
    ax.set_xlim(employment["month"].min() - 3, employment["month"].max() + 3)
    _style(ax)
    ax.legend(frameon=False, loc="upper left")
    fig.tight_layout()
    return fig


def fig_trajectories(summary: pd.DataFrame, labels: dict[str, str]) -> Figure:
    """Mean (95% CI) of each outcome by arm and month: small multiples, one panel per outcome.

    ``summary`` has columns ``outcome``, ``arm``, ``month``, ``n``, ``mean``, ``ci_low``, ``ci_high``.
    """
    outcomes = list(dict.fromkeys(summary["outcome"]))
    ncol = 3
    nrow = int(np.ceil(len(outcomes) / ncol))
    fig = Figure()  # size from rcParams: the cell's fig-width and fig-height
    axes = fig.subplots(nrow, ncol, sharex=True)
    axes = np.atleast_1d(axes).ravel()
    for ax, outcome in zip(axes, outcomes):
        rows = summary.loc[summary["outcome"] == outcome]
        for arm, shift in (("IPS", -0.25), ("TAU", 0.25)):
            r = rows.loc[rows["arm"] == arm].sort_values("month")
            x = r["month"].to_numpy(dtype=float) + shift
            y = r["mean"].to_numpy(dtype=float)
            err = np.vstack([y - r["ci_low"].to_numpy(dtype=float), r["ci_high"].to_numpy(dtype=float) - y])
            ax.errorbar(x, y, yerr=err, color=ARM_COLORS[arm], marker=_MARKERS[arm], ms=3.5, capsize=2, lw=1.2,
                        label=arm)
        ax.set_title(labels.get(outcome, outcome), fontsize=8.5)
        ax.set_xticks([0, 6, 12])
        ax.tick_params(labelsize=7.5)
        _style(ax)
    for ax in axes[len(outcomes):]:
        ax.axis("off")
    for ax in axes[-ncol:]:
        ax.set_xlabel("Month", fontsize=8)
    handles, names = axes[0].get_legend_handles_labels()
    fig.legend(handles, names, loc="lower center", ncol=2, frameon=False, fontsize=8, bbox_to_anchor=(0.5, -0.01))
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    return fig


def fig_recruitment_funnel(funnel: pd.DataFrame) -> Figure:
    """Horizontal bars per recruitment method: approached, enquired and recruited (log scale).

    ``funnel`` has columns ``label``, ``approached`` (NaN when unknown), ``enquiries``, ``recruited``.
    """
    fig = Figure()  # size from rcParams: the cell's fig-width and fig-height
    ax = fig.subplots()
    y = np.arange(len(funnel))[::-1]
    stages = (("approached", "Approached", "#c9d6e8"), ("enquiries", "Enquired or identified", "#7f9fc7"),
              ("recruited", "Recruited", "#1f4e79"))
    height = 0.26
    for i, (col, name, colour) in enumerate(stages):
        values = funnel[col].to_numpy(dtype=float)
        ax.barh(y + (1 - i) * height, np.nan_to_num(values, nan=0.0), height=height, color=colour, label=name)
        for yy, v in zip(y + (1 - i) * height, values):
            ax.text(max(v, 0.8) * 1.08 if not np.isnan(v) else 0.85, yy,
                    "unknown" if np.isnan(v) else f"{int(v)}", va="center", fontsize=7.5)
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.set_xlim(0.7, funnel[["approached", "enquiries", "recruited"]].max().max() * 4)
    ax.set_yticks(y)
    ax.set_yticklabels(funnel["label"], fontsize=8)
    ax.set_xlabel("People (log scale)")
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(frameon=False, fontsize=7.5, loc="lower right")
    fig.tight_layout()
    return fig


def fig_retention(retention: pd.DataFrame) -> Figure:
    """Questionnaire return (%) with 95% Wilson intervals by arm and month.

    ``retention`` has columns ``month``, ``arm``, ``percent``, ``ci_low``, ``ci_high``.
    """
    fig = Figure()  # size from rcParams: the cell's fig-width and fig-height
    ax = fig.subplots()
    for arm, shift in (("IPS", -0.3), ("TAU", 0.3)):
        r = retention.loc[retention["arm"] == arm].sort_values("month")
        x = r["month"].to_numpy(dtype=float) + shift
        y = r["percent"].to_numpy(dtype=float)
        err = np.vstack([y - r["ci_low"].to_numpy(dtype=float), r["ci_high"].to_numpy(dtype=float) - y])
        ax.errorbar(x, y, yerr=err, color=ARM_COLORS[arm], marker=_MARKERS[arm], capsize=3, lw=1.5,
                    label="IPS" if arm == "IPS" else "Treatment as usual")
    months = sorted(retention["month"].unique())
    ax.set_xticks(months)
    ax.set_xticklabels([f"{m} months" for m in months])
    ax.set_ylim(0, 100)
    ax.set_ylabel("Questionnaires returned (%)")
    _style(ax)
    ax.legend(frameon=False, loc="lower left")
    fig.tight_layout()
    return fig


def fig_power_curve(curve: pd.DataFrame, target_power: float = 0.9) -> Figure:
    """Power against sample size per arm, one line per scenario.

    ``curve`` has columns ``scenario``, ``n_per_group``, ``power``.
    """
    fig = Figure()  # size from rcParams: the cell's fig-width and fig-height
    ax = fig.subplots()
    palette = ["#1f4e79", "#c55a11", "#548235", "#7030a0", "#808080"]
    # Line styles as well as colours: scenarios whose rates sit near 50% give almost the same curve.
    dashes = ["-", "--", "-.", ":", (0, (5, 1, 1, 1))]
    for colour, dash, (name, rows) in zip(palette, dashes, curve.groupby("scenario", sort=False)):
        ax.plot(rows["n_per_group"], rows["power"], color=colour, ls=dash, lw=1.6, label=name)
    ax.axhline(target_power, color="#555555", lw=0.8, ls="--")
    ax.text(curve["n_per_group"].max(), target_power + 0.015, f"power {target_power:.0%}", ha="right", fontsize=7.5)
    ax.set_xlabel("Participants per arm")
    ax.set_ylabel("Power")
    ax.set_ylim(0, 1)
    _style(ax)
    ax.legend(frameon=False, fontsize=7.5, loc="lower right")
    fig.tight_layout()
    return fig
