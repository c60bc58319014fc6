"""Every requirement id the code cites is defined in docs/requirements.md.

Docstrings and comments in ``vectortrainer/``, ``tui/`` and ``screens/`` cite requirement ids
such as ``FR-1.2`` (the original specification) or ``VT-9`` (what the project adds). This test
protects that link: each cited id must be *defined* in ``docs/requirements.md``, by a Markdown
heading that starts with the id or a table row whose first cell is the id (a mere mention in
the text does not count). Group ids such as ``FR-7`` resolve to their group's heading.

Only docstrings (module, class, function; read with ``ast``) and comments (read with
``tokenize``) are scanned. Ordinary string literals are not: the demo data holds ticket
numbers such as ``VT-4821`` that are not requirement ids.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from collections import Counter
from dataclasses import dataclass
from functools import cache

from tests.support import REPO_ROOT

DOCUMENT = REPO_ROOT / "docs" / "requirements.md"
SCANNED_PACKAGES = ("vectortrainer", "tui", "screens")

_ID = r"(?:FR|VT)-\d+(?:\.\d+)?"
CITATION = re.compile(rf"\b{_ID}\b")
# A definition: a heading or a table row that *starts* with the id (not followed by more of one).
HEADING = re.compile(rf"^#{{1,6}}[ \t]+({_ID})(?![\w.-])")
TABLE_ROW = re.compile(rf"^\|[ \t]*(?:\*\*)?({_ID})(?:\*\*)?[ \t]*\|")
FENCE = re.compile(r"^[ \t]*(?:```|~~~)")

# The numbering of the requirement list: FR groups with their number of sub-ids, VT-1 .. VT-25.
FR_GROUPS = {1: 6, 2: 6, 3: 4, 4: 4, 5: 4, 6: 5, 7: 5}
VT_LAST = 25

# Ids-looking text in docstrings or comments that is not a requirement (id -> where, what).
NOT_REQUIREMENTS = {
    "VT-4821": "vectortrainer/rules/anchors.py, module docstring: a ticket number in the example "
               "'ticket #4821' -> 'ticket VT-4821'",
}

# The walk must really see the code's citations, so the test cannot pass on an empty scan.
MIN_CITATIONS = 100
MIN_FILES = 50

_DOCSTRING_OWNERS = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)


@dataclass(frozen=True)
class Citation:
    """One id found in a docstring or a comment."""

    path: str  # relative to the repository root
    line: int
    req_id: str
    kind: str  # "docstring" or "comment"

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.req_id} ({self.kind})"


def citations_in(source: str, path: str) -> list[Citation]:
    """The ids cited in ``source``'s docstrings and comments, with the line of each."""
    found: list[Citation] = []
    for node in ast.walk(ast.parse(source, filename=path)):
        if not isinstance(node, _DOCSTRING_OWNERS):
            continue
        text = ast.get_docstring(node, clean=False)  # raw, so line offsets stay true
        if text is None:
            continue
        first_line = node.body[0].lineno
        for match in CITATION.finditer(text):
            line = first_line + text.count("\n", 0, match.start())
            found.append(Citation(path, line, match.group(), "docstring"))
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            found.extend(Citation(path, token.start[0], match.group(), "comment")
                         for match in CITATION.finditer(token.string))
    return sorted(found, key=lambda c: (c.path, c.line, c.req_id))


@cache
def scanned_citations() -> tuple[Citation, ...]:
    """Every citation in the ``.py`` files of the scanned packages."""
    found: list[Citation] = []
    for package in SCANNED_PACKAGES:
        for path in sorted((REPO_ROOT / package).rglob("*.py")):
            relative = path.relative_to(REPO_ROOT).as_posix()
            found.extend(citations_in(path.read_text(encoding="utf-8"), relative))
    return tuple(found)


def definitions_in(markdown: str) -> list[tuple[int, str]]:
    """(line, id) of every definition: headings and first table cells, outside code fences."""
    found: list[tuple[int, str]] = []
    in_fence = False
    for number, line in enumerate(markdown.splitlines(), start=1):
        if FENCE.match(line):
            in_fence = not in_fence
            continue
        if in_fence:
            continue
        match = HEADING.match(line) or TABLE_ROW.match(line)
        if match:
            found.append((number, match.group(1)))
    return found


@cache
def defined_ids() -> frozenset[str]:
    return frozenset(req_id for _, req_id in definitions_in(_document_text()))


@cache
def _document_text() -> str:
    assert DOCUMENT.is_file(), f"{DOCUMENT.relative_to(REPO_ROOT)} is missing"
    return DOCUMENT.read_text(encoding="utf-8")


def test_every_cited_id_is_defined_in_the_document() -> None:
    defined = defined_ids()
    unresolved = [c for c in scanned_citations()
                  if c.req_id not in defined and c.req_id not in NOT_REQUIREMENTS]
    assert not unresolved, (
        f"{len(unresolved)} cited id(s) not defined in docs/requirements.md "
        "(add a heading that starts with the id, or fix the citation):\n"
        + "\n".join(str(c) for c in unresolved))


def test_the_scan_really_sees_the_citations() -> None:
    citations = scanned_citations()
    files = {c.path for c in citations}
    assert len(citations) >= MIN_CITATIONS, f"only {len(citations)} citations found"
    assert len(files) >= MIN_FILES, f"citations found in only {len(files)} files"
    assert {c.req_id[:2] for c in citations} == {"FR", "VT"}


def test_the_scanner_reads_docstrings_and_comments_but_not_other_strings() -> None:
    source = '\n'.join([
        '"""Module (FR-1.2).',
        '',
        'More on FR-1 and VT-9."""',
        'TICKET = "ticket VT-4821"  # a comment citing VT-13',
        'class Thing:',
        '    """Class (FR-7.4)."""',
        '    async def run(self) -> None:',
        '        """',
        '        Method (VT-5)."""',
        '        note = "FR-6.3 in a string"',
        '',
    ])
    found = [(c.line, c.req_id, c.kind) for c in citations_in(source, "example.py")]
    assert found == [
        (1, "FR-1.2", "docstring"), (3, "FR-1", "docstring"), (3, "VT-9", "docstring"),
        (4, "VT-13", "comment"), (6, "FR-7.4", "docstring"), (9, "VT-5", "docstring"),
    ]


def test_the_document_defines_each_id_once() -> None:
    definitions = definitions_in(_document_text())
    counts = Counter(req_id for _, req_id in definitions)
    duplicated = {req_id: [n for n, i in definitions if i == req_id]
                  for req_id, count in counts.items() if count > 1}
    assert definitions, "docs/requirements.md defines no id"
    assert not duplicated, f"ids defined more than once (id: lines): {duplicated}"


def test_the_document_covers_the_whole_numbering() -> None:
    expected = {f"FR-{group}" for group in FR_GROUPS}
    expected |= {f"FR-{group}.{n}" for group, last in FR_GROUPS.items()
                 for n in range(1, last + 1)}
    expected |= {f"VT-{n}" for n in range(1, VT_LAST + 1)}
    missing = sorted(expected - defined_ids(), key=_numbering_order)
    assert not missing, f"docs/requirements.md does not define: {', '.join(missing)}"


def test_known_non_requirement_ids_are_current() -> None:
    cited = {c.req_id for c in scanned_citations()}
    for req_id, where in NOT_REQUIREMENTS.items():
        assert req_id not in defined_ids(), f"{req_id} is listed as not a requirement"
        assert req_id in cited, f"{req_id} ({where}) is no longer cited: drop it from the list"


def test_the_document_names_no_machine_paths() -> None:
    machine_path = re.compile(r"(?<![\w.])/(?:work|home|tmp|Users|root)/")
    offending = [f"line {n}: {line.strip()}"
                 for n, line in enumerate(_document_text().splitlines(), start=1)
                 if machine_path.search(line)]
    assert not offending, "paths must be relative to the repository root:\n" + "\n".join(offending)


def _numbering_order(req_id: str) -> tuple[str, tuple[int, ...]]:
    prefix, _, number = req_id.partition("-")
    return prefix, tuple(int(part) for part in number.split("."))
