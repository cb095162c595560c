"""The _meta block of results.json: data files with digests and record counts, synthetic flags, CI level."""

import hashlib
from datetime import datetime, timezone

from ipsreport import provenance


def test_meta_describes_the_data_files_and_inputs(tmp_path):
    (tmp_path / "data" / "trial").mkdir(parents=True)
    (tmp_path / "config").mkdir()
    csv_text = 'id,note\n1,"two\nlines"\n2,plain\n'
    (tmp_path / "data" / "trial" / "rows.csv").write_text(csv_text)
    (tmp_path / "data" / "trial" / "dataset.yaml").write_text("synthetic: false\ndescription: x\n")
    (tmp_path / "config" / "design.yaml").write_text("ips_pain:\n  alpha: 0.1\n")
    (tmp_path / "index.qmd").write_text("# Hello\n")
    now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    meta = provenance.results_meta(tmp_path, "builtin", now=now)
    assert meta["rendered_at"] == "2026-01-02T03:04:05Z" and meta["engine"] == "builtin"
    assert meta["schema_version"] == 2 and meta["git_commit"] is None
    assert meta["data_files"][1] == {"path": "data/trial/rows.csv", "rows": 2, "bytes": len(csv_text.encode()),
                                     "sha256": hashlib.sha256(csv_text.encode()).hexdigest()}
    assert meta["data_files"][0]["rows"] is None  # dataset.yaml is not tabular
    assert meta["datasets"] == {"trial": {"synthetic": False}}
    assert meta["ci_level"] == 0.9
    assert set(meta["inputs"]) == {"config/design.yaml", "data/trial/dataset.yaml", "data/trial/rows.csv", "index.qmd"}
    table = provenance.data_files_table(tmp_path)
    assert list(table.columns) == ["file", "rows", "sha256"] and table["rows"].tolist() == ["", "2"]
