"""The rendering helper over the hostile text corpus: what Streamlit would read from it is the input, and
nothing in it is Markdown, HTML or one of Streamlit's text-level extras (issue 10 item 4)."""

from __future__ import annotations

import doctest
import re

import pytest

from tests.hostile.text_corpus import CASES, TRIGGERS, TextCase, triggers
from ui import components, literal

# Characters that open inline Markdown, HTML, LaTeX or an entity anywhere in a line: the helper never hands
# one over unescaped (block syntax is kept off by a word joiner at the start of a line that could open one).
INLINE_SYNTAX = set("\\`*_~$[<&\r")
ESCAPE_OR_REFERENCE = re.compile(r"\\[\\`*_~$]|&(lsqb|lt|amp|#13);")
BLOCK_OPENERS = set(" \t#>+*-_=~`0123456789|")  # what a line may not start with
JOINED = re.compile("[:@](?!\u2060)")  # a colon or at sign without the joiner after it


def _ids(case: TextCase) -> str:
    return case.id


def _visible(text: str) -> str:
    return "".join(c for c in text if c not in literal.ADDED)


def test_the_helpers_doctests_pass() -> None:
    result = doctest.testmod(literal)
    assert result.attempted >= 6 and result.failed == 0


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_what_a_reader_sees_is_the_input(case: TextCase) -> None:
    written = components.plain(case.text)
    assert literal.read(written) == _visible(case.shown)


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_no_syntax_reaches_the_markdown_parser(case: TextCase) -> None:
    written = components.plain(case.text)
    bare = ESCAPE_OR_REFERENCE.sub("", written)
    assert not INLINE_SYNTAX & set(bare), f"raw syntax characters in {written!r}"
    assert not JOINED.search(written) and "\x00" not in written
    lines = written.split("\n")
    assert all(line and line[0] not in BLOCK_OPENERS for line in lines)  # no blank line, no block syntax


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_nothing_forms_after_decoding(case: TextCase) -> None:
    written = components.plain(case.text)
    assert not triggers(written), written


def test_the_triggers_catch_the_raw_corpus() -> None:
    """The checks above are not vacuous: each pattern fires on some raw input it must be kept from."""
    for name in TRIGGERS:
        assert any(name in triggers(c.text) for c in CASES), name


@pytest.mark.parametrize("case", CASES, ids=_ids)
@pytest.mark.parametrize("size", [1, 2, 3, 7])
def test_a_streamed_reply_is_written_as_the_whole(case: TextCase, size: int) -> None:
    pieces = [case.text[i : i + size] for i in range(0, len(case.text), size)]
    streamed = "".join(components.plain_stream(iter(pieces)))
    whole = components.plain(case.text)
    if literal.FSI in whole and literal.FSI not in case.text:  # bidi isolation needs the whole text
        assert literal.read(streamed) == literal.read(whole)
    else:
        assert streamed == whole


def test_bidi_controls_are_isolated_line_by_line() -> None:
    written = components.plain("\u202eevil\nsecond")
    for line in written.split(literal.LINE_BREAK):
        assert line.startswith(literal.FSI) and line.endswith(literal.PDI)
    assert literal.FSI not in components.plain("plain text")  # only where a control could leak


def test_spaces_and_blank_lines_survive() -> None:
    assert literal.read(components.plain("  a  \n\n  b  \n")) == "  a  \n\n  b  \n"
    assert components.plain("x ").endswith(literal.WORD_JOINER)


def test_ordinary_text_is_left_as_typed() -> None:
    """Streamlit also uses a label's Markdown as the widget's accessible name: ordinary text stays as is."""
    ordinary = "Self-Reliance: honesty (first), 1. then 2? Yes! 50% of e.g. A/B; 'quoted' \"too\" #1 {x} ^"
    assert components.plain(ordinary) == ordinary.replace(":", ":" + literal.WORD_JOINER)
