"""A deliberation's settings as JSON (a ``--config`` file or the facilitator page's field), read and checked.

The JSON is bounded before it is parsed (size, nesting depth, number literals), parsed without surprises
(no ``NaN``/``Infinity``, no key given twice) and then checked field by field as new input by
:func:`check_config`, the one check of new settings (:class:`storage.schemas.DeliberationConfig`).
Imports no model library (``tests/test_cli_imports.py``).
"""

from __future__ import annotations

import json
import math
import os
import stat
from pathlib import Path
from typing import Any, NoReturn

from pydantic import ValidationError

from errors import InvalidInput
from interviews.answers import MAX_NUMBER_CHARS
from interviews.text_rules import ascii_safe, check_strings
from storage.schemas import DeliberationConfig

#: The largest settings JSON (a file or the facilitator page's field), in bytes of UTF-8.
MAX_CONFIG_BYTES = 64 * 1024
#: How deeply the settings JSON may nest arrays and objects (the settings themselves need 4).
MAX_CONFIG_DEPTH = 10


def read_config_file(path: Path) -> dict[str, Any]:
    """A deliberation's settings from a JSON file, checked (one clear line for a bad file or field).

    Only a regular file of at most :data:`MAX_CONFIG_BYTES` is read (a directory, a device such as
    ``/dev/zero`` or a pipe is refused without reading it), as UTF-8 (a byte-order mark is allowed).
    """
    return parse_config(_read_text(path), source=ascii_safe(str(path)))


def read_changes_file(path: Path) -> dict[str, Any]:
    """Settings to change, from a JSON file read as :func:`read_config_file` reads one
    (:func:`parse_changes`)."""
    return parse_changes(_read_text(path), source=ascii_safe(str(path)))


def _read_text(path: Path) -> str:
    shown = ascii_safe(str(path))
    try:  # O_NONBLOCK: opening a pipe never waits for a writer
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise InvalidInput(f"Cannot read {shown}: {exc.strerror or exc}.") from exc
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_CONFIG_BYTES:
        os.close(fd)
        if stat.S_ISDIR(info.st_mode):
            raise InvalidInput(f"{shown} is a directory, not a JSON file.")
        if not stat.S_ISREG(info.st_mode):
            raise InvalidInput(f"{shown} is not a regular file (a device or a pipe); give a JSON file.")
        raise InvalidInput(_too_large(shown, info.st_size))
    with os.fdopen(fd, "rb") as file:
        try:
            raw = file.read(MAX_CONFIG_BYTES + 1)
        except OSError as exc:
            raise InvalidInput(f"Cannot read {shown}: {exc.strerror or exc}.") from exc
    if len(raw) > MAX_CONFIG_BYTES:  # it grew while we looked
        raise InvalidInput(_too_large(shown, len(raw)))
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{shown} is not UTF-8 text (byte {exc.start + 1} is not valid UTF-8).") from exc


def _too_large(source: str, size: int) -> str:
    return f"{source}: too large, settings are at most {MAX_CONFIG_BYTES // 1024} KiB (got {size:,} bytes)."


def parse_config(text: str, *, source: str = "The settings") -> dict[str, Any]:
    """A deliberation's settings from JSON text (empty text: the defaults), checked field by field.

    Refused with one line each: more than :data:`MAX_CONFIG_BYTES`, nesting deeper than
    :data:`MAX_CONFIG_DEPTH`, ``NaN``/``Infinity``, a number literal longer than
    :data:`MAX_NUMBER_CHARS` or beyond a float, a key given twice, a NUL or a lone surrogate in a string,
    and every field out of its bounds (:class:`storage.schemas.DeliberationConfig`).

    >>> parse_config('{"stories_to_judge": 5}')["stories_to_judge"]
    5
    >>> parse_config("[1]")
    Traceback (most recent call last):
    ...
    errors.InvalidInput: The settings should hold a JSON object of settings.
    >>> parse_config('{"graph_thresholds": {"max_entropy": Infinity}}')
    Traceback (most recent call last):
    ...
    errors.InvalidInput: The settings: Infinity is not allowed, only finite numbers.
    """
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_CONFIG_BYTES:
        raise InvalidInput(_too_large(source, size))
    if not text.removeprefix("\ufeff").strip():
        return DeliberationConfig().model_dump()
    return check_config(_load(text, source), source=source)


def merged(current: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """``changes`` over ``current`` settings; an object setting (``graph_thresholds``) is merged key by key.

    >>> merged({"a": 1, "g": {"x": 1, "y": 2}}, {"g": {"y": 3}})
    {'a': 1, 'g': {'x': 1, 'y': 3}}
    """
    out = dict(current)
    for key, value in changes.items():
        before = out.get(key)
        out[key] = {**before, **value} if isinstance(before, dict) and isinstance(value, dict) else value
    return out


def parse_changes(text: str, *, source: str = "The settings") -> dict[str, Any]:
    """Settings to change (``deliberation edit --settings``), from JSON text read as strictly as
    :func:`parse_config` reads it, without filling in defaults: the keys given, to merge over a
    deliberation's settings, after which the whole is checked (:func:`check_config`).

    >>> parse_changes('{"stories_to_judge": 5}')
    {'stories_to_judge': 5}
    >>> parse_changes('{"bogus": 1}')
    Traceback (most recent call last):
    ...
    errors.InvalidInput: The settings: unknown setting 'bogus'.
    """
    data = _load(text, source)
    unknown = sorted(set(data) - set(DeliberationConfig.model_fields))
    if unknown:
        raise InvalidInput(f"{source}: unknown setting {ascii_safe(unknown[0])!r}.")
    return data


def parse_setting(name: str, text: str) -> dict[str, Any]:
    """One setting's value from JSON text (the console's field for ``demographics`` or ``survey``), read as
    strictly as :func:`parse_config` reads settings: ``{name: value}``, to merge over a deliberation's
    settings (an empty field: ``[]``).

    >>> parse_setting("demographics", "[]")
    {'demographics': []}
    """
    if name not in DeliberationConfig.model_fields:
        raise InvalidInput(f"There is no setting {ascii_safe(name)!r}.")
    source = f"The {name} field"
    value = _load_any(text, source) if text.strip() else []
    check_strings(value, what=source)
    return {name: value}


def _load(text: str, source: str) -> dict[str, Any]:
    """JSON text parsed under the bounds (size, depth, numbers, repeated keys, strings): an object."""
    data = _load_any(text, source)
    if not isinstance(data, dict):
        raise InvalidInput(f"{source} should hold a JSON object of settings.")
    check_strings(data, what=source)
    return data


def _load_any(text: str, source: str) -> Any:
    """JSON text parsed under the bounds (size, depth, numbers, repeated keys)."""
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_CONFIG_BYTES:
        raise InvalidInput(_too_large(source, size))
    text = text.removeprefix("\ufeff")  # a byte-order mark some editors write
    if json_depth(text) > MAX_CONFIG_DEPTH:
        raise InvalidInput(f"{source}: nested too deeply (at most {MAX_CONFIG_DEPTH} levels of [ and {{).")
    try:
        data = json.loads(
            text,
            parse_constant=lambda name: _refuse(f"{source}: {name} is not allowed, only finite numbers."),
            parse_int=lambda digits: _number(digits, int, source),
            parse_float=lambda digits: _number(digits, float, source),
            object_pairs_hook=lambda pairs: _object(pairs, source),
        )
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"{source} is not valid JSON (line {exc.lineno}: {exc.msg}).") from exc
    except RecursionError as exc:  # belt and braces: json_depth already refused it
        raise InvalidInput(f"{source}: nested too deeply.") from exc
    return data


def check_config(data: Any, *, source: str = "The settings") -> dict[str, Any]:
    """A deliberation's settings checked as new input, the one check every front end's settings go through
    (the console's form, the settings JSON, the CLI's ``--config`` and ``--settings``, creating and editing):
    an object, no NUL or lone surrogate in a string, every field in its bounds and every rule of
    :class:`storage.schemas.DeliberationConfig` (strict: a choice question needs options, no unknown key,
    no type coercion). Returns the full settings, defaults filled in; settings read back from a row are
    read leniently instead (:meth:`DeliberationConfig.stored`).

    >>> check_config({"demographics": [{"key": "party", "label": "Party", "required": True}]})
    Traceback (most recent call last):
    ...
    errors.InvalidInput: demographics.0: a choice question needs options
    """
    if not isinstance(data, dict):
        raise InvalidInput(f"{source} should be an object of settings.")
    check_strings(data, what=source)
    try:
        return DeliberationConfig.model_validate(data).model_dump()
    except ValidationError as exc:
        raise InvalidInput.from_validation(exc) from exc


def json_depth(text: str) -> int:
    """How deeply the arrays and objects of JSON ``text`` nest (brackets inside strings do not count),
    scanned without parsing, so that a deep document is refused before a parser recurses into it.

    >>> json_depth('{"a": [[1], "[[["]}'), json_depth("3")
    (3, 0)
    """
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def _refuse(message: str) -> NoReturn:
    raise InvalidInput(message)


def _number(digits: str, kind: type[int] | type[float], source: str) -> int | float:
    if len(digits) > MAX_NUMBER_CHARS:
        _refuse(f"{source}: a number of {len(digits):,} characters; numbers here are short.")
    number = kind(digits)
    if not math.isfinite(number):
        _refuse(f"{source}: the number {digits} is too large.")
    return number


def _object(pairs: list[tuple[str, Any]], source: str) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            _refuse(f"{source}: the key {ascii_safe(key)!r} appears twice; keep one.")
        found[key] = value
    return found
