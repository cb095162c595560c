"""Reconstruction of participant-level data whose margins match the published papers."""

from __future__ import annotations

from pathlib import Path

__all__ = ["synthesize_all"]


def synthesize_all(data_dir: Path | str = "data") -> list[Path]:
    """Regenerate every reconstructed data file under ``data_dir`` from ``data_dir/published/``."""
    from ipsreport.synth.instep import write_instep
    from ipsreport.synth.ips_pain import write_ips_pain

    data_dir = Path(data_dir)
    return [*write_ips_pain(data_dir / "ips-pain"), *write_instep(data_dir)]
