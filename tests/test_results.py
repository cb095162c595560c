"""The results registry: write-through per chapter, units and printed forms, key collisions, merging, and the
comparison of printed forms shown after a render."""

import hashlib
import json

import numpy as np
import pandas as pd
import pypandoc
import pytest

from ipsreport import results, trial


@pytest.fixture(autouse=True)
def _clean(monkeypatch):
    monkeypatch.delenv("IPSREPORT_RESULTS_FILE", raising=False)
    monkeypatch.delenv("IPSREPORT_RESULTS_DIR", raising=False)
    results.clear()
    yield
    results.clear()


def _values(written: dict) -> dict:
    return {k: v for k, v in written.items() if not k.startswith("_")}


def test_register_returns_none_and_writes_values_and_units_through(tmp_path, monkeypatch):
    target = tmp_path / "ch1.json"
    monkeypatch.setenv("IPSREPORT_RESULTS_FILE", str(target))
    assert results.register("primary.m12.ips.n", np.int64(36)) is None
    results.register_many({"p_value": np.float64(0.336), "test": "pearson"}, prefix="primary.m12")
    written = json.loads(target.read_text())
    assert _values(written) == {"primary.m12.ips.n": 36, "primary.m12.p_value": 0.336, "primary.m12.test": "pearson"}
    assert isinstance(written["primary.m12.ips.n"], int)
    assert written["_reported"]["primary.m12.ips.n"] == {"unit": "count", "decimals": 0, "style": "count",
                                                         "default": "36"}
    assert written["_reported"]["primary.m12.p_value"]["default"] == "0.336"
    assert written["_reported"]["primary.m12.test"]["unit"] == "text"


def test_nan_is_stored_as_null_and_printed_as_a_dash(tmp_path, monkeypatch):
    monkeypatch.setenv("IPSREPORT_RESULTS_FILE", str(tmp_path / "x.json"))
    results.register("a.mean", float("nan"))
    written = json.loads((tmp_path / "x.json").read_text())
    assert _values(written) == {"a.mean": None}
    assert written["_reported"]["a.mean"]["default"] == "\u2013"


@pytest.mark.parametrize("key", ["Primary.m12", "primary..m12", "primary m12", "", "_meta", "_reported.x"])
def test_bad_keys_are_rejected(key):
    with pytest.raises(ValueError, match="lower-case dotted"):
        results.register(key, 1)


def test_non_scalar_values_are_rejected():
    with pytest.raises(TypeError):
        results.register("a.b", [1, 2])


# -- units and printed forms ----------------------------------------------------------------------------


@pytest.mark.parametrize(("key", "value", "unit", "printed"), [
    ("primary.m12.ips.percent", 38.23529, "percent", "38.2"),
    ("response.primary.min_percent", 85.0, "percent", "85.0"),
    ("primary.m12.ips_percent", 38.25, "percent", "38.3"),  # half-up, as the papers round
    ("primary.m12.p_value", 0.33649, "p", "0.336"),
    ("primary.m12.p_value", 0.00004, "p", "<0.001"),
    ("hours.levene_p", 0.1309, "p", "0.131"),
    ("primary.m12.odds_ratio", 1.76249, "ratio", "1.76"),
    ("ancillary.or_ci_high", 11.59891, "ratio", "11.60"),
    ("primary.m6.risk_difference", 0.77399, "percentage points", "0.8"),
    ("primary.m6.rd_ci_low", -25.246, "percentage points", "\u221225.2"),
    ("primary.m12.ips.n", 38, "count", "38"),
    ("baseline.female.ips.count", 29, "count", "29"),
    ("feasibility.recruitment.database_mailout.approached", 1017.0, "count", "1,017"),  # as fmt_int prints counts
    ("ancillary.df", 1, "count", "1"),
    ("concordance.trial.exact", 12, "count", "12"),  # an integer under a generic name counts something
    ("hours.ips.mean", 123.456, "hours", "123.46"),
    ("hours.md_ci_low", -141.587, "hours", "\u2212141.59"),
    ("baseline.age.ips.sd", 12.2019, "number", "12.20"),
    ("mixed.odi.group.z", -2.0633, "statistic", "\u22122.06"),
    ("ancillary.chi2", 26.3387, "statistic", "26.34"),
    ("utilisation.gp_visits_per_6_months", 3.456, "per 6 months", "3.5"),
    ("primary.m12.test", "pearson", "text", "pearson"),
    ("something.unnamed", 2.5, "number", "2.50"),
    ("something.unnamed", 7, "count", "7"),
])
def test_unit_and_default_printed_form_follow_the_key(key, value, unit, printed):
    rule = results.unit_of(key, value)
    assert rule.unit == unit
    assert results.printed_form(value, rule) == printed


def test_explicit_unit_and_decimals_override_the_table(tmp_path, monkeypatch):
    monkeypatch.setenv("IPSREPORT_RESULTS_FILE", str(tmp_path / "x.json"))
    results.register("feasibility.recruitment_rate", 2.345, unit="participants per month", decimals=1)
    results.register("baseline.age.ips.n", 38, decimals=1)
    block = json.loads((tmp_path / "x.json").read_text())["_reported"]
    assert block["feasibility.recruitment_rate"] == {"unit": "participants per month", "decimals": 1,
                                                      "style": "number", "default": "2.3"}
    assert block["baseline.age.ips.n"]["default"] == "38.0"


def test_labels_are_readable():
    assert results.label_of("primary.m12.ips.percent") == "Primary · 12 months · IPS · percent"
    assert results.label_of("ancillary.or_ci_low") == "Ancillary · odds ratio, lower 95% limit"


# -- printing through the registry ----------------------------------------------------------------------


def test_reported_prints_its_printed_form_and_records_it(tmp_path, monkeypatch):
    monkeypatch.setenv("IPSREPORT_RESULTS_FILE", str(tmp_path / "x.json"))
    results.register("primary.m12.ips.percent", 100 * 13 / 34)
    shown = results.reported("primary.m12.ips.percent")
    assert str(shown) == "38.2" and repr(shown) == "38.2" and f"{shown}%" == "38.2%"
    assert shown._repr_markdown_() == (
        '[38\\.2]{.reported data-key="primary.m12.ips.percent" title="primary.m12.ips.percent"}'
    )
    assert str(results.reported("primary.m12.ips.percent", decimals=0)) == "38"
    block = json.loads((tmp_path / "x.json").read_text())["_reported"]
    assert block["primary.m12.ips.percent"]["printed"] == ["38.2", "38"]


def test_reported_needs_a_registered_key():
    with pytest.raises(KeyError, match="not registered"):
        results.reported("primary.m12.nothing")


def test_the_markdown_form_is_a_pandoc_span_with_literal_text():
    results.register("jobs.top_sector", "*Retail* <b>[x](y)</b>")
    md = results.reported("jobs.top_sector")._repr_markdown_()
    ast = json.loads(pypandoc.convert_text(md, "json", format="markdown"))
    span = ast["blocks"][0]["c"][0]
    assert span["t"] == "Span"
    assert span["c"][0][1] == ["reported"] and ["data-key", "jobs.top_sector"] in span["c"][0][2]
    html = pypandoc.convert_text(md, "html", format="markdown")
    assert "&lt;b&gt;[x](y)&lt;/b&gt;" in html and "*Retail*" in html and "<em>" not in html


def test_phrases_print_p_values_and_intervals_as_the_wording_does():
    from ipsreport.format import fmt_est_ci
    from ipsreport.wording import p_text

    results.register_many({"p_value": 0.0004, "odds_ratio": 2.3456, "or_ci_low": 0.951, "or_ci_high": 5.8049,
                           "md": 1.0, "md_ci_low": -25.24, "md_ci_high": 24.13}, prefix="x")
    assert str(results.reported_p("x.p_value")) == p_text(0.0004) == "P < 0.001"
    assert str(results.reported_est_ci("x.odds_ratio", "x.or_ci_low", "x.or_ci_high")) == \
        fmt_est_ci(2.3456, 0.951, 5.8049) == "2.35 (0.95\u20135.80)"
    assert str(results.reported_est_ci("x.md", "x.md_ci_low", "x.md_ci_high")) == "1.00 (\u221225.24 to 24.13)"
    md = results.reported_est_ci("x.odds_ratio", "x.or_ci_low", "x.or_ci_high")._repr_markdown_()
    assert md.count("{.reported") == 3 and md.startswith('[2\\.35]{.reported data-key="x.odds_ratio"')


# -- collisions -----------------------------------------------------------------------------------------


def test_registering_a_key_again_with_another_value_is_an_error():
    results.register("jobs.sector.retail.count", 2)
    results.register("jobs.sector.retail.count", 2)  # a re-run cell: the same value is fine
    results.register("jobs.sector.retail.count", 2.0)
    with pytest.raises(ValueError, match="already registered"):
        results.register("jobs.sector.retail.count", 1)


def test_slugs_keep_names_apart_and_are_stable():
    assert results.slug("retail") == "retail" and results.slug("health_social") == "health_social"
    names = ["retail", "Retail", "RETAIL!", "Ærø", "retail ", "!!!"]
    slugs = [results.slug(n) for n in names]
    assert len(set(slugs)) == len(names)
    assert all(results._KEY.match(f"jobs.sector.{s}") for s in slugs)
    # Stable across processes and versions: pinned, and the documented recipe (sha256 of the UTF-8 name).
    assert results.slug("Retail") == "retail_cdb38c8d"
    assert results.slug("Ærø") == "r_" + hashlib.sha256("Ærø".encode()).hexdigest()[:8]


def test_sectors_differing_in_case_get_one_key_each():
    jobs = pd.DataFrame({"job_sector": ["retail", "retail", "Retail", "RETAIL!", "Ærø"]})
    sectors = trial.job_sector_shares(jobs)
    counts = {k: v for k, v in _sector_keys(sectors).items() if k.startswith("jobs.sector.") and k.endswith(".count")}
    assert len(counts) == 4 and sum(counts.values()) == 5
    assert counts["jobs.sector.retail.count"] == 2


def _sector_keys(sectors):
    """The ``jobs.`` part of trial.work_results, with placeholders for the hours arguments it does not use."""

    class Anything:
        def __getattr__(self, name):
            return 0

    return trial.work_results(Anything(), {"ips": (0, 0), "tau": (0, 0)}, Anything(), sectors)


# -- merging and comparing ------------------------------------------------------------------------------


def _chapter_file(path, values: dict, printed: dict | None = None):
    block = {k: {**{"unit": results.unit_of(k, v).unit, "decimals": results.unit_of(k, v).decimals,
                    "style": results.unit_of(k, v).style}, **({"printed": printed[k]} if printed and k in printed else {})}
             for k, v in values.items()}
    path.write_text(json.dumps({**values, "_reported": block}))
    return path


def test_merge_detects_conflicts_and_records_units_printed_forms_and_chapters(tmp_path):
    a = _chapter_file(tmp_path / "02-primary.json", {"x.y": 1, "z.percent": 38.24}, {"z.percent": ["38.2"]})
    b = _chapter_file(tmp_path / "04-ancillary.json", {"x.y": 1, "w.mean": 3.0})
    merged = results.merge_result_files([a, b])
    assert _values(merged) == {"w.mean": 3.0, "x.y": 1, "z.percent": 38.24}
    assert merged["_reported"]["z.percent"] == {"unit": "percent", "decimals": 1, "style": "number",
                                                "printed": "38.2", "in_prose": True,
                                                "label": "Z · percent", "chapter": "02-primary"}
    assert merged["_reported"]["w.mean"]["printed"] == "3.00" and not merged["_reported"]["w.mean"]["in_prose"]
    assert merged["_reported"]["w.mean"]["chapter"] == "04-ancillary"
    c = _chapter_file(tmp_path / "c.json", {"x.y": 5})
    with pytest.raises(ValueError, match="x.y"):
        results.merge_result_files([a, c])


def test_diff_compares_printed_forms_not_float_noise():
    old = {"a.percent": 38.2352941, "b.or_ci_high": 11.5989101, "c.test": "pearson", "e.n": 4,
           "_meta": {"rendered_at": "yesterday"}}
    new = {"a.percent": 38.2352944, "b.or_ci_high": 11.6049, "c.test": "fisher", "d.n": 4,
           "_meta": {"rendered_at": "today"}}
    # 11.5989 and 11.6049 both print as 11.60: not a change; _meta is never compared.
    assert results.diff_results(old, new) == [("c.test", "pearson", "fisher"), ("d.n", None, "4"), ("e.n", "4", None)]
    assert results.diff_results(new, new) == []


def test_diff_uses_the_printed_form_on_the_page():
    # Printed at 0 decimals in the prose, 38.2 → 38.4 does not change the page; 38.4 → 38.6 does.
    def doc(value, printed):
        return {"a.percent": value, "_reported": {"a.percent": {"printed": printed}}}

    assert results.diff_results(doc(38.2, "38"), doc(38.4, "38")) == []
    assert results.diff_results(doc(38.4, "38"), doc(38.6, "39")) == [("a.percent", "38", "39")]


def test_under_quarto_the_chapter_is_the_document_name(tmp_path, monkeypatch):
    monkeypatch.setenv("IPSREPORT_RESULTS_DIR", str(tmp_path))
    monkeypatch.setenv("QUARTO_DOCUMENT_PATH", "/work/project/chapters")
    monkeypatch.setenv("QUARTO_DOCUMENT_FILE", "04-ancillary-analysis.qmd")
    results.register("ancillary.n", 96)
    (written,) = tmp_path.glob("*.json")
    merged = results.merge_result_files([written])
    assert merged["_reported"]["ancillary.n"]["chapter"] == "04-ancillary-analysis"


def test_reported_est_ci_text_prints_as_the_running_text_formatter():
    from ipsreport import results
    from ipsreport.format import fmt_est_ci_text

    for est, low, high in ((6.3217, 3.07, 13.014), (-0.5, -25.24, 24.1)):
        results.clear()
        results.register("x.mean_difference", est)
        results.register("x.md_ci_low", low)
        results.register("x.md_ci_high", high)
        phrase = results.reported_est_ci_text("x.mean_difference", "x.md_ci_low", "x.md_ci_high")
        assert str(phrase) == fmt_est_ci_text(est, low, high)
    assert str(phrase) == "−0.50 (95% CI −25.24 to 24.10)"
    results.clear()
