"""The project's pre-/post-render steps (ipsreport.hooks), as Quarto or the render pipeline runs them."""

import json

from ipsreport import hooks


def _listing(tmp_path, chapters, extra=()):
    path = tmp_path / "chapter-results.json"
    path.write_text(json.dumps({"chapters": chapters, "extra": list(extra)}))
    return path


def test_quarto_run_inside_the_pipeline_returns_at_once(monkeypatch, tmp_path):
    monkeypatch.setenv("IPSREPORT_PIPELINE", "1")
    assert hooks.validate_data_main(tmp_path) == 0  # tmp_path has no data/: it would fail if it ran
    assert hooks.collect_results_main(tmp_path) == 0


def test_a_plain_quarto_render_says_where_results_come_from(monkeypatch, tmp_path, capsys):
    monkeypatch.delenv("IPSREPORT_PIPELINE", raising=False)
    monkeypatch.delenv("IPSREPORT_CHAPTER_RESULTS", raising=False)
    assert hooks.collect_results_main(tmp_path) == 0
    assert "results.json is written by `ipsreport render`" in capsys.readouterr().err


def test_results_are_merged_and_a_silent_registering_chapter_fails(monkeypatch, tmp_path, capsys):
    monkeypatch.delenv("IPSREPORT_PIPELINE", raising=False)
    (tmp_path / "a.qmd").write_text("```{python}\nir.register('a.x', 1)\n```\n")
    (tmp_path / "b.qmd").write_text("```{python}\nx = 1\n```\n")  # code, but registers nothing
    (tmp_path / "c.qmd").write_text("```{python}\nir.register_many({'c.y': 2})\n```\n")
    (tmp_path / "a.json").write_text('{"a.x": 1}')
    (tmp_path / "c.json").write_text('{"c.y": 2}')
    out = tmp_path / "out"
    out.mkdir()
    monkeypatch.setenv("QUARTO_PROJECT_OUTPUT_DIR", str(out))
    chapters = [{"path": "a.qmd", "has_code": True, "results": str(tmp_path / "a.json")},
                {"path": "b.qmd", "has_code": True, "results": None},
                {"path": "c.qmd", "has_code": True, "results": str(tmp_path / "c.json")}]
    monkeypatch.setenv("IPSREPORT_CHAPTER_RESULTS", str(_listing(tmp_path, chapters)))
    assert hooks.collect_results_main(tmp_path) == 0
    written = json.loads((out / "results.json").read_text())
    assert {k: v for k, v in written.items() if not k.startswith("_")} == {"a.x": 1, "c.y": 2}
    assert written["_reported"]["c.y"]["chapter"] == "c.qmd" and written["_meta"]["engine"] == "quarto"
    chapters[2]["results"] = None
    monkeypatch.setenv("IPSREPORT_CHAPTER_RESULTS", str(_listing(tmp_path, chapters)))
    (out / "results.json").unlink()
    assert hooks.collect_results_main(tmp_path) == 2
    assert "no registered values arrived from c.qmd" in capsys.readouterr().err
    assert not (out / "results.json").exists()


def test_a_key_with_two_values_fails(monkeypatch, tmp_path, capsys):
    monkeypatch.delenv("IPSREPORT_PIPELINE", raising=False)
    for name, value in (("a", 1), ("b", 2)):
        (tmp_path / f"{name}.qmd").write_text("```{python}\nregister('k', 0)\n```\n")
        (tmp_path / f"{name}.json").write_text(json.dumps({"k": value}))
    monkeypatch.setenv("QUARTO_PROJECT_OUTPUT_DIR", str(tmp_path))
    chapters = [{"path": f"{n}.qmd", "has_code": True, "results": str(tmp_path / f"{n}.json")} for n in "ab"]
    monkeypatch.setenv("IPSREPORT_CHAPTER_RESULTS", str(_listing(tmp_path, chapters)))
    assert hooks.collect_results_main(tmp_path) == 2
    assert "registered with different values in a.qmd and b.qmd" in capsys.readouterr().err


def test_calls_registry():
    assert hooks.calls_registry("ir.register_many(x, prefix='p')") and hooks.calls_registry("register ('a', 1)")
    assert not hooks.calls_registry("from ipsreport.results import registered\nregistered()")


def test_the_results_step_reports_printed_changes_highlights_pages_and_tells_the_summary(monkeypatch, tmp_path):
    monkeypatch.delenv("IPSREPORT_PIPELINE", raising=False)
    monkeypatch.setenv("IPSREPORT_ENGINE", "builtin")
    (tmp_path / "a.qmd").write_text("```{python}\nir.register('a.x', 1)\n```\n")
    (tmp_path / "_quarto.yml").write_text("book:\n  title: 'A <b>book</b>'\n")

    def render(values, folder):
        (tmp_path / "a.json").write_text(json.dumps(values))
        out = tmp_path / folder
        out.mkdir()
        spans = "".join(f'<span class="reported" data-key="{k}" title="{k}">{v}</span> ' for k, v in values.items())
        (out / "a.html").write_text(f"<html><body><main><h1>A</h1><p>{spans}</p></main></body></html>")
        monkeypatch.setenv("QUARTO_PROJECT_OUTPUT_DIR", str(out))
        monkeypatch.setenv("IPSREPORT_CHANGES_FILE", str(tmp_path / f"{folder}-summary.json"))
        chapters = [{"path": "a.qmd", "has_code": True, "results": str(tmp_path / "a.json")}]
        monkeypatch.setenv("IPSREPORT_CHAPTER_RESULTS", str(_listing(tmp_path, chapters)))
        assert hooks.collect_results_main(tmp_path) == 0
        monkeypatch.setenv("IPSREPORT_PREVIOUS_OUTPUT_DIR", str(out))
        return out, json.loads((tmp_path / f"{folder}-summary.json").read_text())

    first, summary = render({"a.n": 3, "a.mean": 2.5, "a.percent": 41.17647}, "first")
    assert summary == {"changed": [["a.mean", None, "2.50"], ["a.n", None, "3"], ["a.percent", None, "41.2"]],
                       "first": True, "report": "changes.md"}
    assert "changed" not in (first / "a.html").read_text()  # a first render highlights nothing
    # 41.17647 → 41.17650 is float noise at the printed precision; 3 → 4 is a change.
    second, summary = render({"a.n": 4, "a.mean": 2.5, "a.percent": 41.1765}, "second")
    assert summary == {"changed": [["a.n", "3", "4"]], "first": False, "report": "changes.md"}
    assert "| `a.n` | A · n | 3 | 4 |" in (second / "changes.md").read_text()
    assert "A &lt;b&gt;book&lt;/b&gt;" in (second / "changes.html").read_text()
    page = (second / "a.html").read_text()
    assert '<span class="reported changed" data-key="a.n" title="a.n: changed from 3">4</span>' in page
    assert '<span class="reported" data-key="a.mean" title="a.mean">2.5</span>' in page
    assert page.count('class="ipsr-changes-note"') == 1
    history = json.loads((tmp_path / ".ipsreport-cache" / "_changes" / "history.json").read_text())
    assert [[c["key"] for c in h["changes"]] for h in history] == [["a.n"]]
