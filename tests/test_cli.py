"""The command line: validate reports every problem with exit code 2 and no traceback."""

import shutil
from pathlib import Path

from typer.testing import CliRunner

from ipsreport.cli import app

DATA = Path(__file__).resolve().parents[1] / "data"
runner = CliRunner()


def test_validate_clean_data():
    result = runner.invoke(app, ["validate", "--data-dir", str(DATA)])
    assert result.exit_code == 0, result.output
    assert "valid" in result.output


def test_validate_reports_all_problems_with_exit_code_2(tmp_path):
    data = tmp_path / "data"
    shutil.copytree(DATA, data)
    participants = data / "ips-pain" / "participants.csv"
    lines = participants.read_text().splitlines()
    lines[1] = lines[1].replace(",IPS,", ",IPSX,").replace(",TAU,", ",IPSX,")
    participants.write_text("\n".join(lines) + "\n")
    (data / "instep" / "followup.csv").unlink()
    result = runner.invoke(app, ["validate", "--data-dir", str(data)])
    assert result.exit_code == 2
    assert "participants.csv, line 2, column arm" in result.output and "IPSX" in result.output
    assert "followup.csv" in result.output  # the second problem, in another dataset, is reported too
    assert "Traceback" not in result.output


def test_render_rejects_unknown_formats():
    result = runner.invoke(app, ["render", "--to", "html,epub"])
    assert result.exit_code != 0
    assert "epub" in result.output
