"""Numbers in prose through the registry: keyed values, format functions and wording functions (``@prose``).

The printed form recorded for a key must be the text on the page; a sentence built from plain values must come
back exactly as before; the private-use delimiters that carry a value through an f-string must never leave a
decorated function."""

from __future__ import annotations

import pandas as pd
import pytest

from ipsreport import format as fmt
from ipsreport import results, wording
from ipsreport.printed import Phrase, Reported, prose

DELIMITERS = ("\ue000", "\ue001", "\ue002")


@pytest.fixture(autouse=True)
def clean_registry():
    results.clear()
    yield
    results.clear()


def _spans(phrase) -> list[tuple[str, str]]:
    return [(p.key, p.text) for p in phrase.parts if isinstance(p, Reported)]


def _no_delimiters(value) -> None:
    text = str(value) + getattr(value, "data", "")
    assert not any(d in text for d in DELIMITERS)


def test_a_keyed_row_gives_values_that_remember_their_key():
    results.register("primary.m12.ips.percent", 52.77777777777778)
    results.register("primary.m12.ips.n", 36)
    results.register("primary.m12.p_value", 0.336)
    row = results.keyed({"ips_percent": 52.77777777777778, "ips_n": 36, "p_value": 0.2, "month": 12},
                        "primary.m12")
    assert row["ips_percent"].key == "primary.m12.ips.percent" and row["ips_percent"] == pytest.approx(52.7778, 1e-4)
    n = row["ips_n"]
    assert isinstance(n, results.Count) and n.key == "primary.m12.ips.n" and n == 36
    # A value that differs from the registered one is not that key's value: it stays plain.
    assert not hasattr(row["p_value"], "key") and row["p_value"] == 0.2
    assert not hasattr(row["month"], "key")
    # Arithmetic gives plain numbers; int() of a count is a plain int.
    assert type(row["ips_percent"] * 2) is float and type(int(n)) is int
    # The source's type is kept: a count held as a float (a frame's column) is a Num, printed as fmt_int prints.
    as_float = results.keyed(pd.Series({"ips_n": 36.0}), "primary.m12")["ips_n"]
    assert isinstance(as_float, results.Num) and as_float.key == "primary.m12.ips.n"
    assert str(fmt.fmt_int(as_float)) == "36"
    # Registering a keyed value registers its plain number.
    results.register("copy.n", n)
    assert type(results.registered()["copy.n"]) is int


def test_format_functions_print_a_keyed_value_through_the_registry():
    results.register("design.power_percent", 90.0)
    results.register("x.p_value", 0.0004)
    power = results.keyed({"power_percent": 90.0}, "design")["power_percent"]
    shown = fmt.fmt_pct(power, 0)
    assert isinstance(shown, Reported) and str(shown) == "90" and shown.key == "design.power_percent"
    assert results.reported_forms()["design.power_percent"]["printed"] == ["90"]  # the page's text, not "90.0"
    p = results.keyed({"p_value": 0.0004}, "x")["p_value"]
    phrase = fmt.fmt_p(p)
    assert str(phrase) == "<0.001" and _spans(phrase) == [("x.p_value", "0.001")]
    assert results.reported_forms()["x.p_value"]["printed"] == ["<0.001"]
    # Plain values give the plain strings the tables use.
    assert fmt.fmt_pct(90.0, 0) == "90" and fmt.fmt_p(0.0004) == "<0.001" and fmt.fmt_ci(0.5, 1.5) == "0.50–1.50"


def test_a_wording_function_returns_spans_for_keyed_values_and_the_same_text():
    emp = {"ips_employed": 19, "ips_n": 36, "ips_percent": 52.77777777777778, "tau_employed": 7, "tau_n": 18,
           "tau_percent": 38.888888888888886, "odds_ratio": 1.7619, "or_ci_low": 0.5585, "or_ci_high": 5.5586,
           "p_value": 0.3364}
    plain = wording.employment_sentence(emp, months=12)
    assert isinstance(plain, str)
    results.register_many({"ips.employed": 19, "ips.n": 36, "ips.percent": 52.77777777777778, "tau.employed": 7,
                           "tau.n": 18, "tau.percent": 38.888888888888886, "odds_ratio": 1.7619,
                           "or_ci_low": 0.5585, "or_ci_high": 5.5586, "p_value": 0.3364}, prefix="primary.m12")
    keyed = wording.employment_sentence(results.keyed(emp, "primary.m12"), months=12)
    assert isinstance(keyed, Phrase) and str(keyed) == plain
    assert _spans(keyed) == [("primary.m12.ips.employed", "19"), ("primary.m12.ips.n", "36"),
                             ("primary.m12.ips.percent", "52.8"), ("primary.m12.tau.employed", "7"),
                             ("primary.m12.tau.n", "18"), ("primary.m12.tau.percent", "38.9"),
                             ("primary.m12.odds_ratio", "1.76"), ("primary.m12.or_ci_low", "0.56"),
                             ("primary.m12.or_ci_high", "5.56"), ("primary.m12.p_value", "0.336")]
    markdown = keyed._repr_markdown_()
    assert '[52\\.8]{.reported data-key="primary.m12.ips.percent"' in markdown
    _no_delimiters(keyed)
    assert results.reported_forms()["primary.m12.ips.percent"]["printed"] == ["52.8"]


def test_nested_and_markdown_sentences_keep_their_spans_and_leak_no_delimiter():
    results.register("sample_size.exact", 30.2)
    results.register("sample_size.per_group", 31)
    size = type("Size", (), {"n_exact": 30.2, "n_per_group": 31, "method": "unpooled"})()
    sentence = wording.sample_size_method_sentence(
        "unpooled", results.keyed(size, "sample_size", {"n_exact": "exact", "n_per_group": "per_group"}))
    assert isinstance(sentence, Phrase)
    assert _spans(sentence) == [("sample_size.exact", "30.20"), ("sample_size.per_group", "31")]
    assert "*n* = (*z*~1−α/2~" in sentence.data  # the formula stays markdown; the values are spans
    _no_delimiters(sentence)

    @prose
    def outer(value):
        return f"Outer {wording.p_text(value)} and {fmt.fmt_int(value)}."

    results.register("q.p_value", 0.25)
    p = results.keyed({"p_value": 0.25}, "q")["p_value"]
    phrase = outer(p)
    assert str(phrase) == "Outer P = 0.250 and 0." and _spans(phrase) == [("q.p_value", "0.250"), ("q.p_value", "0")]
    _no_delimiters(phrase)


def test_keyed_frame_keys_cells_by_row_and_keeps_them_through_filters():
    frame = pd.DataFrame({"outcome": ["odi", "eq_vas"], "month": [6, 6], "ips_mean": [36.1, 60.0],
                          "p_value": [0.3, 0.01], "p_welch": [0.31, 0.02]})
    results.register_many({"secondary.m6.odi.ips.mean": 36.1, "secondary.m6.eq_vas.p_value": 0.01,
                           "secondary.welch.m6.eq_vas.p_value": 0.02})
    keyed = results.keyed_frame(frame, lambda r: f"secondary.m{r['month']}.{r['outcome']}",
                                {"p_welch": lambda r: f"secondary.welch.m{r['month']}.{r['outcome']}.p_value"})
    hits = keyed.loc[keyed["p_value"] < 0.05]
    assert list(hits["outcome"]) == ["eq_vas"]
    assert hits["p_value"].iloc[0].key == "secondary.m6.eq_vas.p_value"
    assert hits["p_welch"].iloc[0].key == "secondary.welch.m6.eq_vas.p_value"
    assert keyed["ips_mean"].iloc[0].key == "secondary.m6.odi.ips.mean"
    assert not hasattr(keyed["ips_mean"].iloc[1], "key")  # not registered
    assert float(keyed["p_value"].sum()) == pytest.approx(0.31)


def test_a_count_in_an_f_string_prints_through_the_registry():
    results.register("flow.randomized", 1017)
    count = results.keyed({"randomized": 1017}, "flow")["randomized"]
    assert f"{count}" == "1017" and f"{count:5d}" == " 1017"  # outside a sentence: Python's own format
    assert "printed" not in results.reported_forms()["flow.randomized"]

    @prose
    def sentence(n):
        return f"Of {n} people."

    phrase = sentence(count)
    assert str(phrase) == "Of 1,017 people." and _spans(phrase) == [("flow.randomized", "1,017")]
    assert results.reported_forms()["flow.randomized"]["printed"] == ["1,017"]
    assert count._repr_markdown_().startswith("[1,017]{.reported")


def test_counts_a_sentence_derives_from_a_keyed_frame_are_registered_and_keyed():
    progression = pd.DataFrame({"label": ["Yield", "Retention", "Uptake"], "verdict": ["green", "amber", "amber"]})
    plain = wording.progression_sentence(progression)
    keyed = wording.progression_sentence(results.keyed_frame(progression, lambda r: "", derived="p.verdicts"))
    assert str(keyed) == plain == "Of 3 criteria, 1 was met (green), 2 were amber and 0 were not met (red)."
    assert _spans(keyed) == [("p.verdicts.criteria", "3"), ("p.verdicts.green", "1"), ("p.verdicts.amber", "2"),
                             ("p.verdicts.red", "0")]
    assert results.registered() == {"p.verdicts.green": 1, "p.verdicts.amber": 2, "p.verdicts.red": 0,
                                    "p.verdicts.criteria": 3}
    # A filtered frame keeps the hook, and a plain frame never registers anything.
    assert callable(results.keyed_frame(progression, lambda r: "", derived="q").iloc[:2].attrs["derived"])
    results.clear()
    wording.progression_sentence(progression)
    assert results.registered() == {}


def test_plain_text_between_values_is_escaped_as_quartos_plain_rule_escapes_a_string():
    from ipsreport.render import inline

    assert inline._QUARTO_ESCAPED.pattern == __import__("ipsreport.printed").printed._PLAIN_ESCAPED.pattern
    results.register("t.p_value", 0.06)
    phrase = wording.p_text(results.value("t.p_value"))
    sentence = Phrase(("Welch's test (two-sided): ", *phrase.parts))
    markdown = sentence._repr_markdown_()
    assert markdown.startswith("Welch's test \\(two\\-sided\\): P = [0\\.060]{.reported")  # no \' : smart quotes


def test_marked_text_cannot_leave_a_sentence():
    results.register("a.n", 5)

    @prose
    def leaky(n):
        return [f"{n}"]

    with pytest.raises(TypeError, match="returned a list"):
        leaky(results.value("a.n"))

    @prose
    def failing(n):
        text = f"{n}"
        raise RuntimeError(text)

    with pytest.raises(RuntimeError):
        failing(results.value("a.n"))
    from ipsreport import printed

    assert printed._pending == [] and not printed.in_prose()


def test_a_key_repeated_by_the_abstract_belongs_to_the_chapter_that_reports_it():
    index = {"primary.m12.ips.n": 36, "_reported": {"primary.m12.ips.n": {
        "unit": "count", "decimals": 0, "style": "count", "printed": ["36"], "repeats": True}}, "_chapter": "index"}
    chapter = {"primary.m12.ips.n": 36, "flow.n": 3, "_reported": {"primary.m12.ips.n": {
        "unit": "count", "decimals": 0, "style": "count", "printed": ["36"]}}, "_chapter": "02-primary-outcome"}
    for order in ((("index", index), ("02", chapter)), (("02", chapter), ("index", index))):
        merged = results.merge_results(dict(order))
        assert merged["_reported"]["primary.m12.ips.n"]["chapter"] == "02-primary-outcome"
        assert "repeats" not in merged["_reported"]["primary.m12.ips.n"]
    only_repeated = results.merge_results({"index": index})
    assert only_repeated["_reported"]["primary.m12.ips.n"]["chapter"] == "index"


def test_registering_as_a_repeat_is_recorded_only_when_every_registration_repeats():
    results.register("a.n", 1, repeats=True)
    assert results.reported_forms()["a.n"]["repeats"] is True
    results.register("b.n", 2)
    results.register("b.n", 2, repeats=True)
    assert "repeats" not in results.reported_forms()["b.n"]
