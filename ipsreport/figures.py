"""Figures: tidy frames and small result dictionaries in, matplotlib Figures out (no statistics here).

Figures are built with ``matplotlib.figure.Figure``, not pyplot, so a notebook shows each exactly once (as the
cell's value) and nothing accumulates in pyplot's global state.

Every function takes its size (``width``, ``height`` in inches) and defaults to one that fits the text width of
the PDF and the DOCX (A4, :data:`TEXT_WIDTH_IN`): Quarto's Jupyter engine ignores per-cell ``fig-width`` and
``fig-height``, so the size is set here, in code, for every engine alike. The figures are built to be read in
greyscale (the arms differ by line style and marker, not only by colour), every value axis says which direction
is better, and legends sit outside the plotting area so they never cover data.
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
# Solid against dashed: the arms stay apart in greyscale and for readers who do not see the colours.
_LINESTYLES = {"IPS": "-", "TAU": (0, (4, 2))}
_FILL = {"IPS": "#1f4e79", "TAU": "white"}  # filled against open markers, for the same reason

# The narrower of the two page text widths (A4 with the PDF template's 2.4 cm margins: 6.38 in; with the DOCX's
# 1 in margins: 6.27 in), less a little for the tight bounding box the notebook backend saves.
TEXT_WIDTH_IN = 6.0


def _figure(width: float, height: float) -> Figure:
    # Constrained layout keeps titles, labels and outside legends inside the canvas, so the saved figure is never
    # wider than asked for.
    return Figure(figsize=(width, height), layout="constrained")


def _legend_below(fig: Figure, ax, ncols: int = 2, **kwargs) -> None:
    handles, names = ax.get_legend_handles_labels()
    fig.legend(handles, names, loc="outside lower center", ncols=ncols, frameon=False, **kwargs)


def _arm_errorbar(ax, x, y, err, arm: str, label: str, *, ms: float = 5, capsize: float = 3, lw: float = 1.5):
    ax.errorbar(x, y, yerr=err, color=ARM_COLORS[arm], marker=_MARKERS[arm], ms=ms, mfc=_FILL[arm],
                mec=ARM_COLORS[arm], ls=_LINESTYLES[arm], capsize=capsize, lw=lw, label=label)


def _style(ax) -> None:
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="y", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)


def _box(ax, x, y, w, h, text, *, fill="#f4f6f9"):
    ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.01,rounding_size=0.015",
                                linewidth=0.9, edgecolor="#333333", facecolor=fill))
    ax.text(x, y, text, ha="center", va="center", fontsize=8, linespacing=1.3)


def _arrow(ax, x0, y0, x1, y1):
    ax.annotate("", xy=(x1, y1), xytext=(x0, y0), arrowprops={"arrowstyle": "-|>", "color": "#333333", "lw": 0.9})


def fig_consort_flow(flow: dict, months: tuple[int, ...] = (6, 12, 24), withdrawals_reconstructed: bool = False,
                     *, width: float = TEXT_WIDTH_IN, height: float = 4.4) -> Figure:
    """CONSORT-style participant flow from the counts of ``ipsreport.trial.participant_flow``.

    ``withdrawals_reconstructed`` marks the withdrawal counts by arm as a reconstruction (synthetic data whose
    source prints only the total)."""
    fig = Figure(figsize=(width, height))
    ax = fig.add_axes((0.005, 0.005, 0.99, 0.99))  # the boxes are placed in axes units; no layout engine needed
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
    return fig


def fig_employment_rates(employment: pd.DataFrame, *, width: float = TEXT_WIDTH_IN, height: float = 3.6) -> Figure:
    """Cumulative employment rate by arm at each follow-up, with 95% Wilson intervals."""
    fig = _figure(width, height)
    ax = fig.subplots()
    offsets = {"IPS": -0.35, "TAU": 0.35}
    for arm in ("IPS", "TAU"):
        a = arm.lower()
        x = employment["month"].to_numpy(dtype=float) + offsets[arm]
        y = employment[f"{a}_percent"].to_numpy(dtype=float)
        err = np.vstack([y - employment[f"{a}_ci_low"], employment[f"{a}_ci_high"] - y])
        _arm_errorbar(ax, x, y, err, arm, "IPS + treatment as usual" if arm == "IPS" else "Treatment as usual")
    ax.set_xticks(employment["month"].to_numpy())
    ax.set_xticklabels([f"{m} months" for m in employment["month"]])
    ax.set_ylabel("Employed since baseline (%)\n(higher is better)")
    ax.set_ylim(0, 100)
    ax.set_xlim(employment["month"].min() - 3, employment["month"].max() + 3)
    _style(ax)
    _legend_below(fig, ax)
    return fig


# Which direction of each questionnaire score is better: on the EQ-VAS a higher score is better health; on the
# ODI, the HSCL-25 and the BPI a higher score is more disability, distress or pain.
HIGHER_IS_BETTER = {"eq_vas": True, "odi": False, "hscl": False, "hscl_anxiety": False, "hscl_depression": False,
                    "bpi_current": False, "bpi_worst": False, "bpi_average": False, "bpi_least": False}


def fig_trajectories(summary: pd.DataFrame, labels: dict[str, str], higher_is_better: dict[str, bool] | None = None,
                     *, width: float = TEXT_WIDTH_IN, height: float = 6.6) -> Figure:
    """Mean (95% CI) of each outcome by arm and month: small multiples, one panel per outcome.

    ``summary`` has columns ``outcome``, ``arm``, ``month``, ``n``, ``mean``, ``ci_low``, ``ci_high``;
    ``higher_is_better`` (default :data:`HIGHER_IS_BETTER`) names the better direction of each outcome on its
    panel's y axis; an outcome missing from it is an error rather than an unlabelled axis.
    """
    better = HIGHER_IS_BETTER if higher_is_better is None else higher_is_better
    outcomes = list(dict.fromkeys(summary["outcome"]))
    missing = [o for o in outcomes if o not in better]
    if missing:
        raise ValueError(f"fig_trajectories: no better direction given for outcome(s) {', '.join(missing)}")
    ncol = 3
    nrow = int(np.ceil(len(outcomes) / ncol))
    fig = _figure(width, height)
    axes = fig.subplots(nrow, ncol, sharex=True)
    axes = np.atleast_1d(axes).ravel()
    for ax, outcome in zip(axes, outcomes):
        rows = summary.loc[summary["outcome"] == outcome]
        for arm, shift in (("IPS", -0.25), ("TAU", 0.25)):
            r = rows.loc[rows["arm"] == arm].sort_values("month")
            x = r["month"].to_numpy(dtype=float) + shift
            y = r["mean"].to_numpy(dtype=float)
            err = np.vstack([y - r["ci_low"].to_numpy(dtype=float), r["ci_high"].to_numpy(dtype=float) - y])
            _arm_errorbar(ax, x, y, err, arm, "IPS + treatment as usual" if arm == "IPS" else "Treatment as usual",
                          ms=3.5, capsize=2, lw=1.1)
        ax.set_title(labels.get(outcome, outcome), fontsize=7.5, wrap=True)
        ax.set_ylabel("Mean (higher is better)" if better[outcome] else "Mean (lower is better)", fontsize=7)
        ax.set_xticks(sorted(rows["month"].unique()))
        ax.tick_params(labelsize=7)
        _style(ax)
    for ax in axes[len(outcomes):]:
        ax.axis("off")
    for i, ax in enumerate(axes[: len(outcomes)]):
        if i + ncol >= len(outcomes):  # the lowest panel of each column
            ax.set_xlabel("Month", fontsize=7)
            ax.xaxis.set_tick_params(labelbottom=True)
    _legend_below(fig, axes[0], fontsize=8)
    return fig


def fig_recruitment_funnel(funnel: pd.DataFrame, *, width: float = TEXT_WIDTH_IN, height: float = 3.6) -> Figure:
    """Horizontal bars per recruitment method: approached, enquired and recruited (log scale).

    ``funnel`` has columns ``label``, ``approached`` (NaN when unknown), ``enquiries``, ``recruited``.
    """
    fig = _figure(width, height)
    ax = fig.subplots()
    y = np.arange(len(funnel))[::-1]
    # Light to dark with different hatching: the three stages stay apart in greyscale.
    stages = (("approached", "Approached", "#c9d6e8", "//"), ("enquiries", "Enquired or identified", "#7f9fc7", ".."),
              ("recruited", "Recruited", "#1f4e79", ""))
    bar = 0.26
    for i, (col, name, colour, hatch) in enumerate(stages):
        values = funnel[col].to_numpy(dtype=float)
        ax.barh(y + (1 - i) * bar, np.nan_to_num(values, nan=0.0), height=bar, color=colour, label=name,
                hatch=hatch, edgecolor="#333333", linewidth=0.5)
        for yy, v in zip(y + (1 - i) * bar, values):
            ax.text(max(v, 0.8) * 1.08 if not np.isnan(v) else 0.85, yy,
                    "unknown" if np.isnan(v) else f"{int(v)}", va="center", fontsize=7.5)
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.set_xlim(0.7, funnel[["approached", "enquiries", "recruited"]].max().max() * 4)
    ax.set_yticks(y)
    ax.set_yticklabels(funnel["label"], fontsize=8)
    ax.set_ylabel("Recruitment method")
    ax.set_xlabel("People (log scale; more recruited is better)")
    ax.spines[["top", "right"]].set_visible(False)
    _legend_below(fig, ax, ncols=3, fontsize=8)
    return fig


def fig_retention(retention: pd.DataFrame, *, width: float = TEXT_WIDTH_IN, height: float = 3.4) -> Figure:
    """Questionnaire return (%) with 95% Wilson intervals by arm and month.

    ``retention`` has columns ``month``, ``arm``, ``percent``, ``ci_low``, ``ci_high``.
    """
    fig = _figure(width, height)
    ax = fig.subplots()
    for arm, shift in (("IPS", -0.3), ("TAU", 0.3)):
        r = retention.loc[retention["arm"] == arm].sort_values("month")
        x = r["month"].to_numpy(dtype=float) + shift
        y = r["percent"].to_numpy(dtype=float)
        err = np.vstack([y - r["ci_low"].to_numpy(dtype=float), r["ci_high"].to_numpy(dtype=float) - y])
        _arm_errorbar(ax, x, y, err, arm, "IPS" if arm == "IPS" else "Treatment as usual")
    months = sorted(retention["month"].unique())
    ax.set_xticks(months)
    ax.set_xticklabels([f"{m} months" for m in months])
    ax.set_ylim(0, 100)
    ax.set_ylabel("Questionnaires returned (%)\n(higher is better)")
    _style(ax)
    _legend_below(fig, ax)
    return fig


def fig_power_curve(curve: pd.DataFrame, target_power: float = 0.9, *, width: float = TEXT_WIDTH_IN,
                    height: float = 3.8) -> Figure:
    """Power against sample size per arm, one line per scenario.

    ``curve`` has columns ``scenario``, ``n_per_group``, ``power``. Each scenario has its own line style and
    marker as well as its own colour, so no two curves look alike in greyscale; the target power is a legend entry,
    not a label on the plot, so no text lies over a curve.
    """
    fig = _figure(width, height)
    ax = fig.subplots()
    palette = ["#1f4e79", "#c55a11", "#548235", "#7030a0", "#404040"]
    styles = ["-", (0, (5, 2)), (0, (1, 1.5)), (0, (6, 2, 1, 2)), (0, (3, 1, 1, 1, 1, 1))]
    markers = ["o", "s", "^", "D", "v"]
    groups = list(curve.groupby("scenario", sort=False))
    if len(groups) > len(styles):
        raise ValueError(f"fig_power_curve: at most {len(styles)} scenarios can be told apart, got {len(groups)}")
    for i, (name, rows) in enumerate(groups):
        n = rows["n_per_group"].to_numpy()
        # Markers at staggered points along each curve, so that two curves that run close stay distinct.
        every = max(1, len(n) // 6)
        ax.plot(n, rows["power"], color=palette[i], lw=1.4, ls=styles[i], marker=markers[i], ms=4.5,
                mfc="white" if i % 2 else palette[i], markevery=(i * every // len(groups), every), label=name)
    ax.axhline(target_power, color="#555555", lw=0.8, ls=(0, (2, 2)), label=f"Target power ({target_power:.0%})")
    ax.set_xlabel("Participants per arm")
    ax.set_ylabel("Power (higher is better)")
    ax.set_ylim(0, 1)
    _style(ax)
    _legend_below(fig, ax, ncols=2, fontsize=7.5)
    return fig
