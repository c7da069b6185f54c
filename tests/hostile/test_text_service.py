"""The hostile text corpus through the services: stored exactly (or refused with one line, for NUL and lone
surrogates), read back equal, and sent to the model only as the participant's own turns or as escaped data
inside a user message, never as system text (issue 10 items 4-6)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage
from sqlalchemy import Engine

from errors import InvalidInput
from interviews.reply_shaping import speaker_cut
from providers.fakes import ScriptedChatModel
from services.facilitator import deliberations
from services.participant import cards, interviewing
from services.runtime.retrying import RetryPolicy
from storage import db, repo_interviews, repo_participants
from storage.db import session_scope
from storage.schemas import ParticipantCreate, ValuesCardCreate
from tests import postgres_server
from tests.hostile.text_corpus import CASES, TextCase
from tests.worlds import HONEST_CARD

NO_WAIT = RetryPolicy(attempts=1, sleep=lambda s: None)
BUDGET = 10_000_000
CARD = HONEST_CARD


@dataclass(frozen=True)
class World:
    engine: Engine
    deliberation_id: int
    question_id: int

    def new_interview(self) -> tuple[str, int]:
        """A new participant of the shared deliberation, with an interview started."""
        with session_scope(self.engine) as s:
            data = ParticipantCreate(deliberation_id=self.deliberation_id)
            token = repo_participants.create_participant(s, data=data).token
        view = interviewing.start_interview(self.engine, token=token, question_id=self.question_id)
        return token, view.id


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """One deliberation per backend for the whole module: each case gets its own participant."""
    admin = url = None
    if request.param == "sqlite":
        url = f"sqlite:///{Path(tmp_path_factory.mktemp('hostile-text')) / 'text.sqlite3'}"
    else:
        admin = request.getfixturevalue("postgres_admin_url")
        url = postgres_server.create_database(admin)
    engine = db.init_db(url)
    d = deliberations.create_deliberation(engine, title="Hostile text", questions=["What should I do?"])
    try:
        yield World(engine, d.id, d.questions[0].id)
    finally:
        engine.dispose()
        if admin is not None:
            postgres_server.drop_database(admin, url)


def _ids(case: TextCase) -> str:
    return case.id


def _system_text(messages: list[BaseMessage]) -> str:
    return "\n".join(str(m.content) for m in messages if isinstance(m, SystemMessage))


def _escaped(text: str) -> str:
    """How :func:`interviews.prompting.as_data` writes text inside its tag."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_a_conversation_keeps_the_text_and_sends_it_only_as_the_participants(
    world: World, case: TextCase
) -> None:
    token, interview = world.new_interview()
    if not case.stored:
        with pytest.raises(InvalidInput, match="cannot be stored"):
            interviewing.post_message(world.engine, token=token, interview_id=interview, text=case.text)
        view = interviewing.get_interview(world.engine, token=token, interview_id=interview)
        assert [m.role for m in view.messages] == ["assistant"]  # the opening only: nothing stored
        return
    typed = case.text.strip()  # a message is stored without surrounding whitespace
    interviewing.post_message(world.engine, token=token, interview_id=interview, text=case.text)
    model = ScriptedChatModel([case.text, CARD])  # the model echoes it: model text is kept exactly too,
    # up to where the reply shaping ends a capable model's reply (before a turn of another speaker)
    shown = case.text[: speaker_cut(case.text)] if speaker_cut(case.text) is not None else case.text
    reply = "".join(
        interviewing.reply(
            world.engine, model, token=token, interview_id=interview, token_budget=BUDGET, retry=NO_WAIT
        )
    )
    assert reply == shown
    view = interviewing.get_interview(world.engine, token=token, interview_id=interview)
    assert [(m.role, m.content) for m in view.messages[1:]] == [("user", typed), ("assistant", shown.strip())]

    sent = model.calls[0]
    assert isinstance(sent[0], SystemMessage) and typed not in _system_text(sent)
    assert [m.content for m in sent if isinstance(m, HumanMessage)] == [typed]  # its own user turn

    cards.request_card(world.engine, model, token=token, interview_id=interview, token_budget=BUDGET)
    written = model.calls[1]
    assert all(isinstance(m, HumanMessage) for m in written)  # the card prompt has no system part
    prompt = "\n".join(str(m.content) for m in written)
    assert f"Participant: {_escaped(typed)}" in prompt  # inside <transcript>, as escaped data
    if set(typed) & set("<>"):
        assert typed not in prompt  # never raw, so it cannot close the tag it sits in
    assert prompt.count("</transcript>") == 1


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_a_card_edit_is_stored_as_typed(world: World, case: TextCase) -> None:
    token, interview = world.new_interview()
    with session_scope(world.engine) as s:
        participant = repo_participants.get_participant_by_token(s, token=token)
        assert participant is not None
        card = repo_interviews.add_card(
            s,
            data=ValuesCardCreate(
                participant_id=participant.id, question_id=world.question_id, interview_id=interview, **CARD
            ),
        )
        card_id = card.id
    assert card_id is not None
    title = case.text if len(case.text.strip()) <= 80 else "A long one"
    edit = {"title": title, "description": case.text, "policies": [case.text, "MOMENTS that matter"]}
    if not case.stored:
        with pytest.raises(InvalidInput, match="cannot be stored"):
            cards.edit_card(world.engine, token=token, card_id=card_id, **edit)
        view = interviewing.get_interview(world.engine, token=token, interview_id=interview)
        assert view.card is not None and view.card.title == CARD["title"]  # unchanged
        return
    cards.edit_card(world.engine, token=token, card_id=card_id, **edit)
    view = interviewing.get_interview(world.engine, token=token, interview_id=interview)
    assert view.card is not None
    typed = case.text.strip()
    assert (view.card.title, view.card.description) == (title.strip(), typed)
    assert view.card.policies == [typed, "MOMENTS that matter"]


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_a_deliberation_keeps_the_facilitators_text(world: World, case: TextCase) -> None:
    title = case.text if len(case.text.strip()) <= 200 else "A long one"
    fields = {"title": title, "questions": [case.text], "welcome_text": case.text, "consent_text": case.text}
    if not case.stored:
        with pytest.raises(InvalidInput, match="cannot be stored"):
            deliberations.create_deliberation(world.engine, **fields)
        assert all(d.title != title for d in deliberations.list_deliberations(world.engine))
        return
    created = deliberations.create_deliberation(world.engine, **fields)
    again = deliberations.get_deliberation(world.engine, deliberation_id=created.id)
    assert again.title == title.strip()
    assert [q.text for q in again.questions] == [case.text.strip()]
    assert (again.welcome_text, again.consent_text) == (case.text, case.text)
