"""What goes in (``XCreate``) and what comes out (``XPublic``) of storage.

Pages and the CLI only ever see these, never a table object or a session.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlmodel import SQLModel

from storage.tables import DeliberationBase, LLMCallBase


class GraphThresholds(BaseModel):
    """Edge trimming rules of DOMAIN.md §7 (MAI's values by default); written into every export."""

    min_wiser: int = Field(default=2, ge=0)
    min_likelihood: float = Field(default=0.33, ge=-1.0, le=1.0)
    max_entropy: float = Field(default=1.69, ge=0.0)


class DemographicQuestion(BaseModel):
    key: str = Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")
    label: str = Field(min_length=1, max_length=200)
    kind: Literal["choice", "text", "number"] = "choice"
    options: list[str] = Field(default_factory=list, max_length=50)
    required: bool = False


class DeliberationConfig(BaseModel):
    """A deliberation's settings, stored as JSON on the row."""

    model_config = ConfigDict(extra="forbid")

    graph_thresholds: GraphThresholds = Field(default_factory=GraphThresholds)
    demographics: list[DemographicQuestion] = Field(default_factory=list, max_length=30)
    values_to_vote: int = Field(default=6, ge=2, le=12)
    min_votes: int = Field(default=2, ge=1, le=12)
    stories_to_judge: int = Field(default=3, ge=1, le=10)
    interview_turn_limit: int = Field(default=12, ge=3, le=50)


class DeliberationCreate(DeliberationBase):
    questions: list[str] = Field(default_factory=list)

    @field_validator("title")
    @classmethod
    def _title_not_blank(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("a deliberation needs a title")
        if len(value) > 200:
            raise ValueError("a title has at most 200 characters")
        return value

    @field_validator("questions")
    @classmethod
    def _questions_not_blank(cls, value: list[str]) -> list[str]:
        cleaned = [q.strip() for q in value]
        if any(not q for q in cleaned):
            raise ValueError("a question cannot be empty")
        return cleaned

    @field_validator("config")
    @classmethod
    def _valid_config(cls, value: dict[str, Any]) -> dict[str, Any]:
        return DeliberationConfig.model_validate(value).model_dump()


class QuestionPublic(SQLModel):
    id: int
    position: int
    text: str
    title: str


class DeliberationPublic(DeliberationBase):
    id: int
    created_at: datetime
    questions: list[QuestionPublic] = Field(default_factory=list)
    participant_count: int = 0

    @property
    def settings(self) -> DeliberationConfig:
        return DeliberationConfig.model_validate(self.config)


class InvitePublic(SQLModel):
    id: int
    deliberation_id: int
    code: str
    cohort: str | None = None
    created_at: datetime
    used_at: datetime | None = None


class ParticipantPublic(SQLModel):
    id: int
    deliberation_id: int
    token: str
    stage: str
    external_id: str | None = None
    consented_at: datetime | None = None
    demographics: dict[str, Any] = Field(default_factory=dict)


class LLMCallCreate(LLMCallBase):
    pass


class LLMCallPublic(LLMCallBase):
    id: int
    created_at: datetime


class UsageSummary(BaseModel):
    calls: int = 0
    errors: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    mean_latency_ms: float = 0.0


# --- interviews ------------------------------------------------------------------------------------


class MessagePublic(SQLModel):
    id: int
    seq: int
    role: str
    content: str
    status: str
    created_at: datetime


class CardPublic(SQLModel):
    """A participant's values card as a page shows it (plain text fields; never rendered as HTML)."""

    id: int
    interview_id: int | None = None
    question_id: int | None = None
    title: str
    description: str
    policies: list[str]
    status: str
    quality_flags: list[str] = Field(default_factory=list)
    edited_by_participant: bool = False
    canonical_value_id: int | None = None
    digest: str = ""
    problems: list[str] = Field(default_factory=list)


class InterviewPublic(SQLModel):
    """Everything the interview page needs to resume: the conversation, the stage, the latest card."""

    id: int
    participant_id: int
    question_id: int
    deliberation_id: int
    question: str
    state: str
    messages: list[MessagePublic]
    card: CardPublic | None = None
    awaiting_reply: bool = False  # the last message is the participant's: the reply failed or is due
    user_turns: int = 0
    turn_limit: int = 12


# --- upgrade stories -------------------------------------------------------------------------------


class StoryValuePublic(BaseModel):
    """A canonical value as a story panel shows it (card A or card B)."""

    id: int
    title: str
    description: str = ""
    policies: list[str] = Field(default_factory=list)


class EdgeHypothesisPublic(BaseModel):
    """An upgrade story with its context and both values, ready to show or to review."""

    id: int
    deliberation_id: int
    run_id: str
    context_id: int
    context: str
    from_value: StoryValuePublic
    to_value: StoryValuePublic
    story: str
    shown: bool
    judge_scores: dict[str, Any] | None = None
    prompt_hash: str = ""
    model_id: str = ""
    created_at: datetime


# --- canonical values (dedup review) ---------------------------------------------------------------


class CanonicalValuePublic(SQLModel):
    """A deduplicated value with its member cards, for the facilitator's review screen."""

    id: int
    deliberation_id: int
    title: str
    description: str
    policies: list[str]
    dedup_run: str | None = None
    external_ref: str | None = None
    created_at: datetime
    updated_at: datetime
    cards: list[CardPublic] = Field(default_factory=list)
    votes: int = 0


class ModerationEventPublic(SQLModel):
    """One entry of a deliberation's moderation log (merge, split, a dedup batch, a hidden card...)."""

    id: int
    deliberation_id: int
    actor: str
    action: str
    target_type: str
    target_id: int | None = None
    reason: str = ""
    details: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime
