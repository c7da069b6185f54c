"""The facilitator commands: add (password typed twice, or on stdin), list, disable, enable, password,
unlock."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from click.testing import CliRunner, Result

from cli import cli
from services.facilitator import accounts, system
from settings import load_settings
from tests.cli_runner import cli_env, run

PASSWORD = "a long enough password"


@pytest.fixture(autouse=True)
def cheap_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(accounts, "HASHER", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return cli_env(tmp_path)


def invoke(env: dict[str, str], *args: str, typed: str) -> Result:
    return CliRunner().invoke(cli, list(args), env=env, input=typed, catch_exceptions=False)


def signs_in(env: dict[str, str], name: str, password: str) -> bool:
    settings = load_settings(environ=env, secrets={})
    engine = system.open_database(settings)
    try:
        return accounts.sign_in(engine, settings, name=name, password=password, client="test").ok
    finally:
        engine.dispose()


def test_add_asks_for_the_password_twice_and_the_account_signs_in(env: dict[str, str]) -> None:
    result = invoke(env, "facilitator", "add", "ana@example.org", typed=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert "Facilitator account ana@example.org created" in result.output
    assert PASSWORD not in result.output  # typed hidden
    assert signs_in(env, "ana@example.org", PASSWORD)
    listed = run(env, "facilitator", "list")
    (line,) = listed.stdout.splitlines()
    name, status, password, last = line.split("\t")
    assert (name, status, password) == ("ana@example.org", "enabled", "password")
    assert datetime.fromisoformat(last).tzinfo is not None  # the sign-in above
    assert "argon2" not in listed.output


def test_two_different_passwords_are_asked_again(env: dict[str, str]) -> None:
    typed = f"{PASSWORD}\nsomething else\n{PASSWORD}\n{PASSWORD}\n"
    result = invoke(env, "facilitator", "add", "ana", typed=typed)
    assert result.exit_code == 0 and "do not match" in result.output.lower()
    assert signs_in(env, "ana", PASSWORD)


def test_add_reads_the_password_from_stdin(env: dict[str, str]) -> None:
    result = invoke(env, "facilitator", "add", "bo", "--password-stdin", typed=f"{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert signs_in(env, "bo", PASSWORD) and not signs_in(env, "bo", PASSWORD + "\n")


@pytest.mark.parametrize(
    ("args", "typed", "says"),
    [
        (("facilitator", "add", "bo", "--password-stdin"), "short\n", "too short"),
        (("facilitator", "add", "bo", "--password-stdin"), "", "No password on stdin"),
        (("facilitator", "add", "a\tb", "--password-stdin"), f"{PASSWORD}\n", "control characters"),
        (("facilitator", "disable", "nobody"), "", "no facilitator account named 'nobody'"),
        (("facilitator", "unlock", "nobody"), "", "no facilitator account named 'nobody'"),
        (
            ("facilitator", "password", "nobody", "--password-stdin"),
            f"{PASSWORD}\n",
            "no facilitator account",
        ),
    ],
)
def test_mistakes_are_one_line(env: dict[str, str], args: tuple[str, ...], typed: str, says: str) -> None:
    result = invoke(env, *args, typed=typed)
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: ") and says in result.stderr and result.stderr.count("\n") == 1


def test_a_taken_name_is_refused_before_the_password_is_asked(env: dict[str, str]) -> None:
    assert invoke(env, "facilitator", "add", "Ana", "--password-stdin", typed=f"{PASSWORD}\n").exit_code == 0
    result = invoke(env, "facilitator", "add", "ana", typed="")
    assert result.exit_code == 1 and "already an account named 'Ana'" in result.stderr
    assert "Password" not in result.output


def test_disable_enable_and_a_new_password(env: dict[str, str]) -> None:
    invoke(env, "facilitator", "add", "ana", "--password-stdin", typed=f"{PASSWORD}\n")
    disabled = run(env, "facilitator", "disable", "ana")
    assert disabled.exit_code == 0 and "disabled" in disabled.output
    assert run(env, "facilitator", "list").stdout.split("\t")[1] == "disabled"
    assert not signs_in(env, "ana", PASSWORD)
    assert run(env, "facilitator", "enable", "ana").exit_code == 0
    assert signs_in(env, "ana", PASSWORD)
    new = "a different long password"
    changed = invoke(env, "facilitator", "password", "ana", typed=f"{new}\n{new}\n")
    assert changed.exit_code == 0 and "sessions have ended" in changed.output
    assert signs_in(env, "ana", new) and not signs_in(env, "ana", PASSWORD)


def test_list_says_when_there_is_no_account(env: dict[str, str]) -> None:
    result = run(env, "facilitator", "list")
    assert result.exit_code == 0 and result.stdout == ""
    assert "python cli.py facilitator add NAME" in result.stderr


def test_unlock_lets_a_locked_account_sign_in_at_once(env: dict[str, str]) -> None:
    invoke(env, "facilitator", "add", "ana", "--password-stdin", typed=f"{PASSWORD}\n")
    for _ in range(accounts.FREE_FAILURES + 1):
        assert not signs_in(env, "ana", "wrong password!")
    assert not signs_in(env, "ana", PASSWORD)  # locked: even the right password waits
    result = run(env, "facilitator", "unlock", "ANA")
    assert result.exit_code == 0 and "Facilitator account ana is unlocked" in result.stdout
    assert signs_in(env, "ana", PASSWORD)
    settings = load_settings(environ=env, secrets={})
    engine = system.open_database(settings)
    try:
        (latest_unlock,) = [a for a in accounts.recent_attempts(engine) if a.reason == accounts.UNLOCKED]
    finally:
        engine.dispose()
    assert latest_unlock.account_name == "ana" and latest_unlock.client.startswith("cli:")
