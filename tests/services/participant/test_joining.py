"""Joining: invite and open links, panel ids, consent and demographics, concurrent first visits."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from errors import InvalidInput
from services.facilitator import deliberations
from services.participant import joining
from storage.db import session_scope
from storage.tables import Invite, utcnow

QUESTIONS = [
    {"key": "party", "label": "Party", "options": ["Democrat", "Republican"], "required": True},
    {"key": "age", "label": "Age", "kind": "number"},
    {"key": "town", "label": "Town", "kind": "text"},
]


def _deliberation(engine: Engine) -> int:
    d = deliberations.create_deliberation(
        engine, title="T", questions=["Q?"], config={"demographics": QUESTIONS}
    ).id
    deliberations.set_status(engine, deliberation_id=d, status="open")  # only an open one takes people
    return d


def _invite(engine: Engine, d: int) -> str:
    return deliberations.create_invites(engine, deliberation_id=d, count=1, base_url="http://x")[
        0
    ].invite.code


def test_an_invite_makes_one_person_and_resumes_them(engine: Engine) -> None:
    d = _deliberation(engine)
    code = _invite(engine, d)
    first = joining.join(engine, invite=code)
    assert joining.join(engine, invite=code).token == first.token
    with session_scope(engine) as s:
        invite = s.exec(select(Invite).where(Invite.code == code)).one()
        assert invite.participant_id == first.id and invite.used_at is not None


def test_revoked_and_closed(sqlite_engine: Engine) -> None:
    d = _deliberation(sqlite_engine)
    code = _invite(sqlite_engine, d)
    with session_scope(sqlite_engine) as s:
        s.exec(select(Invite).where(Invite.code == code)).one().revoked_at = utcnow()
    with pytest.raises(InvalidInput, match="withdrawn"):
        joining.join(sqlite_engine, invite=code)
    fresh = _invite(sqlite_engine, d)
    deliberations.set_status(sqlite_engine, deliberation_id=d, status="closed")
    with pytest.raises(InvalidInput, match="closed"):
        joining.join(sqlite_engine, invite=fresh)
    with pytest.raises(InvalidInput, match="incomplete"):
        joining.join(sqlite_engine)


def test_the_open_link_with_and_without_a_panel_id(sqlite_engine: Engine) -> None:
    d = _deliberation(sqlite_engine)
    code = deliberations.open_link(sqlite_engine, deliberation_id=d, base_url="http://x").split("code=")[1]
    a, b = joining.join(sqlite_engine, code=code), joining.join(sqlite_engine, code=code)
    assert a.token != b.token  # anonymous visits are different people
    p1 = joining.join(sqlite_engine, code=code, external_id=" PROLIFIC-1 ")
    assert joining.join(sqlite_engine, code=code, external_id="PROLIFIC-1").token == p1.token
    assert p1.external_id == "PROLIFIC-1"
    with pytest.raises(InvalidInput, match="not valid"):
        joining.join(sqlite_engine, code="nope")


def test_two_first_visits_with_one_panel_id_make_one_person(engine: Engine) -> None:
    d = _deliberation(engine)
    code = deliberations.open_link(engine, deliberation_id=d, base_url="http://x").split("code=")[1]
    with ThreadPoolExecutor(4) as pool:
        tokens = set(pool.map(lambda _: joining.join(engine, code=code, external_id="P-7").token, range(4)))
    assert len(tokens) == 1


def test_consent_checks_the_demographics(sqlite_engine: Engine) -> None:
    d = _deliberation(sqlite_engine)
    token = joining.join(sqlite_engine, invite=_invite(sqlite_engine, d)).token
    with pytest.raises(InvalidInput, match='Please answer "Party"'):
        joining.consent(sqlite_engine, token=token, demographics={})
    with pytest.raises(InvalidInput, match="Unknown questions: shoe"):
        joining.consent(sqlite_engine, token=token, demographics={"party": "Democrat", "shoe": 9})
    with pytest.raises(InvalidInput, match='"Age" must be a number'):
        joining.consent(sqlite_engine, token=token, demographics={"party": "Democrat", "age": "old"})
    with pytest.raises(InvalidInput, match="at most 500"):
        joining.consent(sqlite_engine, token=token, demographics={"party": "Democrat", "town": "x" * 501})
    person = joining.consent(sqlite_engine, token=token, demographics={"party": "Democrat", "age": "41.0"})
    assert person.stage == "consented" and person.demographics == {"party": "Democrat", "age": 41}
    first_time = person.consented_at
    again = joining.consent(sqlite_engine, token=token, demographics={"party": "Republican"})
    assert again.consented_at == first_time and again.demographics == {"party": "Republican"}
    with pytest.raises(InvalidInput, match="not valid"):
        joining.home(sqlite_engine, token="forged")


def test_a_draft_takes_nobody_until_it_opens(sqlite_engine: Engine) -> None:
    d = deliberations.create_deliberation(sqlite_engine, title="T", questions=["Q?"]).id
    code = deliberations.open_link(sqlite_engine, deliberation_id=d, base_url="http://x").split("code=")[1]
    invite = deliberations.create_invites(
        sqlite_engine, deliberation_id=d, count=1, base_url="http://x", force=True
    )
    for link in ({"code": code}, {"invite": invite[0].invite.code}):
        with pytest.raises(InvalidInput, match="has not opened yet"):
            joining.join(sqlite_engine, **link)
    with session_scope(sqlite_engine) as s:
        assert s.exec(select(Invite)).one().participant_id is None  # nobody was made
    deliberations.set_status(sqlite_engine, deliberation_id=d, status="open")
    assert joining.join(sqlite_engine, invite=invite[0].invite.code).deliberation_id == d
