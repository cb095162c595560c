"""Concordance statuses: exact, within rounding, differs, not determined, not computed."""

import math
import re
import textwrap
from pathlib import Path

from ipsreport.concordance import compare_published, concordance_summary, load_published


def _items(tmp_path):
    path = tmp_path / "pub.yaml"
    path.write_text(textwrap.dedent("""
        source: test
        items:
          - {key: a, location: "T2", printed: "52.8", decimals: 1}
          - {key: b, location: "T1", printed: "0.946", decimals: 3}
          - {key: c, location: "T1", printed: "32.3", decimals: 1, note: "11/34 is 32.35"}
          - {key: d, location: "T4", printed: "-3.53", decimals: 2, determined: false}
          - {key: e, location: "text", printed: "<0.001", decimals: 3}
          - {key: f, location: "text", printed: "31", decimals: 0}
          - {key: g, location: "text", printed: "0.5", decimals: 1}
          - {key: h, location: "text", printed: "3", decimals: 0}
          - {key: i, location: "text", printed: "54", decimals: 0}
          - {key: j, location: "T1", printed: "32.3", decimals: 1, note: "Internally inconsistent: 11/34 is 32.35%"}
          - {key: k, location: "text", printed: "3", decimals: 0, note: "Inconsistent: Table 2 gives 2"}
          - {key: l, location: "T1", printed: "76.3", decimals: 1, note: "Inconsistent, but reproduced"}
    """))
    return load_published(path)


COMPUTED = {"a": 100 * 19 / 36, "b": 0.9451, "c": 100 * 11 / 34, "d": -2.1, "e": 2.9e-7, "f": 34, "h": 2,
            "i": 100 * 12 / 22, "j": 100 * 11 / 34, "k": 2, "l": 100 * 29 / 38}


def test_statuses(tmp_path):
    table = compare_published(_items(tmp_path), COMPUTED).set_index("key")
    assert table.loc["a", "status"] == "exact"
    assert table.loc["a", "computed"] == "52.8"
    assert table.loc["b", "status"] == "within rounding"  # 0.945 vs printed 0.946
    assert table.loc["c", "status"] == "within rounding"  # 32.4 vs printed 32.3, no inconsistency noted
    assert table.loc["c", "note"] == "11/34 is 32.35"
    assert table.loc["d", "status"] == "not determined by the margins"
    assert table.loc["e", "status"] == "exact"
    assert table.loc["f", "status"] == "differs"
    assert table.loc["g", "status"] == "not computed"
    assert table.loc["h", "status"] == "differs"  # a count off by one is not a rounding matter
    assert table.loc["i", "status"] == "within rounding"  # 54.5% printed as 54
    assert table.loc["j", "status"] == "inconsistent in the paper"
    assert table.loc["k", "status"] == "inconsistent in the paper"  # even for a count
    assert table.loc["l", "status"] == "exact"  # a note does not override a match


def test_summary_counts_every_status(tmp_path):
    table = compare_published(_items(tmp_path), {"a": 52.8, "e": 0.5})
    summary = concordance_summary(table).set_index("status")["count"]
    assert summary["exact"] == 1
    assert summary["differs"] == 1  # e: 0.5 is not < 0.001
    assert summary["not computed"] == 9  # b, c, f, g, h, i, j, k, l
    assert summary["not determined by the margins"] == 1  # d, whether computed or not
    assert summary.sum() == 12
    assert not math.isnan(summary.sum())


def test_rows_say_what_they_are_without_internal_names():
    from ipsreport.concordance import describe_location, describe_statistic

    assert describe_location('Table 4, hscl_depression, group x time, estimate (column "F Score" for z)') == \
        "Paper Table 4, Depression (HSCL-25), group × time"
    assert describe_location('Table 4, odi, time, z (column "F Score" for z)') == \
        'Paper Table 4, Pain-related disability (ODI), time (per 6 months), printed in the column "F Score"'
    assert describe_location("Results, Characteristics, period of unemployment, all.median") == \
        "Results, Characteristics, period of unemployment, all"
    assert describe_location("Results text and Table 1 header: IPS group n") == \
        "Results text and Paper Table 1 header: IPS group n"
    assert describe_statistic("mixed.odi.group.estimate") == "coefficient, score 0–100"
    assert describe_statistic("feasibility.baseline.years_unemployed.all.q1") == "lower quartile, years"
    assert describe_statistic("hours.ips.sd") == "SD, hours"
    assert describe_statistic("baseline.female.ips.percent") == "%"
    assert describe_statistic("flow.analysed.ips") == "n"


def test_every_published_row_is_described_in_words(tmp_path):
    from ipsreport.concordance import concordance_display

    root = Path(__file__).resolve().parents[1] / "data" / "published"
    for name in ("ips-pain-2022.yaml", "instep.yaml"):
        items = load_published(root / name)
        shown = concordance_display(compare_published(items, {}))
        assert len(shown) == len(items)
        for text in list(shown["where"]) + list(shown["statistic"]):
            assert not re.search(r"\b[a-z]+_[a-z_]+\b|\b(all|ips|tau)\.[a-z]", text), text
        assert not any(re.search(r"(?<!Paper )\bTable \d", w) for w in shown["where"])


def test_not_exact_rows_come_first_worst_first(tmp_path):
    from ipsreport.concordance import not_exact

    items = _items(tmp_path)
    table = compare_published(items, COMPUTED)
    rows = not_exact({"study A": table})
    assert "exact" not in set(rows["status"]) and "not determined by the margins" not in set(rows["status"])
    assert len(rows) == (table["status"].isin(["exact", "not determined by the margins"]) == False).sum()  # noqa: E712
    with_undetermined = not_exact({"study A": table}, undetermined=True)
    assert len(with_undetermined) == len(rows) + 1 and with_undetermined["status"].iloc[-1] == "not determined by the margins"
    assert set(rows["study"]) == {"study A"}
    ranks = {"differs": 0, "inconsistent in the paper": 1, "within rounding": 2}
    seen = [ranks.get(s, 3) for s in rows["status"]]
    assert seen == sorted(seen)
    # Printed numbers are shown with a typographic minus.
    assert "\u22123.53" in set(with_undetermined["printed"])


def test_the_appendix_filter_block_is_the_generated_one():
    """The appendix holds the HTML filter as a raw block of its own source (computed raw HTML would be refused by
    the render's markup check); it must stay what :func:`mismatch_filter_html` generates."""
    from pathlib import Path

    from ipsreport.concordance import mismatch_filter_html

    source = (Path(__file__).resolve().parents[1] / "chapters" / "appendix-reproducibility.qmd").read_text()
    block = "```{=html}\n" + mismatch_filter_html(["tbl-concordance-trial", "tbl-concordance-pilot"]) + "\n```"
    assert block in source
