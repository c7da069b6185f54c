"""Hostile input: malformed ids, numbers, settings JSON, files, over-long texts and base URLs (issue 10
items 5 and 6: categories ids, numbers, json, paths, sizes, and the links of base URLs).

Each :class:`InputCase` names the entry point it goes through (``target``) and what must come of it: either
accepted, with what is stored or returned (``expected``), or refused with one clear line containing
``says``, storing nothing. The suites that use them: ``test_inputs_service.py`` (the services and the pure
parsers the front ends share, reading back what was stored), ``test_inputs_cli.py`` (the command line: exit
1 or 2, one ``Error:`` line) and ``tests/app/test_inputs.py`` (the interview page's URL ids, the join and
judge forms).

Targets:

``id``
    a row id as typed in a URL (``?interview=``) or on the command line (``cli.py build ID``).
``number`` / ``decimal``
    a demographics answer to a number question from 0 to 120, whole numbers only (``number``), or from 0 to
    1000 with decimals (``decimal``).
``config``
    the settings JSON (the facilitator page's field, ``deliberation create --config``); ``expected`` holds
    the settings that must be stored (a subset).
``config_file``
    a ``--config`` path, built by the suites from the name in ``value`` (``dev_zero``, ``fifo``, ...).
``text``
    ``(field, text)``: a text a person enters: ``title``, ``question``, ``welcome``, ``consent``,
    ``cohort``, ``message`` (the chat), ``reason`` ("Why?"), ``comment`` (the survey), ``town`` (a
    demographics text) or ``panel_id`` (``&pid=``).
``base_url``
    the start of the links handed out (``--base-url``, ``PUBLIC_BASE_URL``).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CATEGORIES = ("ids", "numbers", "json", "paths", "sizes", "links")
KIB = 1024


@dataclass(frozen=True)
class InputCase:
    id: str
    category: str
    target: str
    value: Any
    accepted: bool = False
    expected: Any = None
    """Accepted: what is stored or returned (for ``config``: a subset of the stored settings)."""
    says: str = ""
    """Refused: a fragment of the one-line message."""
    cli: bool = True
    """False where the command line cannot carry the value (a NUL in an argument, a bool)."""


def ok(case_id: str, category: str, target: str, value: Any, expected: Any, **kw: Any) -> InputCase:
    return InputCase(case_id, category, target, value, accepted=True, expected=expected, **kw)


def no(case_id: str, category: str, target: str, value: Any, says: str, **kw: Any) -> InputCase:
    return InputCase(case_id, category, target, value, says=says, **kw)


BAD_ID = "must be a whole number from 1 to 9223372036854775807"

IDS = [
    ok("id-one", "ids", "id", "1", 1),
    ok("id-spaces-around", "ids", "id", " 42 ", 42),
    ok("id-leading-zeros", "ids", "id", "007", 7),
    ok("id-largest", "ids", "id", "9223372036854775807", 2**63 - 1),
    no("id-one-past-largest", "ids", "id", "9223372036854775808", BAD_ID),
    no("id-huge", "ids", "id", "99999999999999999999999", BAD_ID),
    no("id-hundred-digits", "ids", "id", "9" * 100, BAD_ID),
    no("id-zero", "ids", "id", "0", BAD_ID),
    no("id-negative", "ids", "id", "-1", BAD_ID),
    no("id-plus", "ids", "id", "+5", BAD_ID),
    no("id-superscript", "ids", "id", "²", BAD_ID),
    no("id-arabic-indic", "ids", "id", "٣", BAD_ID),
    no("id-fullwidth", "ids", "id", "５", BAD_ID),
    no("id-float", "ids", "id", "1.5", BAD_ID),
    no("id-float-whole", "ids", "id", "1.0", BAD_ID),
    no("id-exponent", "ids", "id", "1e3", BAD_ID),
    no("id-hex", "ids", "id", "0x1F", BAD_ID),
    no("id-underscore", "ids", "id", "1_000", BAD_ID),
    no("id-space-inside", "ids", "id", "1 2", BAD_ID),
    no("id-tab-newline", "ids", "id", "\t3\n4", BAD_ID),
    no("id-empty", "ids", "id", "", BAD_ID),
    no("id-blank", "ids", "id", "   ", BAD_ID),
    no("id-word", "ids", "id", "abc", BAD_ID),
    no("id-sql", "ids", "id", "1 OR 1=1", BAD_ID),
    no("id-sql-drop", "ids", "id", "1; DROP TABLE interview;--", BAD_ID),
    no("id-nul", "ids", "id", "1\x00", BAD_ID, cli=False),
    no("id-lone-surrogate", "ids", "id", "\udc80", BAD_ID),
    no("id-infinity", "ids", "id", "inf", BAD_ID),
]

WHOLE = "must be a whole number"
DIGITS = "must be a number written with digits"
RANGE_120 = "must be between 0 and 120"

NUMBERS = [
    ok("num-plain", "numbers", "number", "34", 34),
    ok("num-spaces", "numbers", "number", "  34 ", 34),
    ok("num-whole-float-text", "numbers", "number", "41.0", 41),
    ok("num-zero", "numbers", "number", "0", 0),
    ok("num-negative-zero", "numbers", "number", "-0", 0),
    ok("num-upper-bound", "numbers", "number", "120", 120),
    ok("num-arabic-indic-digits", "numbers", "number", "٣٤", 34),
    ok("num-int-value", "numbers", "number", 77, 77),
    ok("num-whole-float-value", "numbers", "number", 18.0, 18),
    no("num-over-bound", "numbers", "number", "250", RANGE_120),
    no("num-one-over-bound", "numbers", "number", "121", RANGE_120),
    no("num-negative", "numbers", "number", "-1", RANGE_120),
    no("num-1e308", "numbers", "number", "1e308", DIGITS),
    no("num-1e999", "numbers", "number", "1e999", DIGITS),
    no("num-2e3", "numbers", "number", "2e3", DIGITS),
    no("num-decimal-for-whole", "numbers", "number", "1.5", WHOLE),
    no("num-decimal-value-for-whole", "numbers", "number", 1.5, WHOLE),
    no("num-nan-text", "numbers", "number", "NaN", DIGITS),
    no("num-inf-text", "numbers", "number", "inf", DIGITS),
    no("num-nan-value", "numbers", "number", float("nan"), "must be a number"),
    no("num-inf-value", "numbers", "number", float("inf"), "must be a number"),
    no("num-huge-int-value", "numbers", "number", 10**400, RANGE_120),
    no("num-5000-digits", "numbers", "number", "9" * 5000, DIGITS),
    no("num-bool", "numbers", "number", True, "must be a number"),
    no("num-superscript", "numbers", "number", "²", DIGITS),
    no("num-comma", "numbers", "number", "1,5", DIGITS),
    no("num-underscore", "numbers", "number", "1_0", DIGITS),
    no("num-hex", "numbers", "number", "0x10", DIGITS),
    no("num-word", "numbers", "number", "thirty", DIGITS),
    no("num-list", "numbers", "number", [3], "must be a number"),
    ok("dec-half", "numbers", "decimal", "1.5", 1.5),
    ok("dec-whole", "numbers", "decimal", "7", 7),
    ok("dec-upper", "numbers", "decimal", "1000.0", 1000),
    no("dec-over", "numbers", "decimal", "1000.5", "must be between 0 and 1,000"),
    no("dec-exponent", "numbers", "decimal", "1.5e2", DIGITS),
    no("dec-two-points", "numbers", "decimal", "1.2.3", DIGITS),
    no("dec-trailing-point", "numbers", "decimal", "3.", DIGITS),
]


def _deep(n: int) -> str:
    return '{"survey": ' + "[" * n + "]" * n + "}"


_LABEL = '{"demographics": [{"key": "age", "label": %s, "kind": "number"}]}'  # %s: the label as JSON


def _one_question(**question: Any) -> str:
    """Settings JSON with one demographics question."""
    return json.dumps({"demographics": [question]})


JSON = [
    ok("json-empty", "json", "config", "", {"stories_to_judge": 3}),
    ok("json-blank", "json", "config", "  \n\t ", {"values_to_vote": 6}),
    ok("json-empty-object", "json", "config", "{}", {"min_votes": 2}),
    ok("json-bom", "json", "config", '\ufeff{"stories_to_judge": 4}', {"stories_to_judge": 4}),
    ok(
        "json-bounds-of-a-number-question",
        "json",
        "config",
        '{"demographics": [{"key": "age", "label": "Age", "kind": "number", "min": 18, "max": 120}]}',
        {"demographics": [{"key": "age", "min": 18.0, "max": 120.0, "decimals": False}]},
    ),
    ok(
        "json-thresholds-in-range",
        "json",
        "config",
        '{"graph_thresholds": {"min_wiser": 3, "min_likelihood": -0.5, "max_entropy": 2}}',
        {"graph_thresholds": {"min_wiser": 3, "min_likelihood": -0.5, "max_entropy": 2.0}},
    ),
    ok(
        "json-unicode-label",
        "json",
        "config",
        _LABEL % '"Âge ✓ 年齢"',
        {"demographics": [{"label": "Âge ✓ 年齢"}]},
    ),
    no("json-depth-at-limit", "json", "config", "[" * 10 + "]" * 10, "JSON object"),  # parsed: not an object
    no("json-deep-50000", "json", "config", "[" * 50_000, "nested too deeply"),
    no("json-deep-100000", "json", "config", "[" * 100_000, "too large"),
    no("json-deep-inside-a-key", "json", "config", _deep(12), "nested too deeply"),
    no("json-over-64-kib", "json", "config", '{"stories_to_judge": 3}' + " " * (64 * KIB), "too large"),
    ok(
        "json-exactly-64-kib",
        "json",
        "config",
        '{"stories_to_judge": 5}'.ljust(64 * KIB),
        {"stories_to_judge": 5},
    ),
    no("json-one-over-64-kib", "json", "config", '{"stories_to_judge": 5}'.ljust(64 * KIB + 1), "too large"),
    no("json-5000-digit-int", "json", "config", '{"min_votes": ' + "9" * 5000 + "}", "5,000 characters"),
    no("json-big-int", "json", "config", '{"min_votes": 99999999999999999999999}', "min_votes"),
    no("json-float-1e999", "json", "config", '{"graph_thresholds": {"max_entropy": 1e999}}', "too large"),
    no("json-float-1e308", "json", "config", '{"graph_thresholds": {"max_entropy": 1e308}}', "max_entropy"),
    no("json-nan", "json", "config", '{"graph_thresholds": {"min_likelihood": NaN}}', "NaN is not allowed"),
    no("json-infinity", "json", "config", '{"graph_thresholds": {"max_entropy": Infinity}}', "Infinity"),
    no("json-minus-infinity", "json", "config", '{"graph_thresholds": {"min_wiser": -Infinity}}', "Infinity"),
    no("json-negative-threshold", "json", "config", '{"graph_thresholds": {"min_wiser": -1}}', "min_wiser"),
    no("json-duplicate-key", "json", "config", '{"min_votes": 2, "min_votes": 12}', "appears twice"),
    no("json-string-for-int", "json", "config", '{"values_to_vote": "6"}', "values_to_vote"),
    no("json-bool-for-int", "json", "config", '{"stories_to_judge": true}', "stories_to_judge"),
    no("json-float-for-int", "json", "config", '{"stories_to_judge": 3.0}', "stories_to_judge"),
    no(
        "json-int-for-bool",
        "json",
        "config",
        _LABEL.replace('"kind"', '"required": 1, "kind"') % '"A"',
        "required",
    ),
    no("json-unknown-key", "json", "config", '{"stories": 3}', "stories"),
    no("json-unknown-nested-key", "json", "config", '{"graph_thresholds": {"min_wise": 1}}', "min_wise"),
    no("json-array", "json", "config", "[1, 2]", "JSON object"),
    no("json-string", "json", "config", '"settings"', "JSON object"),
    no("json-null", "json", "config", "null", "JSON object"),
    no("json-truncated", "json", "config", '{"stories_to_judge": ', "not valid JSON"),
    no("json-trailing-comma", "json", "config", '{"stories_to_judge": 3,}', "not valid JSON"),
    no("json-single-quotes", "json", "config", "{'stories_to_judge': 3}", "not valid JSON"),
    no("json-nul-escape", "json", "config", _LABEL % '"Age\\u0000"', "NUL character"),
    no("json-lone-surrogate-escape", "json", "config", _LABEL % '"Age \\ud800"', "lone surrogate"),
    no("json-surrogate-in-key", "json", "config", '{"\\udfff": 1}', "lone surrogate"),
    no("json-long-label", "json", "config", _LABEL % ('"' + "L" * 201 + '"'), "label"),
    no(
        "json-long-option",
        "json",
        "config",
        '{"demographics": [{"key": "a", "label": "A", "options": ["' + "o" * 201 + '"]}]}',
        "options",
    ),
    no(
        "json-too-many-options",
        "json",
        "config",
        _one_question(key="a", label="A", options=[str(i) for i in range(51)]),
        "options",
    ),
    no(
        "json-choice-without-options",
        "json",
        "config",
        '{"demographics": [{"key": "a", "label": "A"}]}',
        "options",
    ),
    no(
        "json-min-above-max",
        "json",
        "config",
        '{"demographics": [{"key": "a", "label": "A", "kind": "number", "min": 5, "max": 1}]}',
        "above max",
    ),
    no(
        "json-bound-too-large",
        "json",
        "config",
        '{"demographics": [{"key": "a", "label": "A", "kind": "number", "max": 1e300}]}',
        "max",
    ),
    no(
        "json-duplicate-demographic-keys",
        "json",
        "config",
        json.dumps({"demographics": [{"key": "a", "label": x, "kind": "text"} for x in "AB"]}),
        "unique",
    ),
    no("json-bad-key-pattern", "json", "config", '{"survey": [{"key": "Drop Table", "label": "x"}]}', "key"),
    no(
        "json-too-many-survey",
        "json",
        "config",
        json.dumps({"survey": [{"key": f"q{i}", "label": "Q"} for i in range(31)]}),
        "survey",
    ),
]

PATHS = [
    no("path-dev-zero", "paths", "config_file", "dev_zero", "not a regular file"),
    no("path-dev-null", "paths", "config_file", "dev_null", "not a regular file"),
    no("path-directory", "paths", "config_file", "directory", "is a directory"),
    no("path-fifo", "paths", "config_file", "fifo", "not a regular file"),
    no("path-missing", "paths", "config_file", "missing", "No such file"),
    no("path-symlink-loop", "paths", "config_file", "symlink_loop", "symbolic links"),
    no("path-huge-sparse", "paths", "config_file", "huge", "too large"),
    no("path-one-over-limit", "paths", "config_file", "one_over", "too large"),
    no("path-invalid-utf8", "paths", "config_file", "invalid_utf8", "not UTF-8"),
    no("path-utf16", "paths", "config_file", "utf16", "not UTF-8"),
    no("path-binary", "paths", "config_file", "binary", "not UTF-8"),
    ok("path-empty-file", "paths", "config_file", "empty", {"stories_to_judge": 3}),
    ok("path-bom-file", "paths", "config_file", "bom", {"stories_to_judge": 4}),
    ok("path-exactly-at-limit", "paths", "config_file", "at_limit", {"stories_to_judge": 5}),
    ok("path-symlink-to-a-file", "paths", "config_file", "symlink_ok", {"stories_to_judge": 4}),
]

#: The text limits of each field (the services refuse one character more, never cut).
LIMITS = {
    "title": 200,
    "question": 2000,
    "welcome": 10_000,
    "consent": 10_000,
    "cohort": 100,
    "message": 4000,
    "reason": 2000,
    "comment": 2000,
    "town": 500,
    "panel_id": 200,
}
#: Fields the command line reaches (``deliberation create``, ``invite --cohort``).
CLI_FIELDS = ("title", "question", "welcome", "consent", "cohort")


def _sizes() -> list[InputCase]:
    cases = []
    for name, limit in LIMITS.items():
        cases.append(ok(f"size-{name}-at-limit", "sizes", "text", (name, "x" * limit), "x" * limit))
        cases.append(no(f"size-{name}-one-over", "sizes", "text", (name, "x" * (limit + 1)), str(limit)))
    cases += [
        no("size-question-100000", "sizes", "text", ("question", "Q" * 100_000), "at most 2000 characters"),
        no("size-message-nul", "sizes", "text", ("message", "hello\x00world"), "NUL character", cli=False),
        no("size-reason-surrogate", "sizes", "text", ("reason", "why \ud83d"), "lone surrogate"),
        no("size-comment-nul", "sizes", "text", ("comment", "\x00"), "NUL character", cli=False),
        no("size-town-surrogate", "sizes", "text", ("town", "\udcff"), "lone surrogate"),
        no("size-title-surrogate", "sizes", "text", ("title", "Title \udc80"), "lone surrogate"),
        no("size-welcome-nul", "sizes", "text", ("welcome", "Hi\x00"), "NUL character", cli=False),
        no("size-panel-id-nul", "sizes", "text", ("panel_id", "P\x00"), "panel id", cli=False),
        ok("size-message-emoji-at-limit", "sizes", "text", ("message", "👍" * 4000), "👍" * 4000),
        ok("size-comment-newlines", "sizes", "text", ("comment", "a\n" * 999 + "a"), "a\n" * 999 + "a"),
    ]
    return cases


SIZES = _sizes()

NOT_HTTP = "must be an http:// or https:// address"

LINKS = [
    ok("url-https", "links", "base_url", "https://studio.example.org", "https://studio.example.org"),
    ok(
        "url-trailing-slash", "links", "base_url", "https://studio.example.org/", "https://studio.example.org"
    ),
    ok("url-path-and-port", "links", "base_url", "http://127.0.0.1:8501/app", "http://127.0.0.1:8501/app"),
    ok("url-ipv6", "links", "base_url", "http://[::1]:8501", "http://[::1]:8501"),
    ok("url-upper-scheme", "links", "base_url", "HTTPS://Studio.Example.org", "HTTPS://Studio.Example.org"),
    no("url-javascript", "links", "base_url", "javascript:alert(document.cookie)//", NOT_HTTP),
    no("url-javascript-host", "links", "base_url", "javascript://studio.example.org/%0aalert(1)", NOT_HTTP),
    no("url-data", "links", "base_url", "data:text/html,<script>alert(1)</script>", NOT_HTTP),
    no("url-file", "links", "base_url", "file:///etc/passwd", NOT_HTTP),
    no("url-ftp", "links", "base_url", "ftp://studio.example.org", NOT_HTTP),
    no("url-no-scheme", "links", "base_url", "studio.example.org", NOT_HTTP),
    no("url-scheme-relative", "links", "base_url", "//studio.example.org", NOT_HTTP),
    no("url-no-host", "links", "base_url", "https://", NOT_HTTP),
    no(
        "url-credentials",
        "links",
        "base_url",
        "https://admin:secret@studio.example.org",
        "user name or password",
    ),
    no("url-query", "links", "base_url", "https://studio.example.org/?next=evil", "query"),
    no("url-fragment", "links", "base_url", "https://studio.example.org/#x", "fragment"),
    no("url-space", "links", "base_url", "https://studio.example.org/a b", "spaces or control"),
    no("url-newline", "links", "base_url", "https://studio.example.org\n/evil", "spaces or control"),
    no("url-bad-port", "links", "base_url", "https://studio.example.org:99999", "well-formed"),
    no("url-too-long", "links", "base_url", "https://studio.example.org/" + "a" * 500, "at most 500"),
    no("url-empty", "links", "base_url", "", NOT_HTTP, cli=False),  # the CLI's default applies to ""
]

CASES: list[InputCase] = [*IDS, *NUMBERS, *JSON, *PATHS, *SIZES, *LINKS]


def contains(actual: Any, expected: Any) -> bool:
    """``expected`` is a part of ``actual`` (dicts: a subset of the keys; lists: element by element)."""
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            k in actual and contains(actual[k], v) for k, v in expected.items()
        )
    if isinstance(expected, list):
        return (
            isinstance(actual, list) and len(actual) == len(expected) and all(map(contains, actual, expected))
        )
    return actual == expected and type(actual) is type(expected)


def of(target: str, *, cli: bool = False) -> list[InputCase]:
    """The cases of one target (``cli=True``: only those the command line can carry)."""
    return [c for c in CASES if c.target == target and (c.cli or not cli)]


def ids(cases: list[InputCase]) -> list[str]:
    return [c.id for c in cases]


_unique = [c.id for c in CASES]
assert len(set(_unique)) == len(_unique), "case ids are unique"
assert {c.category for c in CASES} <= set(CATEGORIES)


#: The settings a good ``--config`` file holds, by the name of the path case.
GOOD_FILE = '{"stories_to_judge": 4}'


def make_path(name: str, folder: Path) -> Path:
    """The path a ``config_file`` case names, made in ``folder`` (a device, a pipe, a loop, a big file...)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    if name in ("dev_zero", "dev_null"):
        return Path(f"/dev/{name.removeprefix('dev_')}")
    if name == "directory":
        path.mkdir(exist_ok=True)
    elif name == "fifo":
        if not path.exists():
            os.mkfifo(path)
    elif name == "missing":
        path.unlink(missing_ok=True)
    elif name == "symlink_loop":
        other = folder / "loop-b.json"
        for link, target in ((path, other), (other, path)):
            if not link.is_symlink():
                link.symlink_to(target)
    elif name == "symlink_ok":
        target = folder / "target.json"
        target.write_text(GOOD_FILE, encoding="utf-8")
        if not path.is_symlink():
            path.symlink_to(target)
    elif name == "huge":
        with path.open("wb") as file:
            file.truncate(2**30)  # sparse: a GiB that takes no disk
    else:
        path.write_bytes(
            {
                "one_over": '{"stories_to_judge": 5}'.ljust(64 * KIB + 1).encode(),
                "at_limit": '{"stories_to_judge": 5}'.ljust(64 * KIB).encode(),
                "invalid_utf8": b'{"survey": [{"key": "a", "label": "\xff\xfe"}]}',
                "utf16": GOOD_FILE.encode("utf-16"),
                "binary": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
                "empty": b"",
                "bom": b"\xef\xbb\xbf" + GOOD_FILE.encode(),
            }[name]
        )
    return path
