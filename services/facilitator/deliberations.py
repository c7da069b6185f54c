"""Facilitator actions: set up deliberations and invite people."""

from __future__ import annotations

import json
import math
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from pydantic import ValidationError
from sqlalchemy import Engine

from errors import InvalidInput
from interviews.text_rules import ascii_safe, check_strings, check_text
from interviews.vocabulary import DeliberationStatus, values_of
from settings import base_url_problem
from storage import repo_deliberations, repo_participants
from storage.db import session_scope
from storage.schemas import (
    CohortCreate,
    DeliberationConfig,
    DeliberationCreate,
    DeliberationPublic,
    InviteCreate,
    InvitePublic,
    QuestionPublic,
)
from storage.tables import Deliberation, utcnow

MAX_INVITES_PER_CALL = 10_000
#: The largest settings JSON (a file or the facilitator page's field), in bytes of UTF-8.
MAX_CONFIG_BYTES = 64 * 1024
#: How deeply the settings JSON may nest arrays and objects (the settings themselves need 4).
MAX_CONFIG_DEPTH = 10
#: The longest number literal in the settings JSON.
MAX_NUMBER_CHARS = 30


def create_deliberation(
    engine: Engine,
    *,
    title: str,
    questions: list[str],
    welcome_text: str = "",
    consent_text: str = "",
    config: dict[str, Any] | None = None,
) -> DeliberationPublic:
    """Create a deliberation with its questions; raises :class:`InvalidInput` on a bad field (a text over
    its cap, a NUL or a lone surrogate anywhere, a setting out of bounds)."""
    if not questions:
        raise InvalidInput("A deliberation needs at least one question.")
    check_text(title, what="The title")
    for i, question in enumerate(questions, 1):
        check_text(question, what=f"Question {i}")
    check_text(welcome_text, what="The welcome text")
    check_text(consent_text, what="The consent text")
    check_strings(config or {}, what="The settings")
    try:
        data = DeliberationCreate(
            title=title,
            questions=questions,
            welcome_text=welcome_text,
            consent_text=consent_text,
            config=config or {},
        )
    except ValidationError as exc:
        raise InvalidInput.from_validation(exc) from exc
    with session_scope(engine) as session:
        deliberation = repo_deliberations.create_deliberation(session, data=data)
        return _public(session, deliberation)


def read_config_file(path: Path) -> dict[str, Any]:
    """A deliberation's settings from a JSON file, checked (one clear line for a bad file or field).

    Only a regular file of at most :data:`MAX_CONFIG_BYTES` is read (a directory, a device such as
    ``/dev/zero`` or a pipe is refused without reading it), as UTF-8 (a byte-order mark is allowed).
    """
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
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{shown} is not UTF-8 text (byte {exc.start + 1} is not valid UTF-8).") from exc
    return parse_config(text, source=shown)


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
    text = text.removeprefix("\ufeff")  # a byte-order mark some editors write
    if not text.strip():
        return DeliberationConfig().model_dump()
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
    if not isinstance(data, dict):
        raise InvalidInput(f"{source} should hold a JSON object of settings.")
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


def list_deliberations(engine: Engine) -> list[DeliberationPublic]:
    with session_scope(engine) as session:
        return [_public(session, d) for d in repo_deliberations.list_deliberations(session)]


def get_deliberation(engine: Engine, *, deliberation_id: int) -> DeliberationPublic:
    with session_scope(engine) as session:
        return _public(session, repo_deliberations.get_deliberation(session, deliberation_id=deliberation_id))


def set_status(engine: Engine, *, deliberation_id: int, status: str) -> DeliberationPublic:
    """Open, close or archive a deliberation (closed ones accept no new participants)."""
    if status not in values_of(DeliberationStatus):
        raise InvalidInput(f"A status is one of {', '.join(DeliberationStatus)} (got {status!r}).")
    with session_scope(engine) as session:
        deliberation = repo_deliberations.get_deliberation(session, deliberation_id=deliberation_id)
        deliberation.status, deliberation.updated_at = status, utcnow()
        session.add(deliberation)
        return _public(session, deliberation)


def check_base_url(base_url: str) -> str:
    """``base_url`` without a trailing slash when links may start with it (:func:`settings.base_url_problem`:
    http(s) only, a host, no credentials, query or fragment), else :class:`InvalidInput`.

    >>> check_base_url("https://studio.example.org/")
    'https://studio.example.org'
    >>> check_base_url("javascript:alert(1)//")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    errors.InvalidInput: The base URL of links must be an http:// or https:// address ...
    """
    problem = base_url_problem(base_url)
    if problem is not None:
        shown = ascii_safe(base_url if len(base_url) <= 80 else base_url[:80] + "...")
        raise InvalidInput(f"The base URL of links {problem} (got {shown!r}).")
    return base_url.rstrip("/")


def open_link(engine: Engine, *, deliberation_id: int, base_url: str) -> str:
    """The deliberation's open join link (anyone with it can take part; ``&pid=`` adds a panel id)."""
    base_url = check_base_url(base_url)
    with session_scope(engine) as session:
        deliberation = repo_deliberations.get_deliberation(session, deliberation_id=deliberation_id)
        code = repo_deliberations.set_open_join_code(session, deliberation=deliberation)
    return f"{base_url.rstrip('/')}/join?code={code}"


@dataclass(frozen=True)
class InviteLink:
    invite: InvitePublic
    url: str


def invite_url(base_url: str, code: str) -> str:
    """The link a person opens to join with invite ``code``."""
    return f"{base_url.rstrip('/')}/join?invite={code}"


def create_invites(
    engine: Engine, *, deliberation_id: int, count: int, base_url: str, cohort: str | None = None
) -> list[InviteLink]:
    """Create ``count`` single-use invite links (optionally in a named cohort)."""
    if not 1 <= count <= MAX_INVITES_PER_CALL:
        raise InvalidInput(f"count must be between 1 and {MAX_INVITES_PER_CALL} (got {count}).")
    base_url = check_base_url(base_url)
    cohort_name = check_text((cohort or "").strip(), what="The cohort name") or None
    try:
        named = CohortCreate(deliberation_id=deliberation_id, name=cohort_name) if cohort_name else None
    except ValidationError as exc:
        raise InvalidInput.from_validation(exc) from exc
    with session_scope(engine) as session:
        cohort_id = None
        if named is not None:
            repo_deliberations.get_deliberation(session, deliberation_id=deliberation_id)
            cohort_id = repo_deliberations.get_or_create_cohort(session, data=named).id
        invites = repo_deliberations.create_invites(
            session, data=InviteCreate(deliberation_id=deliberation_id, cohort_id=cohort_id), count=count
        )
        return [
            InviteLink(
                invite=InvitePublic.model_validate(invite, update={"cohort": cohort_name}),
                url=invite_url(base_url, invite.code),
            )
            for invite in invites
        ]


def _public(session: Any, deliberation: Deliberation) -> DeliberationPublic:
    assert deliberation.id is not None
    questions = [
        QuestionPublic.model_validate(q)
        for q in repo_deliberations.list_questions(session, deliberation_id=deliberation.id)
    ]
    return DeliberationPublic.model_validate(
        deliberation,
        update={
            "questions": questions,
            "participant_count": repo_participants.count_participants(
                session, deliberation_id=deliberation.id
            ),
        },
    )
