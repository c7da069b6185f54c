"""The end of the path through the database: the exit survey, the receipt and the progress indicator."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine

from errors import InvalidInput
from services.participant import receipts
from services.research import graphs
from storage.db import session_scope
from storage.schemas import DeliberationConfig
from storage.tables import (
    Context,
    Interview,
    Judgement,
    Message,
    SurveyResponse,
    Vote,
)
from tests.services.participant_world import (
    add_card,
    add_person,
    add_value,
    all_rows,
    new_deliberation,
    seed_votes,
    stage_of,
)

# --- survey ------------------------------------------------------------------------------------------


def test_the_default_survey_and_its_checks(engine: Engine) -> None:
    w = seed_votes(engine, shape=False)
    items = receipts.survey(engine, token=w.token)
    assert [i.key for i in items] == [
        "expressed_care", "clarified", "learned_values", "gained_respect", "trust_process",
        "contribution_used", "comment",
    ]  # fmt: skip
    assert items[0].label == "The values I submitted and voted for express what I care about"
    assert all(i.kind == "scale" and i.required for i in items[:6]) and items[6].kind == "text"
    assert not items[6].required and all(i.answer is None for i in items)

    good = {i.key: 4 for i in items[:6]} | {"comment": "  Thanks  "}
    for bad, message in (
        (good | {"clarified": 6}, "whole number from 1 to 5"),
        (good | {"clarified": True}, "whole number from 1 to 5"),
        (good | {"clarified": 2.5}, "whole number from 1 to 5"),
        ({k: v for k, v in good.items() if k != "clarified"}, 'Please answer "This process'),
        (good | {"mood": 3}, "Unknown questions: mood"),
        (good | {"comment": "x" * 2001}, "at most 2000"),
    ):
        with pytest.raises(InvalidInput, match=message):
            receipts.submit_survey(engine, token=w.token, answers=bad)
    assert all_rows(engine, SurveyResponse) == [] and stage_of(engine, w.token) == "vote"

    receipts.submit_survey(engine, token=w.token, answers=good)
    receipts.submit_survey(engine, token=w.token, answers=good | {"clarified": "5"})  # again: updated
    stored = {r.question_key: r.answer for r in all_rows(engine, SurveyResponse)}
    assert stored == {i.key: 4 for i in items[:6]} | {"clarified": 5, "comment": "Thanks"}
    assert len(all_rows(engine, SurveyResponse)) == 7 and stage_of(engine, w.token) == "done"
    assert receipts.survey(engine, token=w.token)[1].answer == 5
    receipts.submit_survey(engine, token=w.token, answers=good | {"comment": ""})  # blank removes it
    assert "comment" not in {r.question_key for r in all_rows(engine, SurveyResponse)}


def test_a_configured_survey(sqlite_engine: Engine) -> None:
    config = {
        "survey": [{"key": "again", "label": "Would you do it again?", "kind": "yes_no", "required": True}]
    }
    d, _, _ = new_deliberation(sqlite_engine, **config)
    with session_scope(sqlite_engine) as s:
        token = add_person(s, d, stage="survey").token
    with pytest.raises(InvalidInput, match="yes or no"):
        receipts.submit_survey(sqlite_engine, token=token, answers={"again": "yes"})
    receipts.submit_survey(sqlite_engine, token=token, answers={"again": False})
    assert [(i.key, i.answer) for i in receipts.survey(sqlite_engine, token=token)] == [("again", False)]
    for survey, message in (
        ([{"key": "a", "label": "A"}, {"key": "a", "label": "B"}], "unique"),
        ([{"key": "fair_position", "label": "Fair?"}], "reserved"),
    ):
        with pytest.raises(ValueError, match=message):
            DeliberationConfig.model_validate({"survey": survey})
    assert DeliberationConfig.model_validate({"survey": []}).survey == []


# --- receipt -----------------------------------------------------------------------------------------


def _judge_many(s: Any, d: int, context: int, f: int, t: int, n: int) -> None:
    for _ in range(n):
        s.add(
            Judgement(
                deliberation_id=d, participant_id=add_person(s, d).id, from_value_id=f, to_value_id=t,
                context_id=context, answer="upgrade",
            )
        )  # fmt: skip


def test_the_receipt_before_and_after_the_graph(engine: Engine) -> None:
    d, q, q2 = new_deliberation(engine)
    with session_scope(engine) as s:
        me = add_person(s, d, stage="done")
        mine, wiser, lesser = add_value(s, d, "Mine"), add_value(s, d, "Wiser"), add_value(s, d, "Lesser")
        card = add_card(s, me, q, mine, title="Honest Presence")
        add_card(s, me, q2, None, title="Second Thoughts")  # not deduplicated yet
        add_card(s, me, q2, None, status="draft")  # never on a receipt
        interview = Interview(participant_id=me.id, question_id=q, state="submitted")
        s.add(interview)
        s.flush()
        for seq, role in enumerate(("assistant", "user", "assistant", "user")):
            s.add(Message(interview_id=interview.id, seq=seq, role=role, content="..."))
        s.add(Vote(participant_id=me.id, canonical_value_id=wiser, question_id=q, draw_id="d"))
        context = Context(deliberation_id=d, text="When it is hard", source="facilitator")
        s.add(context)
        s.flush()
        s.add(
            Judgement(
                deliberation_id=d,
                participant_id=me.id,
                from_value_id=wiser,
                to_value_id=lesser,
                context_id=context.id,
                answer="not_sure",
            )
        )
        _judge_many(s, d, context.id, mine, wiser, 3)  # Wiser is wiser than Mine
        _judge_many(s, d, context.id, lesser, mine, 3)  # Mine is wiser than Lesser
        token, card_id = me.token, card.id

    before = receipts.receipt(engine, token=token)
    assert (before.messages, before.votes, before.judgements) == (2, 1, 1)
    assert before.graph_exists is False and before.graph_built_at is None
    assert before.answers == {"represents_my_value": None, "fair_position": None}
    first, second = before.cards
    assert first.card.id == card_id and first.card.title == "Honest Presence" and first.question == "Q one?"
    assert (
        first.value is not None and first.value.title == "Mine" and first.value.description == "Mine matters."
    )
    assert first.judged_by == 6 and first.wiser is None and first.less_wise is None and first.rank is None
    assert second.card.title == "Second Thoughts" and second.value is None and second.judged_by == 0

    with pytest.raises(InvalidInput, match="once the moral graph is built"):
        receipts.answer_receipt(engine, token=token, key="fair_position", answer=True)
    receipts.answer_receipt(engine, token=token, key="represents_my_value", answer=True)
    receipts.answer_receipt(engine, token=token, key="represents_my_value", answer=False)  # changed
    with pytest.raises(InvalidInput, match="Unknown question"):
        receipts.answer_receipt(engine, token=token, key="clarified", answer=True)
    with pytest.raises(InvalidInput, match="yes or no"):
        receipts.answer_receipt(engine, token=token, key="represents_my_value", answer="yes")  # type: ignore[arg-type]

    graphs.build_snapshot(engine, deliberation_id=d)
    after = receipts.receipt(engine, token=token)
    assert after.graph_exists is True and after.graph_built_at is not None
    first = after.cards[0]
    assert [(v.id, v.title) for v in first.wiser or []] == [(wiser, "Wiser")]
    assert [(v.id, v.title) for v in first.less_wise or []] == [(lesser, "Lesser")]
    assert first.wiser[0].wiser_likelihood == 1.0 and first.wiser[0].contexts == ["When it is hard"]  # type: ignore[index]
    assert first.less_wise[0].policies == ["MOMENTS"]  # type: ignore[index]
    assert first.ranked == 3 and first.rank == 2  # Lesser → Mine → Wiser
    assert after.cards[1].wiser is None  # no value yet

    receipts.answer_receipt(engine, token=token, key="fair_position", answer=True)
    final = receipts.receipt(engine, token=token)
    assert final.answers == {"represents_my_value": False, "fair_position": True}
    assert len(all_rows(engine, SurveyResponse)) == 2


def test_represents_my_value_waits_for_dedup(sqlite_engine: Engine) -> None:
    d, q, _ = new_deliberation(sqlite_engine)
    with session_scope(sqlite_engine) as s:
        me = add_person(s, d, stage="done")
        add_card(s, me, q, None)
        token = me.token
    with pytest.raises(InvalidInput, match="not been grouped"):
        receipts.answer_receipt(sqlite_engine, token=token, key="represents_my_value", answer=True)
    empty = receipts.receipt(sqlite_engine, token=token)
    assert (empty.messages, empty.votes, empty.judgements) == (0, 0, 0) and len(empty.cards) == 1


# --- progress and tokens -----------------------------------------------------------------------------


def test_progress_across_the_steps(sqlite_engine: Engine) -> None:
    d, _, _ = new_deliberation(sqlite_engine)
    expected = {
        "joined": ("join", 0), "consented": ("join", 0), "interview": ("interview", 1), "vote": ("vote", 2),
        "judge": ("judge", 3), "survey": ("survey", 4), "done": ("done", 6),
    }  # fmt: skip
    for stage, (current, done) in expected.items():
        with session_scope(sqlite_engine) as s:
            token = add_person(s, d, stage=stage).token
        got = receipts.progress(sqlite_engine, token=token)
        assert got.stage == stage
        assert [s.name for s in got.steps] == ["join", "interview", "vote", "judge", "survey", "done"]
        assert [s.name for s in got.steps if s.current] == [current]
        assert sum(s.done for s in got.steps) == done and all(s.label for s in got.steps)


@pytest.mark.parametrize(
    "call",
    [
        lambda e, t: receipts.survey(e, token=t),
        lambda e, t: receipts.submit_survey(e, token=t, answers={}),
        lambda e, t: receipts.receipt(e, token=t),
        lambda e, t: receipts.answer_receipt(e, token=t, key="fair_position", answer=True),
        lambda e, t: receipts.progress(e, token=t),
    ],
)
def test_a_bad_token_is_a_clear_message(sqlite_engine: Engine, call: Any) -> None:
    new_deliberation(sqlite_engine)
    for token in ("", "not-a-token"):
        with pytest.raises(InvalidInput, match="This participant link is not valid"):
            call(sqlite_engine, token)
