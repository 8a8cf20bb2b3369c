"""The executed notebook as the course keeps it (``autograded/``): what nbgrader's run
printed, except that each graded test cell shows the trusted verdict, so that the
Formgrader shows an instructor what the student is told, and that nothing in it can run code
in the instructor's browser: Formgrader renders these notebooks on the course's own server,
where a script could read the course's files and set grades.

Student code ran beside the executed notebook, so every byte of it is the student's.  The
notebook kept is therefore built anew from what is known to be inert:

- outputs only in the ``SAFE`` kinds, which the exporter escapes, else a note;
- Markdown (cells, and ``text/markdown`` outputs) rendered here by nbconvert's own renderer,
  with the student's raw HTML shown as text, then rebuilt from an allowlist of tags and
  attributes (``CLEAN``): links only to the web, pictures only as data of raster images, no
  handler, style or class that the page would act on.  The result is one block of HTML,
  which the exporter's Markdown renderer passes on unchanged (checked for every block); its
  mathematics is text, which MathJax still reads;
- a raw cell shown as preformatted text;
- metadata only where the exporter's templates read it and only of a harmless form: the
  nbgrader fields of a cell whose grade id is a simple name, its tags, the kernel's names.
"""

from __future__ import annotations

import functools
import re
from html import escape
from html.parser import HTMLParser

import nbformat
from nbconvert.filters.markdown_mistune import (
    IPythonRenderer,
    MarkdownWithMath,
    markdown2html_mistune,
)
from nbformat.corpus.words import generate_corpus_id as random_cell_id
from pygments.token import STANDARD_TYPES

from grader.messages import verdict_text
from grader.pipeline.results import SubmissionResult

TEXTS = ("text/plain", "text/latex", "text/markdown")
SAFE = (*TEXTS, "image/png", "image/jpeg", "image/gif")
"""The kinds of output a notebook may show the instructor: text, which the exporter escapes
(Markdown, cleaned here), and pictures in which nothing runs, kept when their data is
base64."""

BASE64 = re.compile(r"[A-Za-z0-9+/=\s]*")

REMOVED = "[an output that a browser would run was removed]"

IMAGES = ("image/png", "image/jpeg", "image/gif", "image/webp")
"""The attachments a Markdown cell may show: raster pictures, in which nothing runs."""

UNSHOWN = "<div><p>[Markdown that could not be shown safely: see the submitted notebook]</p></div>"

TAGS = frozenset(
    "a b blockquote br code dd del div dl dt em h1 h2 h3 h4 h5 h6 hr i img input li ol p pre"
    " s span strong sub sup table tbody td th thead tr ul".split()
)
"""The elements of cleaned Markdown: what the renderer writes, none that runs or loads."""

VOID = frozenset({"br", "hr", "img", "input"})

CLASSES = frozenset(STANDARD_TYPES.values()) - {""} | {
    "highlight",
    "task-list-item",
    "task-list-item-checkbox",
}
"""The classes of cleaned Markdown: Pygments' highlighting and the renderer's task lists;
none that Formgrader's page or scripts look for."""

LINE_BREAKS = re.compile("[\n\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
"""What could end a line of Markdown, written as character references in cleaned HTML: the
block then has no blank line, which would end it."""


def _classes(value: str) -> str | None:
    kept = [c for c in value.split() if c in CLASSES or re.fullmatch(r"language-[\w+#.-]+", c)]
    return " ".join(kept) or None


def _matching(pattern: str):
    """The check of an attribute that keeps a value all of which ``pattern`` matches."""
    return lambda value: value if re.fullmatch(pattern, value) else None


CLEAN = {
    "href": _matching(r"(?i:https?:|mailto:|#).*"),
    "src": _matching(r"data:image/(png|jpeg|gif|webp);base64," + BASE64.pattern),
    "alt": lambda value: value,
    "style": _matching(r"text-align:\s*(left|right|center);?"),
    "class": _classes,
    "start": _matching(r"[0-9]{1,9}"),
    "type": _matching("checkbox"),
    "checked": lambda value: "",
    "disabled": lambda value: "",
}
"""The attributes of cleaned Markdown, each with the value it keeps (None: dropped): links
only to the web or within the page, pictures only as data of raster images."""


def _escaped(text: str) -> str:
    return LINE_BREAKS.sub(lambda m: f"&#{ord(m[0])};", escape(text))


class Cleaner(HTMLParser):
    """HTML rebuilt from the ``TAGS`` and ``CLEAN`` attributes of what it is fed, its text
    escaped, on one line; every element it opens closed within it."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.open: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag not in TAGS:
            return
        kept = [(name, CLEAN[name](value or "")) for name, value in attrs if name in CLEAN]
        self.parts.append(
            f"<{tag}" + "".join(f' {n}="{_escaped(v)}"' for n, v in kept if v is not None) + ">"
        )
        if tag not in VOID:
            self.open.append(tag)

    def handle_endtag(self, tag):
        if tag not in self.open:
            return
        while (last := self.open.pop()) != tag:
            self.parts.append(f"</{last}>")
        self.parts.append(f"</{tag}>")

    def handle_data(self, data):
        self.parts.append(_escaped(data))

    def html(self) -> str:
        self.close()
        return "".join(self.parts + [f"</{tag}>" for tag in reversed(self.open)])


def clean(html: str) -> str:
    """``html`` with only harmless elements and attributes left, on one line."""
    cleaner = Cleaner()
    cleaner.feed(html)
    return cleaner.html()


def as_markdown(html: str) -> str:
    """Markdown that the exporter renders as the cleaned ``html``: one block of HTML, which
    its renderer passes on as it is; a note when it would not."""
    block = f"<div>{clean(html)}</div>"
    return block if markdown2html_mistune(block).strip() == block else UNSHOWN


class StudentMarkdown(IPythonRenderer):
    """nbconvert's renderer of Markdown (maths, code, tables as Formgrader shows them), with
    the raw HTML shown as text, a mermaid diagram as code, and harmful links cut."""

    def __init__(self, attachments: dict) -> None:
        super().__init__(
            escape=False,
            allow_harmful_protocols=False,
            exclude_anchor_links=True,
            attachments=attachments,
        )

    def block_html(self, html: str) -> str:
        return f"<p>{escape(html.strip())}</p>\n"

    def inline_html(self, html: str) -> str:
        return escape(html)

    def block_mermaidjs(self, code: str) -> str:
        return f"<pre><code>{escape(code)}</code></pre>\n"


def _pictures(attachments) -> dict:
    """The raster pictures of a cell's ``attachments``, by name; an empty one for another
    kind (its alternative text shows)."""
    if not isinstance(attachments, dict):
        return {}
    return {
        name: {kind: data for kind, data in bundle.items() if kind in IMAGES} or {IMAGES[0]: ""}
        for name, bundle in attachments.items()
        if isinstance(bundle, dict)
    }


MARKDOWN_BUDGET = 200_000
"""The characters of Markdown rendered for one notebook (a notebook of the course holds
under 100,000); past them, Markdown is shown as preformatted text.  Markdown written to be
slow renders at tens of kilobytes a second, in the process that grades the whole class."""

OUTPUTS_BUDGET = 5_000
"""The outputs shown of one notebook (a notebook of the course makes a few hundred); past
them, a cell shows how many more it had.  A loop of ``display`` calls makes a million."""


class Budget:
    """The characters of Markdown one notebook may still have rendered, and the outputs it
    may still show."""

    def __init__(self, characters: int = MARKDOWN_BUDGET, outputs: int = OUTPUTS_BUDGET) -> None:
        self.left = characters
        self.outputs_left = outputs

    def spend(self, text: str) -> bool:
        """Take ``text`` out of the budget; False when the budget cannot hold it."""
        self.left -= len(text)
        return self.left >= 0

    def outputs(self, count: int) -> int:
        """How many of ``count`` outputs may be shown, taken out of the budget."""
        shown = max(0, min(count, self.outputs_left))
        self.outputs_left -= shown
        return shown


def shown(markdown: str, attachments=None, budget: Budget | None = None) -> str:
    """Markdown that renders as ``markdown`` does, with nothing a browser would run: its
    attachments' pictures inline; the text itself when it cannot be rendered, or when
    ``budget`` is spent."""
    if budget is not None and not budget.spend(markdown):
        return preformatted(markdown)
    if not attachments and len(markdown) <= CACHED_MARKDOWN:  # mostly the master's cells,
        return _shown_without_attachments(markdown)  # the same in every submission
    return _rendered(markdown, _pictures(attachments))


CACHED_MARKDOWN = 20_000  # characters: 1024 cells of it, kept, weigh at most a few dozen MB


@functools.lru_cache(maxsize=1024)
def _shown_without_attachments(markdown: str) -> str:
    return _rendered(markdown, {})


def _rendered(markdown: str, pictures: dict) -> str:
    try:
        html = MarkdownWithMath(renderer=StudentMarkdown(pictures)).render(markdown)
    except Exception:  # noqa: BLE001 - a missing attachment, or anything the renderer trips on
        return preformatted(markdown)
    return as_markdown(html)


def preformatted(text: str) -> str:
    """``text`` shown as it is written, as a block of cleaned HTML."""
    return as_markdown(f"<pre>{escape(text)}</pre>")


def _output(output_type: str, **fields) -> nbformat.NotebookNode:
    """An output as ``nbformat.v4.new_output`` makes it, less its schema check of every
    part (each field here is one the schema allows, of its type; the notebook is checked
    whole when it is written)."""
    return nbformat.from_dict({"output_type": output_type, **fields})


def _cell(cell_type: str, source: str, **fields) -> nbformat.NotebookNode:
    """A cell as ``nbformat.v4``'s constructors make it, less their schema check."""
    cell = {"id": random_cell_id(), "cell_type": cell_type, "metadata": {}, "source": source}
    return nbformat.from_dict({**cell, **fields})


def _text(value) -> str:
    """The text a notebook field holds (a string or a list of lines); empty otherwise."""
    if isinstance(value, list):
        return "".join(line for line in value if isinstance(line, str))
    return value if isinstance(value, str) else ""


def _entries(value) -> list:
    """The entries of a notebook's list (of cells, outputs, lines); none when it is not one."""
    return value if isinstance(value, list) else []


def _count(value) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def inert(output, budget: Budget | None = None) -> nbformat.NotebookNode:
    """``output`` with nothing a browser would run: a stream or an error as its text, rich
    data only in the ``SAFE`` kinds (its Markdown cleaned), or a note when it had none."""
    kind = output.get("output_type")
    if kind == "stream":
        name = "stderr" if output.get("name") == "stderr" else "stdout"
        return _output("stream", name=name, text=_text(output.get("text")))
    if kind == "error":
        return _output(
            "error",
            ename=_text(output.get("ename")),
            evalue=_text(output.get("evalue")),
            traceback=[_text(line) for line in _entries(output.get("traceback"))],
        )
    data = output.get("data")
    data = data if isinstance(data, dict) else {}
    kept = {mime: _text(value) for mime, value in data.items() if mime in SAFE}
    kept = {mime: value for mime, value in kept.items() if mime in TEXTS or BASE64.fullmatch(value)}
    if "text/markdown" in kept:
        kept["text/markdown"] = shown(kept["text/markdown"], budget=budget)
    kept = kept or {"text/plain": REMOVED}
    if kind == "execute_result":
        count = _count(output.get("execution_count"))
        return _output(kind, data=kept, execution_count=count, metadata={})
    return _output("display_data", data=kept, metadata={})


def _simple_name(value) -> bool:
    return isinstance(value, str) and re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", value) is not None


def _cell_metadata(metadata) -> dict:
    """What the exporter reads of a cell's ``metadata``: its nbgrader fields when its grade
    id (which Formgrader's page writes unescaped) is a simple name, and its tags."""
    metadata = metadata if isinstance(metadata, dict) else {}
    kept = {}
    nbgrader = metadata.get("nbgrader")
    if isinstance(nbgrader, dict) and _simple_name(nbgrader.get("grade_id", "")):
        kept["nbgrader"] = nbgrader
    tags = metadata.get("tags")
    if isinstance(tags, list):
        kept["tags"] = list(dict.fromkeys(tag for tag in tags if _simple_name(tag)))
    return kept


def _notebook_metadata(metadata) -> dict:
    """The kernel and the language of ``metadata``, when they have simple names: their names,
    by which the exporter highlights code (and names a class)."""
    metadata = metadata if isinstance(metadata, dict) else {}
    kernel, language = (metadata.get(key) for key in ("kernelspec", "language_info"))
    kept = {}
    if isinstance(kernel, dict) and _simple_name(kernel.get("name")):
        names = ("name", "display_name", "language")
        kept["kernelspec"] = {k: kernel[k] for k in names if isinstance(kernel.get(k), str)}
        kept["kernelspec"].setdefault("display_name", kernel["name"])
    if isinstance(language, dict) and _simple_name(language.get("name")):
        kept["language_info"] = {k: v for k, v in language.items() if _simple_name(v)}
    return kept


def inert_cell(cell, budget: Budget | None = None) -> nbformat.NotebookNode:
    """``cell`` as Formgrader may show it: a code cell with its code and inert outputs, a
    Markdown cell cleaned, any other cell as preformatted text (Markdown too, past
    ``budget``, which also bounds the outputs shown)."""
    source = _text(cell.get("source"))
    if cell.get("cell_type") == "code":
        made = [o for o in _entries(cell.get("outputs")) if isinstance(o, dict)]
        shown_count = len(made) if budget is None else budget.outputs(len(made))
        outputs = [inert(o, budget) for o in made[:shown_count]]
        if shown_count < len(made):
            more = len(made) - shown_count
            note = f"[{more:,} more output{'s' * (more > 1)}, not shown]\n"
            outputs.append(_output("stream", name="stdout", text=note))
        count = _count(cell.get("execution_count"))
        kept = _cell("code", source, outputs=outputs, execution_count=count)
    elif cell.get("cell_type") == "markdown":
        kept = _cell("markdown", shown(source, cell.get("attachments"), budget))
    else:
        kept = _cell("markdown", preformatted(source))
    kept.metadata = _cell_metadata(cell.get("metadata"))
    return kept


def annotate(executed: str | dict | None, result: SubmissionResult) -> nbformat.NotebookNode | None:
    """The executed notebook (its JSON text, or parsed) made inert, with its graded test
    cells' outputs replaced by the verdicts of ``result``; None when it is not a notebook."""
    if isinstance(executed, str):
        try:
            executed = nbformat.reads(executed, as_version=4)
        except Exception:  # noqa: BLE001 - written where student code ran: anything can be wrong
            return None
    if not isinstance(executed, dict):
        return None
    verdicts = {i.grade_id: i for i in result.items if not i.written}
    notebook = nbformat.v4.new_notebook(metadata=_notebook_metadata(executed.get("metadata")))
    budget = Budget()
    for cell in _entries(executed.get("cells")):
        if not isinstance(cell, dict):
            continue
        cell = inert_cell(cell, budget)
        notebook.cells.append(cell)
        item = verdicts.get(cell.metadata.get("nbgrader", {}).get("grade_id"))
        if item is None or cell.cell_type != "code" or item.verdict is None:
            continue
        text = verdict_text(item.verdict)
        if item.note:
            text += f"\n  {item.note}"
        cell.outputs = [_output("stream", name="stdout", text=text + "\n")]
    return notebook
