"""The results registry: write-through per chapter, merging, and the diff shown after a render."""

import json

import numpy as np
import pytest

from ipsreport import results


@pytest.fixture(autouse=True)
def _clean(monkeypatch):
    monkeypatch.delenv("IPSREPORT_RESULTS_FILE", raising=False)
    monkeypatch.delenv("IPSREPORT_RESULTS_DIR", raising=False)
    results.clear()
    yield
    results.clear()


def test_register_returns_value_and_writes_through(tmp_path, monkeypatch):
    target = tmp_path / "ch1.json"
    monkeypatch.setenv("IPSREPORT_RESULTS_FILE", str(target))
    assert results.register("primary.m12.ips.n", np.int64(36)) is None
    results.register_many({"p_value": np.float64(0.336), "test": "pearson"}, prefix="primary.m12")
    written = json.loads(target.read_text())
    assert written == {"primary.m12.ips.n": 36, "primary.m12.p_value": 0.336, "primary.m12.test": "pearson"}
    assert isinstance(written["primary.m12.ips.n"], int)


def test_nan_is_stored_as_null(tmp_path, monkeypatch):
    monkeypatch.setenv("IPSREPORT_RESULTS_FILE", str(tmp_path / "x.json"))
    results.register("a.b", float("nan"))
    assert json.loads((tmp_path / "x.json").read_text()) == {"a.b": None}


@pytest.mark.parametrize("key", ["Primary.m12", "primary..m12", "primary m12", ""])
def test_bad_keys_are_rejected(key):
    with pytest.raises(ValueError, match="lower-case dotted"):
        results.register(key, 1)


def test_non_scalar_values_are_rejected():
    with pytest.raises(TypeError):
        results.register("a.b", [1, 2])


def test_merge_detects_conflicts(tmp_path):
    (tmp_path / "a.json").write_text(json.dumps({"x.y": 1, "z": 2}))
    (tmp_path / "b.json").write_text(json.dumps({"x.y": 1, "w": 3}))
    assert results.merge_result_files([tmp_path / "a.json", tmp_path / "b.json"]) == {"w": 3, "x.y": 1, "z": 2}
    (tmp_path / "c.json").write_text(json.dumps({"x.y": 5}))
    with pytest.raises(ValueError, match="x.y"):
        results.merge_result_files([tmp_path / "a.json", tmp_path / "c.json"])


def test_diff_lists_changed_added_and_removed():
    old = {"a": 1.0, "b": 2.0, "c": "pearson"}
    new = {"a": 1.0, "b": 2.5, "c": "fisher", "d": 4}
    assert results.diff_results(old, new) == [("b", 2.0, 2.5), ("c", "pearson", "fisher"), ("d", None, 4)]
    assert results.diff_results(new, new) == []
