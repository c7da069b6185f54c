"""Every hostile input of :mod:`tests.hostile.input_corpus` that the command line can carry: an id argument,
a ``--config`` file (its JSON and the file itself), a text option, a ``--base-url``. Refused: exit 1 (a
domain error) or 2 (a usage mistake) with one ``Error:`` line and no traceback, nothing stored (read back);
accepted: stored exactly.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import Result
from sqlalchemy import Engine, func
from sqlmodel import select

from services.facilitator import deliberations
from storage import db
from storage.db import session_scope
from storage.tables import Deliberation, Invite
from tests.cli_runner import cli_env, run
from tests.hostile.input_corpus import BAD_ID, InputCase, contains, ids, make_path, of


@dataclass(frozen=True)
class Cli:
    env: dict[str, str]
    engine: Engine
    folder: Path


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cli]:
    """One database for the module, holding deliberation 1 (made by the command line itself)."""
    folder = tmp_path_factory.mktemp("cli-inputs")
    env = cli_env(folder, PUBLIC_BASE_URL="https://studio.example.org")
    assert run(env, "deliberation", "create", "--title", "First", "--question", "Q?").output == "1\n"
    assert run(env, "deliberation", "status", "1", "open").exit_code == 0  # invites need an open one
    engine = db.init_db(env["DATABASE_URL"])
    yield Cli(env, engine, folder)
    engine.dispose()


def _count(cli: Cli, table: type[Deliberation] | type[Invite]) -> int:
    with session_scope(cli.engine) as s:
        return s.exec(select(func.count()).select_from(table)).one()


def _one_error_line(result: Result, case: InputCase) -> str:
    """Exit 1 or 2, one ``Error:`` line saying ``case.says``; never a traceback."""
    assert result.exit_code in (1, 2), result.output
    assert isinstance(result.exception, SystemExit)
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    assert case.says in lines[0], lines[0]
    assert "Traceback" not in result.output
    return lines[0]


COMMANDS = [
    ("invite", "--count", "1", "--"),
    ("deliberation", "status", "--"),
    ("build", "--"),
    ("values", "show", "--"),
    ("grade", "--"),
    ("deliberation", "link", "--"),
    ("contexts", "--"),
    ("mine-contexts", "--"),
    ("seed", "list", "--"),
    ("seed", "remove", "--"),
]


def _with_id(command: tuple[str, ...], value: str) -> list[str]:
    """``command`` with ``value`` as its id (after ``--``, so that ``-1`` is an id, not an option)."""
    return [*command, value, *(["open"] if command[:2] == ("deliberation", "status") else [])]


ID_CASES = of("id", cli=True)


@pytest.mark.parametrize("case", ID_CASES, ids=ids(ID_CASES))
def test_an_id_argument_is_an_id_or_a_usage_mistake(case: InputCase, cli: Cli) -> None:
    command = COMMANDS[ID_CASES.index(case) % len(COMMANDS)]
    result = run(cli.env, *_with_id(command, case.value))
    if case.accepted:  # a real id: done, or one line saying there is no such row
        assert result.exit_code in (0, 1), result.output
        if result.exit_code == 1:
            assert result.output.startswith("Error: ") and len(result.output.strip().splitlines()) == 1
        return
    assert result.exit_code == 2
    _one_error_line(result, case)


@pytest.mark.parametrize("command", COMMANDS, ids=[" ".join(c[:2]).strip(" -") for c in COMMANDS])
def test_every_id_argument_refuses_a_huge_id(command: tuple[str, ...], cli: Cli) -> None:
    result = run(cli.env, *_with_id(command, "99999999999999999999999"))
    assert result.exit_code == 2 and BAD_ID in result.output and len(result.output.strip().splitlines()) == 1


def test_id_options_use_the_same_type(cli: Cli) -> None:
    for args in (
        ["dedup", "1", "--question", "²"],
        ["values", "list", "1", "--question", "-5"],
        ["values", "split", "1", "--card", "1e3", "--reason", "r"],
        ["values", "merge", "1", "99999999999999999999999", "--reason", "r"],
        ["contexts", "0"],
        ["stories", "٣"],
        ["seed", "add", "1", "--question", "-5", "--title", "T", "--description", "D", "--policy", "P"],
        ["seed", "generate", "1", "--question", "1.5"],
        ["pipeline", "0"],
    ):
        result = run(cli.env, *args)
        assert result.exit_code == 2 and BAD_ID in result.output, (args, result.output)


def _create(cli: Cli, *extra: str, title: str = "Made", question: str = "Q?") -> Result:
    return run(cli.env, "deliberation", "create", "--title", title, "--question", question, *extra)


def _created_config(cli: Cli, result: Result) -> dict:
    assert result.exit_code == 0, result.output
    made = int(result.output.strip())
    return deliberations.get_deliberation(cli.engine, deliberation_id=made).config


@pytest.mark.parametrize("case", of("config"), ids=ids(of("config")))
def test_a_config_files_json_is_bounded(case: InputCase, cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text(case.value, encoding="utf-8", errors="surrogatepass")
    before = _count(cli, Deliberation)
    result = _create(cli, "--config", str(path))
    if case.accepted:
        assert contains(_created_config(cli, result), case.expected)
        return
    assert result.exit_code == 1
    _one_error_line(result, case)
    assert _count(cli, Deliberation) == before


@pytest.mark.parametrize("case", of("config_file"), ids=ids(of("config_file")))
def test_a_config_path_is_read_only_when_it_is_a_small_utf8_file(
    case: InputCase, cli: Cli, tmp_path: Path
) -> None:
    path = make_path(case.value, tmp_path)
    before = _count(cli, Deliberation)
    result = _create(cli, "--config", str(path))
    if case.accepted:
        assert contains(_created_config(cli, result), case.expected)
        return
    _one_error_line(result, case)
    assert _count(cli, Deliberation) == before


TEXT_OPTIONS = {"title": "--title", "question": "--question", "welcome": "--welcome", "consent": "--consent"}
TEXT_CASES = [c for c in of("text", cli=True) if c.value[0] in (*TEXT_OPTIONS, "cohort")]


@pytest.mark.parametrize("case", TEXT_CASES, ids=ids(TEXT_CASES))
def test_a_text_option_is_stored_exactly_or_refused_whole(case: InputCase, cli: Cli) -> None:
    name, text = case.value
    before = (_count(cli, Deliberation), _count(cli, Invite))
    if name == "cohort":
        result = run(cli.env, "invite", "1", "--cohort", text)
    else:
        options = {"--title": "T", "--question": "Q?", "--welcome": "", "--consent": ""} | {
            TEXT_OPTIONS[name]: text
        }
        result = run(cli.env, "deliberation", "create", *[part for pair in options.items() for part in pair])
    if not case.accepted:
        assert result.exit_code == 1
        _one_error_line(result, case)
        assert (_count(cli, Deliberation), _count(cli, Invite)) == before
        return
    assert result.exit_code == 0, result.output
    if name == "cohort":
        with session_scope(cli.engine) as s:
            assert len(s.exec(select(Invite)).all()) == before[1] + 1
        return
    made = deliberations.get_deliberation(cli.engine, deliberation_id=int(result.output))
    stored = {"title": made.title, "question": made.questions[0].text, "welcome": made.welcome_text}
    assert (stored | {"consent": made.consent_text})[name] == case.expected


URL_CASES = of("base_url", cli=True)


@pytest.mark.parametrize("case", URL_CASES, ids=ids(URL_CASES))
def test_a_base_url_is_an_http_address_or_refused(case: InputCase, cli: Cli) -> None:
    invites = _count(cli, Invite)
    link = run(cli.env, "deliberation", "link", "1", "--base-url", case.value)
    invite = run(cli.env, "invite", "1", "--count", "2", "--base-url", case.value)
    public = run({**cli.env, "PUBLIC_BASE_URL": case.value}, "deliberation", "link", "1")
    if case.accepted:
        assert link.exit_code == invite.exit_code == public.exit_code == 0
        assert link.output.startswith(f"{case.expected}/join?code=") and public.output == link.output
        assert [line.split("invite=")[0] for line in invite.output.splitlines()] == [
            f"{case.expected}/join?"
        ] * 2
        return
    for result in (link, invite, public):
        assert result.exit_code == 1
        _one_error_line(result, case)
    assert "PUBLIC_BASE_URL" in public.output
    assert _count(cli, Invite) == invites
