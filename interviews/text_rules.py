"""The rules every piece of typed input follows before it is stored or used: text and ids. Pure.

Text (:func:`check_text`, :func:`text_problem`): one rule for every text a person enters (a chat message, a
card edit, a survey or "why" answer, a demographics answer, a deliberation's title, questions, welcome and
consent texts and every string of its settings). Two characters are refused with a clear message, never
cleaned silently: NUL (``\\x00``: PostgreSQL cannot store it, and tools cut text at it) and a lone surrogate
(half of a UTF-16 pair, e.g. ``\\ud800``: it has no UTF-8 form, so no database can store it); text a model
wrote is cleaned instead, each of them replaced by U+FFFD (:func:`clean_model_text`). A text over
its limit is refused with the limit and its length, never cut. Everything else (emoji, other scripts,
tabs, other control characters) is kept exactly as typed.

Ids (:func:`parse_id`): a row id typed in a URL or on a command line is ASCII digits only (no sign,
whitespace inside, ``²``, ``٣`` or ``５``), from 1 to :data:`MAX_ID` (a database integer); anything else
is one clear line, never a traceback.

>>> check_text("Honesty ✓", what="Your message")
'Honesty ✓'
>>> check_text("a\\x00b", what="Your message")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
errors.InvalidInput: Your message contains a NUL character (at position 2), which cannot be stored; ...
>>> parse_id("42"), parse_id(" 7 ")
(42, 7)
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from errors import InvalidInput

#: The largest row id (a signed 64-bit database integer).
MAX_ID = 2**63 - 1
#: How an id looks: ASCII digits only (``str.isdigit`` also accepts ``²``; ``int`` accepts ``٣`` and ``1_0``).
_ID = re.compile(r"[0-9]{1,19}")
_REFUSED = re.compile("[\x00\ud800-\udfff]")


def text_problem(text: str) -> str | None:
    """What makes ``text`` unstorable (finishing "<what> contains ..."), or None when it is fine.

    >>> text_problem("fine"), text_problem("x\\ud83d")
    (None, 'an incomplete character (a lone surrogate U+D83D, at position 2), which cannot be stored')
    """
    found = _REFUSED.search(text)
    if found is None:
        return None
    where = f"at position {found.start() + 1}"
    if found.group() == "\x00":
        return f"a NUL character ({where}), which cannot be stored"
    code = f"U+{ord(found.group()):04X}"
    return f"an incomplete character (a lone surrogate {code}, {where}), which cannot be stored"


def check_text(text: str, *, what: str, limit: int | None = None) -> str:
    """``text`` unchanged when it keeps the rule (no NUL, no lone surrogate, at most ``limit`` characters),
    else :class:`InvalidInput` naming ``what`` ("Your message", "The title", ...).

    >>> check_text("abc", what="The title", limit=2)
    Traceback (most recent call last):
    ...
    errors.InvalidInput: The title is too long (3 characters): please keep it to at most 2 characters.
    """
    if not isinstance(text, str):
        raise InvalidInput(f"{what} must be text.")
    problem = text_problem(text)
    if problem is not None:
        raise InvalidInput(f"{what} contains {problem}; please remove it.")
    if limit is not None and len(text) > limit:
        raise InvalidInput(
            f"{what} is too long ({len(text)} characters): please keep it to at most {limit} characters."
        )
    return text


def clean_model_text(text: str) -> str:
    """Text a model wrote, fit to store: NUL and lone surrogates become U+FFFD (what a person types is
    refused instead, :func:`check_text`; a model's reply cannot be sent back to be fixed).

    >>> clean_model_text("a\\x00b\\ud800c") == "a\\ufffdb\\ufffdc"
    True
    >>> clean_model_text("Honesty ✓")
    'Honesty ✓'
    """
    return _REFUSED.sub("\ufffd", text)


def strings_in(tree: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Every string (keys included) of a JSON-like tree, with where it is (``demographics.0.label``).

    >>> list(strings_in({"a": ["x", {"b": 1}]}))
    [('a', 'a'), ('a.0', 'x'), ('a.1.b', 'b')]
    """
    if isinstance(tree, str):
        yield path, tree
    elif isinstance(tree, dict):
        for key, value in tree.items():
            where = f"{path}.{key}" if path else str(key)
            if isinstance(key, str):
                yield where, key
            yield from strings_in(value, where)
    elif isinstance(tree, list | tuple):
        for i, value in enumerate(tree):
            yield from strings_in(value, f"{path}.{i}" if path else str(i))


def check_strings(tree: Any, *, what: str) -> None:
    """:func:`check_text`'s character rule for every string of a JSON-like tree (a deliberation's settings).

    >>> check_strings({"survey": [{"label": "ok\\x00"}]}, what="The settings")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    errors.InvalidInput: The settings: the text at survey.0.label contains a NUL character ...
    """
    for where, text in strings_in(tree):
        problem = text_problem(text)
        if problem is not None:
            raise InvalidInput(
                f"{what}: the text at {ascii_safe(where) or 'the top'} contains {problem}; please remove it."
            )


def parse_id(text: str, *, what: str = "An id") -> int:
    """The row id written in ``text`` (surrounding spaces allowed), or :class:`InvalidInput`.

    >>> parse_id("99999999999999999999999", what="The number")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    errors.InvalidInput: The number must be a whole number from 1 to 9223372036854775807 (got '9999...').
    >>> parse_id("²")
    Traceback (most recent call last):
    ...
    errors.InvalidInput: An id must be a whole number from 1 to 9223372036854775807 (got '²').
    """
    raw = text.strip() if isinstance(text, str) else ""
    if _ID.fullmatch(raw) and 1 <= int(raw) <= MAX_ID:
        return int(raw)
    shown = text if isinstance(text, str) else str(text)
    shown = shown if len(shown) <= 40 else shown[:40] + "..."
    raise InvalidInput(f"{what} must be a whole number from 1 to {MAX_ID} (got {ascii_safe(shown)!r}).")


def ascii_safe(text: str) -> str:
    """``text`` with NUL and lone surrogates written as escapes, so that a message quoting it can be shown
    and logged (UTF-8 has no form for a lone surrogate).

    >>> ascii_safe("a\\x00\\udc80")
    'a\\\\x00\\\\udc80'
    """
    return _REFUSED.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)
