"""Round trips and the domain's unique/check/foreign-key rules, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC

import pytest
from sqlalchemy import Engine, func
from sqlmodel import select

from interviews.vocabulary import ContextSource, JudgementAnswer, MessageRole, MessageStatus
from storage import (
    repo_deliberations,
    repo_interviews,
    repo_judgements,
    repo_llm_calls,
    repo_participants,
    repo_snapshots,
    repo_values,
)
from storage.db import session_scope
from storage.errors import Conflict, NotFound
from storage.schemas import (
    CanonicalValueCreate,
    CohortCreate,
    ContextCreate,
    DeliberationCreate,
    EdgeHypothesisCreate,
    GraphSnapshotCreate,
    ImpressionCreate,
    InterviewCreate,
    InviteCreate,
    JudgementCreate,
    LLMCallCreate,
    MessageCreate,
    ModerationEventCreate,
    ParticipantCreate,
    QuestionContextCreate,
    SurveyResponseCreate,
    ValuesCardCreate,
    VoteCreate,
)
from storage.tables import (
    CanonicalValue,
    Cohort,
    Context,
    EdgeHypothesis,
    GraphSnapshot,
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
    """One row in every table, linked the way a real deliberation links them, each made the one way a row
    is made: its ``XCreate`` handed to a repository function.
    """
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
        ctx, created = repo_deliberations.add_context(
            s, data=ContextCreate(deliberation_id=d.id, text="When the user is in distress")
        )
        assert created and ctx.source == ContextSource.FACILITATOR
        cohort = repo_deliberations.get_or_create_cohort(
            s, data=CohortCreate(deliberation_id=d.id, name="pilot")
        )
        assert repo_deliberations.link_context(
            s, data=QuestionContextCreate(question_id=q.id, context_id=ctx.id)
        )
        p = repo_participants.create_participant(
            s, data=ParticipantCreate(deliberation_id=d.id, external_id="prolific-1", cohort_id=cohort.id)
        )
        (invite,) = repo_deliberations.create_invites(
            s, data=InviteCreate(deliberation_id=d.id, cohort_id=cohort.id), count=1
        )
        invite.participant_id = p.id
        interview = repo_interviews.create_interview(
            s,
            data=InterviewCreate(
                participant_id=p.id,
                question_id=q.id,
                prompt_versions={"interviewer": "1:ab"},
                model_id="m" * 300,
            ),
        )
        assert len(interview.model_id) == 200  # a long model name is cut, not refused
        a = repo_values.add_canonical_value(
            s,
            data=CanonicalValueCreate(
                deliberation_id=d.id, title="Informed choice", policies=["OPTIONS the user has"]
            ),
        )
        b = repo_values.add_canonical_value(
            s,
            data=CanonicalValueCreate(
                deliberation_id=d.id, title="Faith in people", policies=["CHANGES in people"]
            ),
        )
        message = repo_interviews.add_message(
            s,
            data=MessageCreate(
                interview_id=interview.id, role=MessageRole.ASSISTANT, content="What should be considered?"
            ),
        )
        assert message.seq == 0 and message.status == MessageStatus.COMPLETE
        repo_interviews.add_card(
            s,
            data=ValuesCardCreate(
                participant_id=p.id,
                question_id=q.id,
                interview_id=interview.id,
                title="Informed choice",
                policies=["OPTIONS the user has", "FEELINGS of being respected"],
                canonical_value_id=a.id,
            ),
        )
        repo_participants.add_impressions(
            s,
            data=[
                ImpressionCreate(participant_id=p.id, canonical_value_id=a.id, question_id=q.id, draw_id="d1")
            ],
        )
        repo_participants.add_votes(
            s, data=[VoteCreate(participant_id=p.id, canonical_value_id=a.id, question_id=q.id, draw_id="d1")]
        )
        h, created = repo_judgements.add_hypothesis(
            s,
            data=EdgeHypothesisCreate(
                deliberation_id=d.id, from_value_id=a.id, to_value_id=b.id, context_id=ctx.id, run_id="r1"
            ),
        )
        assert created
        repo_judgements.upsert_judgement(
            s,
            data=JudgementCreate(
                deliberation_id=d.id,
                participant_id=p.id,
                hypothesis_id=h.id,
                from_value_id=a.id,
                to_value_id=b.id,
                context_id=ctx.id,
                answer=JudgementAnswer.UPGRADE,
                reason="B keeps what A cared about",
            ),
        )
        repo_participants.set_survey_answer(
            s, data=SurveyResponseCreate(participant_id=p.id, question_key="expressed_care", answer=5)
        )
        repo_values.add_moderation_event(
            s,
            data=ModerationEventCreate(
                deliberation_id=d.id, action="hide_card", target_type="valuescard", target_id=1
            ),
        )
        repo_llm_calls.add_llm_call(
            s, data=LLMCallCreate(purpose="interview", model="m", tokens_in=10, tokens_out=5, latency_ms=7)
        )
        repo_snapshots.add_graph_snapshot(s, data=GraphSnapshotCreate(deliberation_id=d.id, judgements=1))
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
            GraphSnapshot,
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
            repo_participants.create_participant(
                s, data=ParticipantCreate(deliberation_id=ids["deliberation"])
            )
            for _ in range(50)
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
