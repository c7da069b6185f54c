"""The closed sets of interviews.vocabulary against the CHECK constraints the migrations wrote.

Migrations are history and keep their own copy of each set, so nothing but this test binds the two: it
upgrades a fresh database with the real migrations (SQLite and PostgreSQL), reads every CHECK constraint
back from the database's catalogue, parses its ``IN (...)`` list and compares it with the Python set, and it
compares the tables' own constraints (the SQLModel metadata) with the migrated ones. A set changed without
a migration, or a migration changed without the set, fails here.
"""

from __future__ import annotations

import re
from enum import StrEnum

import pytest
from sqlalchemy import CheckConstraint, Connection, Engine, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.schema import CreateTable
from sqlmodel import SQLModel

import storage.tables  # noqa: F401  (registers the tables)
from graph.model import Answer
from interviews.vocabulary import (
    CardStatus,
    DeliberationStatus,
    JobKind,
    JobStatus,
    JudgementAnswer,
    MessageRole,
    MessageStatus,
    ParticipantStage,
    Stage,
    values_of,
)
from storage.repo_judgements import ANSWER_CODES

#: Each CHECK constraint that holds a closed set: its column and the vocabulary it must equal.
CLOSED_SETS: dict[str, tuple[str, type[StrEnum]]] = {
    "ck_deliberation_status": ("status", DeliberationStatus),
    "ck_interview_state": ("state", Stage),
    "ck_participant_stage": ("stage", ParticipantStage),
    "ck_message_role": ("role", MessageRole),
    "ck_message_status": ("status", MessageStatus),
    "ck_valuescard_status": ("status", CardStatus),
    "ck_judgement_answer": ("answer", JudgementAnswer),
    "ck_jobrun_status": ("status", JobStatus),
    "ck_jobrun_kind": ("kind", JobKind),
}
#: The other CHECK constraints (no closed set in them).
OTHER_CHECKS = {"ck_edgehypothesis_not_self"}

_CHECK = re.compile(r'(?:CONSTRAINT\s+"?(\w+)"?\s+)?CHECK\s*\(', re.IGNORECASE)
_LITERAL = r"'(?:[^']|'')*'(?:::[\w ]+)?"  # a string literal, with PostgreSQL's cast when it adds one
_LITERALS = re.compile(rf"\s*{_LITERAL}\s*(?:,\s*{_LITERAL}\s*)*")
_ITEMS = r"((?:'(?:[^']|'')*'|[^'()\[\]])*)"  # what a list holds, up to its closing bracket
_SQLITE_IN = re.compile(rf'\(*\s*"?(\w+)"?\s+IN\s*\({_ITEMS}\)\s*\)*', re.IGNORECASE)
# PostgreSQL stores ``x IN ('a', 'b')`` as
# ``((x)::text = ANY ((ARRAY['a'::character varying, ...])::text[]))``
_POSTGRES_ANY = re.compile(
    r'\(*\s*"?(\w+)"?\s*\)?(?:::[\w ]+?)?'  # the column, with its cast
    rf"\s*=\s*ANY\s*\(\s*\(?\s*ARRAY\[{_ITEMS}\]\s*\)?(?:::[\w ]+\[\])?\s*\)\s*\)*",  # = ANY (ARRAY[...])
    re.IGNORECASE,
)


def _closing_paren(sql: str, start: int) -> int:
    """The index of the ``)`` closing the ``(`` just before ``start`` (string literals skipped)."""
    depth, i = 1, start
    while depth:
        if i >= len(sql):
            raise ValueError(f"unbalanced parentheses in {sql!r}")
        char = sql[i]
        if char == "'":
            i = sql.index("'", i + 1)
            while sql.startswith("''", i):  # an escaped quote inside the literal
                i = sql.index("'", i + 2)
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        i += 1
    return i - 1


def checks_in(sql: str) -> list[tuple[str | None, str]]:
    """``(name, expression)`` of every CHECK in a CREATE TABLE statement (or one ``CHECK (...)`` text).

    >>> checks_in("CREATE TABLE t (a TEXT, CONSTRAINT ck_t_a CHECK (a IN ('x', 'y')), CHECK (a <> ''))")
    [('ck_t_a', "a IN ('x', 'y')"), (None, "a <> ''")]
    """
    found = []
    for match in _CHECK.finditer(sql):
        end = _closing_paren(sql, match.end())
        found.append((match.group(1), sql[match.end() : end].strip()))
    return found


def in_list(expression: str) -> tuple[str, tuple[str, ...]]:
    """The column and the strings of a CHECK's ``column IN (...)`` list, as SQLite or PostgreSQL stores it.

    Raises :class:`ValueError` for any other expression (a comparison, a list with something else in it).

    >>> in_list("status IN ('draft', 'it''s')")
    ('status', ('draft', "it's"))
    """
    for pattern in (_SQLITE_IN, _POSTGRES_ANY):
        match = pattern.fullmatch(expression.strip())
        if match and _LITERALS.fullmatch(match.group(2)):
            values = re.findall(r"'((?:[^']|'')*)'", match.group(2))
            return match.group(1), tuple(v.replace("''", "'") for v in values)
    raise ValueError(f"not a CHECK of a column against a list of strings: {expression!r}")


def closed_set_problems(checks: dict[str, str]) -> list[str]:
    """What disagrees between the database's CHECK constraints (name -> expression) and the vocabulary."""
    problems = []
    unknown = sorted(set(checks) - set(CLOSED_SETS) - OTHER_CHECKS)
    missing = sorted((set(CLOSED_SETS) | OTHER_CHECKS) - set(checks))
    problems += [f"{name}: a CHECK constraint this test does not know" for name in unknown]
    problems += [f"{name}: no such CHECK constraint in the database" for name in missing]
    for name, (column, vocabulary) in CLOSED_SETS.items():
        if name not in checks:
            continue
        found_column, found = in_list(checks[name])
        expected = values_of(vocabulary)
        if found_column != column:
            problems.append(f"{name}: checks column {found_column!r}, not {column!r}")
        if set(found) != set(expected):
            problems.append(
                f"{name}: the database allows {sorted(found)}, {vocabulary.__name__} has {sorted(expected)}"
            )
    return problems


def database_checks(connection: Connection) -> dict[str, str]:
    """Every CHECK constraint of the database, name -> expression, read from its catalogue."""
    if connection.dialect.name == "sqlite":
        tables = connection.execute(text("SELECT sql FROM sqlite_master WHERE type = 'table'")).scalars()
        found = [check for sql in tables if sql for check in checks_in(sql)]
    else:
        rows = connection.execute(
            text(
                "SELECT c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c "
                "JOIN pg_namespace n ON n.oid = c.connamespace "
                "WHERE c.contype = 'c' AND n.nspname = current_schema()"
            )
        ).all()
        found = [(name, checks_in(definition)[0][1]) for name, definition in rows]
    assert all(name for name, _ in found), f"an unnamed CHECK constraint: {found}"
    return {str(name): expression for name, expression in found}


def metadata_checks() -> dict[str, str]:
    """Every CHECK constraint of the tables (SQLModel metadata) as SQLite would create it."""
    found: dict[str, str] = {}
    for table in SQLModel.metadata.sorted_tables:
        if any(isinstance(c, CheckConstraint) for c in table.constraints):
            ddl = str(CreateTable(table).compile(dialect=sqlite.dialect()))
            found.update((str(name), expression) for name, expression in checks_in(ddl))
    return found


def test_every_closed_set_equals_its_migrated_constraint(engine: Engine) -> None:
    with engine.connect() as connection:
        assert closed_set_problems(database_checks(connection)) == []


def test_the_tables_constraints_are_the_migrated_ones(engine: Engine) -> None:
    with engine.connect() as connection:
        migrated = database_checks(connection)
    declared = metadata_checks()
    assert set(declared) == set(migrated)
    for name in CLOSED_SETS:
        column, values = in_list(declared[name])
        assert (column, set(values)) == (in_list(migrated[name])[0], set(in_list(migrated[name])[1])), name
    assert closed_set_problems(declared) == []


def test_the_parser_reads_both_dialects_and_nothing_else() -> None:
    sqlite_form = "status IN ('draft', 'open')"
    postgres_form = (
        "((status)::text = ANY ((ARRAY['draft'::character varying, 'open'::character varying])::text[]))"
    )
    assert in_list(sqlite_form) == in_list(postgres_form) == ("status", ("draft", "open"))
    assert checks_in(f"CHECK ({postgres_form})") == [(None, postgres_form)]
    for not_a_list in ("from_value_id <> to_value_id", "status IN ('draft', lower(title))", "status = 'x'"):
        with pytest.raises(ValueError, match="not a CHECK"):
            in_list(not_a_list)


def test_a_set_and_a_constraint_that_disagree_are_reported() -> None:
    """The comparison can fail: a member missing from the database, an extra one, a wrong column."""
    good = {
        name: f"{column} IN ({', '.join(repr(v) for v in values_of(vocab))})"
        for name, (column, vocab) in CLOSED_SETS.items()
    }
    good |= {name: "from_value_id <> to_value_id" for name in OTHER_CHECKS}
    assert closed_set_problems(good) == []
    dropped = good | {"ck_interview_state": "state IN ('opening', 'story')"}
    assert closed_set_problems(dropped) == [
        "ck_interview_state: the database allows ['opening', 'story'], Stage has "
        "['abandoned', 'attention', 'opening', 'revise', 'show_card', 'story', 'submitted', 'zoom_in']"
    ]
    extra = good | {"ck_judgement_answer": "answer IN ('upgrade', 'no_upgrade', 'not_sure', 'maybe')"}
    assert len(closed_set_problems(extra)) == 1
    moved = good | {"ck_message_role": "kind IN ('user', 'assistant', 'note')"}
    assert closed_set_problems(moved) == ["ck_message_role: checks column 'kind', not 'role'"]
    unknown = good | {"ck_context_source": "source IN ('mined')"}
    assert closed_set_problems(unknown) == ["ck_context_source: a CHECK constraint this test does not know"]


def test_stored_answers_are_the_graph_engines_answers() -> None:
    """graph/ cannot import the vocabulary, so its Answer codes and the stored names are bound here."""
    assert values_of(JudgementAnswer) == tuple(a.name.lower() for a in sorted(Answer))
    assert ANSWER_CODES == {a.name.lower(): int(a) for a in Answer}
    assert all(Answer.parse(name) == code for name, code in ANSWER_CODES.items())
