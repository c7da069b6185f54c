"""Facilitator accounts: passwords, sign-in with a rate limit, and signed sessions.

- Passwords are hashed with argon2id (:data:`HASHER`, argon2-cffi); a hash made with older parameters is
  replaced at the next sign-in. ``FACILITATOR_PASSWORD`` stays a one-account shortcut (the actor is
  :data:`SHORTCUT_NAME`) for a laptop.
- Every attempt is logged as a :class:`~storage.tables.SignInAttempt` (ok, wrong password, unknown account,
  disabled account, locked). The rate limit is computed from those rows (aggregated in SQL), so it holds
  across app processes. Per (account name, client) pair and per client, the first :data:`FREE_FAILURES`
  failures cost nothing, then each one doubles the wait (2 s, 4 s, 8 s... at most :data:`MAX_DELAY_S`); per
  account name from every client together the doubling starts only after :data:`ACCOUNT_FREE_FAILURES`
  (someone elsewhere cannot lock a facilitator out with a few guesses). A success resets a key's count,
  :func:`unlock` (``cli.py facilitator unlock``) forgives an account's failures so far.
- An attempt is logged before its password is checked, as a provisional failure (:data:`CHECKING`), in
  a transaction that attempts on the same name or client take in turn (``pg_advisory_xact_lock`` on
  PostgreSQL, SQLite's write lock): parallel attempts see each other and cannot skip the wait. The row is
  then updated to what the check found.
- Every attempt checks one argon2 hash (an unknown account checks a dummy one), so the time taken does not
  tell whether an account exists.
- A session is a token ``payload.signature`` (HMAC-SHA256 over the payload): the account's name, its
  ``session_version`` (raised by a new password, disabling, "sign out everywhere") and an expiry
  (``SESSION_HOURS``). The key is ``SESSION_SECRET`` or one the app makes once and keeps in the database
  (:class:`~storage.tables.AppSecret`). A shortcut session is bound to a keyed hash of
  ``FACILITATOR_PASSWORD``: changing the password ends it.
- Every change to an account (added, disabled, enabled, a new password, signed out everywhere) is an event
  of the console's own moderation log (no deliberation; the System page shows it): who did it
  (``cli:<os user>`` or the signed-in name), the account, before and after. A change that changes nothing
  (disabling a disabled account) is not logged. No password or hash is ever written to the log.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import ipaddress
import json
import logging
import secrets
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine

from errors import InvalidInput
from interviews.text_rules import check_text, clean_model_text
from services.facilitator import audit
from settings import Settings
from storage import repo_accounts
from storage.db import Session, session_scope
from storage.schemas_console import (
    FacilitatorAccountCreate,
    FacilitatorAccountPublic,
    SignInAttemptCreate,
    SignInAttemptPublic,
)
from storage.tables import FacilitatorAccount

log = logging.getLogger(__name__)

#: argon2id with the library's defaults (RFC 9106's second recommended profile); tests swap in a cheap one.
HASHER = PasswordHasher()
#: The actor of the ``FACILITATOR_PASSWORD`` shortcut.
SHORTCUT_NAME = "facilitator"
NAME_LIMIT = 100
PASSWORD_MIN = 8
PASSWORD_LIMIT = 1000
FREE_FAILURES = 3
#: Failures on one account from every client together before its own doubling starts.
ACCOUNT_FREE_FAILURES = 20
MAX_DELAY_S = 15 * 60
#: An OpenID Connect login opens a console session only this soon after the provider issued it (a
#: session that ended, by SESSION_HOURS or "sign out everywhere", needs a new provider login).
OPENID_FRESH = timedelta(minutes=10)
#: Failures older than this no longer count.
WINDOW = timedelta(hours=24)
SIGNING_KEY_NAME = "session_signing_key"
#: What a client with no address of its own is called (the app reached on this machine).
LOCAL_CLIENT = "local"

# SignInAttempt.reason values.
OK = "ok"
WRONG_PASSWORD = "wrong password"
UNKNOWN_ACCOUNT = "unknown account"
DISABLED = "disabled account"
LOCKED = "locked"
#: An attempt whose password is being checked (a failure until updated).
CHECKING = "checking"
#: The account changed while its password was checked (not a failure).
CHANGED = "account changed meanwhile"
#: An administrator's ``facilitator unlock`` (the row's client is who did it).
UNLOCKED = "unlocked"
# Actions of the console's log (ModerationEvent.action, no deliberation) for account changes.
ACCOUNT_ADD = "account_add"
ACCOUNT_DISABLE = "account_disable"
ACCOUNT_ENABLE = "account_enable"
ACCOUNT_PASSWORD = "account_password"
ACCOUNT_SIGN_OUT = "account_sign_out_everywhere"
ACCOUNT_UNLOCK = "account_unlock"
#: Reasons that count towards the rate limit (a refused attempt while locked does not lengthen the wait).
FAILURES = frozenset({WRONG_PASSWORD, UNKNOWN_ACCOUNT, DISABLED, CHECKING})

_dummy_hash: str | None = None


# ------------------------------------------------------------------------------------------- pure rules


def check_name(name: str) -> str:
    """An account name as stored: stripped, 1 to 100 characters, no control characters.

    >>> check_name("  ana@example.org ")
    'ana@example.org'
    >>> check_name("a\\tb")
    Traceback (most recent call last):
    ...
    errors.InvalidInput: The account name cannot contain control characters (tabs, line breaks...).
    """
    name = check_text(name, what="The account name").strip()
    if not name:
        raise InvalidInput("The account name is empty: type a name, such as ana or ana@example.org.")
    check_text(name, what="The account name", limit=NAME_LIMIT)
    if any(unicodedata.category(c).startswith("C") for c in name):
        raise InvalidInput("The account name cannot contain control characters (tabs, line breaks...).")
    return name


def check_password(password: str) -> str:
    """A new password: at least :data:`PASSWORD_MIN` characters, at most :data:`PASSWORD_LIMIT`."""
    check_text(password, what="The password", limit=PASSWORD_LIMIT)
    if len(password) < PASSWORD_MIN:
        raise InvalidInput(f"The password is too short: use at least {PASSWORD_MIN} characters.")
    return password


def delay_after(failures: int, *, free: int = FREE_FAILURES) -> float:
    """Seconds to wait after ``failures`` failures in a row, the first ``free`` of them free.

    >>> [delay_after(n) for n in (0, 3, 4, 5, 6)], delay_after(40)
    ([0.0, 0.0, 2.0, 4.0, 8.0], 900.0)
    >>> delay_after(20, free=ACCOUNT_FREE_FAILURES), delay_after(22, free=ACCOUNT_FREE_FAILURES)
    (0.0, 4.0)
    """
    if failures <= free:
        return 0.0
    return float(min(2 ** min(failures - free, 30), MAX_DELAY_S))


def wait_from(failures: int, latest: datetime | None, now: datetime, *, free: int = FREE_FAILURES) -> float:
    """Seconds left to wait after ``failures`` failures in a row, the latest at ``latest``."""
    delay = delay_after(failures, free=free)
    if not delay or latest is None:
        return 0.0
    due = _aware(latest) + timedelta(seconds=delay)
    return max(0.0, (due - now).total_seconds())


def how_long(seconds: float) -> str:
    """A wait in words, rounded up.

    >>> how_long(0.2), how_long(2), how_long(61), how_long(900)
    ('1 second', '2 seconds', '2 minutes', '15 minutes')
    """
    whole = max(1, int(-(-seconds // 1)))
    if whole < 60:
        return f"{whole} second{'s' if whole != 1 else ''}"
    minutes = -(-whole // 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def client_key(ip_address: str | None, forwarded: Sequence[str] = (), *, trusted_proxy: bool = False) -> str:
    """Who is signing in, for the per-client limit: the connection's address, or with ``trusted_proxy``
    (``TRUSTED_PROXY``: the app is reached only through a proxy that appends the address it saw) the last
    hop of the last ``X-Forwarded-For`` line (``forwarded``: every line, in order); :data:`LOCAL_CLIENT`
    without either. An IPv6 address counts by its /64 (one household or server has a whole /64).

    >>> client_key("203.0.113.5"), client_key("203.0.113.5", ["6.6.6.6"])  # no proxy: the header is ignored
    ('203.0.113.5', '203.0.113.5')
    >>> client_key(None, ["1.2.3.4", "9.9.9.9, 198.51.100.7"], trusted_proxy=True)
    '198.51.100.7'
    >>> client_key("2001:db8:1:2:aaaa::1"), client_key(None), client_key("::ffff:192.0.2.1")
    ('2001:db8:1:2::/64', 'local', '192.0.2.1')
    """
    address = ip_address
    if trusted_proxy and forwarded:
        hop = forwarded[-1].split(",")[-1].strip()
        if _ip(hop) is not None:
            address = hop
    if not address:
        return LOCAL_CLIENT
    parsed = _ip(address)
    if parsed is None:
        return clean_model_text(address)[:NAME_LIMIT]
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.IPv6Network((parsed, 64), strict=False))
    return str(parsed)


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip().split("%")[0])
    except ValueError:
        return None


def account_for_user(claims: Mapping[str, object], names: Iterable[str]) -> str | None:
    """The account an OpenID Connect user signs in as: the one named by their e-mail (case ignored), when
    the provider says it verified that e-mail (``email_verified`` true; a provider that does not say is
    refused).

    >>> account_for_user({"email": " Ana@Example.org", "email_verified": True}, ["bo", "ana@example.org"])
    'ana@example.org'
    >>> account_for_user({"email": "ana@example.org", "email_verified": False}, ["ana@example.org"]) is None
    True
    >>> account_for_user({"email": "ana@example.org"}, ["ana@example.org"]) is None
    True
    >>> account_for_user({}, ["ana"]) is None, account_for_user({"email": "ana"}, ["ana@example.org"]) is None
    (True, True)
    """
    email = claims.get("email")
    if not isinstance(email, str) or not email.strip() or claims.get("email_verified") is not True:
        return None
    wanted = email.strip().casefold()
    return next((n for n in names if n.casefold() == wanted), None)


# ---------------------------------------------------------------------------------------------- accounts


def check_new_name(engine: Engine, *, name: str) -> str:
    """``name`` as a new account would store it; :class:`InvalidInput` when it breaks the rules or an
    account has it already (case ignored)."""
    name = check_name(name)
    with session_scope(engine) as session:
        _refuse_taken(repo_accounts.list_accounts(session), name)
    return name


def _refuse_taken(accounts: Iterable[FacilitatorAccount], name: str) -> None:
    taken = _find(accounts, name)
    if taken is not None:
        raise InvalidInput(f"There is already an account named {taken.name!r}.")


def add_account(engine: Engine, *, name: str, password: str | None, actor: str) -> FacilitatorAccountPublic:
    """Create an account (``password`` None: it signs in only through OpenID Connect)."""
    name = check_name(name)
    hashed = HASHER.hash(check_password(password)) if password is not None else None
    with session_scope(engine) as session:
        _refuse_taken(repo_accounts.list_accounts(session), name)
        account = repo_accounts.add_account(
            session, data=FacilitatorAccountCreate(name=name, password_hash=hashed)
        )
        _record(session, account, actor=actor, action=ACCOUNT_ADD, after={"password": hashed is not None})
        log.info("facilitator account %r added by %s", name, actor)
        return _public(account)


def get_account(engine: Engine, *, name: str) -> FacilitatorAccountPublic:
    """The account called ``name`` (case ignored); :class:`InvalidInput` when there is none."""
    with session_scope(engine) as session:
        account = _find(repo_accounts.list_accounts(session), name)
        if account is None:
            raise InvalidInput(f"There is no facilitator account named {name.strip()!r}.")
        return _public(account)


def list_accounts(engine: Engine) -> list[FacilitatorAccountPublic]:
    with session_scope(engine) as session:
        return [_public(a) for a in repo_accounts.list_accounts(session)]


def set_password(engine: Engine, *, name: str, password: str, actor: str) -> FacilitatorAccountPublic:
    """Give the account a new password; its sessions end."""
    hashed = HASHER.hash(check_password(password))

    def change(account: FacilitatorAccount) -> bool:
        account.password_hash = hashed
        account.session_version += 1
        return True

    return _change(engine, name, change, action=ACCOUNT_PASSWORD, actor=actor)


def disable_account(engine: Engine, *, name: str, actor: str) -> FacilitatorAccountPublic:
    """The account can no longer sign in and its sessions end (a second call changes nothing)."""

    def change(account: FacilitatorAccount) -> bool:
        if account.disabled_at is not None:
            return False
        account.disabled_at = datetime.now(UTC)
        account.session_version += 1
        return True

    return _change(engine, name, change, action=ACCOUNT_DISABLE, actor=actor)


def enable_account(engine: Engine, *, name: str, actor: str) -> FacilitatorAccountPublic:
    """A disabled account may sign in again."""

    def change(account: FacilitatorAccount) -> bool:
        if account.disabled_at is None:
            return False
        account.disabled_at = None
        return True

    return _change(engine, name, change, action=ACCOUNT_ENABLE, actor=actor)


def sign_out_everywhere(engine: Engine, *, name: str, actor: str) -> FacilitatorAccountPublic:
    """End every session of the account, in every browser."""

    def change(account: FacilitatorAccount) -> bool:
        account.session_version += 1
        return True

    return _change(engine, name, change, action=ACCOUNT_SIGN_OUT, actor=actor)


def _change(
    engine: Engine, name: str, change: Callable[[FacilitatorAccount], bool], *, action: str, actor: str
) -> FacilitatorAccountPublic:
    with session_scope(engine) as session:
        account = _find(repo_accounts.list_accounts(session), name)
        if account is None:
            raise InvalidInput(f"There is no facilitator account named {name.strip()!r}.")
        before = _state(account)
        if change(account):
            session.add(account)
            session.flush()
            _record(session, account, actor=actor, action=action, before=before, after=_state(account))
            log.info("facilitator account %r: %s by %s", account.name, action, actor)
        return _public(account)


def _state(account: FacilitatorAccount) -> dict[str, Any]:
    """What the log shows of an account before and after a change (never its password or hash)."""
    return {"disabled": account.disabled_at is not None, "session_version": account.session_version}


def _record(
    session: Session,
    account: FacilitatorAccount,
    *,
    actor: str,
    action: str,
    after: dict[str, Any],
    before: dict[str, Any] | None = None,
) -> None:
    """One event of the console's own log (no deliberation) about ``account``."""
    details: dict[str, Any] = {"name": account.name, "after": after}
    if before is not None:
        details["before"] = before
    audit.record(
        session,
        deliberation_id=None,
        actor=actor,
        action=action,
        target_type="facilitator_account",
        target_id=account.id,
        details=details,
    )


@dataclass(frozen=True)
class ConsoleAccess:
    """How the console can be opened: usable accounts, the FACILITATOR_PASSWORD shortcut."""

    accounts: int
    shortcut: bool

    @property
    def open(self) -> bool:
        return self.accounts > 0 or self.shortcut


def console_access(engine: Engine, settings: Settings) -> ConsoleAccess:
    with session_scope(engine) as session:
        accounts = repo_accounts.count_usable_accounts(session)
    return ConsoleAccess(accounts=accounts, shortcut=bool(settings.facilitator_password))


def openid_account(engine: Engine, *, claims: Mapping[str, object]) -> str | None:
    """The enabled account an OpenID Connect user (``st.user``'s claims) is signed in as, or None."""
    if not isinstance(claims.get("email"), str):
        return None
    with session_scope(engine) as session:
        enabled = [a.name for a in repo_accounts.list_accounts(session) if a.disabled_at is None]
    return account_for_user(claims, enabled)


def recent_attempts(engine: Engine, *, limit: int = 50) -> list[SignInAttemptPublic]:
    """The newest sign-in attempts, newest first (the console's sign-in log)."""
    with session_scope(engine) as session:
        rows = repo_accounts.recent_attempts(session, limit=limit)
        return [SignInAttemptPublic.model_validate(r, from_attributes=True) for r in rows]


# ----------------------------------------------------------------------------------------------- sign-in


@dataclass(frozen=True)
class SignInOutcome:
    """What became of one attempt: ``name`` and ``token`` when it succeeded; else ``message`` says why
    and ``wait_s`` how long to wait before the next try (0: try again now)."""

    ok: bool
    message: str
    name: str | None = None
    token: str | None = None
    expires_at: datetime | None = None
    wait_s: float = 0.0


def wait_needed(engine: Engine, *, name: str, client: str, now: datetime | None = None) -> float:
    """Seconds the next attempt on ``name`` from ``client`` must wait (the longest of the three limits)."""
    now = now or datetime.now(UTC)
    typed, _ = _typed_name(name)
    with session_scope(engine) as session:
        account = _find(repo_accounts.list_accounts(session), typed)
        rate_name = account.name if account is not None else _typed_key(typed)
        return _wait(session, rate_name, client, now)


def sign_in(
    engine: Engine,
    settings: Settings,
    *,
    name: str,
    password: str,
    client: str,
    now: datetime | None = None,
) -> SignInOutcome:
    """Check ``password`` for account ``name`` (or the FACILITATOR_PASSWORD shortcut), within the rate
    limit; every attempt is logged. A success carries a fresh session token. A name or password that
    breaks the text rules (a NUL, a lone surrogate, too long) is refused like a wrong one, and logged."""
    fixed = now
    typed, name_ok = _typed_name(name)
    password = password if isinstance(password, str) else ""
    password_ok = _password_acceptable(password)
    client = clean_model_text(client or LOCAL_CLIENT)[:NAME_LIMIT]
    with session_scope(engine) as session:
        account = _find(repo_accounts.list_accounts(session), typed) if name_ok else None
        rate_name = account.name if account is not None else _typed_key(typed)
        # Attempts on this name or from this client take this transaction in turn, and each logs itself
        # (as a failure until checked) before the next one reads the count: none skips the wait.
        repo_accounts.lock_sign_in(session, keys=[f"account\0{rate_name}", f"client\0{client}"])
        now = fixed or datetime.now(UTC)  # read once the lock is held: no earlier than the rows it reads
        wait = _wait(session, rate_name, client, now)
        if wait > 0:
            _log(session, rate_name, client, ok=False, reason=LOCKED, now=now)
            return SignInOutcome(
                ok=False,
                wait_s=wait,
                message=f"Too many failed sign-ins: wait {how_long(wait)} before trying again.",
            )
        attempt_id = _log(session, rate_name, client, ok=False, reason=CHECKING, now=now)
    # The slow hash check runs outside any transaction (it would hold SQLite's write lock meanwhile).
    stored = account.password_hash if account is not None else None
    shortcut = (
        name_ok
        and account is None
        and typed.casefold() == SHORTCUT_NAME
        and bool(settings.facilitator_password)
    )
    matches = _verify(stored, password) if password_ok else False
    if shortcut and password_ok:
        expected = (settings.facilitator_password or "").encode("utf-8", "surrogatepass")
        matches = hmac.compare_digest(password.encode("utf-8", "surrogatepass"), expected)
    if not shortcut and stored is None:
        reason = UNKNOWN_ACCOUNT
    elif not matches:
        reason = WRONG_PASSWORD
    elif account is not None and account.disabled_at is not None:
        reason = DISABLED
    else:
        reason = OK
    key = _signing_key(engine, settings)
    with session_scope(engine) as session:
        version, signed_in = "", ""
        if reason == OK and shortcut:
            version, signed_in = _shortcut_binding(key, settings), SHORTCUT_NAME
        elif reason == OK:
            fresh = repo_accounts.account_by_name(session, name=rate_name)
            if (
                fresh is None
                or stored is None
                or fresh.password_hash != stored
                or fresh.disabled_at is not None
            ):
                reason = CHANGED
            else:
                fresh.last_signin_at = now
                if HASHER.check_needs_rehash(stored):
                    fresh.password_hash = HASHER.hash(password)
                session.add(fresh)
                session.flush()
                version, signed_in = str(fresh.session_version), fresh.name
        repo_accounts.set_attempt(session, attempt_id=attempt_id, ok=reason == OK, reason=reason)
        if reason == CHANGED:
            return SignInOutcome(ok=False, message="The account changed meanwhile: please sign in again.")
        if reason != OK:
            wait = _wait(session, rate_name, client, now)
            later = f" Wait {how_long(wait)} before the next try." if wait > 0 else ""
            return SignInOutcome(
                ok=False, wait_s=wait, message=f"That name and password do not match.{later}"
            )
    return _signed_in(key, settings, signed_in, version, now)


def openid_sign_in(
    engine: Engine,
    settings: Settings,
    *,
    claims: Mapping[str, object],
    client: str,
    now: datetime | None = None,
) -> SignInOutcome:
    """A console session for a user just logged in with OpenID Connect (``st.user``'s claims): their
    verified e-mail must name an enabled account and the provider's login must be fresh (issued at most
    :data:`OPENID_FRESH` ago: a session that ended needs a new provider login). A success is logged as an
    ok sign-in and carries our own token, so SESSION_HOURS and the account's session version apply to it
    as to a password sign-in. A refusal is not logged (it is asked again on every run)."""
    now = now or datetime.now(UTC)
    name = openid_account(engine, claims=claims)
    if name is None:
        return SignInOutcome(ok=False, message="No enabled facilitator account has that verified e-mail.")
    issued = claims.get("iat")
    fresh = False
    if isinstance(issued, int | float) and not isinstance(issued, bool):
        fresh = abs(now.timestamp() - float(issued)) <= OPENID_FRESH.total_seconds()
    if not fresh:
        return SignInOutcome(ok=False, message="The provider's login is too old: log in with it again.")
    client = clean_model_text(client or LOCAL_CLIENT)[:NAME_LIMIT]
    key = _signing_key(engine, settings)
    with session_scope(engine) as session:
        account = repo_accounts.account_by_name(session, name=name)
        if account is None or account.disabled_at is not None:
            return SignInOutcome(ok=False, message="The account changed meanwhile: please sign in again.")
        account.last_signin_at = now
        session.add(account)
        session.flush()
        version = str(account.session_version)
        _log(session, name, client, ok=True, reason=OK, now=now)
    log.info("facilitator %r signed in through OpenID Connect", name)
    return _signed_in(key, settings, name, version, now)


def unlock(engine: Engine, *, name: str, actor: str, now: datetime | None = None) -> FacilitatorAccountPublic:
    """Forgive every failed sign-in on account ``name`` so far, from every client, so that it (and each
    client's attempts on it) can be tried again at once. Logged in the sign-in log (reason
    :data:`UNLOCKED`, the actor as client) and the console's log."""
    now = now or datetime.now(UTC)
    with session_scope(engine) as session:
        account = _find(repo_accounts.list_accounts(session), name)
        if account is None:
            raise InvalidInput(f"There is no facilitator account named {name.strip()!r}.")
        repo_accounts.lock_sign_in(session, keys=[f"account\0{account.name}"])
        before = _wait(session, account.name, UNLOCKED, now)
        _log(session, account.name, clean_model_text(actor)[:NAME_LIMIT], ok=False, reason=UNLOCKED, now=now)
        _record(
            session,
            account,
            actor=actor,
            action=ACCOUNT_UNLOCK,
            before={"wait_s": round(before)},
            after={"wait_s": 0},
        )
        log.info("facilitator account %r unlocked by %s", account.name, actor)
        return _public(account)


def _signed_in(key: bytes, settings: Settings, name: str, version: str, now: datetime) -> SignInOutcome:
    expires = now + timedelta(hours=settings.session_hours)
    token = _sign(key, {"n": name, "v": version, "x": expires.timestamp()})
    return SignInOutcome(ok=True, message="Signed in.", name=name, token=token, expires_at=expires)


def verify_session(
    engine: Engine, settings: Settings, token: str | None, *, now: datetime | None = None
) -> str | None:
    """The account name a session token signs in, or None when it is forged, expired or ended."""
    if not token or not isinstance(token, str) or len(token) > 2000:
        return None
    now = now or datetime.now(UTC)
    key = _signing_key(engine, settings)
    payload = _unsign(key, token)
    if payload is None:
        return None
    name, version, expires = payload.get("n"), payload.get("v"), payload.get("x")
    if not isinstance(name, str) or not isinstance(version, str) or not isinstance(expires, int | float):
        return None
    if now.timestamp() >= expires:
        return None
    with session_scope(engine) as session:
        account = repo_accounts.account_by_name(session, name=name)
        if account is None:
            shortcut = name == SHORTCUT_NAME and bool(settings.facilitator_password)
            if shortcut and hmac.compare_digest(version, _shortcut_binding(key, settings)):
                return SHORTCUT_NAME
            return None
        if account.disabled_at is not None or not hmac.compare_digest(version, str(account.session_version)):
            return None
        return account.name


def session_seconds_left(token: str, *, now: datetime | None = None) -> float:
    """Seconds until ``token`` expires (its payload read without checking it: for the cookie's Max-Age)."""
    now = now or datetime.now(UTC)
    try:
        payload = json.loads(_b64decode(token.split(".", 1)[0]))
        return max(0.0, float(payload["x"]) - now.timestamp())
    except (ValueError, KeyError, TypeError, IndexError):
        return 0.0


# ---------------------------------------------------------------------------------------------- helpers


def _public(account: FacilitatorAccount) -> FacilitatorAccountPublic:
    assert account.id is not None
    return FacilitatorAccountPublic(
        id=account.id,
        name=account.name,
        has_password=account.password_hash is not None,
        session_version=account.session_version,
        created_at=account.created_at,
        disabled_at=account.disabled_at,
        last_signin_at=account.last_signin_at,
    )


def _find(accounts: Iterable[FacilitatorAccount], name: str) -> FacilitatorAccount | None:
    """The account called ``name``, case ignored (names differ by more than case)."""
    wanted = name.strip().casefold()
    return next((a for a in accounts if a.name.casefold() == wanted), None)


def _typed_name(name: object) -> tuple[str, bool]:
    """A typed account name, stripped, and whether it keeps the text rules (one that does not is never an
    account's: it is refused like an unknown name, and logged with its bad characters replaced)."""
    if not isinstance(name, str):
        return "", False
    try:
        check_text(name, what="The account name", limit=NAME_LIMIT + 50)
    except InvalidInput:
        return clean_model_text(name).strip(), False
    return name.strip(), True


def _password_acceptable(password: str) -> bool:
    try:
        check_text(password, what="The password", limit=PASSWORD_LIMIT)
    except InvalidInput:
        return False
    return True


def _typed_key(name: str) -> str:
    """The rate limit's key for a name that is no account: as typed, case ignored."""
    return clean_model_text(name or "").strip().casefold()[:NAME_LIMIT]


def _wait(session: Session, rate_name: str, client: str, now: datetime) -> float:
    """The longest wait of the three keys: (account, client), client, account from every client."""
    since = now - WINDOW
    run = functools.partial(
        repo_accounts.failure_run, session, since=since, failures=FAILURES, forgiven_by=(UNLOCKED,)
    )
    pair = run(account_name=rate_name, client=client)
    by_client = run(client=client)
    by_account = run(account_name=rate_name)
    return max(
        wait_from(*pair, now),
        wait_from(*by_client, now),
        wait_from(*by_account, now, free=ACCOUNT_FREE_FAILURES),
    )


def _log(session: Session, rate_name: str, client: str, *, ok: bool, reason: str, now: datetime) -> int:
    data = SignInAttemptCreate(account_name=rate_name, client=client, ok=ok, reason=reason)
    attempt = repo_accounts.add_attempt(session, data=data, at=now)
    assert attempt.id is not None
    return attempt.id


def _verify(stored: str | None, password: str) -> bool:
    """One argon2 check, always: against the stored hash, or a dummy one when there is none."""
    global _dummy_hash
    if _dummy_hash is None or HASHER.check_needs_rehash(_dummy_hash):
        _dummy_hash = HASHER.hash(secrets.token_urlsafe(16))
    try:
        return bool(HASHER.verify(stored or _dummy_hash, password)) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def _signing_key(engine: Engine, settings: Settings) -> bytes:
    """The key sessions are signed with: from SESSION_SECRET, else the one the app made once."""
    secret = settings.session_secret
    if not secret:
        with session_scope(engine) as session:
            secret = repo_accounts.get_or_create_secret(
                session, name=SIGNING_KEY_NAME, make=secrets.token_urlsafe(48)
            )
    return hashlib.sha256(b"moral-graph-studio session\0" + secret.encode("utf-8", "surrogatepass")).digest()


def _shortcut_binding(key: bytes, settings: Settings) -> str:
    password = (settings.facilitator_password or "").encode("utf-8", "surrogatepass")
    return "p" + hmac.new(key, b"shortcut\0" + password, hashlib.sha256).hexdigest()[:32]


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(key: bytes, payload: dict[str, object]) -> str:
    body = _b64encode(json.dumps(payload, separators=(",", ":"), ensure_ascii=True).encode("ascii"))
    signature = _b64encode(hmac.new(key, body.encode("ascii"), hashlib.sha256).digest())
    return f"{body}.{signature}"


def _unsign(key: bytes, token: str) -> dict[str, object] | None:
    body, _, signature = token.partition(".")
    if not body or not signature or not body.isascii() or not signature.isascii():
        return None
    expected = _b64encode(hmac.new(key, body.encode("ascii"), hashlib.sha256).digest())
    if not hmac.compare_digest(signature, expected):
        return None
    try:
        payload = json.loads(_b64decode(body))
    except ValueError:
        return None
    return payload if isinstance(payload, dict) else None


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
