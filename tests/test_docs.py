"""Every citation of the design documents resolves to a file and a heading in docs/.

A citation names a design document (``DOMAIN.md``, ``ARCHITECTURE.md``, ``DECISIONS.md`` or any
``docs/X.md``), optionally with a section: ``DOMAIN.md §7``, ``DOMAIN.md §7.2``, ``DOMAIN.md section 8``.
A further ``§N`` on the same line belongs to the last document named before it (``DOMAIN.md §3 step 4, §6``);
in a file of docs/, a ``§N`` with no document before it on its line means that file. ``§7`` resolves when
the document has a heading numbered 7 (``## 7. Building the graph``), ``§7.2`` one numbered 7.2.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"
SUFFIXES = {".py", ".md", ".toml", ".txt", ".sh"}
SKIP_DIRS = {"data", "artifacts", "node_modules", "__pycache__"}  # and every folder named ".*"

NUMBER = r"\d+(?:\.\d+)*"
DOC = r"(?:\bdocs/(?P<other>[\w-]+\.md)|\b(?P<doc>(?:DOMAIN|ARCHITECTURE|DECISIONS)\.md))"
TOKEN = re.compile(rf"{DOC}(?:\s*(?:§\s?|section\s+)(?P<first>{NUMBER}))?|§\s?(?P<more>{NUMBER})?")

Citation = tuple[int, str | None, str | None]  # (line, document, section); section None: the document only


def citations(text: str, default: str | None = None) -> list[Citation]:
    """Every citation in ``text``; ``default`` is the document a ``§`` with none before it refers to.

    A ``§`` with no number gives section ``""``, one with no document gives document None: neither resolves.

    >>> citations("see DOMAIN.md §3 step 4, §6; ARCHITECTURE.md and docs/DOMAIN.md section 8")
    [(1, 'DOMAIN.md', '3'), (1, 'DOMAIN.md', '6'), (1, 'ARCHITECTURE.md', None), (1, 'DOMAIN.md', '8')]
    >>> citations("(§2)\\nrules of §7.2.", default="DOMAIN.md")
    [(1, 'DOMAIN.md', '2'), (2, 'DOMAIN.md', '7.2')]
    >>> citations("a lone §5, and DOMAIN.md § without a number")
    [(1, None, '5'), (1, 'DOMAIN.md', None), (1, 'DOMAIN.md', '')]
    """
    found: list[Citation] = []
    for number, line in enumerate(text.splitlines(), start=1):
        current = default
        for match in TOKEN.finditer(line):
            if match["other"] or match["doc"]:
                current = match["other"] or match["doc"]
                found.append((number, current, match["first"]))
            else:
                found.append((number, current, match["more"] or ""))
    return found


def heading_numbers(markdown: str) -> set[str]:
    """The section numbers of the headings outside code fences.

    >>> sorted(heading_numbers("# Title\\n## 1. Idea\\n```\\n## 2. in a fence\\n```\\n### 1.2 More\\n## 3rd"))
    ['1', '1.2']
    """
    numbers: set[str] = set()
    fenced = False
    for line in markdown.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif not fenced and (match := re.match(rf"#+\s+({NUMBER})\.?(?:\s|$)", line)):
            numbers.add(match[1])
    return numbers


def resolves(document: str | None, section: str | None) -> bool:
    """Whether docs/ has ``document`` and, when a section is named, a heading with that number."""
    if document is None or not (DOCS / document).is_file():
        return False
    return section is None or section in heading_numbers((DOCS / document).read_text(encoding="utf-8"))


def scanned_files() -> list[Path]:
    """Code, tests, scripts and Markdown of the working tree (whatever is there now), but this file."""
    files = []
    for folder, dirs, names in os.walk(REPO):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in SKIP_DIRS)
        files += [Path(folder) / n for n in sorted(names) if Path(n).suffix in SUFFIXES]
    return [f for f in files if f != Path(__file__).resolve()]


def all_citations() -> list[tuple[str, int, str | None, str | None]]:
    found = []
    for path in scanned_files():
        try:
            text = path.read_text(encoding="utf-8")
        except (FileNotFoundError, UnicodeDecodeError):  # moved away while we scan, or not text
            continue
        default = path.name if path.parent == DOCS else None
        rel = str(path.relative_to(REPO))
        found += [(rel, line, document, section) for line, document, section in citations(text, default)]
    return found


def test_every_citation_resolves() -> None:
    found = all_citations()
    assert any(rel.startswith("graph/") and section for rel, _, _, section in found), "the scan finds nothing"
    broken = [
        f"{rel}:{line}: {document or '(no document)'}" + ("" if section is None else f" §{section}")
        for rel, line, document, section in found
        if not resolves(document, section)
    ]
    assert broken == []


def test_a_made_up_citation_does_not_resolve() -> None:
    assert resolves("DOMAIN.md", "7") and resolves("DOMAIN.md", "7.2") and resolves("ARCHITECTURE.md", None)
    assert not resolves("DOMAIN.md", "42")
    assert not resolves("DOMAIN.md", "")
    assert not resolves("NOWHERE.md", None)
    assert not resolves(None, "5")


def test_the_domain_keeps_its_numbered_sections() -> None:
    numbers = heading_numbers((DOCS / "DOMAIN.md").read_text(encoding="utf-8"))
    assert {str(n) for n in range(1, 10)} <= numbers
