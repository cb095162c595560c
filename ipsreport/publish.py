"""Publishing the rendered review site: to a ``gh-pages`` branch, a plain folder or a zip archive.

Every destination passes the same guards first, and nothing is written when one refuses: the site must
exist and come from the current inputs (the fingerprints the render recorded in ``results.json``
``_meta.inputs``), real participant data need ``--confirm-real-data``, no participant identifier from
``data/`` may appear in any file of the site (PDF and DOCX included), and a blinded publish takes the blinded
render and checks that no author name, affiliation or e-mail is left in it.

Each publish appends an entry to the site's ``versions.json`` and ``versions.html`` (date, message, data
fingerprints, the change report of that version), so reviewers of a revision can tell what they are reading.
The ``gh-pages`` branch is written with git's plumbing through a private index: the project's branches,
index and working tree are never touched.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import os
import re
import shutil
import subprocess
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ipsreport.fingerprints import stale_inputs

__all__ = [
    "PublishRefused",
    "PublishResult",
    "site_dir",
    "check_site",
    "publish_folder",
    "publish_zip",
    "publish_gh_pages",
    "github_pages_url",
]

VERSIONS_JSON = "versions.json"
VERSIONS_HTML = "versions.html"
VERSIONS_DIR = "versions"
_TEXT_SUFFIXES = {".html", ".htm", ".json", ".md", ".txt", ".css", ".js", ".svg", ".xml", ".csv", ".typ"}


class PublishRefused(Exception):
    """A guard refused to publish; the message is one line saying why and what to do."""


@dataclass(frozen=True)
class PublishResult:
    """What a publish did: where it went, the version entry it added, and the files that changed since the
    previous publish to the same destination (site-relative paths)."""

    destination: str
    version: dict
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    commit: str | None = None
    url: str | None = None


# -- the site and its guards -----------------------------------------------------------------------------


def _quarto_config(project_dir: Path) -> dict:
    try:
        return yaml.safe_load((project_dir / "_quarto.yml").read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as e:
        raise PublishRefused(f"cannot read {project_dir / '_quarto.yml'}: {e}") from None


def site_dir(project_dir: Path, blinded: bool = False) -> Path:
    """The rendered site: the project's ``output-dir`` (``_book``), or ``<output-dir>-blinded`` for the
    blinded variant."""
    config = _quarto_config(project_dir)
    name = str((config.get("project") or {}).get("output-dir") or "_book").rstrip("/")
    return project_dir / (f"{name}-blinded" if blinded else name)


def _rel(path: Path, project_dir: Path) -> str:
    try:
        return path.relative_to(project_dir).as_posix() + "/"
    except ValueError:
        return str(path)


def _results(site: Path) -> dict:
    try:
        return json.loads((site / "results.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _check_fresh(project_dir: Path, site: Path) -> dict:
    where = _rel(site, project_dir)
    if not (site / "index.html").is_file():
        raise PublishRefused(f"no rendered site at {where} (no index.html): run `ipsreport render` first")
    results = _results(site)
    recorded = (results.get("_meta") or {}).get("inputs")
    if not isinstance(recorded, dict) or not recorded:
        raise PublishRefused(
            f"{where} records no fingerprints of the inputs it was rendered from (results.json _meta.inputs is "
            "missing: an incomplete or older render); re-render with `ipsreport render`")
    stale = stale_inputs(recorded, project_dir)
    moved = stale["changed"] + stale["added"] + stale["removed"]
    if moved:
        shown = ", ".join(moved[:5]) + (f" and {len(moved) - 5} more" if len(moved) > 5 else "")
        raise PublishRefused(
            f"the render in {where} is stale: {len(moved)} input file(s) changed since it was written ({shown}); "
            "re-render with `ipsreport render` first")
    return results


def _real_datasets(project_dir: Path) -> list[str]:
    real = []
    for path in sorted((project_dir / "data").glob("*/dataset.yaml")):
        try:
            meta = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError, UnicodeDecodeError):
            meta = {}
        if not isinstance(meta, dict) or meta.get("synthetic") is not True:
            real.append(path.parent.relative_to(project_dir).as_posix())
    return real


def participant_ids(project_dir: Path) -> set[str]:
    """Every value of an identifier column (the data dictionary's kind ``id``) in the project's data files."""
    import csv

    from ipsreport.data.dictionary import DATASETS

    ids: set[str] = set()
    for dataset in DATASETS:
        for spec in dataset.files:
            columns = [c.name for c in spec.columns if c.kind == "id"]
            path = project_dir / "data" / dataset.name / spec.name
            if not columns or not path.is_file():
                continue
            with open(path, newline="", encoding="utf-8", errors="replace") as f:
                for row in csv.DictReader(f):
                    ids.update(v.strip() for c in columns if (v := (row.get(c) or "")).strip())
    return ids


def _docx_text(path: Path) -> str:
    with zipfile.ZipFile(path) as z:
        parts = [z.read(n).decode("utf-8", "replace") for n in z.namelist() if n.endswith(".xml")]
    # Tags removed without a separator: a word split across runs joins up again.
    return re.sub(r"<[^>]+>", "", "\n".join(parts))


def _pdf_text(path: Path) -> str:
    from pypdf import PdfReader

    reader = PdfReader(path)
    info = " ".join(str(v) for v in (reader.metadata or {}).values())
    return info + "\n" + "\n".join(page.extract_text() or "" for page in reader.pages)


def site_texts(site: Path):
    """``(site-relative path, text)`` for every file whose text can be read: pages, data, PDF, DOCX."""
    for path in sorted(p for p in site.rglob("*") if p.is_file()):
        suffix = path.suffix.lower()
        try:
            if suffix in _TEXT_SUFFIXES:
                text = path.read_text(encoding="utf-8", errors="replace")
            elif suffix == ".docx":
                text = _docx_text(path)
            elif suffix == ".pdf":
                text = _pdf_text(path)
            else:
                continue
        except Exception as e:  # an unreadable file cannot be shown to be clean
            raise PublishRefused(f"cannot read {path.relative_to(site).as_posix()} to check it: {e}") from None
        yield path.relative_to(site).as_posix(), text


def _terms_pattern(terms: set[str]) -> re.Pattern | None:
    terms = {t for t in terms if t}
    if not terms:
        return None
    alternatives = "|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True))
    return re.compile(rf"(?<![\w-])(?:{alternatives})(?![\w-])", re.IGNORECASE)


def _scan(site: Path, pattern: re.Pattern | None) -> dict[str, int]:
    if pattern is None:
        return {}
    hits = {}
    for name, text in site_texts(site):
        n = len(pattern.findall(text))
        if n:
            hits[name] = n
    return hits


def _hits_text(hits: dict[str, int]) -> str:
    files = sorted(hits)
    shown = ", ".join(files[:5]) + (f" and {len(files) - 5} more" if len(files) > 5 else "")
    return f"{sum(hits.values())} occurrence(s) in {len(files)} file(s): {shown}"


def author_terms(project_dir: Path) -> set[str]:
    """Names, affiliations and e-mails of the authors in ``_quarto.yml`` (book or top-level ``author``)."""
    config = _quarto_config(project_dir)
    authors = (config.get("book") or {}).get("author") or config.get("author") or []
    if isinstance(authors, (str, dict)):
        authors = [authors]
    terms: set[str] = set()

    def add(value) -> None:
        if isinstance(value, str):
            terms.add(value.strip())
        elif isinstance(value, dict):
            for key in ("name", "literal", "email", "affiliation", "department", "institution"):
                if key in value:
                    add(value[key])
        elif isinstance(value, list):
            for v in value:
                add(v)

    for author in authors:
        if isinstance(author, str):
            add(author)
        elif isinstance(author, dict):
            add(author.get("name"))
            add(author.get("email"))
            add(author.get("affiliation"))
            add(author.get("affiliations"))
    return {t for t in terms if len(t) >= 3}


def check_site(project_dir: Path, *, blinded: bool = False, confirm_real_data: bool = False) -> tuple[Path, dict]:
    """Run every guard; return the site folder and its results. Raises :class:`PublishRefused`."""
    project_dir = Path(project_dir).resolve()
    site = site_dir(project_dir, blinded)
    if blinded and not site.is_dir():
        raise PublishRefused(
            f"--blinded: no blinded render at {_rel(site, project_dir)}; render the blinded variant first")
    results = _check_fresh(project_dir, site)
    real = _real_datasets(project_dir)
    if real and not confirm_real_data:
        raise PublishRefused(
            f"{', '.join(real)} hold(s) real participant data (dataset.yaml does not say synthetic: true); "
            "publishing them must be a decision: pass --confirm-real-data")
    hits = _scan(site, _terms_pattern(participant_ids(project_dir)))
    if hits:
        raise PublishRefused(f"participant identifiers from data/ appear in the site, {_hits_text(hits)}")
    if blinded:
        hits = _scan(site, _terms_pattern(author_terms(project_dir)))
        if hits:
            raise PublishRefused(f"--blinded: author names, affiliations or e-mails appear in the site, {_hits_text(hits)}")
    return site, results


# -- versions ----------------------------------------------------------------------------------------------


def _data_fingerprints(results: dict) -> dict[str, str]:
    inputs = (results.get("_meta") or {}).get("inputs") or {}
    return {k: v for k, v in sorted(inputs.items()) if k.startswith("data/")}


def _new_version(previous: list[dict], results: dict, message: str | None, has_changes: bool, blinded: bool) -> dict:
    number = 1 + max((int(v.get("version", 0)) for v in previous), default=0)
    return {
        "version": number,
        "published": dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat(),
        "message": message or "",
        "blinded": blinded,
        "data": _data_fingerprints(results),
        "changes": f"{VERSIONS_DIR}/{number}/changes.html" if has_changes else None,
    }


def _versions_html(versions: list[dict]) -> str:
    rows = []
    for v in sorted(versions, key=lambda v: v["version"], reverse=True):
        data = "".join(f"<li><code>{html.escape(k)}</code> <code>{html.escape(h[:12])}</code></li>"
                       for k, h in v.get("data", {}).items())
        changes = (f'<a href="{html.escape(v["changes"])}">changes in this version</a>' if v.get("changes")
                   else "no change report")
        rows.append(
            f"<tr><td>{v['version']}</td><td>{html.escape(v['published'])}</td>"
            f"<td>{html.escape(v.get('message') or '')}</td><td><ul>{data}</ul></td><td>{changes}</td></tr>")
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        "<title>Published versions</title><style>body{font-family:system-ui,sans-serif;margin:1rem auto;"
        "max-width:60rem;padding:0 1rem}table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid "
        "#ccc;padding:.3rem;text-align:left;vertical-align:top}ul{margin:0;padding-left:1rem}"
        ".scroll{overflow-x:auto}</style></head><body><main><h1>Published versions</h1>"
        "<p>Each publish of this site adds a row: when it was published, what the authors said of it, the "
        "fingerprints (SHA-256, first 12 characters) of the data files it was rendered from, and the report of "
        "the reported values that changed in that render.</p>"
        "<p><a href=\"index.html\">Back to the report</a></p><div class=\"scroll\"><table>"
        "<caption>Versions of the site, newest first</caption><thead><tr><th scope=\"col\">Version</th>"
        "<th scope=\"col\">Published (UTC)</th><th scope=\"col\">Message</th><th scope=\"col\">Data files</th>"
        "<th scope=\"col\">Change report</th></tr></thead><tbody>"
        + "".join(rows) + "</tbody></table></div></main></body></html>\n")


def _stage(site: Path, staging: Path, previous_versions: list[dict], results: dict, message: str | None,
           blinded: bool, previous_dir: Path | None) -> dict:
    """Fill ``staging`` with the site, the version history carried over and the new version entry."""
    shutil.copytree(site, staging, dirs_exist_ok=True)
    if previous_dir is not None and (previous_dir / VERSIONS_DIR).is_dir():
        shutil.copytree(previous_dir / VERSIONS_DIR, staging / VERSIONS_DIR, dirs_exist_ok=True)
    has_changes = (site / "changes.html").is_file()
    version = _new_version(previous_versions, results, message, has_changes, blinded)
    if has_changes:
        target = staging / VERSIONS_DIR / str(version["version"]) / "changes.html"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(site / "changes.html", target)
    versions = [*previous_versions, version]
    (staging / VERSIONS_JSON).write_text(json.dumps(versions, indent=1) + "\n", encoding="utf-8")
    (staging / VERSIONS_HTML).write_text(_versions_html(versions), encoding="utf-8")
    (staging / ".nojekyll").write_text("", encoding="utf-8")
    return version


def _read_versions(folder: Path) -> list[dict]:
    try:
        versions = json.loads((folder / VERSIONS_JSON).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [v for v in versions if isinstance(v, dict) and "version" in v] if isinstance(versions, list) else []


def _tree_digest(folder: Path) -> dict[str, str]:
    import hashlib

    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in folder.rglob("*") if p.is_file()}


def _compare(old: dict[str, str], new: dict[str, str]) -> tuple[list[str], list[str], list[str]]:
    return (sorted(new.keys() - old.keys()), sorted(k for k in old.keys() & new.keys() if old[k] != new[k]),
            sorted(old.keys() - new.keys()))


# -- destinations ------------------------------------------------------------------------------------------

_PROTECTED = ("data", "chapters", "config", "ipsreport", "tests", ".git")


def _check_destination(target: Path, project_dir: Path, site: Path) -> None:
    target = target.resolve()
    project_dir = project_dir.resolve()
    if target == project_dir or target in project_dir.parents:
        raise PublishRefused(f"{target} is the project folder or above it: choose another destination")
    for name in _PROTECTED:
        protected = project_dir / name
        if target == protected or protected in target.parents:
            raise PublishRefused(f"{target} lies inside the project's {name}/ folder: choose another destination")
    site = site.resolve()
    if target == site or site in target.parents or target in site.parents:
        raise PublishRefused(f"{target} overlaps the rendered site {site}: choose another destination")


def publish_folder(project_dir: Path, target: Path, *, message: str | None = None, blinded: bool = False,
                   confirm_real_data: bool = False) -> PublishResult:
    """Write the site to ``target`` (a new or empty folder, or one an earlier publish wrote), replacing it
    whole only after the new copy is complete."""
    project_dir = Path(project_dir).resolve()
    site, results = check_site(project_dir, blinded=blinded, confirm_real_data=confirm_real_data)
    target = Path(target).absolute()
    _check_destination(target, project_dir, site)
    if target.exists() and not target.is_dir():
        raise PublishRefused(f"{target} exists and is not a folder")
    previous = target if target.is_dir() else None
    if previous is not None and any(previous.iterdir()) and not (previous / VERSIONS_JSON).is_file():
        raise PublishRefused(f"{target} is not empty and holds no earlier publish (versions.json): choose an empty folder")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.publish-", dir=target.parent))
    try:
        version = _stage(site, staging, _read_versions(previous) if previous else [], results, message, blinded,
                         previous)
        added, changed, removed = _compare(_tree_digest(previous) if previous else {}, _tree_digest(staging))
        if previous is not None:
            old = previous.with_name(f".{target.name}.old-{os.getpid()}")
            previous.rename(old)
            staging.rename(target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return PublishResult(str(target), version, added, changed, removed)


def publish_zip(project_dir: Path, target: Path, *, message: str | None = None, blinded: bool = False,
                confirm_real_data: bool = False) -> PublishResult:
    """Write the site as one zip archive (pages at its root, so ``index.html`` opens offline once
    unpacked); an archive already at ``target`` from an earlier publish keeps its version history."""
    project_dir = Path(project_dir).resolve()
    site, results = check_site(project_dir, blinded=blinded, confirm_real_data=confirm_real_data)
    target = Path(target).absolute()
    _check_destination(target, project_dir, site)
    if target.suffix.lower() != ".zip":
        raise PublishRefused(f"{target}: the archive's name must end in .zip")
    if target.is_dir():
        raise PublishRefused(f"{target} is a folder: give the archive's file name")
    with tempfile.TemporaryDirectory(prefix="ipsreport-publish-") as tmp:
        previous = None
        if target.is_file():
            previous = Path(tmp) / "previous"
            try:
                with zipfile.ZipFile(target) as z:
                    if VERSIONS_JSON not in z.namelist():
                        raise PublishRefused(f"{target} exists and is not an earlier publish (no versions.json)")
                    z.extractall(previous)
            except zipfile.BadZipFile:
                raise PublishRefused(f"{target} exists and is not a zip archive") from None
        staging = Path(tmp) / "site"
        version = _stage(site, staging, _read_versions(previous) if previous else [], results, message, blinded,
                         previous)
        added, changed, removed = _compare(_tree_digest(previous) if previous else {}, _tree_digest(staging))
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.{os.getpid()}.part")
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as z:
            for path in sorted(staging.rglob("*")):
                if path.is_file():
                    z.write(path, path.relative_to(staging).as_posix())
        partial.replace(target)
    return PublishResult(str(target), version, added, changed, removed)


def github_pages_url(remote_url: str) -> str | None:
    """Where GitHub Pages serves a repository's ``gh-pages`` branch, for a GitHub remote URL."""
    m = re.match(r"^(?:https?://|ssh://)?(?:[^@/]+@)?github\.com[:/]([^/]+)/([^/]+?)(?:\.git)?/?$", remote_url.strip())
    if not m:
        return None
    owner, repo = m.group(1), m.group(2)
    if repo.lower() == f"{owner.lower()}.github.io":
        return f"https://{owner.lower()}.github.io/"
    return f"https://{owner.lower()}.github.io/{repo}/"


def _git(repo: Path, *args: str, env: dict | None = None, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})})
    if check and proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip().splitlines()
        raise PublishRefused(f"git {args[0]} failed: {detail[-1] if detail else 'exit ' + str(proc.returncode)}")
    return proc


def _identity_env(repo: Path) -> dict[str, str]:
    """A committer identity when git has none configured (CI), so a publish never stops on it."""
    env = {}
    if _git(repo, "config", "user.name", check=False).returncode != 0 and "GIT_AUTHOR_NAME" not in os.environ:
        env.update(GIT_AUTHOR_NAME="ipsreport publish", GIT_COMMITTER_NAME="ipsreport publish")
    if _git(repo, "config", "user.email", check=False).returncode != 0 and "GIT_AUTHOR_EMAIL" not in os.environ:
        env.update(GIT_AUTHOR_EMAIL="ipsreport@localhost", GIT_COMMITTER_EMAIL="ipsreport@localhost")
    return env


def publish_gh_pages(project_dir: Path, *, remote: str = "origin", message: str | None = None,
                     blinded: bool = False, confirm_real_data: bool = False, branch: str = "gh-pages") -> PublishResult:
    """Commit the site to ``branch`` (an orphan branch the first time; one commit per publish, with a
    ``.nojekyll`` file) and push it to ``remote``."""
    project_dir = Path(project_dir).resolve()
    site, results = check_site(project_dir, blinded=blinded, confirm_real_data=confirm_real_data)
    top = subprocess.run(["git", "-C", str(project_dir), "rev-parse", "--show-toplevel"], capture_output=True, text=True)
    if top.returncode != 0:
        raise PublishRefused(f"{project_dir} is not in a git repository: use `ipsreport publish folder` or `zip`")
    repo = Path(top.stdout.strip())
    url = _git(repo, "remote", "get-url", remote, check=False)
    if url.returncode != 0:
        raise PublishRefused(f"the repository has no remote named {remote!r}: add one or pass --remote NAME")
    remote_url = url.stdout.strip()
    tracking = f"refs/remotes/{remote}/{branch}"
    has_remote_branch = _git(repo, "ls-remote", "--exit-code", "--heads", remote, branch, check=False)
    if has_remote_branch.returncode == 0:
        _git(repo, "fetch", "--quiet", remote, f"+refs/heads/{branch}:{tracking}")
        parent = _git(repo, "rev-parse", tracking).stdout.strip()
    elif has_remote_branch.returncode == 2:
        local = _git(repo, "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}", check=False)
        parent = local.stdout.strip() if local.returncode == 0 else None
    else:
        detail = (has_remote_branch.stderr or "").strip().splitlines()
        raise PublishRefused(f"cannot reach remote {remote!r}: {detail[-1] if detail else 'git ls-remote failed'}")
    with tempfile.TemporaryDirectory(prefix="ipsreport-publish-") as tmp:
        tmp_path = Path(tmp)
        previous = None
        if parent:
            previous = tmp_path / "previous"
            previous.mkdir()
            archive = subprocess.run(["git", "-C", str(repo), "archive", "--format=tar", parent],
                                     capture_output=True, check=False)
            if archive.returncode == 0:
                import io
                import tarfile

                with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
                    tar.extractall(previous, filter="data")
        staging = tmp_path / "site"
        version = _stage(site, staging, _read_versions(previous) if previous else [], results, message, blinded,
                         previous)
        env = {"GIT_INDEX_FILE": str(tmp_path / "index"), **_identity_env(repo)}
        _git(repo, f"--work-tree={staging}", "add", "--all", "--force", ".", env=env)
        tree = _git(repo, "write-tree", env=env).stdout.strip()
        subject = f"Publish version {version['version']}" + (f": {message}" if message else "")
        args = ["commit-tree", tree, "-m", subject] + (["-p", parent] if parent else [])
        commit = _git(repo, *args, env=env).stdout.strip()
    update = ["update-ref", "-m", "ipsreport publish", f"refs/heads/{branch}", commit]
    local = _git(repo, "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}", check=False)
    if local.returncode == 0 and parent and local.stdout.strip() != parent:
        # The local branch diverged from the remote's: the remote is the published truth.
        _git(repo, *update)
    else:
        _git(repo, *update, *([local.stdout.strip()] if local.returncode == 0 else ["0" * 40]))
    _git(repo, "push", "--quiet", remote, f"refs/heads/{branch}:refs/heads/{branch}")
    added, changed, removed = [], [], []
    if parent:
        for line in _git(repo, "diff", "--name-status", "--no-renames", parent, commit).stdout.splitlines():
            status, _, name = line.partition("\t")
            {"A": added, "D": removed}.get(status[:1], changed).append(name)
    else:
        added = sorted(_git(repo, "ls-tree", "-r", "--name-only", commit).stdout.split())
    return PublishResult(f"{remote}/{branch}", version, added, changed, removed, commit, github_pages_url(remote_url))
