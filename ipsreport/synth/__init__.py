"""Reconstruction of participant-level data whose margins match the published papers."""

from __future__ import annotations

from pathlib import Path

__all__ = ["synthesize_all"]


def synthesize_all(data_dir: Path | str = "data", examples_dir: Path | str | None = None) -> list[Path]:
    """Regenerate every reconstructed data file under ``data_dir`` from ``data_dir/published/``, then the
    example source files (SPSS, Stata, Excel) under ``examples_dir`` (default: ``examples/`` next to
    ``data_dir``; outside ``data/``, so that the render never reads them)."""
    from ipsreport.synth.examples import write_examples
    from ipsreport.synth.instep import write_instep
    from ipsreport.synth.ips_pain import write_ips_pain

    data_dir = Path(data_dir)
    examples = data_dir.parent / "examples" if examples_dir is None else Path(examples_dir)
    written = [*write_ips_pain(data_dir / "ips-pain"), *write_instep(data_dir)]
    return written + write_examples(data_dir, examples)
