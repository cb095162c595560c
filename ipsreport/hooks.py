"""The project's own render steps, run by ``_quarto.yml``'s ``pre-render`` / ``post-render`` scripts.

``_scripts/validate-data.py`` (pre-render) checks ``data/`` before any chapter runs; ``_scripts/collect-results.py``
(post-render) merges the values the chapters registered into ``results.json`` of the output folder, and fails
when a chapter whose code registers values delivered none (a Quarto that skipped execution, a chapter that
stopped early). Both run under ``ipsreport render`` (either engine) and under a plain ``quarto render``; when
``ipsreport render`` drives Quarto (``IPSREPORT_PIPELINE`` is set) Quarto's own call returns at once, because
the render pipeline runs the script itself, before and after Quarto. The render engine never imports this
module: it only runs the scripts.

:func:`collect_results_main` is the one place for what is done with the results (:mod:`ipsreport.changes`):
merge the chapters' values with their printed forms and units, add the ``_meta`` provenance block, compare
with the previous render's ``results.json`` (in ``IPSREPORT_PREVIOUS_OUTPUT_DIR``) by printed forms, write
``changes.html`` and ``changes.md`` into the output folder, highlight the changed values in its HTML pages,
keep the history in ``.ipsreport-cache/_changes/`` and write the comparison to ``IPSREPORT_CHANGES_FILE``
for the render summary.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

__all__ = ["validate_data_main", "collect_results_main", "calls_registry"]

_REGISTRY_CALL = re.compile(r"\bregister(?:_many)?\s*\(")


def _driven_by_pipeline() -> bool:
    return bool(os.environ.get("IPSREPORT_PIPELINE"))


def validate_data_main(root: Path) -> int:
    """Exit status 2 with every problem listed when ``data/`` does not validate; 0 otherwise."""
    if _driven_by_pipeline():
        return 0
    fingerprint = data_fingerprint(root)
    if not os.environ.get("IPSREPORT_NO_CACHE") and _validated_before(root, fingerprint):
        return 0  # the same bytes under the same rules passed before: no need to read them again
    from ipsreport.data.validate import DataValidationError, validate_project_data

    try:
        validate_project_data(root)
    except DataValidationError as err:
        print("The data did not validate; no chapter was run.", file=sys.stderr)
        print(str(err), file=sys.stderr)
        return 2
    _remember_validated(root, fingerprint)
    return 0


def calls_registry(source: str) -> bool:
    """Whether a chapter's source calls the results registry (``register(`` / ``register_many(``)."""
    return bool(_REGISTRY_CALL.search(source))


def collect_results_main(root: Path) -> int:
    """Write ``results.json`` into the output folder from the chapters' result files (see the module doc)."""
    if _driven_by_pipeline():
        return 0
    listing_file = os.environ.get("IPSREPORT_CHAPTER_RESULTS")
    if not listing_file:
        # A plain `quarto render`: the chapters' kernels had nowhere to write their values.
        print("results.json is written by `ipsreport render` (with --engine quarto to render through Quarto); "
              "a plain `quarto render` leaves it out.", file=sys.stderr)
        return 0
    listing = json.loads(Path(listing_file).read_text(encoding="utf-8"))
    missing, chapter_results = [], {}
    for chapter in listing["chapters"]:
        path = chapter.get("results")
        values = json.loads(Path(path).read_text(encoding="utf-8")) if path else {}
        if values:
            chapter_results[chapter["path"]] = values
        elif chapter.get("has_code") and calls_registry((root / chapter["path"]).read_text(encoding="utf-8")):
            missing.append(chapter["path"])
    if missing:
        print("results.json would be incomplete: no registered values arrived from "
              + ", ".join(missing) + " (their code registers results; was every chapter executed?)", file=sys.stderr)
        return 2
    for extra in listing.get("extra", []):
        chapter_results.setdefault(Path(extra).stem, json.loads(Path(extra).read_text(encoding="utf-8")))
    return _results_step(root, chapter_results, Path(os.environ["QUARTO_PROJECT_OUTPUT_DIR"]))


def _previous_results(previous_dir: str | None) -> dict:
    """The previous render's ``results.json`` ({} when there is none or it is unreadable)."""
    if not previous_dir:
        return {}
    try:
        old = json.loads((Path(previous_dir) / "results.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return old if isinstance(old, dict) else {}


def _book_title(root: Path) -> str:
    import yaml

    try:
        config = yaml.safe_load((root / "_quarto.yml").read_text(encoding="utf-8")) or {}
        return str((config.get("book") or {}).get("title") or "")
    except (OSError, ValueError, yaml.YAMLError, AttributeError):
        return ""


def _results_step(root: Path, chapter_results: dict, out: Path) -> int:
    """Merge, add provenance, compare with the previous render by printed forms, write ``results.json``,
    ``changes.html`` and ``changes.md`` into ``out``, highlight the changed values in its HTML pages, keep the
    history in the cache folder and hand the comparison to the render summary."""
    from ipsreport import changes

    old = _previous_results(os.environ.get("IPSREPORT_PREVIOUS_OUTPUT_DIR"))
    try:
        report = changes.prepare_report(root, chapter_results, old, os.environ.get("IPSREPORT_ENGINE") or "quarto")
    except ValueError as e:
        print(f"results.json: {e}", file=sys.stderr)
        return 2
    changes.write_report(report, out, _book_title(root))
    report.highlight(out)
    changes.save_report(report)
    summary_file = os.environ.get("IPSREPORT_CHANGES_FILE")
    if summary_file:
        Path(summary_file).write_text(json.dumps(changes.summary_file(report)), encoding="utf-8")
    return 0


# --- Validation of unchanged data is remembered -----------------------------------------------------------------------
# Reading every data file with pandas/pandera costs about a second even when nothing changed. The fingerprint of
# what a validation depends on (every file under data/ by content, and every source file of this package, which
# holds the rules) is kept after a validation passes; the same fingerprint later means the same verdict.

_VALIDATED_FILE = Path(".ipsreport-cache") / "data-validated.sha256"


def data_fingerprint(root: Path) -> str:
    """sha256 over the names and contents of every file under ``data/`` and of this package's sources."""
    import hashlib

    h = hashlib.sha256(sys.version.encode())
    for label, folder, pattern in (("data", root / "data", "*"), ("rules", Path(__file__).parent, "*.py")):
        for path in sorted(folder.rglob(pattern)) if folder.is_dir() else []:
            if path.is_file() and "__pycache__" not in path.parts:
                h.update(f"{label}/{path.relative_to(folder).as_posix()}\0".encode())
                h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


def _validated_before(root: Path, fingerprint: str) -> bool:
    try:
        return (root / _VALIDATED_FILE).read_text(encoding="utf-8").strip() == fingerprint
    except OSError:
        return False


def _remember_validated(root: Path, fingerprint: str) -> None:
    try:
        (root / _VALIDATED_FILE).parent.mkdir(parents=True, exist_ok=True)
        tmp = (root / _VALIDATED_FILE).with_suffix(".tmp")
        tmp.write_text(fingerprint + "\n", encoding="utf-8")
        tmp.replace(root / _VALIDATED_FILE)
    except OSError:
        pass  # a read-only project validates every time
