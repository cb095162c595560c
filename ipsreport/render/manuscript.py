"""The journal manuscript: ``ipsreport render --profile manuscript``, a Quarto ``manuscript`` project.

The profile (``_quarto-manuscript.yml``, merged over ``_quarto.yml`` by :mod:`.profile`) names the article
(``manuscript.article``). The article includes the book's chapters with ``{{< include >}}``; here each
included chapter is not run again but taken from its executed output (the book's cache), so a manuscript render
after a book render executes only what changed. Headings inside a ``shift-heading-level-by`` div move down, as
the Lua filter the profile gives Quarto does. The article is numbered as one document (Table 1…n, Figure 1…n,
unnumbered sections); the book's appendices become the supplement (Table S1…), and references to them say so.

Outputs (in the output folder, swapped in atomically by the pipeline): ``manuscript.pdf``/``.docx`` (journal
layout), ``manuscript-blinded.pdf``/``.docx``, ``supplement.pdf``/``.docx``, ``checklist.pdf``/``.docx``/
``.json``, ``figures/figure-N.pdf``/``.png``, ``manuscript.json`` (word counts, what ran) and
``submission.zip``. The manuscript's settings (layout, word limits, placement of tables, self-citations, the
checklist file) are read from ``config/manuscript.yaml``; ``strict`` makes a missing required checklist item
or a placeholder left in the metadata an error.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path
from typing import Any

import yaml

from . import RenderError, pandoc
from .checklist import (checklist_json, checklist_markdown, fill_checklist, load_checklists, missing_required)
from .crossref import XREF_PREFIXES, number_book
from .frontmatter import authors_from_metadata, placeholders
from .include import INCLUDE, include_target
from .lines import Anchor, line_marks, locate
from .pipeline import RenderContext, write_chapter_results
from .profile import read_project_config
from .project import Book, Chapter, read_book, read_notice
from .qmd import Document, read_qmd
from .tables import native_tables
from .wordcount import docx_paragraphs, journal_word_counts

__all__ = ["ManuscriptBackend", "SETTINGS_FILE", "manuscript_settings"]

SETTINGS_FILE = "config/manuscript.yaml"
TEMPLATE = Path(__file__).parent / "templates" / "manuscript.typ"
_DOCX_PAGE_BREAK = '<w:p><w:r><w:br w:type="page"/></w:r></w:p>'


def manuscript_settings(root: Path) -> dict[str, Any]:
    path = Path(root) / SETTINGS_FILE
    if not path.is_file():
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as e:
        raise RenderError(f"{SETTINGS_FILE}: invalid YAML: {e}") from None
    if not isinstance(data, dict):
        raise RenderError(f"{SETTINGS_FILE}: must be a mapping")
    paper = str(data.get("paper", "a4")).lower()
    if paper not in {"a4", "letter", "us-letter"}:
        raise RenderError(f"{SETTINGS_FILE}: paper must be a4 or letter, not {paper!r}")
    if str(data.get("tables", "inline")) not in {"inline", "end"}:
        raise RenderError(f"{SETTINGS_FILE}: tables must be inline or end")
    return data


# --- AST helpers --------------------------------------------------------------------------------------------

def _raw(fmt: str, text: str) -> dict[str, Any]:
    return {"t": "RawBlock", "c": [fmt, text]}


def _para(*inlines: Any) -> dict[str, Any]:
    return {"t": "Para", "c": [i for part in inlines for i in (part if isinstance(part, list) else [part])]}


def _strong(text: str) -> dict[str, Any]:
    return {"t": "Strong", "c": pandoc.text_inlines(text)}


def _shift_headings(blocks: list[Any]) -> list[Any]:
    """Unwrap every ``shift-heading-level-by`` div, shifting the headings inside (nested shifts add up)."""
    def visit(node: dict[str, Any]) -> Any:
        if node["t"] != "Div":
            return None
        kv = pandoc.kv_of(node)
        if "shift-heading-level-by" not in kv:
            return None
        try:
            by = int(kv["shift-heading-level-by"])
        except ValueError:
            raise RenderError(f"shift-heading-level-by={kv['shift-heading-level-by']!r} is not an integer") from None

        def shift(h: dict[str, Any]) -> Any:
            if h["t"] == "Header":
                return {"t": "Header", "c": [max(1, h["c"][0] + by), *h["c"][1:]]}
            return None

        return pandoc.walk(node["c"][1], shift)

    return pandoc.walk(blocks, visit)


def _ids_of(blocks: list[Any]) -> set[str]:
    ids: set[str] = set()

    def note(node: dict[str, Any]) -> None:
        if node["t"] in {"Header", "Div", "Span"}:
            ident = node["c"][1][0] if node["t"] == "Header" else node["c"][0][0]
            if ident:
                ids.add(ident)

    pandoc.walk(blocks, note)
    return ids


def _cite_outside(ast: dict[str, Any], targets: dict[str, str]) -> dict[str, Any]:
    """Cross-references to the supplement become plain text ("Supplementary Table S1")."""
    def visit(node: dict[str, Any]) -> Any:
        if node["t"] != "Cite":
            return None
        cites = node["c"][0]
        if not any(c["citationId"] in targets for c in cites):
            return None
        out: list[Any] = []
        for c in cites:
            if out:
                out += [{"t": "Str", "c": ","}, {"t": "Space"}]
            text = targets.get(c["citationId"])
            out += pandoc.text_inlines(text) if text else [{"t": "Cite", "c": [[c], []]}]
        return out

    return pandoc.walk(ast, visit)


def _s_numbers(ast: dict[str, Any]) -> dict[str, Any]:
    """Captions "Table 1:" → "Table S1:" in the supplement."""
    def visit(node: dict[str, Any]) -> Any:
        if node["t"] == "Div" and pandoc.has_class(node, "ipsr-caption-text"):
            para = node["c"][1][0]
            inl = para["c"]
            if len(inl) >= 3 and inl[0].get("c") in {"Table", "Figure"} and inl[2]["t"] == "Str":
                inl[2] = {"t": "Str", "c": "S" + inl[2]["c"]}
        return None

    return pandoc.walk(ast, visit)


def _strip_identifying(blocks: list[Any], self_citations: set[str]) -> list[Any]:
    def visit(node: dict[str, Any]) -> Any:
        if node["t"] == "Div" and pandoc.has_class(node, "identifying"):
            return []
        if node["t"] == "Cite" and any(c["citationId"] in self_citations for c in node["c"][0]):
            kept = [c for c in node["c"][0] if c["citationId"] not in self_citations]
            removed = pandoc.text_inlines("[reference removed for blind review]")
            return ([{"t": "Cite", "c": [kept, node["c"][1]]}, {"t": "Space"}] if kept else []) + removed
        return None

    return pandoc.walk(blocks, visit)


def _anchor(label: str, at: str) -> dict[str, Any]:
    return _raw("typst", f'#context [#metadata((label: "{label}", at: "{at}", page: here().page(), '
                         f'y: here().position().y.pt()))<ipsr-anchor>]')


def _with_anchors(blocks: list[Any], labels: set[str]) -> list[Any]:
    """Typst metadata at the start and end of every labelled div and section the checklist points at."""
    def in_divs(node: dict[str, Any]) -> Any:
        if node["t"] == "Div" and node["c"][0][0] in labels:
            label = node["c"][0][0]
            return {"t": "Div", "c": [node["c"][0], [_anchor(label, "start"), *node["c"][1], _anchor(label, "end")]]}
        return None

    blocks = pandoc.walk(blocks, in_divs)

    def sections(seq: list[Any]) -> list[Any]:
        out: list[Any] = []
        open_: list[tuple[int, str]] = []
        for b in seq:
            if b.get("t") == "Header":
                level = b["c"][0]
                while open_ and open_[-1][0] >= level:
                    out.append(_anchor(open_.pop()[1], "end"))
                if b["c"][1][0] in labels:
                    out.append(_anchor(b["c"][1][0], "start"))
                    open_.append((level, b["c"][1][0]))
            elif b.get("t") == "Div":
                b = {"t": "Div", "c": [b["c"][0], sections(b["c"][1])]}
            out.append(b)
        while open_:
            out.append(_anchor(open_.pop()[1], "end"))
        return out

    return sections(blocks)


def _tables_to_end(blocks: list[Any], layout: str) -> list[Any]:
    """``tables: end``, as many journals ask: figures leave the text (they are submitted as files) and their
    legends follow the references under "Figure legends"; then each table on its own page."""
    if layout != "end":
        return blocks
    tables: list[Any] = []
    legends: list[Any] = []

    def take(node: dict[str, Any]) -> Any:
        if node["t"] == "Div" and pandoc.has_class(node, "ipsr-tbl"):
            tables.append(node)
            return []
        if node["t"] == "Div" and pandoc.has_class(node, "ipsr-fig"):
            # The legend keeps the figure's id, so that links to the figure land on its legend.
            caption = [b for b in node["c"][1] if b.get("t") == "Div" and pandoc.has_class(b, "ipsr-caption-text")]
            legends.append({"t": "Div", "c": [pandoc.attr(node["c"][0][0]), caption]})
            return []
        return None

    out = list(pandoc.walk(blocks, take))
    if legends:
        out += [{"t": "Header", "c": [1, pandoc.attr("figure-legends", ["unnumbered"]),
                                      pandoc.text_inlines("Figure legends")]}, *legends]
    for t in tables:
        out += [_raw("typst", "#pagebreak()"), _raw("openxml", _DOCX_PAGE_BREAK), t]
    return out


# --- the backend --------------------------------------------------------------------------------------------

class ManuscriptBackend:
    """Builds the manuscript from the book's executed chapters (see the module docstring)."""

    name = "builtin"

    def __init__(self, profile: str = "manuscript", strict: bool = False) -> None:
        self.profile = profile
        self.strict = strict
        self.book: Book | None = None
        self.docs: dict[str, Document] = {}
        self.config: dict[str, Any] = {}
        self.article: str = ""
        self.included: list[str] = []
        self._typst_root: Path | None = None

    def chapters(self, root: Path, config: dict[str, Any]) -> tuple[str, list[tuple[str, bool]]]:
        merged = read_project_config(root, self.profile)
        self.config = merged.config
        project = self.config.get("project") or {}
        if project.get("type") != "manuscript":
            raise RenderError(f"profile {self.profile!r}: project.type must be manuscript (see docs/engine.md)")
        self.article = str((self.config.get("manuscript") or {}).get("article") or "index.qmd")
        if not (root / self.article).is_file():
            raise RenderError(f"_quarto-{self.profile}.yml: manuscript.article {self.article} does not exist")
        self.book = read_book(root)
        paths = {ch.path for ch in self.book.chapters}
        self.included = []
        for n, line in enumerate((root / self.article).read_text(encoding="utf-8").split("\n"), 1):
            m = INCLUDE.match(line)
            if m:
                target = include_target(root, self.article, m.group(1))
                if not (root / target).is_file():
                    raise RenderError(f"{self.article}:{n}: included file {target} does not exist")
                if target in paths:
                    self.included.append(target)
        self.docs = {ch.slug: read_qmd(root, ch.path) for ch in self.book.chapters}
        article_doc = read_qmd(root, self.article, keep_include=lambda p: p in paths)
        self.docs["manuscript"] = article_doc
        listed = [(ch.path, self.docs[ch.slug].needs_kernel) for ch in self.book.chapters]
        return str(project.get("output-dir") or "_manuscript"), listed + [(self.article, article_doc.needs_kernel)]

    # The render ------------------------------------------------------------------------------------------
    def render(self, ctx: RenderContext) -> dict[str, Path | None]:
        from . import execute as _execute
        from .engine import _chapters, _Progress

        book, summary = self.book, ctx.summary
        assert book is not None
        self._typst_root = None
        settings = manuscript_settings(book.root)
        kernels_before = _execute.KERNEL_STARTS
        article_ch = Chapter(self.article, "front", "manuscript")
        article_book = dataclasses.replace(book, chapters=[article_ch])
        with _Progress(ctx.console) as progress:
            outputs = _chapters(book, self.docs, ctx.work, ctx.use_cache, summary, progress)
            outputs.update(_chapters(article_book, {"manuscript": self.docs["manuscript"]}, ctx.work,
                                     ctx.use_cache, summary, progress))
        summary.kernels_started = _execute.KERNEL_STARTS - kernels_before
        figures = ctx.work / "figures"
        figures.mkdir(exist_ok=True)
        for o in outputs.values():
            for name, data in o.figures.items():
                (figures / name).write_bytes(data)

        by_path = {ch.path: ch for ch in book.chapters}
        appendices = [ch for ch in book.chapters if ch.kind == "appendix"]
        raw_supplement = self._supplement_md_ast(appendices, outputs)
        # S-numbers first (references into the article provisional), then the article, then the supplement
        # again with the article's numbers.
        _, supplement_targets = self._supplement(book, raw_supplement, self._provisional_targets(raw_supplement))
        ast, article_targets = self._article_ast(book, outputs, by_path, supplement_targets, settings)
        supplement_ast, _ = self._supplement(book, raw_supplement, article_targets)
        svgs = self._figure_svgs(ast, figures)  # before `tables: end` takes the figures out of the text
        ast["blocks"] = _tables_to_end(ast["blocks"], str(settings.get("tables", "inline")))

        meta_base = self._meta(book, settings)
        labels = self._checklist_labels(book.root, settings)
        self._check_labels(ast, labels, summary)
        out = ctx.out
        # Word counts come from the rendered text: a first DOCX without them, then the final files.
        draft = ctx.work / "draft.docx"
        self._write_docx(*self._finish(ast, meta_base, settings, None, blinded=False), settings, ctx.work, draft)
        counts = journal_word_counts(docx_paragraphs(draft))
        limits = settings.get("word-limits") or {}
        warnings = []
        for key, value in (("abstract", counts.abstract), ("main-text", counts.main_text)):
            limit = limits.get(key)
            if limit is not None and value > int(limit):
                warnings.append(f"{key.replace('-', ' ')}: {value} words, over the limit of {limit}")
        for w in warnings:
            summary.notes.append(f"warning: {w}")

        full = self._finish(ast, meta_base, settings, counts, blinded=False)
        blind = self._finish(ast, meta_base, settings, counts, blinded=True)
        self._write_docx(*full, settings, ctx.work, out / "manuscript.docx")
        self._write_docx(*blind, settings, ctx.work, out / "manuscript-blinded.docx")
        typ = self._write_pdf(full[0], full[1], settings, ctx.work, out / "manuscript.pdf", labels)
        self._write_pdf(blind[0], blind[1], settings, ctx.work, out / "manuscript-blinded.pdf", set())
        sup_meta = {"title": pandoc.meta_inlines("Supplementary material: " + book.title)}
        self._write_pdf(supplement_ast, sup_meta, settings, ctx.work, out / "supplement.pdf", set(), numbered=False)
        self._write_docx(supplement_ast, sup_meta, settings, ctx.work, out / "supplement.docx", layout=False)

        rows, missing = self._checklist(book.root, settings, typ, out, ctx.work)
        from .figexport import export_figures

        figure_files = export_figures(svgs, out / "figures")
        self._write_report(out, counts, limits, warnings, summary, outputs, rows)
        self._bundle(out, figure_files)

        problems = []
        if self.strict:
            for path in placeholders(self._author_metadata()):
                problems.append(f"_quarto.yml: author{path[path.index('['):] if '[' in path else ''} is a "
                                "placeholder to be supplied")
            for path in placeholders(settings):
                problems.append(f"{SETTINGS_FILE}: {path} is a placeholder to be supplied")
            for r in missing:
                problems.append(f"checklist {r.checklist} item {r.id} ({r.description}) is not reported")
            if problems:
                raise RenderError("--strict: the manuscript is not ready for submission:\n  " + "\n  ".join(problems),
                                  problems)

        return write_chapter_results(ctx.results_dir, [(ch.path, ch.slug, outputs[ch.slug].results)
                                                       for ch in [*book.chapters, article_ch]])

    def _author_metadata(self) -> Any:
        """The project-wide ``author`` (Quarto's author schema), else ``book.author``."""
        return self.config.get("author") or (self.config.get("book") or {}).get("author")

    # Pieces ----------------------------------------------------------------------------------------------
    def _wrap(self, slug: str, path: str, markdown: str) -> str:
        return (f'\n:::::::::::: {{#ipsr-chapter-{slug} .ipsr-chapter slug="{slug}" kind="front" path="{path}"}}\n\n'
                f"{markdown.rstrip()}\n\n::::::::::::\n")

    def _supplement_md_ast(self, appendices: list[Chapter], outputs) -> dict[str, Any]:
        md = "".join(self._wrap(ch.slug, ch.path, outputs[ch.slug].markdown) for ch in appendices)
        return pandoc.markdown_to_ast(md)

    def _supplement(self, book: Book, raw: dict[str, Any], article_targets: dict[str, str]):
        """The supplement numbered on its own (S1…); references into the article name it."""
        if not raw["blocks"]:
            return {**raw, "blocks": []}, {}
        inside = _ids_of(raw["blocks"])
        outside = {ident: f"{text} of the manuscript" for ident, text in article_targets.items() if ident not in inside}
        ast, numbering = number_book(_cite_outside(copy.deepcopy(raw), outside), book.root, number_sections=False)
        targets = {}
        for ident, t in numbering.targets.items():
            kind, _, n = t.text.partition(" ")
            targets[ident] = (f"Supplementary {kind} S{n}" if kind in {"Table", "Figure"} and n
                              else "the Supplementary material")
        ast = _s_numbers(ast)
        ast = self._cite(book, ast)
        blocks = [b for div in ast["blocks"] for b in div["c"][1]]
        return {**ast, "blocks": blocks}, targets

    def _article_ast(self, book: Book, outputs, by_path: dict[str, Chapter], supplement_targets, settings):
        md = outputs["manuscript"].markdown
        title = self.docs["manuscript"].front_matter.get("title")
        if title and md.startswith(f"# {title}\n"):
            md = md[len(f"# {title}\n"):]  # the title is the title page's, not a heading
        lines = []
        for line in md.split("\n"):
            m = INCLUDE.match(line)
            if m:
                target = include_target(book.root, self.article, m.group(1))
                if target in by_path:
                    lines.append(outputs[by_path[target].slug].markdown.rstrip() + "\n")
                    continue
            lines.append(line)
        ast = pandoc.markdown_to_ast(self._wrap("manuscript", self.article, "\n".join(lines)))
        ast["blocks"] = _shift_headings(ast["blocks"])
        ast = _cite_outside(ast, supplement_targets)
        ast, numbering = number_book(ast, book.root, number_sections=False)
        ast["blocks"] = [b for div in ast["blocks"] for b in div["c"][1]]
        return ast, {ident: t.text for ident, t in numbering.targets.items()}

    @staticmethod
    def _provisional_targets(raw: dict[str, Any]) -> dict[str, str]:
        """Every cross-reference of the supplement that points outside it, as "the manuscript"."""
        inside = _ids_of(raw["blocks"])
        found: dict[str, str] = {}

        def visit(node: dict[str, Any]) -> None:
            if node["t"] == "Cite":
                for c in node["c"][0]:
                    ident = c["citationId"]
                    if ident.startswith(XREF_PREFIXES) and ident not in inside:
                        found[ident] = "the manuscript"

        pandoc.walk(raw["blocks"], visit)
        return found

    def _cite(self, book: Book, ast: dict[str, Any]) -> dict[str, Any]:
        if not book.bibliography:
            return ast
        args = ["--citeproc", "-M", "link-citations=true"]
        for bib in book.bibliography:
            args += ["--bibliography", str(book.root / bib)]
        if book.csl:
            args += ["--csl", str(book.root / book.csl)]
        return json.loads(pandoc.ast_to(ast, "json", args))

    def _meta(self, book: Book, settings: dict[str, Any]) -> dict[str, Any]:
        front = self.docs["manuscript"].front_matter
        title = str(front.get("title") or book.title)
        meta = {"title": pandoc.meta_inlines(title), "lang": pandoc.meta_inlines(book.lang),
                "papersize": pandoc.meta_inlines("us-letter" if str(settings.get("paper", "a4")).lower()
                                                 in {"letter", "us-letter"} else "a4"),
                "fontsize": pandoc.meta_inlines(str(settings.get("font-size", "12pt")))}
        if settings.get("running-title"):
            meta["running-title"] = pandoc.meta_inlines(str(settings["running-title"]))
        if str(settings.get("line-spacing", "double")) == "double":
            meta["leading"] = pandoc.meta_inlines("1.5em")
        if str(settings.get("line-numbers", "continuous")) == "continuous":
            meta["line-numbers"] = {"t": "MetaBool", "c": True}
        return meta

    def _title_page(self, settings: dict[str, Any], counts, blinded: bool) -> list[Any]:
        authors = authors_from_metadata(self._author_metadata(), self.config.get("affiliations"))
        blocks: list[Any] = []
        if settings.get("running-title"):
            blocks.append(_para(_strong("Running title:"), {"t": "Space"},
                                pandoc.text_inlines(str(settings["running-title"]))))
        if not blinded and authors:
            affs: list[str] = []
            for a in authors:
                for aff in a.affiliations:
                    if aff not in affs:
                        affs.append(aff)
            names = []
            for i, a in enumerate(authors):
                if i:
                    names += [{"t": "Str", "c": ","}, {"t": "Space"}]
                names += pandoc.text_inlines(a.name)
                marks = ",".join(str(affs.index(x) + 1) for x in a.affiliations)
                if marks:
                    names.append({"t": "Superscript", "c": [{"t": "Str", "c": marks}]})
            blocks.append(_para(_strong("Authors:"), {"t": "Space"}, names))
            for i, aff in enumerate(affs, 1):
                blocks.append(_para({"t": "Superscript", "c": [{"t": "Str", "c": str(i)}]},
                                    pandoc.text_inlines(aff)))
            corr = next((a for a in authors if a.corresponding), None)
            if corr is not None:
                email = corr.email or "e-mail to be supplied"
                blocks.append(_para(_strong("Corresponding author:"), {"t": "Space"},
                                    pandoc.text_inlines(f"{corr.name}, {email}")))
        elif blinded:
            blocks.append(_para({"t": "Emph", "c": pandoc.text_inlines(
                "Blinded version for peer review: authors, affiliations, acknowledgements and funding removed.")}))
        keywords = self.config.get("keywords") or []
        if keywords:
            blocks.append(_para(_strong("Keywords:"), {"t": "Space"},
                                pandoc.text_inlines("; ".join(str(k) for k in keywords))))
        if counts is not None:
            limits = settings.get("word-limits") or {}
            text = (f"abstract {counts.abstract}" + (f" (limit {limits['abstract']})" if "abstract" in limits else "")
                    + f"; main text {counts.main_text}"
                    + (f" (limit {limits['main-text']})" if "main-text" in limits else "")
                    + " (headings, tables, figure legends and references not counted)")
            blocks.append(_para(_strong("Word counts:"), {"t": "Space"}, pandoc.text_inlines(text)))
        notice = read_notice(self.book.root) if self.book else None
        if notice:
            blocks.append(_para(_strong("Notice."), {"t": "Space"}, pandoc.text_inlines(notice)))
        blocks += [_raw("typst", "#pagebreak()"), _raw("openxml", _DOCX_PAGE_BREAK)]
        return blocks

    def _finish(self, ast, meta, settings, counts, blinded: bool):
        blocks = copy.deepcopy(ast["blocks"])
        if blinded:
            blocks = _strip_identifying(blocks, {str(k) for k in settings.get("self-citations") or []})
        doc = {**ast, "meta": dict(meta), "blocks": self._title_page(settings, counts, blinded) + blocks}
        doc = self._cite(self.book, doc)
        return doc, doc["meta"]

    def _write_docx(self, ast, meta, settings, work: Path, target: Path, layout: bool = True) -> Path:
        from .docxlayout import apply_journal_layout

        from .docx import docx_from_ast

        doc = {**ast, "meta": {k: v for k, v in meta.items() if k in {"title", "lang"}}}
        docx_from_ast(doc, target, work, papersize=str(settings.get("paper", "a4")))
        apply_journal_layout(target, paper=str(settings.get("paper", "a4")),
                             font_pt=float(str(settings.get("font-size", "12pt")).rstrip("pt")),
                             double=layout and str(settings.get("line-spacing", "double")) == "double",
                             line_numbers=layout and str(settings.get("line-numbers", "continuous")) == "continuous")
        return target

    def _write_pdf(self, ast, meta, settings, work: Path, target: Path, labels: set[str],
                   numbered: bool = True) -> Path:
        try:
            import typst
        except ImportError:
            raise RenderError("Typst was not found (the Python package typst); reinstall the environment") from None
        meta = dict(meta)
        if not numbered:
            meta.pop("line-numbers", None)
            meta.setdefault("papersize", pandoc.meta_inlines("a4"))
        from .pdf import break_long_words, typst_folder

        blocks = _with_anchors(ast["blocks"], labels) if labels else ast["blocks"]
        doc = break_long_words(native_tables({**ast, "meta": meta, "blocks": blocks}))
        # As for the book: Typst's root holds only the sources and a copy of the figures, never the kernels'
        # files in the work folder.
        if self._typst_root is None:
            self._typst_root = typst_folder(work)  # once per render: the figures are all written by then
        root = self._typst_root
        source = pandoc.ast_to(doc, "typst-citations", ["--standalone", f"--template={TEMPLATE}", "--wrap=preserve"],
                               cwd=root)
        typ = root / (target.stem + ".typ")
        typ.write_text(source, encoding="utf-8")
        try:
            typst.compile(str(typ), output=str(target), root=str(root), timestamp=0)
        except Exception as e:
            raise RenderError(f"typst could not compile {target.name} ({typ}):\n  {str(e).strip()}") from None
        return typ

    def _checklist_labels(self, root: Path, settings) -> set[str]:
        path = settings.get("checklist")
        if not path:
            return set()
        _, items = load_checklists(root / path)
        return {p for i in items for p in i.places if not p.startswith("@")}

    def _check_labels(self, ast, labels: set[str], summary) -> None:
        unknown = sorted(labels - _ids_of(ast["blocks"]))
        if unknown:
            summary.notes.append("checklist places not in the manuscript (reported as not reported): "
                                 + ", ".join(unknown))

    def _checklist(self, root: Path, settings, typ: Path, out: Path, work: Path):
        path = settings.get("checklist")
        if not path:
            return [], []
        import typst

        heads, items = load_checklists(root / path)
        raw = json.loads(typst.query(str(typ), "<ipsr-anchor>", field="value", root=str(typ.parent)))
        anchors = [Anchor(str(a["label"]), str(a["at"]), int(a["page"]), float(a["y"])) for a in raw]
        locations = locate(anchors, line_marks(out / "manuscript.pdf"))
        rows = fill_checklist(items, locations)
        (out / "checklist.json").write_text(checklist_json(rows), encoding="utf-8")
        md = checklist_markdown(heads, rows, "")
        cast = pandoc.markdown_to_ast(md)
        meta = {"title": pandoc.meta_inlines("Reporting checklist: " + (self.book.title if self.book else ""))}
        self._write_pdf(cast, meta, settings, work, out / "checklist.pdf", set(), numbered=False)
        self._write_docx(cast, meta, settings, work, out / "checklist.docx", layout=False)
        return rows, missing_required(rows)

    def _figure_svgs(self, ast, figures: Path) -> list[bytes]:
        """The SVG of each figure of the article, in article order."""
        svgs: list[bytes] = []

        def visit(node: dict[str, Any]) -> None:
            if node["t"] == "Div" and pandoc.has_class(node, "ipsr-fig") and node["c"][0][0].startswith("fig-"):
                def img(n: dict[str, Any]) -> None:
                    if n["t"] == "Image":
                        svg = figures / (Path(n["c"][2][0]).stem + ".svg")
                        if svg.is_file():
                            svgs.append(svg.read_bytes())
                pandoc.walk(node["c"][1], img)

        pandoc.walk(ast["blocks"], visit)
        return svgs

    def _write_report(self, out: Path, counts, limits, warnings, summary, outputs, rows) -> None:
        report = {
            "word_counts": {"abstract": counts.abstract, "main_text": counts.main_text},
            "word_limits": {k: int(v) for k, v in limits.items()},
            "warnings": warnings,
            "chapters": {"executed": list(summary.executed), "from_cache": list(summary.cached),
                         "without_code": list(summary.static)},
            "checklist": {"reported": sum(r.status == "reported" for r in rows),
                          "not_reported": [f"{r.checklist} {r.id}" for r in rows if r.status != "reported"]},
        }
        (out / "manuscript.json").write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
        ran = len(summary.executed)
        summary.notes.append(f"manuscript: {ran} chapter(s) executed, {len(summary.cached)} reused from the cache; "
                             f"abstract {counts.abstract} words, main text {counts.main_text} words")

    def _bundle(self, out: Path, figure_files: list[Path]) -> None:
        from .bundle import BundleItem, write_bundle

        roles = [("manuscript.pdf", "manuscript"), ("manuscript.docx", "manuscript"),
                 ("manuscript-blinded.pdf", "manuscript-blinded"), ("manuscript-blinded.docx", "manuscript-blinded"),
                 ("supplement.pdf", "supplementary-material"), ("supplement.docx", "supplementary-material"),
                 ("checklist.pdf", "reporting-checklist"), ("checklist.docx", "reporting-checklist"),
                 ("checklist.json", "reporting-checklist"), ("manuscript.json", "article-metadata")]
        items = [BundleItem(out / name, name, role) for name, role in roles if (out / name).is_file()]
        items += [BundleItem(p, f"figures/{p.name}", "figure") for p in figure_files]
        write_bundle(out / "submission.zip", items)
