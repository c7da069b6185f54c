"""Moderation through the database (SQLite and PostgreSQL): hiding a value takes it out of vote draws,
story pairing, judging and the graph; hiding, unhiding and editing cards; the log and its CSV."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from errors import InvalidInput
from exports.moderation_csv import COLUMNS
from interviews.grading import CRITERIA
from providers.fakes import ScriptedChatModel
from services.facilitator import moderation
from services.participant import voting
from services.research import graphs
from storage import repo_judgements, repo_values
from storage.db import session_scope
from storage.tables import CanonicalValue, EdgeHypothesis, ModerationEvent, ValuesCard
from tests.services.facilitator.test_values import seed_graph
from tests.services.participant_world import seed_votes
from tests.services.story_world import World, seed

WHO = "Ana Facilitator"
GOOD_CARD = {
    "title": "Honest Gentle Presence",
    "description": "Staying truthful and kind when someone faces a frightening choice.",
    "policies": ["MOMENTS where the person can voice their fear", "FACTS the person needs to decide"],
}


def _events(engine: Engine) -> list[ModerationEvent]:
    with session_scope(engine) as s:
        return list(s.exec(select(ModerationEvent).order_by(ModerationEvent.id)).all())


def test_a_hidden_value_leaves_the_vote_draw_and_comes_back_when_unhidden(engine: Engine) -> None:
    w = seed_votes(engine, shape=False)
    hidden = [w.values[n] for n in "ABCDE"]
    for value_id in hidden:
        done = moderation.hide_value(
            engine, deliberation_id=w.d, value_id=value_id, reason="Names a person", actor=WHO
        )
        assert not done.already_done
    draw = voting.draw_values(engine, token=w.token, question_id=w.q)
    assert {v.id for v in draw.values} == {w.values[n] for n in "FGH"}  # only the three left

    # A value hidden after it was drawn drops out of that draw too, and cannot be voted for.
    moderation.hide_value(engine, deliberation_id=w.d, value_id=w.values["F"], reason="Spam", actor=WHO)
    again = voting.draw_values(engine, token=w.token, question_id=w.q)
    assert again.draw_id == draw.draw_id and {v.id for v in again.values} == {w.values[n] for n in "GH"}
    with pytest.raises(InvalidInput, match="only choose among"):
        voting.submit_votes(engine, token=w.token, draw_id=draw.draw_id, value_ids=[w.values["F"]])

    with session_scope(engine) as s:
        ids = repo_values.question_value_ids(s, deliberation_id=w.d, question_id=w.q)
    assert not set(ids) & {*hidden, w.values["F"]}
    moderation.unhide_value(engine, deliberation_id=w.d, value_id=w.values["A"], reason="Fixed", actor=WHO)
    with session_scope(engine) as s:
        assert w.values["A"] in repo_values.question_value_ids(s, deliberation_id=w.d, question_id=w.q)

    log = moderation.log(engine, deliberation_id=w.d, action=moderation.HIDE_VALUE)
    assert len(log) == 6 and {e.actor for e in log} == {WHO}
    assert log[0].details["before"] == {"hidden": False} and log[0].details["after"] == {"hidden": True}
    (shown,) = moderation.log(engine, deliberation_id=w.d, action=moderation.UNHIDE_VALUE)
    assert (shown.target_id, shown.reason) == (w.values["A"], "Fixed")


def test_a_hidden_value_leaves_the_graph_the_story_pairs_and_the_judging_set(engine: Engine) -> None:
    ids = seed_graph(engine)
    d, A, B, C = ids["d"], ids["A"], ids["B"], ids["C"]
    assert graphs.build_snapshot(engine, deliberation_id=d).judgements == 5
    with session_scope(engine) as s:
        for story in s.exec(select(EdgeHypothesis)).all():
            story.shown = True
            s.add(story)
    moderation.hide_value(engine, deliberation_id=d, value_id=B, reason="Off topic", actor=WHO)

    built = graphs.build_snapshot(engine, deliberation_id=d)
    assert built.judgements == 1  # only A→C: every judgement from or to B is left out
    with session_scope(engine) as s:
        keys = repo_judgements.shown_story_keys(s, deliberation_id=d)
        assert [(k.from_value_id, k.to_value_id) for k in keys] == [(A, C)]
        assert repo_values.canonical_value_ids(s, deliberation_id=d, include_hidden=False) == [A, C]
        assert B in repo_values.canonical_value_ids(s, deliberation_id=d)

    moderation.unhide_value(engine, deliberation_id=d, value_id=B, reason="Reviewed", actor=WHO)
    assert graphs.build_snapshot(engine, deliberation_id=d).judgements == 5  # nothing was deleted


def test_a_hidden_value_gets_no_story_pairs(engine: Engine) -> None:
    w = seed(engine)
    with session_scope(engine) as s:
        before = repo_values.values_by_context(s, deliberation_id=w.deliberation_id)
    assert before == {w.c1: [w.v1, w.v2], w.c2: [w.v1, w.v2, w.v3]}
    moderation.hide_value(engine, deliberation_id=w.deliberation_id, value_id=w.v2, reason="x", actor=WHO)
    with session_scope(engine) as s:
        after = repo_values.values_by_context(s, deliberation_id=w.deliberation_id)
    assert after == {w.c1: [w.v1], w.c2: [w.v1, w.v3]}


def test_hiding_and_unhiding_a_card(engine: Engine) -> None:
    w = seed(engine)
    d = w.deliberation_id
    done = moderation.hide_card(engine, deliberation_id=d, card_id=w.card1, reason="Personal data", actor=WHO)
    assert not done.already_done and "hidden" in done.message
    with session_scope(engine) as s:
        assert s.get(ValuesCard, w.card1).status == "hidden"
        # v1's only submitted card on q1 is hidden: v1 is no vote candidate there any more
        assert w.v1 not in repo_values.question_value_ids(s, deliberation_id=d, question_id=w.q1)
    again = moderation.hide_card(engine, deliberation_id=d, card_id=w.card1, reason="again", actor=WHO)
    assert again.already_done and again.event_id is None

    found = moderation.search_cards(engine, deliberation_id=d, status="hidden")
    assert w.card1 in [h.card.id for h in found.hits]
    shown = moderation.unhide_card(engine, deliberation_id=d, card_id=w.card1, reason="Fixed", actor=WHO)
    assert not shown.already_done
    with session_scope(engine) as s:
        assert s.get(ValuesCard, w.card1).status == "submitted"

    with pytest.raises(InvalidInput, match="draft"):
        moderation.hide_card(engine, deliberation_id=d, card_id=w.draft_card, reason="x", actor=WHO)
    with pytest.raises(InvalidInput, match="Give a reason"):
        moderation.hide_card(engine, deliberation_id=d, card_id=w.card1, reason="  ", actor=WHO)
    other = seed(engine)
    with pytest.raises(InvalidInput, match=f"no card {other.card1} in deliberation {d}"):
        moderation.hide_card(engine, deliberation_id=d, card_id=other.card1, reason="x", actor=WHO)
    with pytest.raises(InvalidInput, match="no value 9999"):
        moderation.hide_value(engine, deliberation_id=d, value_id=9999, reason="x", actor=WHO)

    actions = [(e.action, e.target_id, e.actor) for e in _events(engine) if e.target_type == "card"]
    assert actions == [("hide_card", w.card1, WHO), ("unhide_card", w.card1, WHO)]


def test_editing_a_card_records_before_and_after(engine: Engine) -> None:
    w = seed(engine)
    d = w.deliberation_id
    with session_scope(engine) as s:
        card = s.get(ValuesCard, w.card1)
        old = {"title": card.title, "description": card.description, "policies": list(card.policies)}
        value = s.get(CanonicalValue, w.v1)  # the value carries the card's words: it follows the edit
        value.title, value.description, value.policies = old["title"], old["description"], old["policies"]
    done = moderation.edit_card(
        engine, deliberation_id=d, card_id=w.card1, reason="Removed a name", actor=WHO, **GOOD_CARD
    )
    assert not done.already_done and f"value {w.v1}" in done.message
    with session_scope(engine) as s:
        card = s.get(ValuesCard, w.card1)
        assert (card.title, card.description, card.policies) == tuple(GOOD_CARD.values())
        assert s.get(CanonicalValue, w.v1).title == GOOD_CARD["title"]
    (event,) = moderation.log(engine, deliberation_id=d, action=moderation.EDIT_CARD)
    assert event.details["before"] == old and event.details["after"] == GOOD_CARD
    assert (event.actor, event.reason, event.target_id) == (WHO, "Removed a name", w.card1)

    same = moderation.edit_card(
        engine, deliberation_id=d, card_id=w.card1, reason="x", actor=WHO, **GOOD_CARD
    )
    assert same.already_done
    bad = GOOD_CARD | {"title": "Honesty", "policies": ["facts"]}
    with pytest.raises(InvalidInput, match="card rules: title: use 2-5 words"):
        moderation.edit_card(engine, deliberation_id=d, card_id=w.card1, reason="x", actor=WHO, **bad)
    with pytest.raises(InvalidInput, match="draft"):
        moderation.edit_card(
            engine, deliberation_id=d, card_id=w.draft_card, reason="x", actor=WHO, **GOOD_CARD
        )
    assert len(moderation.log(engine, deliberation_id=d, action=moderation.EDIT_CARD)) == 1


def test_search_cards_and_transcripts(engine: Engine) -> None:
    w = seed(engine)
    d = w.deliberation_id
    with session_scope(engine) as s:
        card = s.get(ValuesCard, w.card1)
        card.policies = [*card.policies, 'CHOICES about the "café" visit']
    other = seed(engine)  # another deliberation's cards and talk are never found
    hits = moderation.search_cards(engine, deliberation_id=d, text="frightening")
    assert len(hits.hits) == 6 and not hits.more  # every card of the deliberation, drafts and hidden ones too
    for text in ("CAFÉ", "café", "Café", '"café"', "voice THEIR"):
        found = moderation.search_cards(engine, deliberation_id=d, text=text)
        assert [h.card.id for h in found.hits if h.card.id == w.card1] == [w.card1], text
    assert moderation.search_cards(engine, deliberation_id=d, text="100%").hits == ()
    assert moderation.search_cards(engine, deliberation_id=d, text='s", "C').hits == ()  # no match across
    page = moderation.search_cards(engine, deliberation_id=d, limit=2)
    rest = moderation.search_cards(engine, deliberation_id=d, limit=2, offset=2)
    assert (
        page.more
        and len(page.hits) == 2
        and {h.card.id for h in page.hits}.isdisjoint(h.card.id for h in rest.hits)
    )
    assert other.card1 not in [
        h.card.id for h in moderation.search_cards(engine, deliberation_id=d, limit=50).hits
    ]

    (hit,) = moderation.search_transcripts(engine, deliberation_id=d, text="AUNT").hits
    assert hit.interview_id == w.interview_id and hit.card is not None and hit.messages == 3
    assert [(e.role, e.text) for e in hit.excerpts] == [("user", "My aunt told me the truth.")]
    assert moderation.search_transcripts(engine, deliberation_id=d, text="card shown").hits == ()  # a note
    whole = moderation.transcript(engine, deliberation_id=d, interview_id=w.interview_id)
    assert [m.content for m in whole][:2] == ["What should it consider?", "My aunt told me the truth."]
    with pytest.raises(InvalidInput, match="no interview"):
        moderation.transcript(engine, deliberation_id=d, interview_id=other.interview_id)
    with pytest.raises(InvalidInput, match="1 to 100"):
        moderation.search_cards(engine, deliberation_id=d, limit=0)


def test_grading_keeps_the_grades_beside_the_search(engine: Engine) -> None:
    w = seed(engine)
    d = w.deliberation_id
    reply = {name: {"grade": "A", "reason": "fine"} for name, _ in CRITERIA} | {
        "overall": {"grade": "C", "reason": "Leading twice."}
    }
    stored = moderation.grade(
        engine, ScriptedChatModel([reply]), deliberation_id=d, interview_id=w.interview_id, actor=WHO
    )
    assert stored.overall == "C" and stored.rows[-1] == ("overall", "C", "Leading twice.")
    (hit,) = moderation.search_transcripts(engine, deliberation_id=d, text="aunt").hits
    assert hit.grades is not None and hit.grades.overall == "C" and hit.grades.actor == WHO
    card = next(h for h in moderation.search_cards(engine, deliberation_id=d).hits if h.card.id == w.card1)
    assert card.grades is not None and card.grades.event_id == stored.event_id
    other = seed(engine)
    with pytest.raises(InvalidInput, match="no interview"):
        moderation.grade(
            engine, ScriptedChatModel([]), deliberation_id=d, interview_id=other.interview_id, actor=WHO
        )


def test_the_log_downloads_as_csv(engine: Engine) -> None:
    w = seed(engine)
    d = w.deliberation_id
    moderation.hide_card(engine, deliberation_id=d, card_id=w.card1, reason="=cmd|' /C calc'!A0", actor=WHO)
    moderation.hide_value(engine, deliberation_id=d, value_id=w.v2, reason="Off topic", actor=WHO)
    assert {"hide_card", "hide_value"} <= set(moderation.log_actions(engine, deliberation_id=d))
    rows = list(csv.reader(io.StringIO(moderation.log_csv(engine, deliberation_id=d))))
    assert tuple(rows[0]) == COLUMNS == ("when", "who", "action", "target", "reason", "before", "after")
    by_action = {r[2]: dict(zip(COLUMNS, r, strict=True)) for r in rows[1:]}
    card = by_action["hide_card"]
    assert (card["who"], card["target"], card["reason"]) == (WHO, f"card {w.card1}", "'=cmd|' /C calc'!A0")
    assert card["before"] == '{"status": "submitted"}' and card["after"].startswith(
        '{"after": {"status": "hidden"}'
    )
    assert by_action["hide_value"]["after"].startswith('{"after": {"hidden": true}')
    only = list(csv.reader(io.StringIO(moderation.log_csv(engine, deliberation_id=d, action="hide_value"))))
    assert [r[2] for r in only[1:]] == ["hide_value"]


def _value_carries_card1(engine: Engine, w: World) -> dict[str, object]:
    """Give value v1 card1's words word for word (as dedup does for the card it was made from), and
    another visible card, which keeps showing the value's words in draws when card1 is hidden."""
    with session_scope(engine) as s:
        card = s.get(ValuesCard, w.card1)
        words = {"title": card.title, "description": card.description, "policies": list(card.policies)}
        value = s.get(CanonicalValue, w.v1)
        value.title, value.description = card.title, card.description
        value.policies = list(card.policies)
        other = GOOD_CARD | {"title": "Kind Truth Telling"}
        s.add(ValuesCard(question_id=w.q1, canonical_value_id=w.v1, status="submitted", **other))
    return words


def test_hiding_a_card_whose_words_its_value_carries_asks_about_the_value(engine: Engine) -> None:
    w = seed(engine)
    d = w.deliberation_id
    _value_carries_card1(engine, w)
    found = moderation.search_cards(engine, deliberation_id=d)
    assert {h.card.id for h in found.hits if h.value_has_its_words} == {w.card1}

    asks = rf"Value {w.v1} carries card {w.card1}'s words word for word \(it has 1 other visible card\)"
    with pytest.raises(InvalidInput, match=asks + ".*Nothing was hidden"):
        moderation.hide_card(engine, deliberation_id=d, card_id=w.card1, reason="Names a person", actor=WHO)
    with pytest.raises(InvalidInput, match="keep or hide"):
        moderation.hide_card(engine, deliberation_id=d, card_id=w.card1, reason="x", actor=WHO, value="drop")
    with session_scope(engine) as s:
        assert s.get(ValuesCard, w.card1).status == "submitted"
    assert moderation.log(engine, deliberation_id=d, action=moderation.HIDE_CARD) == []

    done = moderation.hide_card(
        engine, deliberation_id=d, card_id=w.card1, reason="Names a person", actor=WHO, value="hide"
    )
    assert done.message == f"Card {w.card1} hidden and value {w.v1} with it."
    with session_scope(engine) as s:
        assert s.get(ValuesCard, w.card1).status == "hidden" and s.get(CanonicalValue, w.v1).hidden
    assert [(e.action, e.target_id, e.reason, e.actor) for e in _events(engine) if e.actor == WHO] == [
        ("hide_card", w.card1, "Names a person", WHO),
        ("hide_value", w.v1, "Names a person", WHO),
    ]


def test_hiding_a_card_can_keep_its_value_after_rewording_it(engine: Engine) -> None:
    w = seed(engine)
    d = w.deliberation_id
    words = _value_carries_card1(engine, w)
    kept = moderation.hide_card(
        engine, deliberation_id=d, card_id=w.card1, reason="Asked", actor=WHO, value="keep"
    )
    assert kept.message == f"Card {w.card1} hidden."
    with session_scope(engine) as s:
        value = s.get(CanonicalValue, w.v1)
        assert not value.hidden and value.title == words["title"]
    (event,) = moderation.log(engine, deliberation_id=d, action=moderation.HIDE_CARD)
    assert event.details["value"] == "keep"

    # Reword the card first (the value follows), then hide it keeping the value: its old words are gone.
    other = seed(engine)
    d = other.deliberation_id
    _value_carries_card1(engine, other)
    moderation.edit_card(
        engine, deliberation_id=d, card_id=other.card1, reason="Name", actor=WHO, **GOOD_CARD
    )
    with pytest.raises(InvalidInput, match="Choose to hide the value too or to keep it"):
        moderation.hide_card(engine, deliberation_id=d, card_id=other.card1, reason="x", actor=WHO)
    moderation.hide_card(engine, deliberation_id=d, card_id=other.card1, reason="x", actor=WHO, value="keep")
    with session_scope(engine) as s:
        value = s.get(CanonicalValue, other.v1)
        assert value.title == GOOD_CARD["title"] and not value.hidden
        assert s.get(ValuesCard, other.card1).status == "hidden"
