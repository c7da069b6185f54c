"""The vote and judge pages when there is nothing to do yet (issue 11): they say why, offer "Check again"
while the pipeline works on something the person could use, skip the step visibly, and the progress bar
says it was skipped. Seed values carry their label on the vote page."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import Engine
from streamlit.testing.v1 import AppTest

from providers.fakes import ScriptedChatModel
from services.facilitator import deliberations, seeds, system
from services.jobs import pipeline
from services.participant import cards, interviewing, joining
from settings import load_settings
from storage.db import session_scope
from storage.tables import CanonicalValue, Participant, ValuesCard
from tests import worlds
from tests.app.conftest import open_page, shown, texts


@pytest.fixture
def engine(app_env: pytest.MonkeyPatch) -> Iterator[Engine]:
    engine = system.open_database(load_settings())
    yield engine
    engine.dispose()


def _submitted(engine: Engine) -> tuple[str, int, int]:
    """A participant whose card is submitted (stage vote) on a question nobody else answered yet:
    (token, deliberation, question)."""
    d = deliberations.create_deliberation(engine, title="Care", questions=["What should I do?"]).id
    deliberations.set_status(engine, deliberation_id=d, status="open")
    link = deliberations.create_invites(engine, deliberation_id=d, count=1, base_url="http://x")[0]
    token = joining.join(engine, invite=link.invite.code).token
    joining.consent(engine, token=token, demographics={})
    question = joining.home(engine, token=token).questions[0].id
    view = interviewing.start_interview(engine, token=token, question_id=question)
    card = cards.request_card(
        engine, ScriptedChatModel([worlds.GOOD_CARD]), token=token, interview_id=view.id
    )
    cards.submit_card(engine, token=token, card_id=card.id, digest=card.digest)
    return token, d, question


def _button(at: AppTest, label: str):  # type: ignore[no-untyped-def]
    return next(b for b in at.button if b.label == label)


def _progress(at: AppTest) -> str:
    return shown(at.get("progress")[0].proto.text)


def test_nothing_to_vote_on_yet_is_said_and_the_step_shows_as_skipped(
    make_app: Callable[[], AppTest], engine: Engine
) -> None:
    token, _, _ = _submitted(engine)
    at = open_page(make_app, "pages/vote.py", token=token)
    assert not at.exception
    assert "Nobody else has shared a value on this question yet" in texts(at)
    assert "This step is skipped" in texts(at) and not at.checkbox
    assert not any(b.label == "Check again" for b in at.button)  # nothing is being made: no waiting
    _button(at, "Continue").click().run()
    assert not at.exception and joining.home(engine, token=token).participant.stage == "judge"

    at = open_page(make_app, "pages/judge.py", token=token)
    assert not at.exception
    assert "Others' values: skipped" in _progress(at)
    assert "No two values share a situation yet" in texts(at)  # the judge page says why too
    _button(at, "Continue").click().run()
    assert not at.exception and joining.home(engine, token=token).participant.stage == "survey"
    at = open_page(make_app, "pages/finish.py", token=token)
    assert not at.exception
    assert "Others' values: skipped" in _progress(at) and "Wisdom stories: skipped" in _progress(at)


def test_while_the_pipeline_works_on_a_value_the_vote_page_offers_to_check_again(
    make_app: Callable[[], AppTest], engine: Engine
) -> None:
    token, d, question = _submitted(engine)
    with session_scope(engine) as s:  # someone else's card, submitted a moment ago: not a value yet
        peer = Participant(deliberation_id=d, stage="vote")
        s.add(peer)
        s.flush()
        card = ValuesCard(
            participant_id=peer.id, question_id=question, status="submitted", **worlds.HONEST_CARD
        )
        s.add(card)
        s.flush()
        card_id = card.id
    with pipeline.running(d):
        at = open_page(make_app, "pages/vote.py", token=token)
        assert not at.exception
        assert "1 value from other participants is being processed right now" in texts(at)
        assert {b.label for b in at.button} >= {"Check again", "Go on without voting"}
        _button(at, "Check again").click().run()
        assert not at.exception and "being processed right now" in texts(at)
        with session_scope(engine) as s:  # the pipeline links it to a value
            value = CanonicalValue(deliberation_id=d, title="Honest Presence", dedup_run="r")
            s.add(value)
            s.flush()
            linked = s.get(ValuesCard, card_id)
            assert linked is not None
            linked.canonical_value_id = value.id
            s.add(linked)
    _button(at, "Check again").click().run()
    assert not at.exception
    assert [shown(c.label) for c in at.checkbox] == ["Wise: Honest Presence"]


def test_a_pending_value_without_a_working_pipeline_is_skipped_with_its_reason(
    make_app: Callable[[], AppTest], engine: Engine
) -> None:
    token, d, question = _submitted(engine)
    with session_scope(engine) as s:
        peer = Participant(deliberation_id=d, stage="vote")
        s.add(peer)
        s.flush()
        s.add(
            ValuesCard(participant_id=peer.id, question_id=question, status="submitted", **worlds.HONEST_CARD)
        )
    at = open_page(make_app, "pages/vote.py", token=token)
    assert not at.exception
    assert "1 value from other participants is waiting to be processed by the organisers" in texts(at)
    assert not any(b.label == "Check again" for b in at.button)


def test_while_stories_are_written_the_judge_page_offers_to_check_again(
    make_app: Callable[[], AppTest], engine: Engine
) -> None:
    token, d, _ = _submitted(engine)
    at = open_page(make_app, "pages/vote.py", token=token)
    _button(at, "Continue").click().run()
    with pipeline.running(d):
        at = open_page(make_app, "pages/judge.py", token=token)
        assert not at.exception
        assert "Stories about the newest values are being written right now" in texts(at)
        _button(at, "Check again").click().run()
        assert not at.exception and "being written right now" in texts(at)
        _button(at, "Go on without judging").click().run()
    assert not at.exception and joining.home(engine, token=token).participant.stage == "survey"


def test_a_seed_value_is_labelled_on_the_vote_page(make_app: Callable[[], AppTest], engine: Engine) -> None:
    token, _, question = _submitted(engine)
    seeds.add_seed(engine, question_id=question, **worlds.HONEST_CARD)
    at = open_page(make_app, "pages/vote.py", token=token)
    assert not at.exception
    assert [shown(c.label) for c in at.checkbox] == ["Wise: Honest Presence"]
    assert "Suggested by the organisers" in [shown(c.value) for c in at.caption]
