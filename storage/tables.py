"""SQLModel tables for the whole domain of DOMAIN.md (one class per table).

A row is created from its ``XCreate`` schema (:mod:`storage.schemas`), never field by field: ``XBase``
holds the columns whoever creates the row sets (``created_at`` among them where imported rows keep their
own time), ``X(XBase, table=True)`` adds the keys, constraints and bookkeeping, and ``XCreate(XBase)`` /
``XPublic(XBase)`` are what goes in and comes out (the FastAPI full-stack template's pattern). A table
whose rows only storage itself writes (questions) has no base.

The closed sets (states, stages, statuses, roles, answers) come from :mod:`interviews.vocabulary`; their
CHECK constraints are built from it here, and ``tests/storage/test_vocabulary.py`` checks that the
migrations wrote the same sets. Times are timezone-aware UTC (sqlmodel's ``UTCDateTime`` refuses naive
ones and returns aware ones on both SQLite and PostgreSQL), see :func:`utcnow`. Every change here needs a
migration in ``storage/migrations``; a test compares this metadata with the migrated schema.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Index, Text, UniqueConstraint, false
from sqlmodel import Field, SQLModel

from interviews.vocabulary import (
    CardStatus,
    ContextSource,
    DeliberationStatus,
    JobKind,
    JobStatus,
    JudgementAnswer,
    MessageRole,
    MessageStatus,
    ParticipantStage,
    Stage,
    values_of,
)

# Naming convention so constraint names are stable across SQLite and PostgreSQL (and migrations).
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# The closed sets as stored (each is its vocabulary's values, in order; see interviews.vocabulary).
DELIBERATION_STATUSES = values_of(DeliberationStatus)
INTERVIEW_STATES = values_of(Stage)
MESSAGE_ROLES = values_of(MessageRole)
MESSAGE_STATUSES = values_of(MessageStatus)
CARD_STATUSES = values_of(CardStatus)
ANSWERS = values_of(JudgementAnswer)
PARTICIPANT_STAGES = values_of(ParticipantStage)
CONTEXT_SOURCES = values_of(ContextSource)  # no CHECK constraint (yet)
JOB_STATUSES = values_of(JobStatus)
JOB_KINDS = values_of(JobKind)


def utcnow() -> datetime:
    """Current time, timezone-aware UTC (the one convention for every stored time)."""
    return datetime.now(UTC)


def new_token() -> str:
    """A URL-safe random token with 192 bits of entropy (participant tokens, invite codes)."""
    return secrets.token_urlsafe(24)


def _check_in(column: str, values: tuple[str, ...]) -> str:
    """The SQL of a CHECK that ``column`` holds one of ``values`` (as the migrations write it).

    >>> _check_in("status", ("draft", "open"))
    "status IN ('draft', 'open')"
    """
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


# --- deliberations ---------------------------------------------------------------------------------


class DeliberationBase(SQLModel):
    title: str = Field(max_length=200)
    welcome_text: str = Field(default="", sa_type=Text)
    consent_text: str = Field(default="", sa_type=Text)
    status: str = Field(default=DeliberationStatus.DRAFT.value, max_length=20)
    # Graph thresholds, demographics questions, draw sizes, survey: see storage.schemas.DeliberationConfig.
    config: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)


class Deliberation(DeliberationBase, table=True):
    __table_args__ = (CheckConstraint(_check_in("status", DELIBERATION_STATUSES), name="status"),)
    id: int | None = Field(default=None, primary_key=True)
    open_join_code: str | None = Field(default=None, unique=True, max_length=64)
    external_ref: str | None = Field(default=None, max_length=100)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Question(SQLModel, table=True):
    """A case: a user message posed to an assistant, which participants reason about."""

    __table_args__ = (UniqueConstraint("deliberation_id", "position"),)
    id: int | None = Field(default=None, primary_key=True)
    deliberation_id: int = Field(foreign_key="deliberation.id", index=True)
    position: int = 0
    text: str = Field(sa_type=Text)
    title: str = Field(default="", max_length=200)
    external_ref: str | None = Field(default=None, max_length=100)
    created_at: datetime = Field(default_factory=utcnow)


class ContextBase(SQLModel):
    deliberation_id: int = Field(foreign_key="deliberation.id", index=True)
    text: str = Field(max_length=300)
    source: str = Field(default=ContextSource.FACILITATOR.value, max_length=20)  # a ContextSource
    external_ref: str | None = Field(default=None, max_length=300)


class Context(ContextBase, table=True):
    """A "When ..." clause naming the kind of choice in which a value applies."""

    __table_args__ = (UniqueConstraint("deliberation_id", "text"),)
    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow)


class QuestionContextBase(SQLModel):
    question_id: int = Field(foreign_key="question.id", primary_key=True)
    context_id: int = Field(foreign_key="context.id", primary_key=True)


class QuestionContext(QuestionContextBase, table=True):
    """A context linked to a question (the contexts its stories and judging sets draw on)."""


# --- people ----------------------------------------------------------------------------------------


class CohortBase(SQLModel):
    deliberation_id: int = Field(foreign_key="deliberation.id", index=True)
    name: str = Field(max_length=100)


class Cohort(CohortBase, table=True):
    __table_args__ = (UniqueConstraint("deliberation_id", "name"),)
    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow)


class InviteBase(SQLModel):
    deliberation_id: int = Field(foreign_key="deliberation.id", index=True)
    cohort_id: int | None = Field(default=None, foreign_key="cohort.id")


class Invite(InviteBase, table=True):
    """A per-person invite link; using it creates (or resumes) one Participant."""

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(default_factory=new_token, unique=True, max_length=64)
    participant_id: int | None = Field(default=None, foreign_key="participant.id")
    created_at: datetime = Field(default_factory=utcnow)
    used_at: datetime | None = None
    revoked_at: datetime | None = None


class ParticipantBase(SQLModel):
    deliberation_id: int = Field(foreign_key="deliberation.id", index=True)
    external_id: str | None = Field(default=None, max_length=200)  # e.g. a Prolific id
    cohort_id: int | None = Field(default=None, foreign_key="cohort.id")
    stage: str = Field(default=ParticipantStage.JOINED.value, max_length=20)
    demographics: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    skipped_steps: list[str] = Field(
        default_factory=list, sa_type=JSON, sa_column_kwargs={"server_default": "[]"}
    )
    """The steps the participant passed with nothing to do (``vote``, ``judge``), for the progress bar."""


class Participant(ParticipantBase, table=True):
    __table_args__ = (
        UniqueConstraint("deliberation_id", "external_id"),
        CheckConstraint(_check_in("stage", PARTICIPANT_STAGES), name="stage"),
    )
    id: int | None = Field(default=None, primary_key=True)
    token: str = Field(default_factory=new_token, unique=True, max_length=64)
    consented_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)
    last_seen_at: datetime = Field(default_factory=utcnow)


# --- interviews ------------------------------------------------------------------------------------


class InterviewBase(SQLModel):
    participant_id: int = Field(foreign_key="participant.id", index=True)
    question_id: int = Field(foreign_key="question.id", index=True)
    state: str = Field(default=Stage.OPENING.value, max_length=20)
    prompt_versions: dict[str, str] = Field(default_factory=dict, sa_type=JSON)  # name -> "version:sha256"
    model_id: str = Field(default="", max_length=200)
    app_version: str = Field(default="", max_length=50)


class Interview(InterviewBase, table=True):
    __table_args__ = (CheckConstraint(_check_in("state", INTERVIEW_STATES), name="state"),)
    id: int | None = Field(default=None, primary_key=True)
    tokens_in: int = 0
    tokens_out: int = 0
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None


class MessageBase(SQLModel):
    interview_id: int = Field(foreign_key="interview.id")
    role: str = Field(max_length=20)
    content: str = Field(sa_type=Text)
    status: str = Field(default=MessageStatus.COMPLETE.value, max_length=20)
    client_key: str | None = Field(default=None, max_length=64)
    """The idempotency key of the request that wrote the row (a participant's send, a reply's claim)."""
    model_text: str | None = Field(default=None, sa_type=Text)
    """What the model wrote, when the participant read something else (its reply shaped, the stage's
    question added: :class:`interviews.reply_shaping.Shaping`); None: ``content`` is the model's own text."""
    shaping: list[str] = Field(default_factory=list, sa_type=JSON, sa_column_kwargs={"server_default": "[]"})
    """What the reply shaping did to an interviewer's reply (``cut_at_speaker``, ``question_added``...)."""


class Message(MessageBase, table=True):
    """One message of an interview; ``seq`` (its place) is given by storage when it is appended."""

    __table_args__ = (
        UniqueConstraint("interview_id", "seq"),
        UniqueConstraint("interview_id", "client_key", name="uq_message_client_key"),
        CheckConstraint(_check_in("role", MESSAGE_ROLES), name="role"),
        CheckConstraint(_check_in("status", MESSAGE_STATUSES), name="status"),
    )
    id: int | None = Field(default=None, primary_key=True)
    seq: int
    created_at: datetime = Field(default_factory=utcnow)


# --- values ----------------------------------------------------------------------------------------


class CanonicalValueBase(SQLModel):
    deliberation_id: int = Field(foreign_key="deliberation.id", index=True)
    title: str = Field(max_length=200)
    description: str = Field(default="", sa_type=Text)
    policies: list[str] = Field(default_factory=list, sa_type=JSON)
    dedup_run: str | None = Field(default=None, max_length=64)
    external_ref: str | None = Field(default=None, max_length=100, index=True)
    seed: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    #: Hidden by a facilitator (the reason is in the moderation log): out of draws, stories and the graph.
    hidden: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    """A value the facilitator seeded on a question before (or while) participants take part."""
    created_at: datetime = Field(default_factory=utcnow)


class CanonicalValue(CanonicalValueBase, table=True):
    """The deduplicated value many participants' cards map to; votes and edges attach here. A seed
    (``seed``) has one member card of its own: submitted, on its question, with no author."""

    id: int | None = Field(default=None, primary_key=True)
    updated_at: datetime = Field(default_factory=utcnow)


class ValuesCardBase(SQLModel):
    participant_id: int | None = Field(default=None, foreign_key="participant.id", index=True)
    question_id: int | None = Field(default=None, foreign_key="question.id", index=True)
    interview_id: int | None = Field(default=None, foreign_key="interview.id", index=True)
    title: str = Field(max_length=200)
    description: str = Field(default="", sa_type=Text)
    policies: list[str] = Field(default_factory=list, sa_type=JSON)
    status: str = Field(default=CardStatus.DRAFT.value, max_length=20)
    canonical_value_id: int | None = Field(default=None, foreign_key="canonicalvalue.id", index=True)
    quality_flags: list[str] = Field(default_factory=list, sa_type=JSON)
    edited_by_participant: bool = False
    external_ref: str | None = Field(default=None, max_length=100)
    created_at: datetime = Field(default_factory=utcnow)
    submitted_at: datetime | None = None


class ValuesCard(ValuesCardBase, table=True):
    """A participant's card. Author and question are always set for cards made in the app; they are
    empty only for imported cards whose source lost the link (the published dft dump has no chats).
    """

    __table_args__ = (CheckConstraint(_check_in("status", CARD_STATUSES), name="status"),)
    id: int | None = Field(default=None, primary_key=True)


class ImpressionBase(SQLModel):
    participant_id: int = Field(foreign_key="participant.id")
    canonical_value_id: int = Field(foreign_key="canonicalvalue.id", index=True)
    question_id: int = Field(foreign_key="question.id")
    draw_id: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow)


class Impression(ImpressionBase, table=True):
    """A canonical value shown to a participant in one draw."""

    __table_args__ = (UniqueConstraint("participant_id", "canonical_value_id", "draw_id"),)
    id: int | None = Field(default=None, primary_key=True)


class VoteBase(SQLModel):
    participant_id: int = Field(foreign_key="participant.id")
    canonical_value_id: int = Field(foreign_key="canonicalvalue.id", index=True)
    question_id: int = Field(foreign_key="question.id")
    draw_id: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow)


class Vote(VoteBase, table=True):
    """A canonical value a participant selected as wise (once per value and question)."""

    __table_args__ = (UniqueConstraint("participant_id", "canonical_value_id", "question_id"),)
    id: int | None = Field(default=None, primary_key=True)


# --- wisdom upgrades -------------------------------------------------------------------------------


class EdgeHypothesisBase(SQLModel):
    deliberation_id: int = Field(foreign_key="deliberation.id", index=True)
    from_value_id: int = Field(foreign_key="canonicalvalue.id")
    to_value_id: int = Field(foreign_key="canonicalvalue.id")
    context_id: int = Field(foreign_key="context.id")
    story: str = Field(default="", sa_type=Text)
    run_id: str = Field(max_length=64)
    prompt_hash: str = Field(default="", max_length=80)
    model_id: str = Field(default="", max_length=200)
    judge_scores: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    shown: bool = True  # False when the story judge failed it or a facilitator hid it
    created_at: datetime = Field(default_factory=utcnow)


class EdgeHypothesis(EdgeHypothesisBase, table=True):
    """An upgrade story: someone moving from one value to another in a context."""

    __table_args__ = (
        UniqueConstraint("from_value_id", "to_value_id", "context_id", "run_id"),
        CheckConstraint("from_value_id <> to_value_id", name="not_self"),
    )
    id: int | None = Field(default=None, primary_key=True)


class JudgementBase(SQLModel):
    deliberation_id: int = Field(foreign_key="deliberation.id")  # = the participant's; for fast graph builds
    participant_id: int = Field(foreign_key="participant.id")
    hypothesis_id: int | None = Field(default=None, foreign_key="edgehypothesis.id")
    from_value_id: int = Field(foreign_key="canonicalvalue.id")
    to_value_id: int = Field(foreign_key="canonicalvalue.id")
    context_id: int = Field(foreign_key="context.id")
    answer: str = Field(max_length=20)  # a JudgementAnswer
    reason: str | None = Field(default=None, sa_type=Text)
    created_at: datetime = Field(default_factory=utcnow, index=True)


class Judgement(JudgementBase, table=True):
    """One answer to "Did this person become wiser?" (DOMAIN.md §7 aggregates these)."""

    __table_args__ = (
        UniqueConstraint("participant_id", "hypothesis_id"),
        CheckConstraint(_check_in("answer", ANSWERS), name="answer"),
        Index("ix_judgement_graph", "context_id", "from_value_id", "to_value_id"),
        Index("ix_judgement_build", "deliberation_id", "id"),
    )
    id: int | None = Field(default=None, primary_key=True)


class SurveyResponseBase(SQLModel):
    participant_id: int = Field(foreign_key="participant.id")
    question_key: str = Field(max_length=100)
    answer: Any = Field(sa_type=JSON)


class SurveyResponse(SurveyResponseBase, table=True):
    __table_args__ = (UniqueConstraint("participant_id", "question_key"),)
    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow)


# --- operations ------------------------------------------------------------------------------------


class ModerationEventBase(SQLModel):
    #: None for the console's own events (a deliberation deleted, an account changed: the System page).
    deliberation_id: int | None = Field(default=None, foreign_key="deliberation.id")
    actor: str = Field(default="facilitator", max_length=100)
    action: str = Field(max_length=50)
    target_type: str = Field(max_length=50)
    target_id: int | None = None
    reason: str = Field(default="", sa_type=Text)
    details: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)


class ModerationEvent(ModerationEventBase, table=True):
    """What a facilitator did (hide a card, merge or split values...), for the moderation log; with no
    deliberation, what they did to the console itself (deleted a deliberation, changed an account)."""

    __table_args__ = (Index("ix_moderationevent_timeline", "deliberation_id", "created_at"),)
    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow)


class LLMCallBase(SQLModel):
    purpose: str = Field(max_length=50)
    model: str = Field(default="", max_length=200)
    tokens_in: int = 0
    tokens_out: int = 0
    estimated: bool = False
    latency_ms: int = 0
    streamed: bool = False
    error: str | None = Field(default=None, max_length=500)
    deliberation_id: int | None = Field(default=None, foreign_key="deliberation.id")
    interview_id: int | None = Field(default=None, foreign_key="interview.id", index=True)
    participant_id: int | None = Field(default=None, foreign_key="participant.id", index=True)
    #: The job run the call belongs to (``pipeline-12``: the pipeline counts its calls by it), or None.
    job_run: str | None = Field(default=None, max_length=64, index=True)


class LLMCall(LLMCallBase, table=True):
    """One model call with its cost and outcome (monitoring, budgets)."""

    __table_args__ = (Index("ix_llmcall_monitor", "deliberation_id", "created_at"),)
    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow)


class GraphSnapshotBase(SQLModel):
    deliberation_id: int = Field(foreign_key="deliberation.id")
    thresholds: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    params: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    judgements: int = 0
    values: int = 0
    edges: int = 0
    contexts: int = 0
    skipped: dict[str, int] = Field(default_factory=dict, sa_type=JSON)
    result: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    app_version: str = Field(default="", max_length=50)


class GraphSnapshot(GraphSnapshotBase, table=True):
    """One build of a deliberation's moral graph, with the parameters that produced it."""

    __table_args__ = (Index("ix_graphsnapshot_latest", "deliberation_id", "created_at"),)
    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow)


# --- the facilitator console: accounts, sign-in attempts, job runs -----------------------------------


class FacilitatorAccountBase(SQLModel):
    name: str = Field(max_length=100, unique=True)
    #: argon2id hash (argon2-cffi); None for an account that signs in only through OpenID Connect.
    password_hash: str | None = Field(default=None, max_length=200)


class FacilitatorAccount(FacilitatorAccountBase, table=True):
    """A named facilitator: every console action is attributed to one."""

    id: int | None = Field(default=None, primary_key=True)
    #: Raised to end every session of the account at once (a new password, "sign out everywhere").
    session_version: int = 0
    created_at: datetime = Field(default_factory=utcnow)
    disabled_at: datetime | None = None
    last_signin_at: datetime | None = None


class SignInAttemptBase(SQLModel):
    account_name: str = Field(max_length=100)
    client: str = Field(default="", max_length=100)  # the client's address as the server saw it
    ok: bool = False
    reason: str = Field(default="", max_length=100)


class SignInAttempt(SignInAttemptBase, table=True):
    """One sign-in attempt, kept for the rate limit (per account and per client) and the log."""

    __table_args__ = (
        Index("ix_signinattempt_account", "account_name", "created_at"),
        Index("ix_signinattempt_client", "client", "created_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow)


class AppSecret(SQLModel, table=True):
    """A secret the app made for itself once (the session-signing key when SESSION_SECRET is unset),
    shared by every app process on the database."""

    name: str = Field(primary_key=True, max_length=50)
    value: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=utcnow)


class JobRunBase(SQLModel):
    kind: str = Field(max_length=30)  # a JobKind
    deliberation_id: int | None = Field(default=None, foreign_key="deliberation.id", index=True)
    args: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    actor: str = Field(default="", max_length=100)


class JobRun(JobRunBase, table=True):
    """A facilitator's long work as a persisted run: a reload or another app process shows it."""

    __table_args__ = (
        CheckConstraint(_check_in("status", JOB_STATUSES), name="status"),
        CheckConstraint(_check_in("kind", JOB_KINDS), name="kind"),
        Index("ix_jobrun_timeline", "deliberation_id", "created_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    status: str = Field(default=JobStatus.QUEUED.value, max_length=20)
    done: int = 0
    total: int = 0
    log: list[str] = Field(default_factory=list, sa_type=JSON)
    result: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    error: str | None = Field(default=None, sa_type=Text)
    created_at: datetime = Field(default_factory=utcnow)
    started_at: datetime | None = None
    finished_at: datetime | None = None
    #: Written as the run goes; a running run whose heartbeat is old was left by a stopped process.
    heartbeat_at: datetime | None = None
