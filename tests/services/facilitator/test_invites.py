"""Invites through the database (SQLite and PostgreSQL): made only for an open deliberation unless forced,
listed with what became of each (unused, opened, started: consented, finished, revoked) and as CSV,
withdrawn one, a cohort's or all unused at a time, cohorts counted, and who started and finished listed
with their panel ids."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import Engine

from errors import InvalidInput
from services.facilitator import deliberations, invites
from services.participant import joining
from storage import repo_values
from storage.db import session_scope
from storage.tables import Participant, SurveyResponse, utcnow

BASE = "https://studio.example.org"


def _open(engine: Engine) -> int:
    d = deliberations.create_deliberation(engine, title="Care", questions=["Q?"]).id
    deliberations.set_status(engine, deliberation_id=d, status="open")
    return d


def _actions(engine: Engine, d: int, action: str) -> list[dict]:
    with session_scope(engine) as s:
        return [
            {"actor": e.actor, **e.details}
            for e in repo_values.list_moderation_events(s, deliberation_id=d, action=action)
        ]


def _finish(engine: Engine, token: str) -> None:
    with session_scope(engine) as s:
        from sqlmodel import select

        person = s.exec(select(Participant).where(Participant.token == token)).one()
        person.stage = "done"
        s.add(SurveyResponse(participant_id=person.id, question_key="comment", answer="thanks"))


def test_invites_for_a_deliberation_that_is_not_open_need_force(engine: Engine) -> None:
    d = deliberations.create_deliberation(engine, title="Care", questions=["Q?"]).id
    with pytest.raises(InvalidInput, match="draft: its invite links work once it opens. Confirm"):
        deliberations.create_invites(engine, deliberation_id=d, count=2, base_url=BASE, actor="ann")
    made = deliberations.create_invites(
        engine, deliberation_id=d, count=2, base_url=BASE, actor="ann", force=True
    )
    assert len(made) == 2
    deliberations.set_status(engine, deliberation_id=d, status="open")
    deliberations.create_invites(engine, deliberation_id=d, count=1, base_url=BASE, actor="bob", cohort="x")
    deliberations.set_status(engine, deliberation_id=d, status="closed")
    with pytest.raises(InvalidInput, match="closed: its invite links work only if it opens again"):
        deliberations.create_invites(engine, deliberation_id=d, count=1, base_url=BASE, actor="bob")
    logged = _actions(engine, d, "invites_create")
    assert [(e["actor"], e["count"], e["status"], e["forced"], e["cohort"]) for e in reversed(logged)] == [
        ("ann", 2, "draft", True, None),
        ("bob", 1, "open", False, "x"),
    ]


def test_each_invite_says_what_became_of_it(engine: Engine) -> None:
    d = _open(engine)
    made = deliberations.create_invites(engine, deliberation_id=d, count=5, base_url=BASE, cohort="pilot")
    started = joining.join(engine, invite=made[0].invite.code, external_id="PROLIFIC-1")
    joining.consent(engine, token=started.token, demographics={})
    finished = joining.join(engine, invite=made[1].invite.code)
    _finish(engine, finished.token)
    assert invites.revoke_invites(engine, deliberation_id=d, actor="ann", code=made[2].invite.code) == 1
    opened = joining.join(engine, invite=made[4].invite.code)  # a visitor who never consented
    rows = {r.code: r for r in invites.list_invites(engine, deliberation_id=d, base_url=BASE)}
    statuses = [rows[m.invite.code].status for m in made]
    assert statuses == ["started", "finished", "revoked", "unused", "opened"]
    first = rows[made[0].invite.code]
    assert first.opened is not None and first.started is not None and first.finished is None
    assert first.started >= first.opened and first.external_id == "PROLIFIC-1"
    assert first.participant_id == started.id and first.link == f"{BASE}/join?invite={first.code}"
    assert rows[made[1].invite.code].finished is not None and rows[made[2].invite.code].revoked is not None
    visitor = rows[made[4].invite.code]
    assert visitor.opened is not None and visitor.started is None and visitor.participant_id == opened.id

    table = list(csv.reader(io.StringIO(invites.invites_csv(rows.values()))))
    assert table[0] == ["link", "code", "cohort", "status", "opened", "started", "finished"]
    assert [r[3] for r in table[1:]] == ["started", "finished", "revoked", "unused", "opened"]
    assert table[1][4] and table[1][5] and not table[1][6]  # ISO times where they happened
    assert table[5][4] and not table[5][5] and not table[5][6]  # opened, never consented
    assert not table[4][4]


def test_withdrawing_one_a_cohort_or_all_unused(engine: Engine) -> None:
    d = _open(engine)
    pilot = deliberations.create_invites(engine, deliberation_id=d, count=3, base_url=BASE, cohort="pilot")
    loose = deliberations.create_invites(engine, deliberation_id=d, count=2, base_url=BASE)
    used = joining.join(engine, invite=pilot[0].invite.code)
    with pytest.raises(InvalidInput, match=f"already used \\(participant {used.id}\\)"):
        invites.revoke_invites(engine, deliberation_id=d, actor="ann", code=pilot[0].invite.code)
    with pytest.raises(InvalidInput, match="no cohort 'nope'"):
        invites.revoke_invites(engine, deliberation_id=d, actor="ann", cohort="nope")
    with pytest.raises(InvalidInput, match="no invite with that code"):
        invites.revoke_invites(engine, deliberation_id=d, actor="ann", code="not-a-code")
    with pytest.raises(InvalidInput, match="Withdraw one invite"):
        invites.revoke_invites(engine, deliberation_id=d, actor="ann", cohort="pilot", all_unused=True)
    assert invites.revoke_invites(engine, deliberation_id=d, actor="ann", cohort="pilot") == 2
    assert invites.revoke_invites(engine, deliberation_id=d, actor="ann", cohort="pilot") == 0
    with pytest.raises(InvalidInput, match="withdrawn"):
        joining.join(engine, invite=pilot[1].invite.code)
    assert joining.join(engine, invite=pilot[0].invite.code).token == used.token  # a used link stays theirs
    assert invites.revoke_invites(engine, deliberation_id=d, actor="bob", all_unused=True) == 2
    with pytest.raises(InvalidInput, match="withdrawn"):
        joining.join(engine, invite=loose[0].invite.code)
    other = _open(engine)
    with pytest.raises(InvalidInput, match="no invite with that code"):
        invites.revoke_invites(engine, deliberation_id=other, actor="ann", code=loose[1].invite.code)
    logged = _actions(engine, d, "invites_revoke")
    assert [(e["actor"], e["count"], e["cohort"], e["all_unused"]) for e in reversed(logged)] == [
        ("ann", 2, "pilot", False),
        ("bob", 2, None, True),
    ]


def test_cohorts_are_counted_and_people_listed(engine: Engine) -> None:
    d = _open(engine)
    pilot = deliberations.create_invites(engine, deliberation_id=d, count=3, base_url=BASE, cohort="pilot")
    deliberations.create_invites(engine, deliberation_id=d, count=1, base_url=BASE, cohort="main")
    a = joining.join(engine, invite=pilot[0].invite.code)
    b = joining.join(engine, invite=pilot[1].invite.code)
    joining.consent(engine, token=a.token, demographics={})
    joining.consent(engine, token=b.token, demographics={})
    _finish(engine, b.token)
    code = deliberations.open_link(engine, deliberation_id=d, base_url=BASE).split("code=")[1]
    panel = joining.join(engine, code=code, external_id="PROLIFIC-7")
    with session_scope(engine) as s:
        s.get(Participant, panel.id).consented_at = utcnow()
    joining.join(engine, code=code)  # opened the link and left

    counts = {c.name: c for c in invites.cohort_counts(engine, deliberation_id=d)}
    assert list(counts) == ["main", "pilot", None]
    p = counts["pilot"]
    assert (p.invites, p.unused, p.revoked, p.visited, p.started, p.finished) == (3, 1, 0, 2, 2, 1)
    assert (counts["main"].invites, counts["main"].visited) == (1, 0)
    assert (counts[None].invites, counts[None].visited, counts[None].started) == (0, 2, 1)

    people = invites.list_people(engine, deliberation_id=d)
    assert [(x.via, x.cohort, x.external_id) for x in people] == [
        ("invite", "pilot", None),
        ("invite", "pilot", None),
        ("open link", None, "PROLIFIC-7"),
        ("open link", None, None),
    ]
    assert [x.finished is not None for x in people] == [False, True, False, False]
    assert [x.consented is not None for x in people] == [True, True, True, False]


def test_a_csv_cell_never_runs_as_a_formula(engine: Engine) -> None:
    d = _open(engine)
    deliberations.create_invites(engine, deliberation_id=d, count=1, base_url=BASE, cohort="=HYPERLINK(1)")
    rows = invites.list_invites(engine, deliberation_id=d, base_url=BASE)
    assert list(csv.reader(io.StringIO(invites.invites_csv(rows))))[1][2] == "'=HYPERLINK(1)"
    with pytest.raises(InvalidInput, match="base URL"):
        invites.list_invites(engine, deliberation_id=d, base_url="javascript:alert(1)")
