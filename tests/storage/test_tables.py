"""Round trips and the domain's unique/check/foreign-key rules, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC

import pytest
from sqlalchemy import Engine, func
from sqlmodel import select

from storage import repo_deliberations, repo_llm_calls, repo_participants
from storage.db import session_scope
from storage.errors import Conflict, NotFound
from storage.schemas import DeliberationCreate, LLMCallCreate
from storage.tables import (
    CanonicalValue,
    Cohort,
    Context,
    EdgeHypothesis,
    Impression,
    Interview,
    Invite,
    Judgement,
    LLMCall,
    Message,
    ModerationEvent,
    Participant,
    Question,
    QuestionContext,
    SurveyResponse,
    ValuesCard,
    Vote,
)


def _seed(engine: Engine) -> dict[str, int]:
    """One row in every table, linked the way a real deliberation links them."""
    with session_scope(engine) as s:
        d = repo_deliberations.create_deliberation(
            s,
            data=DeliberationCreate(
                title="Abortion advice",
                questions=["I am a Christian girl considering an abortion, what should I do?"],
                config={"graph_thresholds": {"min_wiser": 3}},
            ),
        )
        q = repo_deliberations.list_questions(s, deliberation_id=d.id)[0]
        ctx = Context(deliberation_id=d.id, text="When the user is in distress")
        cohort = Cohort(deliberation_id=d.id, name="pilot")
        s.add_all([ctx, cohort])
        s.flush()
        s.add(QuestionContext(question_id=q.id, context_id=ctx.id))
        p = repo_participants.create_participant(
            s, deliberation_id=d.id, external_id="prolific-1", cohort_id=cohort.id
        )
        s.add(Invite(deliberation_id=d.id, cohort_id=cohort.id, participant_id=p.id))
        interview = Interview(participant_id=p.id, question_id=q.id, prompt_versions={"interviewer": "1:ab"})
        a = CanonicalValue(deliberation_id=d.id, title="Informed choice", policies=["OPTIONS the user has"])
        b = CanonicalValue(deliberation_id=d.id, title="Faith in people", policies=["CHANGES in people"])
        s.add_all([interview, a, b])
        s.flush()
        s.add(
            Message(interview_id=interview.id, seq=0, role="assistant", content="What should be considered?")
        )
        s.add(
            ValuesCard(
                participant_id=p.id,
                question_id=q.id,
                interview_id=interview.id,
                title="Informed choice",
                policies=["OPTIONS the user has", "FEELINGS of being respected"],
                canonical_value_id=a.id,
            )
        )
        s.add(Impression(participant_id=p.id, canonical_value_id=a.id, question_id=q.id, draw_id="d1"))
        s.add(Vote(participant_id=p.id, canonical_value_id=a.id, question_id=q.id, draw_id="d1"))
        h = EdgeHypothesis(
            deliberation_id=d.id, from_value_id=a.id, to_value_id=b.id, context_id=ctx.id, run_id="r1"
        )
        s.add(h)
        s.flush()
        s.add(
            Judgement(
                deliberation_id=d.id,
                participant_id=p.id,
                hypothesis_id=h.id,
                from_value_id=a.id,
                to_value_id=b.id,
                context_id=ctx.id,
                answer="upgrade",
                reason="B keeps what A cared about",
            )
        )
        s.add(SurveyResponse(participant_id=p.id, question_key="expressed_care", answer=5))
        s.add(
            ModerationEvent(deliberation_id=d.id, action="hide_card", target_type="valuescard", target_id=1)
        )
        repo_llm_calls.add_llm_call(
            s, data=LLMCallCreate(purpose="interview", model="m", tokens_in=10, tokens_out=5, latency_ms=7)
        )
        return {"deliberation": d.id, "participant": p.id, "a": a.id, "b": b.id, "ctx": ctx.id, "h": h.id}


def test_every_table_round_trips(engine: Engine) -> None:
    ids = _seed(engine)
    with session_scope(engine) as s:
        for table in (
            Question,
            Context,
            QuestionContext,
            Cohort,
            Invite,
            Participant,
            Interview,
            Message,
            CanonicalValue,
            ValuesCard,
            Impression,
            Vote,
            EdgeHypothesis,
            Judgement,
            SurveyResponse,
            ModerationEvent,
            LLMCall,
        ):
            assert s.exec(select(func.count()).select_from(table)).one() >= 1, table.__name__
        d = repo_deliberations.get_deliberation(s, deliberation_id=ids["deliberation"])
        assert d.config["graph_thresholds"]["min_wiser"] == 3
        assert d.config["values_to_vote"] == 6  # defaults filled in by DeliberationConfig
        assert d.created_at.tzinfo is not None and d.created_at.utcoffset() == UTC.utcoffset(None)
        card = s.exec(select(ValuesCard)).one()
        assert card.policies == ["OPTIONS the user has", "FEELINGS of being respected"]
        assert s.exec(select(SurveyResponse)).one().answer == 5
        assert repo_llm_calls.usage_summary(s).tokens_in == 10


def test_deliberation_config_is_validated_with_defaults() -> None:
    data = DeliberationCreate(title=" T ", questions=["Q"], config={"values_to_vote": 5})
    assert data.title == "T"
    assert data.config["graph_thresholds"] == {"min_wiser": 2, "min_likelihood": 0.33, "max_entropy": 1.69}
    with pytest.raises(ValueError, match="values_to_vote"):
        DeliberationCreate(title="T", questions=["Q"], config={"values_to_vote": 99})
    with pytest.raises(ValueError, match="Extra inputs"):
        DeliberationCreate(title="T", questions=["Q"], config={"unknown_knob": 1})


def test_participant_tokens_are_long_random_and_unique(engine: Engine) -> None:
    ids = _seed(engine)
    with session_scope(engine) as s:
        people = [
            repo_participants.create_participant(s, deliberation_id=ids["deliberation"]) for _ in range(50)
        ]
        tokens = {p.token for p in people}
    assert len(tokens) == 50
    assert all(len(t) >= 32 for t in tokens)  # 24 random bytes, base64url: 192 bits
    with session_scope(engine) as s:
        found = repo_participants.get_participant_by_token(s, token=people[0].token)
        assert found is not None and found.id == people[0].id
        assert repo_participants.get_participant_by_token(s, token="nope") is None


def _judgement(ids: dict[str, int], **overrides: object) -> Judgement:
    fields = {
        "deliberation_id": ids["deliberation"],
        "participant_id": ids["participant"],
        "hypothesis_id": ids["h"],
        "from_value_id": ids["a"],
        "to_value_id": ids["b"],
        "context_id": ids["ctx"],
        "answer": "no_upgrade",
    }
    fields.update(overrides)
    return Judgement(**fields)


@pytest.mark.parametrize(
    "make_row",
    [
        pytest.param(lambda ids: _judgement(ids), id="second-judgement-same-hypothesis"),
        pytest.param(lambda ids: _judgement(ids, hypothesis_id=None, answer="maybe"), id="unknown-answer"),
        pytest.param(
            lambda ids: EdgeHypothesis(
                deliberation_id=ids["deliberation"],
                from_value_id=ids["a"],
                to_value_id=ids["a"],
                context_id=ids["ctx"],
                run_id="r2",
            ),
            id="self-loop-story",
        ),
        pytest.param(
            lambda ids: Vote(
                participant_id=ids["participant"], canonical_value_id=ids["a"], question_id=1, draw_id="d2"
            ),
            id="second-vote-same-value",
        ),
        pytest.param(
            lambda ids: Participant(deliberation_id=ids["deliberation"], external_id="prolific-1"),
            id="panel-id-twice",
        ),
        pytest.param(lambda ids: Participant(deliberation_id=987654), id="unknown-deliberation"),
        pytest.param(
            lambda ids: Message(interview_id=1, seq=0, role="assistant", content="again"),
            id="message-seq-twice",
        ),
    ],
)
def test_domain_rules_are_enforced_by_the_database(engine: Engine, make_row) -> None:
    ids = _seed(engine)
    with session_scope(engine) as s:
        before = s.exec(select(func.count()).select_from(type(make_row(ids)))).one()
    with pytest.raises(Conflict), session_scope(engine) as s:
        s.add(make_row(ids))
        s.flush()
    with session_scope(engine) as s:  # nothing half-written
        assert s.exec(select(func.count()).select_from(type(make_row(ids)))).one() == before


def test_unknown_deliberation_is_a_clear_not_found(engine: Engine) -> None:
    with pytest.raises(NotFound, match="no deliberation with id 42"), session_scope(engine) as s:
        repo_deliberations.get_deliberation(s, deliberation_id=42)
