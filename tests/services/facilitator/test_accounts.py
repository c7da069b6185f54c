"""Facilitator accounts through the database (SQLite and PostgreSQL): argon2id hashes, the rate limit per
(account, client), per client and per account overall (also under parallel attempts), unlocking, the
sign-in log, signed sessions, OpenID Connect sign-ins (issue 12 item 1)."""

from __future__ import annotations

import base64
import json
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine
from sqlmodel import select

from errors import InvalidInput
from services.facilitator import accounts
from settings import Settings, SettingsError, load_settings
from storage import db
from storage.db import session_scope
from storage.tables import AppSecret, FacilitatorAccount, ModerationEvent, SignInAttempt

CHEAP = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
T0 = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
PASSWORD = "a long enough password"


@pytest.fixture(autouse=True)
def cheap_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(accounts, "HASHER", CHEAP)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(environ={"DATA_DIR": str(tmp_path)}, secrets={})


def _sign_in(engine: Engine, settings: Settings, name: str, password: str, *, client: str = "1.2.3.4", at=T0):
    return accounts.sign_in(engine, settings, name=name, password=password, client=client, now=at)


def _log(engine: Engine) -> list[tuple[str, str, bool, str]]:
    with session_scope(engine) as s:
        rows = s.exec(select(SignInAttempt).order_by(SignInAttempt.id)).all()
        return [(r.account_name, r.client, r.ok, r.reason) for r in rows]


# ------------------------------------------------------------------------------------------- accounts


def test_an_account_stores_an_argon2id_hash_and_signs_in(engine: Engine, settings: Settings) -> None:
    made = accounts.add_account(engine, name=" ana@example.org ", password=PASSWORD, actor="test")
    assert made.name == "ana@example.org" and made.has_password and made.session_version == 0
    with session_scope(engine) as s:
        stored = s.exec(select(FacilitatorAccount)).one().password_hash
    assert stored is not None and stored.startswith("$argon2id$") and PASSWORD not in stored
    outcome = _sign_in(engine, settings, "Ana@Example.org", PASSWORD)  # the name's case does not matter
    assert outcome.ok and outcome.name == "ana@example.org" and outcome.token
    assert accounts.verify_session(engine, settings, outcome.token, now=T0) == "ana@example.org"
    assert accounts.list_accounts(engine)[0].last_signin_at is not None
    assert "password_hash" not in type(made).model_fields  # the public schema never carries it


def test_names_and_passwords_are_checked(engine: Engine) -> None:
    accounts.add_account(engine, name="ana", password=PASSWORD, actor="test")
    refused = {
        "": "empty",
        "a\tb": "control characters",
        "x" * 101: "too long",
        "bad\x00name": "NUL",
        "ANA": "already an account",
    }
    for name, says in refused.items():
        with pytest.raises(InvalidInput, match=says):
            accounts.add_account(engine, name=name, password=PASSWORD, actor="test")
    with pytest.raises(InvalidInput, match="too short"):
        accounts.add_account(engine, name="bo", password="short", actor="test")
    assert [a.name for a in accounts.list_accounts(engine)] == ["ana"]


def test_a_hash_with_old_parameters_is_replaced_at_sign_in(
    engine: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    accounts.add_account(engine, name="ana", password=PASSWORD, actor="test")
    stronger = PasswordHasher(time_cost=2, memory_cost=16, parallelism=1)
    monkeypatch.setattr(accounts, "HASHER", stronger)
    assert _sign_in(engine, settings, "ana", PASSWORD).ok
    with session_scope(engine) as s:
        rehashed = s.exec(select(FacilitatorAccount)).one().password_hash
    assert rehashed is not None and "m=16,t=2,p=1" in rehashed and not stronger.check_needs_rehash(rehashed)
    assert _sign_in(engine, settings, "ana", PASSWORD, at=T0 + timedelta(seconds=1)).ok


def test_a_disabled_account_cannot_sign_in_and_its_sessions_end(engine: Engine, settings: Settings) -> None:
    accounts.add_account(engine, name="ana", password=PASSWORD, actor="test")
    token = _sign_in(engine, settings, "ana", PASSWORD).token
    accounts.disable_account(engine, name="ana", actor="test")
    assert accounts.verify_session(engine, settings, token, now=T0) is None
    refused = _sign_in(engine, settings, "ana", PASSWORD, at=T0 + timedelta(seconds=1))
    assert not refused.ok and refused.token is None
    assert _log(engine)[-1] == ("ana", "1.2.3.4", False, accounts.DISABLED)
    accounts.enable_account(engine, name="ana", actor="test")
    assert _sign_in(engine, settings, "ana", PASSWORD, at=T0 + timedelta(seconds=2)).ok
    with pytest.raises(InvalidInput, match="no facilitator account named 'bo'"):
        accounts.disable_account(engine, name="bo", actor="test")


# ------------------------------------------------------------------------------------------- rate limit


def test_every_attempt_is_logged(engine: Engine, settings: Settings) -> None:
    accounts.add_account(engine, name="ana", password=PASSWORD, actor="test")
    _sign_in(engine, settings, "ana", PASSWORD)
    _sign_in(engine, settings, "ana", "wrong password!")
    _sign_in(engine, settings, "Nobody", PASSWORD)
    for n in range(4):  # the 4th failure in a row asks for a wait; the next attempt comes too soon
        _sign_in(engine, settings, "ana", "wrong password!", at=T0 + timedelta(seconds=10 + n * 100))
    _sign_in(engine, settings, "ana", PASSWORD, at=T0 + timedelta(seconds=311))
    assert _log(engine) == [
        ("ana", "1.2.3.4", True, "ok"),
        ("ana", "1.2.3.4", False, "wrong password"),
        ("nobody", "1.2.3.4", False, "unknown account"),
        *[("ana", "1.2.3.4", False, "wrong password")] * 4,
        ("ana", "1.2.3.4", False, "locked"),
    ]
    shown = accounts.recent_attempts(engine, limit=2)
    assert [a.reason for a in shown] == ["locked", "wrong password"]  # newest first


def test_delays_grow_per_account_and_client(engine: Engine, settings: Settings) -> None:
    accounts.add_account(engine, name="ana", password=PASSWORD, actor="test")
    waits = []
    for n in range(8):  # the same client, each after the previous wait is over
        at = T0 + timedelta(minutes=n * 20)
        outcome = _sign_in(engine, settings, "ana", "wrong password!", client="10.0.0.1", at=at)
        assert not outcome.ok
        waits.append(outcome.wait_s)
    assert waits == [0, 0, 0, 2, 4, 8, 16, 32]
    soon = T0 + timedelta(minutes=140, seconds=31)  # 31 s after the 8th failure: still 1 s to go
    locked = _sign_in(engine, settings, "ana", PASSWORD, client="10.0.0.1", at=soon)
    assert not locked.ok and locked.wait_s == pytest.approx(1.0)
    assert locked.message == "Too many failed sign-ins: wait 1 second before trying again."
    assert accounts.wait_needed(engine, name="ANA", client="10.0.0.1", now=soon) == pytest.approx(1.0)
    assert accounts.wait_needed(engine, name="ana", client="10.9.9.9", now=soon) == 0  # ana elsewhere
    assert _sign_in(engine, settings, "ana", PASSWORD, client="10.9.9.9", at=soon).ok
    later = _sign_in(engine, settings, "ana", PASSWORD, client="10.0.0.1", at=soon + timedelta(seconds=1))
    assert later.ok  # the right password after the wait, and the count starts again
    assert accounts.wait_needed(engine, name="ana", client="10.0.0.1", now=soon + timedelta(seconds=2)) == 0


def test_strangers_elsewhere_lock_an_account_only_after_many_failures(
    engine: Engine, settings: Settings
) -> None:
    accounts.add_account(engine, name="ana", password=PASSWORD, actor="test")
    free = accounts.ACCOUNT_FREE_FAILURES
    for n in range(free):  # one guess from each of many clients
        outcome = _sign_in(engine, settings, "ana", "wrong password!", client=f"10.1.0.{n}", at=T0)
        assert outcome.wait_s == 0
    assert _sign_in(engine, settings, "ana", PASSWORD, client="192.0.2.1", at=T0).ok  # ana still gets in
    for n in range(free + 2):  # the last one comes during the wait: refused, not counted
        _sign_in(engine, settings, "ana", "wrong password!", client=f"10.2.0.{n}", at=T0)
    assert accounts.wait_needed(engine, name="ana", client="192.0.2.1", now=T0) == 2  # now it counts
    assert accounts.wait_needed(engine, name="bo", client="192.0.2.1", now=T0) == 0


def test_unlock_forgives_the_failures_so_far_and_is_logged(engine: Engine, settings: Settings) -> None:
    accounts.add_account(engine, name="ana", password=PASSWORD, actor="test")
    for n in range(accounts.ACCOUNT_FREE_FAILURES + 5):
        _sign_in(engine, settings, "ana", "wrong password!", client="10.0.0.1" if n < 6 else f"10.3.0.{n}")
    assert accounts.wait_needed(engine, name="ana", client="192.0.2.1", now=T0) > 0
    assert accounts.wait_needed(engine, name="ana", client="10.0.0.1", now=T0) > 0
    assert accounts.wait_needed(engine, name="x", client="10.0.0.1", now=T0) > 0  # the client's own limit
    accounts.unlock(engine, name="ANA", actor="cli:admin", now=T0)
    for client in ("192.0.2.1", "10.0.0.1"):
        assert accounts.wait_needed(engine, name="ana", client=client, now=T0) == 0
    assert accounts.wait_needed(engine, name="x", client="10.0.0.1", now=T0) == 0  # its failures were on ana
    assert _log(engine)[-1] == ("ana", "cli:admin", False, accounts.UNLOCKED)
    with session_scope(engine) as s:
        events = s.exec(
            select(ModerationEvent).where(ModerationEvent.action == accounts.ACCOUNT_UNLOCK)
        ).all()
    assert [(e.actor, e.details["name"]) for e in events] == [("cli:admin", "ana")]
    _sign_in(engine, settings, "ana", "wrong password!", client="10.0.0.1", at=T0 + timedelta(seconds=1))
    assert accounts.wait_needed(engine, name="ana", client="10.0.0.1", now=T0) == 0  # counting anew
    with pytest.raises(InvalidInput, match="no facilitator account named 'bo'"):
        accounts.unlock(engine, name="bo", actor="cli:admin")


@pytest.mark.parametrize("same_name", [True, False])
def test_parallel_attempts_get_no_more_password_checks(
    engine: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch, same_name: bool
) -> None:
    """Ten attempts at once from one client (on one name, or each on another): only the free ones are
    checked, the others wait; every attempt is logged, none left provisional."""
    checks: list[str] = []
    lock = threading.Lock()

    class Counting(PasswordHasher):
        def verify(self, hash: str | bytes, password: str | bytes) -> bool:
            with lock:
                checks.append(str(password))
            return super().verify(hash, password)

    accounts.add_account(engine, name="ana", password=PASSWORD, actor="test")
    monkeypatch.setattr(accounts, "HASHER", Counting(time_cost=1, memory_cost=8, parallelism=1))
    barrier = threading.Barrier(10)
    outcomes: list[accounts.SignInOutcome] = []

    def attempt(n: int) -> None:
        barrier.wait()
        name = "ana" if same_name else f"guess{n}"
        outcomes.append(_sign_in(engine, settings, name, f"wrong guess {n}", client="6.6.6.6"))

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(outcomes) == 10 and not any(o.ok for o in outcomes)
    assert len(checks) == accounts.FREE_FAILURES + 1  # the 4th failure is the first that costs a wait
    assert sum(o.wait_s > 0 and o.message.startswith("Too many") for o in outcomes) == 10 - len(checks)
    reasons = [r[3] for r in _log(engine)]
    assert len(reasons) == 10 and accounts.CHECKING not in reasons
    assert reasons.count(accounts.LOCKED) == 10 - len(checks)


def test_a_name_or_password_breaking_the_rules_is_a_normal_refusal(
    engine: Engine, settings: Settings
) -> None:
    accounts.add_account(engine, name="ana", password=PASSWORD, actor="test")
    for name, password in (
        ("ana\x00", PASSWORD),
        ("ana", "x" * (accounts.PASSWORD_LIMIT + 1)),
        ("ana", "\ud800x"),
    ):
        outcome = _sign_in(engine, settings, name, password)
        assert not outcome.ok and outcome.message == "That name and password do not match."
    assert _log(engine) == [
        ("ana\ufffd", "1.2.3.4", False, accounts.UNKNOWN_ACCOUNT),
        ("ana", "1.2.3.4", False, accounts.WRONG_PASSWORD),
        ("ana", "1.2.3.4", False, accounts.WRONG_PASSWORD),
    ]
    assert _sign_in(engine, settings, "ana", PASSWORD).ok


def test_the_client_key_trusts_forwarded_only_behind_a_proxy() -> None:
    key = accounts.client_key
    forwarded = ["203.0.113.9", "6.6.6.6, 198.51.100.7"]  # a repeated header: its last line's last hop
    assert key("192.0.2.1", forwarded) == "192.0.2.1"  # no proxy: a client could write the header itself
    assert key(None, forwarded) == accounts.LOCAL_CLIENT
    assert key("192.0.2.1", forwarded, trusted_proxy=True) == "198.51.100.7"
    assert key("192.0.2.1", ["1.2.3.4, not an address"], trusted_proxy=True) == "192.0.2.1"
    assert key("2001:db8:1:2:3:4:5:6") == key("2001:db8:1:2:ffff::1") == "2001:db8:1:2::/64"
    assert key("2001:db8:1:3::1") != key("2001:db8:1:2::1")


def test_session_settings_are_capped(tmp_path: Path) -> None:
    def load(**env: str) -> Settings:
        return load_settings(environ={"DATA_DIR": str(tmp_path), **env}, secrets={})

    with pytest.raises(SettingsError, match="SESSION_SECRET must be at least 32 characters"):
        load(SESSION_SECRET="short secret")
    assert load(SESSION_SECRET="s" * 32).session_secret == "s" * 32
    with pytest.raises(SettingsError, match="SESSION_HOURS must be at most 2160"):
        load(SESSION_HOURS="100000")
    assert load(SESSION_HOURS="2160").session_hours == 2160
    assert load().trusted_proxy is False and load(TRUSTED_PROXY="1").trusted_proxy is True
    with pytest.raises(SettingsError, match="TRUSTED_PROXY must be 1"):
        load(TRUSTED_PROXY="maybe")


def test_delays_grow_per_client_whatever_the_name(engine: Engine, settings: Settings) -> None:
    waits = []
    for n in range(6):
        at = T0 + timedelta(minutes=n)
        waits.append(
            _sign_in(engine, settings, f"guess{n}", "wrong password!", client="6.6.6.6", at=at).wait_s
        )
    assert waits == [0, 0, 0, 2, 4, 8]
    assert accounts.wait_needed(engine, name="guess9", client="6.6.6.6", now=T0 + timedelta(minutes=5)) == 8
    assert accounts.wait_needed(engine, name="guess9", client="7.7.7.7", now=T0 + timedelta(minutes=5)) == 0


def test_the_delay_is_capped_and_old_failures_expire(engine: Engine, settings: Settings) -> None:
    for n in range(20):
        _sign_in(engine, settings, "ana", "x" * 9, client="c", at=T0 + timedelta(hours=n))
    assert accounts.wait_needed(engine, name="ana", client="c", now=T0 + timedelta(hours=19)) == 900
    assert accounts.wait_needed(engine, name="ana", client="c", now=T0 + timedelta(hours=44)) == 0


def test_a_locked_attempt_does_not_lengthen_the_wait(engine: Engine, settings: Settings) -> None:
    for n in range(4):
        _sign_in(engine, settings, "ana", "x" * 9, at=T0 + timedelta(seconds=n))
    for _ in range(5):  # hammering during the 2 s wait is refused and logged, not counted
        assert _sign_in(engine, settings, "ana", "x" * 9, at=T0 + timedelta(seconds=3.5)).wait_s > 0
    assert accounts.wait_needed(engine, name="ana", client="1.2.3.4", now=T0 + timedelta(seconds=5)) == 0
    assert [r[3] for r in _log(engine)].count("locked") == 5


def test_an_unknown_account_costs_one_hash_check_too(
    engine: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    checks: list[str] = []

    class Counting(PasswordHasher):
        def verify(self, hash: str | bytes, password: str | bytes) -> bool:
            checks.append(str(hash))
            return super().verify(hash, password)

    monkeypatch.setattr(accounts, "HASHER", Counting(time_cost=1, memory_cost=8, parallelism=1))
    accounts.add_account(engine, name="ana", password=PASSWORD, actor="test")
    _sign_in(engine, settings, "ana", "wrong password!")
    _sign_in(engine, settings, "nobody", "wrong password!")
    assert len(checks) == 2 and all(c.startswith("$argon2id$") for c in checks)


# ------------------------------------------------------------------------------------------- sessions


def _payload(token: str) -> dict:
    body = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))


def _forge(token: str, **changes: object) -> str:
    payload = {**_payload(token), **changes}
    body = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")
    return f"{body}.{token.split('.')[1]}"


def test_a_session_expires_and_cannot_be_tampered_with(engine: Engine, settings: Settings) -> None:
    accounts.add_account(engine, name="ana", password=PASSWORD, actor="test")
    accounts.add_account(engine, name="bo", password=PASSWORD, actor="test")
    token = _sign_in(engine, settings, "ana", PASSWORD).token
    assert token
    hours = settings.session_hours
    assert accounts.verify_session(engine, settings, token, now=T0 + timedelta(hours=hours - 0.01)) == "ana"
    assert accounts.verify_session(engine, settings, token, now=T0 + timedelta(hours=hours)) is None
    assert accounts.session_seconds_left(token, now=T0) == pytest.approx(hours * 3600)
    for forged in (
        _forge(token, n="bo"),
        _forge(token, x=_payload(token)["x"] + 10**6),
        token[:-2] + ("AA" if not token.endswith("AA") else "BB"),
        token + "x",
        "no-dot",
        "",
        "é.é",
    ):
        assert accounts.verify_session(engine, settings, forged, now=T0) is None, forged
    other_key = replace(settings, session_secret="a different secret, long enough to count")
    assert accounts.verify_session(engine, other_key, token, now=T0) is None


def test_a_new_password_or_sign_out_everywhere_ends_sessions(engine: Engine, settings: Settings) -> None:
    accounts.add_account(engine, name="ana", password=PASSWORD, actor="test")
    first = _sign_in(engine, settings, "ana", PASSWORD).token
    accounts.sign_out_everywhere(engine, name="ana", actor="ana")
    assert accounts.verify_session(engine, settings, first, now=T0) is None
    second = _sign_in(engine, settings, "ana", PASSWORD).token
    assert accounts.verify_session(engine, settings, second, now=T0) == "ana"
    accounts.set_password(engine, name="ana", password="another long password", actor="test")
    assert accounts.verify_session(engine, settings, second, now=T0) is None
    assert not _sign_in(engine, settings, "ana", PASSWORD).ok
    assert _sign_in(engine, settings, "ana", "another long password").ok
    assert accounts.get_account(engine, name="ana").session_version == 2


def test_the_password_shortcut_signs_in_as_facilitator_bound_to_the_password(
    engine: Engine, settings: Settings
) -> None:
    shortcut = replace(settings, facilitator_password="laptop password")
    assert accounts.console_access(engine, settings).open is False
    assert accounts.console_access(engine, shortcut).open is True
    assert not _sign_in(engine, settings, "facilitator", "laptop password").ok  # not configured
    outcome = _sign_in(engine, shortcut, "Facilitator", "laptop password")
    assert outcome.ok and outcome.name == accounts.SHORTCUT_NAME
    assert accounts.verify_session(engine, shortcut, outcome.token, now=T0) == "facilitator"
    changed = replace(shortcut, facilitator_password="a new laptop password")
    assert accounts.verify_session(engine, changed, outcome.token, now=T0) is None
    assert accounts.verify_session(engine, settings, outcome.token, now=T0) is None  # unset: closed
    assert not _sign_in(engine, shortcut, "facilitator", "wrong").ok
    assert _log(engine)[-1][3] == accounts.WRONG_PASSWORD


def test_the_signing_key_is_made_once_and_shared(engine: Engine, settings: Settings) -> None:
    accounts.add_account(engine, name="ana", password=PASSWORD, actor="test")
    token = _sign_in(engine, settings, "ana", PASSWORD).token
    with session_scope(engine) as s:
        keys = s.exec(select(AppSecret)).all()
    assert [k.name for k in keys] == [accounts.SIGNING_KEY_NAME] and len(keys[0].value) >= 40
    other_process = db.init_db(engine.url.render_as_string(hide_password=False))
    try:
        assert accounts.verify_session(other_process, settings, token, now=T0) == "ana"
    finally:
        other_process.dispose()
    with_secret = replace(settings, session_secret="a configured secret, long enough to count")
    configured = _sign_in(engine, with_secret, "ana", PASSWORD).token
    assert accounts.verify_session(engine, with_secret, configured, now=T0) == "ana"
    assert accounts.verify_session(engine, settings, configured, now=T0) is None


def test_two_processes_racing_for_the_signing_key_agree(engine: Engine, settings: Settings) -> None:
    url = engine.url.render_as_string(hide_password=False)
    engines = [db.init_db(url) for _ in range(4)]
    keys: list[bytes] = []
    barrier = threading.Barrier(len(engines))

    def fetch(e: Engine) -> None:
        barrier.wait()
        keys.append(accounts._signing_key(e, settings))

    threads = [threading.Thread(target=fetch, args=(e,)) for e in engines]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    finally:
        for e in engines:
            e.dispose()
    assert len(keys) == 4 and len(set(keys)) == 1
    with session_scope(engine) as s:
        assert len(s.exec(select(AppSecret)).all()) == 1


def test_an_openid_user_is_the_account_their_email_names(engine: Engine) -> None:
    accounts.add_account(engine, name="ana@example.org", password=None, actor="test")
    accounts.add_account(engine, name="bo@example.org", password=PASSWORD, actor="test")
    accounts.disable_account(engine, name="bo@example.org", actor="test")

    def claims(email: str) -> dict[str, object]:
        return {"email": email, "email_verified": True}

    assert accounts.openid_account(engine, claims=claims("ANA@example.org")) == "ana@example.org"
    assert accounts.openid_account(engine, claims=claims("bo@example.org")) is None  # disabled
    assert accounts.openid_account(engine, claims=claims("eve@example.org")) is None
    assert accounts.openid_account(engine, claims={}) is None
    for verified in (False, None, "true"):  # only a provider that says it verified the e-mail
        unverified = {"email": "ana@example.org", "email_verified": verified}
        assert accounts.openid_account(engine, claims=unverified) is None
    assert accounts.openid_account(engine, claims={"email": "ana@example.org"}) is None
    assert accounts.console_access(engine, load_settings(environ={}, secrets={})).accounts == 0  # no password


def test_an_openid_login_gets_our_own_session_and_is_logged(engine: Engine, settings: Settings) -> None:
    accounts.add_account(engine, name="ana@example.org", password=None, actor="test")
    claims = {"email": "ana@example.org", "email_verified": True, "iat": T0.timestamp() - 30}
    outcome = accounts.openid_sign_in(engine, settings, claims=claims, client="192.0.2.1", now=T0)
    assert outcome.ok and outcome.name == "ana@example.org" and outcome.token
    assert outcome.expires_at == T0 + timedelta(hours=settings.session_hours)
    assert _log(engine) == [("ana@example.org", "192.0.2.1", True, accounts.OK)]
    assert accounts.verify_session(engine, settings, outcome.token, now=T0) == "ana@example.org"
    later = T0 + timedelta(hours=settings.session_hours)
    assert accounts.verify_session(engine, settings, outcome.token, now=later) is None  # SESSION_HOURS
    stale = accounts.openid_sign_in(engine, settings, claims=claims, client="192.0.2.1", now=later)
    assert not stale.ok and "log in with it again" in stale.message  # that provider login is spent
    accounts.sign_out_everywhere(engine, name="ana@example.org", actor="ana@example.org")
    assert accounts.verify_session(engine, settings, outcome.token, now=T0) is None
    for refused in (
        {**claims, "email_verified": False},
        {**claims, "iat": None},
        {k: v for k, v in claims.items() if k != "iat"},
    ):
        assert not accounts.openid_sign_in(engine, settings, claims=refused, client="x", now=T0).ok
    assert len(_log(engine)) == 1  # refusals are asked again on every run: not logged
