"""ipsreport: a reproducible report of the IPS in Pain trial and the InStep pilot.

The short public surface used by the chapters: data loaders, the analysis modules, tables, figures,
formatting and the results registry. Attributes are imported on first use, so ``import ipsreport.stats``
does not pull in plotting or table libraries.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_MODULES = {"feasibility", "figures", "format", "markup", "tables", "trial", "wording", "results", "concordance",
            "provenance", "changes", "article"}
_ATTRIBUTES = {
    "load_ips_pain": "ipsreport.data.load",
    "load_instep": "ipsreport.data.load",
    "register": "ipsreport.results",
    "register_many": "ipsreport.results",
    "reported": "ipsreport.results",
    "reported_p": "ipsreport.results",
    "reported_est_ci": "ipsreport.results",
    "reported_est_ci_text": "ipsreport.results",
    "keyed": "ipsreport.results",
    "keyed_frame": "ipsreport.results",
    "value": "ipsreport.results",
    "fmt_est_ci": "ipsreport.format",
    "fmt_est_ci_text": "ipsreport.format",
    "fmt_hours": "ipsreport.format",
    "fmt_ci": "ipsreport.format",
    "fmt_int": "ipsreport.format",
    "fmt_mean_sd": "ipsreport.format",
    "fmt_n_pct": "ipsreport.format",
    "fmt_num": "ipsreport.format",
    "fmt_p": "ipsreport.format",
    "fmt_pct": "ipsreport.format",
}

__all__ = sorted(_MODULES | set(_ATTRIBUTES))


def __getattr__(name: str):
    if name in _MODULES:
        return importlib.import_module(f"ipsreport.{name}")
    if name in _ATTRIBUTES:
        return getattr(importlib.import_module(_ATTRIBUTES[name]), name)
    raise AttributeError(f"module 'ipsreport' has no attribute {name!r}")
