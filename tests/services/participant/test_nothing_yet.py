"""When there is nothing to vote on or judge yet (DOMAIN.md §3 steps 5 and 6): the services say why and
whether the pipeline is working on it, passing the step marks it as skipped, and the progress bar says so.
Also the submit's side job: the pipeline for the person's own card, or only its contexts with PIPELINE=off.
"""

from __future__ import annotations

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from errors import InvalidInput
from providers.fakes import ScriptedChatModel
from services.jobs import pipeline
from services.participant import cards, judging, receipts, voting
from services.runtime.background import BackgroundJobs
from storage.db import session_scope
from storage.tables import Context, EdgeHypothesis, Judgement, Participant, QuestionContext
from tests.services.dedup_world import TitleEmbeddings
from tests.services.participant_world import add_card, add_person, add_value, new_deliberation
from tests.services.pipeline_world import answer


def _skipped(engine: Engine, token: str) -> list[str]:
    with session_scope(engine) as s:
        person = s.exec(select(Participant).where(Participant.token == token)).one()
        return list(person.skipped_steps)


def test_an_empty_draw_says_why_and_skipping_it_shows_on_the_progress_bar(engine: Engine) -> None:
    d, q, _ = new_deliberation(engine)
    with session_scope(engine) as s:
        me = add_person(s, d, stage="vote")
        add_card(s, me, q, None, title="Mine")  # my own card, not linked yet: never counted as waiting
        token = me.token
    alone = voting.draw_values(engine, token=token, question_id=q)
    assert (alone.values, alone.waiting, alone.processing) == ([], 0, False)

    with session_scope(engine) as s:
        add_card(s, add_person(s, d), q, None, title="Theirs")  # someone else's, still pending
    waiting = voting.draw_values(engine, token=token, question_id=q)
    assert (waiting.waiting, waiting.processing) == (1, False)
    with pipeline.running(d):
        assert voting.draw_values(engine, token=token, question_id=q).processing is True

    voting.submit_votes(engine, token=token, draw_id="", value_ids=[])
    assert _skipped(engine, token) == ["vote"]
    steps = receipts.progress(engine, token=token).steps
    assert [(s.name, s.skipped) for s in steps][2:4] == [("vote", True), ("judge", False)]
    voting.submit_votes(engine, token=token, draw_id="", value_ids=[])  # again (the back button): once
    assert _skipped(engine, token) == ["vote"]


def test_someone_who_voted_is_never_marked_as_skipping(engine: Engine) -> None:
    d, q, _ = new_deliberation(engine)
    with session_scope(engine) as s:
        me = add_person(s, d, stage="vote")
        add_card(s, me, q, None, title="Mine")
        for title in ("A", "B"):
            add_card(s, add_person(s, d), q, add_value(s, d, title), title=title)
        token = me.token
    draw = voting.draw_values(engine, token=token, question_id=q)
    assert draw.values and draw.waiting == 0  # a draw with values says nothing about waiting
    voting.submit_votes(engine, token=token, draw_id=draw.draw_id, value_ids=[v.id for v in draw.values])
    assert _skipped(engine, token) == []


def _context(s: object, d: int, q: int) -> int:
    context = Context(deliberation_id=d, text="When someone faces a frightening choice")
    s.add(context)  # type: ignore[attr-defined]
    s.flush()  # type: ignore[attr-defined]
    s.add(QuestionContext(question_id=q, context_id=context.id))  # type: ignore[attr-defined]
    assert context.id is not None
    return context.id


def _story(s: object, d: int, a: int, b: int, context: int, *, shown: bool) -> int:
    story = EdgeHypothesis(
        deliberation_id=d, from_value_id=a, to_value_id=b, context_id=context, run_id="r", shown=shown
    )
    s.add(story)  # type: ignore[attr-defined]
    s.flush()  # type: ignore[attr-defined]
    assert story.id is not None
    return story.id


def test_an_empty_judging_set_says_why(engine: Engine) -> None:
    d, q, _ = new_deliberation(engine)
    with session_scope(engine) as s:
        me = add_person(s, d, stage="judge")
        mine = add_value(s, d, "Mine")
        add_card(s, me, q, mine, title="Mine")
        context = _context(s, d, q)
        token = me.token
    assert judging.stories_to_judge(engine, token=token) == []
    assert judging.nothing_to_judge(engine, token=token).reason == "no_pairs"  # my value is alone
    with pipeline.running(d):
        why = judging.nothing_to_judge(engine, token=token)
        assert (why.reason, why.processing) == ("processing", True)

    with session_scope(engine) as s:
        theirs = add_value(s, d, "Theirs")
        add_card(s, add_person(s, d), q, theirs, title="Theirs")
        _story(s, d, mine, theirs, context, shown=False)  # written, failed the story judge
    why = judging.nothing_to_judge(engine, token=token)
    assert (why.reason, why.processing) == ("not_ready", False)  # a pair exists; no story is shown

    with session_scope(engine) as s:
        story = _story(s, d, theirs, mine, context, shown=True)
        s.add(
            Judgement(
                deliberation_id=d,
                participant_id=me.id,
                hypothesis_id=story,
                from_value_id=theirs,
                to_value_id=mine,
                context_id=context,
                answer="upgrade",
            )
        )
    assert judging.nothing_to_judge(engine, token=token).reason == "judged_all"
    judging.finish_judging(engine, token=token)
    assert _skipped(engine, token) == []  # they judged: not a skip


def test_passing_an_empty_judging_step_marks_it_skipped(engine: Engine) -> None:
    d, q, _ = new_deliberation(engine)
    with session_scope(engine) as s:
        me = add_person(s, d, stage="judge", skipped_steps=["vote"])
        add_card(s, me, q, add_value(s, d, "Mine"), title="Mine")
        token = me.token
    judging.finish_judging(engine, token=token)
    assert _skipped(engine, token) == ["vote", "judge"]
    steps = receipts.progress(engine, token=token).steps
    assert [s.name for s in steps if s.skipped] == ["vote", "judge"]
    assert receipts.progress(engine, token=token).stage == "survey"


def test_the_submit_starts_the_pipeline_for_the_persons_own_card_only(engine: Engine) -> None:
    d, q, _ = new_deliberation(engine)
    with session_scope(engine) as s:
        me, other = add_person(s, d, stage="vote"), add_person(s, d, stage="vote")
        mine = add_card(s, me, q, None, title="Mine").id
        draft = add_card(s, me, q, None, status="draft", title="Draft").id
        token, other_token = me.token, other.token
    jobs = BackgroundJobs(workers=1)
    model, embeddings = ScriptedChatModel([answer] * 3), TitleEmbeddings()
    try:
        with pytest.raises(InvalidInput, match="belongs to someone else"):
            cards.start_pipeline(jobs, engine, model, embeddings, token=other_token, card_id=mine)
        with pytest.raises(InvalidInput, match="submitted cards only"):
            cards.start_pipeline(jobs, engine, model, embeddings, token=token, card_id=draft)
        cards.start_pipeline(jobs, engine, model, embeddings, token=token, card_id=mine, automatic=False)
        assert jobs.wait(timeout_s=30)
        assert model.remaining == 2  # PIPELINE=off: only the contexts were mined (one call)
        cards.start_pipeline(jobs, engine, model, embeddings, token=token, card_id=mine)
        assert jobs.wait(timeout_s=30)
        assert model.remaining == 1 and not pipeline.working(d)  # the pipeline: dedup only (mined before)
    finally:
        jobs.shutdown()
    with session_scope(engine) as s:
        assert s.exec(select(EdgeHypothesis)).all() == []
