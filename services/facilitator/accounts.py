"""Facilitator accounts: passwords, sign-in with a rate limit, and signed sessions.

- Passwords are hashed with argon2id (:data:`HASHER`, argon2-cffi); a hash made with older parameters is
  replaced at the next sign-in. ``FACILITATOR_PASSWORD`` stays a one-account shortcut (the actor is
  :data:`SHORTCUT_NAME`) for a laptop.
- Every attempt is logged as a :class:`~storage.tables.SignInAttempt` (ok, wrong password, unknown account,
  disabled account, locked). The rate limit is computed from those rows, so it holds across app processes:
  per account name and per client, the first :data:`FREE_FAILURES` failures cost nothing, then each one
  doubles the wait (2 s, 4 s, 8 s... at most :data:`MAX_DELAY_S`). A success resets the count.
- Every attempt checks one argon2 hash (an unknown account checks a dummy one), so the time taken does not
  tell whether an account exists.
- A session is a token ``payload.signature`` (HMAC-SHA256 over the payload): the account's name, its
  ``session_version`` (raised by a new password, disabling, "sign out everywhere") and an expiry
  (``SESSION_HOURS``). The key is ``SESSION_SECRET`` or one the app makes once and keeps in the database
  (:class:`~storage.tables.AppSecret`). A shortcut session is bound to a keyed hash of
  ``FACILITATOR_PASSWORD``: changing the password ends it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
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
from interviews.text_rules import check_text
from settings import Settings
from storage import repo_accounts
from storage.db import session_scope
from storage.schemas_console import (
    FacilitatorAccountCreate,
    FacilitatorAccountPublic,
    SignInAttemptCreate,
    SignInAttemptPublic,
)
from storage.tables import FacilitatorAccount, SignInAttempt

log = logging.getLogger(__name__)

#: argon2id with the library's defaults (RFC 9106's second recommended profile); tests swap in a cheap one.
HASHER = PasswordHasher()
#: The actor of the ``FACILITATOR_PASSWORD`` shortcut.
SHORTCUT_NAME = "facilitator"
NAME_LIMIT = 100
PASSWORD_MIN = 8
PASSWORD_LIMIT = 1000
FREE_FAILURES = 3
MAX_DELAY_S = 15 * 60
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
#: Reasons that count towards the rate limit (a refused attempt while locked does not lengthen the wait).
FAILURES = frozenset({WRONG_PASSWORD, UNKNOWN_ACCOUNT, DISABLED})

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


def delay_after(failures: int) -> float:
    """Seconds to wait after ``failures`` failures in a row.

    >>> [delay_after(n) for n in (0, 3, 4, 5, 6)], delay_after(40)
    ([0.0, 0.0, 2.0, 4.0, 8.0], 900.0)
    """
    if failures <= FREE_FAILURES:
        return 0.0
    return float(min(2 ** min(failures - FREE_FAILURES, 30), MAX_DELAY_S))


def wait_for(attempts: Sequence[SignInAttempt], now: datetime) -> float:
    """Seconds left to wait, given one key's attempts (oldest first): the failures since its last
    success decide the delay, counted from the last of them."""
    failures: list[datetime] = []
    for attempt in attempts:
        if attempt.ok:
            failures = []
        elif attempt.reason in FAILURES:
            failures.append(_aware(attempt.created_at))
    if not failures:
        return 0.0
    return max(0.0, (failures[-1] + timedelta(seconds=delay_after(len(failures))) - now).total_seconds())


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


def client_key(ip_address: str | None, headers: Mapping[str, str]) -> str:
    """Who is signing in, for the per-client limit: the connection's address; behind a proxy on this
    machine (no address of its own) the last ``X-Forwarded-For`` hop (the one the proxy added), else
    :data:`LOCAL_CLIENT`.

    >>> client_key("203.0.113.5", {}), client_key(None, {"X-Forwarded-For": "1.2.3.4, 198.51.100.7"})
    ('203.0.113.5', '198.51.100.7')
    >>> client_key(None, {})
    'local'
    """
    if ip_address:
        return ip_address[:NAME_LIMIT]
    forwarded = next((v for k, v in headers.items() if k.lower() == "x-forwarded-for"), "")
    hop = forwarded.split(",")[-1].strip() if forwarded else ""
    return hop[:NAME_LIMIT] or LOCAL_CLIENT


def account_for_user(claims: Mapping[str, object], names: Iterable[str]) -> str | None:
    """The account an OpenID Connect user signs in as: the one named by their e-mail (case ignored); none
    when the provider says the e-mail is not verified.

    >>> account_for_user({"email": " Ana@Example.org"}, ["bo", "ana@example.org"])
    'ana@example.org'
    >>> account_for_user({"email": "ana@example.org", "email_verified": False}, ["ana@example.org"]) is None
    True
    >>> account_for_user({}, ["ana"]) is None, account_for_user({"email": "ana"}, ["ana@example.org"]) is None
    (True, True)
    """
    email = claims.get("email")
    if not isinstance(email, str) or not email.strip() or claims.get("email_verified") is False:
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

    return _change(engine, name, change, f"password changed by {actor}")


def disable_account(engine: Engine, *, name: str, actor: str) -> FacilitatorAccountPublic:
    """The account can no longer sign in and its sessions end (a second call changes nothing)."""

    def change(account: FacilitatorAccount) -> bool:
        if account.disabled_at is not None:
            return False
        account.disabled_at = datetime.now(UTC)
        account.session_version += 1
        return True

    return _change(engine, name, change, f"disabled by {actor}")


def enable_account(engine: Engine, *, name: str, actor: str) -> FacilitatorAccountPublic:
    """A disabled account may sign in again."""

    def change(account: FacilitatorAccount) -> bool:
        if account.disabled_at is None:
            return False
        account.disabled_at = None
        return True

    return _change(engine, name, change, f"enabled by {actor}")


def sign_out_everywhere(engine: Engine, *, name: str, actor: str) -> FacilitatorAccountPublic:
    """End every session of the account, in every browser."""

    def change(account: FacilitatorAccount) -> bool:
        account.session_version += 1
        return True

    return _change(engine, name, change, f"signed out everywhere by {actor}")


def _change(
    engine: Engine, name: str, change: Callable[[FacilitatorAccount], bool], what: str
) -> FacilitatorAccountPublic:
    with session_scope(engine) as session:
        account = _find(repo_accounts.list_accounts(session), name)
        if account is None:
            raise InvalidInput(f"There is no facilitator account named {name.strip()!r}.")
        if change(account):
            session.add(account)
            session.flush()
            log.info("facilitator account %r %s", account.name, what)
        return _public(account)


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
    """Seconds the next attempt on ``name`` from ``client`` must wait (the longer of the two limits)."""
    now = now or datetime.now(UTC)
    with session_scope(engine) as session:
        account = _find(repo_accounts.list_accounts(session), name)
        rate_name = account.name if account is not None else _typed_key(name)
        return _wait(*repo_accounts.rate_attempts(session, **_rate_keys(rate_name, client, now)), now=now)


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
    limit; every attempt is logged. A success carries a fresh session token."""
    now = now or datetime.now(UTC)
    typed = name.strip() if isinstance(name, str) else ""
    password = password if isinstance(password, str) else ""
    client = (client or LOCAL_CLIENT)[:NAME_LIMIT]
    with session_scope(engine) as session:
        account = _find(repo_accounts.list_accounts(session), typed)
        rate_name = account.name if account is not None else _typed_key(typed)
        keys = _rate_keys(rate_name, client, now)
        wait = _wait(*repo_accounts.rate_attempts(session, **keys), now=now)
        if wait > 0:
            _log(session, keys, ok=False, reason=LOCKED, now=now)
            return SignInOutcome(
                ok=False,
                wait_s=wait,
                message=f"Too many failed sign-ins: wait {how_long(wait)} before trying again.",
            )
    # The slow hash check runs outside any transaction (it would hold SQLite's write lock meanwhile).
    stored = account.password_hash if account is not None else None
    matches = _verify(stored, password)
    shortcut = account is None and typed.casefold() == SHORTCUT_NAME and bool(settings.facilitator_password)
    if shortcut:
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
        _log(session, keys, ok=reason == OK, reason=reason, now=now)
        if reason != OK:
            wait = _wait(*repo_accounts.rate_attempts(session, **keys), now=now)
            later = f" Wait {how_long(wait)} before the next try." if wait > 0 else ""
            return SignInOutcome(
                ok=False, wait_s=wait, message=f"That name and password do not match.{later}"
            )
        if shortcut:
            version, signed_in = _shortcut_binding(key, settings), SHORTCUT_NAME
        else:
            fresh = repo_accounts.account_by_name(session, name=rate_name)
            if fresh is None or stored is None or fresh.password_hash != stored:  # changed meanwhile
                return SignInOutcome(ok=False, message="The account changed meanwhile: please sign in again.")
            fresh.last_signin_at = now
            if HASHER.check_needs_rehash(stored):
                fresh.password_hash = HASHER.hash(password)
            session.add(fresh)
            session.flush()
            version, signed_in = str(fresh.session_version), fresh.name
    expires = now + timedelta(hours=settings.session_hours)
    token = _sign(key, {"n": signed_in, "v": version, "x": expires.timestamp()})
    return SignInOutcome(ok=True, message="Signed in.", name=signed_in, token=token, expires_at=expires)


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


def _typed_key(name: str) -> str:
    """The rate limit's key for a name that is no account: as typed, case ignored."""
    return (name or "").strip().casefold()[:NAME_LIMIT]


def _rate_keys(rate_name: str, client: str, now: datetime) -> dict[str, Any]:
    return {"account_name": rate_name, "client": client, "since": now - WINDOW}


def _wait(by_name: Sequence[SignInAttempt], by_client: Sequence[SignInAttempt], *, now: datetime) -> float:
    return max(wait_for(by_name, now), wait_for(by_client, now))


def _log(session: Any, keys: dict[str, Any], *, ok: bool, reason: str, now: datetime) -> None:
    data = SignInAttemptCreate(account_name=keys["account_name"], client=keys["client"], ok=ok, reason=reason)
    repo_accounts.add_attempt(session, data=data, at=now)


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
