"""What goes in (``XCreate``) and what comes out (``XPublic``) of storage.

A row is created in one way only: a service builds the row's ``XCreate`` and hands it to a repository
function (``data=``); it never builds a table object. ``XCreate`` and ``XPublic`` share the table's
``XBase`` (:mod:`storage.tables`) where their columns are the same. Pages and the CLI only ever see these,
never a table object or a session.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    ValidationInfo,
    field_validator,
    model_validator,
)
from sqlmodel import SQLModel

from interviews.answers import DEFAULT_HIGHEST, DEFAULT_LOWEST, NUMBER_BOUND
from interviews.cards import CardDraft, lint_card
from storage.tables import (
    CanonicalValue,
    CanonicalValueBase,
    CohortBase,
    ContextBase,
    DeliberationBase,
    EdgeHypothesisBase,
    GraphSnapshotBase,
    ImpressionBase,
    InterviewBase,
    InviteBase,
    JudgementBase,
    LLMCallBase,
    MessageBase,
    ModerationEventBase,
    ParticipantBase,
    QuestionContextBase,
    SurveyResponseBase,
    ValuesCard,
    ValuesCardBase,
    VoteBase,
)


def _cut(value: object, limit: int) -> object:
    """``value`` cut to ``limit`` characters when it is a string (model output may run long).

    >>> _cut("abcdef", 3), _cut(None, 3)
    ('abc', None)
    """
    return value[:limit] if isinstance(value, str) else value


#: Every part of a deliberation's settings, as input: unknown keys refused, no type coercion ("6" is not 6,
#: 1 is not true). Infinity and NaN are refused by the bounds of every float (the export stays valid JSON).
#: Settings read back from the database are read leniently (:meth:`DeliberationConfig.stored`).
_SETTINGS = ConfigDict(extra="forbid", strict=True)
#: The context of a lenient read: rules added after a deliberation was stored never make it unreadable.
_STORED = {"stored": True}
#: The largest ``min_wiser`` and ``max_entropy`` a facilitator may set (input only: added in issue 10).
MAX_MIN_WISER, MAX_MAX_ENTROPY = 1_000_000, 100.0
#: The longest option of a choice question (input only: added in issue 10).
MAX_OPTION = 200
#: Bounds of the seed and pipeline settings (input only: added in issue 11).
MAX_SEEDS_REQUIRED, MAX_PIPELINE_PAIRS, MAX_PIPELINE_CALLS, MAX_PAIRS_PER_VALUE = 50, 5000, 100_000, 50
MAX_TOKEN_BUDGET = 10_000_000
#: Caps of a deliberation's texts (each refused with a message, never cut).
MAX_TITLE, MAX_QUESTION, MAX_QUESTIONS, MAX_WELCOME, MAX_CONSENT = 200, 2000, 50, 10_000, 10_000
_KEY = r"^[a-z][a-z0-9_]{0,39}$"


def _as_input(info: ValidationInfo) -> bool:
    """Whether this validation checks new input (the rules that protect input apply), not a stored read."""
    return not (info.context or {}).get("stored")


class _Setting(BaseModel):
    """A part of the settings: strict as input; read back from storage, unknown keys are dropped."""

    model_config = _SETTINGS

    @model_validator(mode="before")
    @classmethod
    def _known_keys_when_stored(cls, data: Any, info: ValidationInfo) -> Any:
        if not _as_input(info) and isinstance(data, dict):
            return {k: v for k, v in data.items() if k in cls.model_fields}
        return data


class GraphThresholds(_Setting):
    """Edge trimming rules of DOMAIN.md §7 (MAI's values by default); written into every export."""

    min_wiser: int = Field(default=2, ge=0)
    min_likelihood: float = Field(default=0.33, ge=-1.0, le=1.0)
    max_entropy: float = Field(default=1.69, ge=0.0)

    @field_validator("min_wiser")
    @classmethod
    def _min_wiser_bounded(cls, value: int, info: ValidationInfo) -> int:
        if _as_input(info) and value > MAX_MIN_WISER:
            raise ValueError(f"should be at most {MAX_MIN_WISER:,} (got {value:,})")
        return value

    @field_validator("max_entropy")
    @classmethod
    def _max_entropy_bounded(cls, value: float, info: ValidationInfo) -> float:
        if _as_input(info) and not value <= MAX_MAX_ENTROPY:  # Infinity too
            raise ValueError(f"should be at most {MAX_MAX_ENTROPY:g} (got {value:g})")
        return value


class DemographicQuestion(_Setting):
    """One question asked before the interview: ``choice`` (one of ``options``), ``text``, or ``number``
    (between ``min`` and ``max``, by default 0 and 1,000,000,000; whole numbers unless ``decimals``)."""

    key: str = Field(pattern=_KEY)
    label: str = Field(min_length=1, max_length=200)
    kind: Literal["choice", "text", "number"] = "choice"
    options: list[str] = Field(default_factory=list, max_length=50)
    required: bool = False
    min: float | None = Field(default=None, ge=-NUMBER_BOUND, le=NUMBER_BOUND)
    max: float | None = Field(default=None, ge=-NUMBER_BOUND, le=NUMBER_BOUND)
    decimals: bool = False

    @model_validator(mode="wrap")
    @classmethod
    def _fits_its_kind(
        cls, data: Any, handler: ModelWrapValidatorHandler[DemographicQuestion], info: ValidationInfo
    ) -> DemographicQuestion:
        if isinstance(data, cls):  # built already (checked as input, or read from storage): kept as it is
            return data
        question = handler(data)
        if _as_input(info):  # rules added in issue 10: a stored question is read as it was stored
            question._check_kind()
        return question

    def _check_kind(self) -> None:
        if any(not 1 <= len(option) <= MAX_OPTION for option in self.options):
            raise ValueError(f"options have 1 to {MAX_OPTION} characters each")
        if self.kind == "choice" and not self.options:
            raise ValueError("a choice question needs options")
        if self.kind != "choice" and self.options:
            raise ValueError("only a choice question has options")
        if len(set(self.options)) != len(self.options):
            raise ValueError("the options of a question must differ")
        if self.kind != "number" and (self.min is not None or self.max is not None or self.decimals):
            raise ValueError("min, max and decimals are for number questions")
        if self.lowest > self.highest:
            raise ValueError(f"min ({self.lowest:g}) is above max ({self.highest:g})")

    @property
    def lowest(self) -> float:
        """The smallest answer a number question takes."""
        return DEFAULT_LOWEST if self.min is None else self.min

    @property
    def highest(self) -> float:
        """The largest answer a number question takes."""
        return DEFAULT_HIGHEST if self.max is None else self.max


#: Keys of the two receipt questions (stored as survey responses; a survey question may not use them).
RECEIPT_KEYS = ("represents_my_value", "fair_position")


class SurveyQuestion(_Setting):
    """One exit-survey item: ``scale`` (1-5 agreement), ``text`` (free text) or ``yes_no``."""

    key: str = Field(pattern=_KEY)
    label: str = Field(min_length=1, max_length=300)
    kind: Literal["scale", "text", "yes_no"] = "scale"
    required: bool = False


def default_survey() -> list[SurveyQuestion]:
    """The exit survey of DOMAIN.md §3 (MAI's study questions as 1-5 agreement items, plus a comment)."""
    items = [
        ("expressed_care", "The values I submitted and voted for express what I care about"),
        ("clarified", "This process helped me clarify what is important to me"),
        ("learned_values", "I learned about other people's values"),
        ("gained_respect", "I gained respect for other participants"),
        ("trust_process", "I would trust this process to create a wise assistant"),
        ("contribution_used", "I believe my contribution will be used"),
    ]
    return [SurveyQuestion(key=k, label=label, kind="scale", required=True) for k, label in items] + [
        SurveyQuestion(key="comment", label="Anything else you would like to tell us?", kind="text")
    ]


def _unique_keys(questions: list[Any], what: str) -> None:
    keys = [q.key for q in questions]
    if len(set(keys)) != len(keys):
        raise ValueError(f"{what} question keys must be unique")


class DeliberationConfig(_Setting):
    """A deliberation's settings, stored as JSON on the row (every field bounded: see ``_SETTINGS``).

    New settings are checked by ``model_validate`` (strict: every rule); settings read back from a row are
    read by :meth:`stored`, which never fails on a rule added after they were stored.
    """

    graph_thresholds: GraphThresholds = Field(default_factory=GraphThresholds)
    demographics: list[DemographicQuestion] = Field(default_factory=list, max_length=30)
    values_to_vote: int = Field(default=6, ge=2, le=12)
    min_votes: int = Field(default=2, ge=1, le=12)
    stories_to_judge: int = Field(default=3, ge=1, le=10)
    interview_turn_limit: int = Field(default=12, ge=3, le=50)
    survey: list[SurveyQuestion] = Field(default_factory=default_survey, max_length=30)
    #: Seed values each question needs before the deliberation may open (0: none needed).
    seeds_required: int = Field(default=0, ge=0, le=MAX_SEEDS_REQUIRED)
    #: The continuous pipeline's bounds (services.jobs.pipeline): distinct pairs of values it writes
    #: stories for, chat-model calls it makes (mining, dedup, stories and their judge), both over the
    #: deliberation's whole life; and the pairs it plans for one value.
    pipeline_max_pairs: int = Field(default=1000, ge=0, le=MAX_PIPELINE_PAIRS)
    pipeline_max_calls: int = Field(default=5000, ge=0, le=MAX_PIPELINE_CALLS)
    pipeline_pairs_per_value: int = Field(default=3, ge=0, le=MAX_PAIRS_PER_VALUE)
    #: Tokens one participant's interview (chat and card writing) may use; 0: the app's
    #: ``PARTICIPANT_TOKEN_BUDGET``.
    token_budget: int = Field(default=0, ge=0, le=MAX_TOKEN_BUDGET)

    @field_validator("demographics")
    @classmethod
    def _demographic_keys(
        cls, value: list[DemographicQuestion], info: ValidationInfo
    ) -> list[DemographicQuestion]:
        if not _as_input(info):  # stored before keys had to be unique: the first question of a key counts
            first: dict[str, DemographicQuestion] = {}
            for question in value:
                first.setdefault(question.key, question)
            return list(first.values())
        _unique_keys(value, "demographics")
        return value

    @field_validator("survey")
    @classmethod
    def _survey_keys(cls, value: list[SurveyQuestion]) -> list[SurveyQuestion]:
        _unique_keys(value, "survey")
        reserved = sorted({q.key for q in value} & set(RECEIPT_KEYS))
        if reserved:
            raise ValueError(f"survey question keys {', '.join(reserved)} are reserved for the receipt")
        return value

    @classmethod
    def stored(cls, data: dict[str, Any]) -> DeliberationConfig:
        """The settings stored on a deliberation's row, read leniently: types coerced, unknown keys dropped,
        and the rules added after they were stored skipped (a choice question without options, repeated
        demographics keys: the first counts, the newer bounds), so that an older deliberation still works.

        >>> config = DeliberationConfig.stored({"demographics": [{"key": "region", "label": "Region"}]})
        >>> config.demographics[0].kind, config.demographics[0].options
        ('choice', [])
        """
        return cls.model_validate(data, strict=False, context=_STORED)


def _at_most(value: str, limit: int, what: str) -> str:
    if len(value) > limit:
        raise ValueError(f"{what} has at most {limit} characters (this one has {len(value)})")
    return value


class DeliberationCreate(DeliberationBase):
    questions: list[str] = Field(default_factory=list)

    @field_validator("title")
    @classmethod
    def _title_not_blank(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("a deliberation needs a title")
        return _at_most(value, MAX_TITLE, "a title")

    @field_validator("questions")
    @classmethod
    def _questions_not_blank(cls, value: list[str]) -> list[str]:
        cleaned = [q.strip() for q in value]
        if any(not q for q in cleaned):
            raise ValueError("a question cannot be empty")
        if len(cleaned) > MAX_QUESTIONS:
            raise ValueError(f"a deliberation has at most {MAX_QUESTIONS} questions (got {len(cleaned)})")
        return [_at_most(q, MAX_QUESTION, "a question") for q in cleaned]

    @field_validator("welcome_text")
    @classmethod
    def _welcome_capped(cls, value: str) -> str:
        return _at_most(value, MAX_WELCOME, "the welcome text")

    @field_validator("consent_text")
    @classmethod
    def _consent_capped(cls, value: str) -> str:
        return _at_most(value, MAX_CONSENT, "the consent text")

    @field_validator("config")
    @classmethod
    def _valid_config(cls, value: dict[str, Any]) -> dict[str, Any]:
        return DeliberationConfig.model_validate(value).model_dump()


class QuestionPublic(SQLModel):
    id: int
    position: int
    text: str
    title: str


class QuestionCreate(SQLModel):
    """A question added to a deliberation after it was created (at ``position``)."""

    deliberation_id: int
    position: int = 0
    text: str = Field(min_length=1, max_length=MAX_QUESTION)


class DeliberationPublic(DeliberationBase):
    id: int
    created_at: datetime
    updated_at: datetime | None = None
    questions: list[QuestionPublic] = Field(default_factory=list)
    #: Participants: people who opened a link and consented (a visitor who never consented is not one).
    participant_count: int = 0
    #: Everyone who opened a link (invite or open link), consented or not.
    visitors: int = 0

    @property
    def settings(self) -> DeliberationConfig:
        return DeliberationConfig.stored(self.config)


class CohortCreate(CohortBase):
    pass


class InviteCreate(InviteBase):
    """What every invite of one batch shares (each gets its own random code)."""


class InvitePublic(SQLModel):
    id: int
    deliberation_id: int
    code: str
    cohort: str | None = None
    created_at: datetime
    used_at: datetime | None = None


class ParticipantCreate(ParticipantBase):
    pass


class ParticipantPublic(ParticipantBase):
    id: int
    token: str
    consented_at: datetime | None = None


class ContextCreate(ContextBase):
    pass


class QuestionContextCreate(QuestionContextBase):
    pass


class LLMCallCreate(LLMCallBase):
    pass


class UsageSummary(BaseModel):
    calls: int = 0
    errors: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    mean_latency_ms: float = 0.0


# --- interviews ------------------------------------------------------------------------------------


class InterviewCreate(InterviewBase):
    @field_validator("model_id", mode="before")
    @classmethod
    def _cut_model_id(cls, value: object) -> object:
        return _cut(value, 200)


class MessageCreate(MessageBase):
    """A message to append; storage gives it its place (``seq``) in the interview."""


class ValuesCardCreate(ValuesCardBase):
    pass


class MessagePublic(SQLModel):
    id: int
    seq: int
    role: str
    content: str
    status: str
    created_at: datetime
    model_text: str | None = None
    """The model's own text, when ``content`` (what the participant read) differs from it."""
    shaping: list[str] = Field(default_factory=list)
    """What the reply shaping did (:class:`interviews.reply_shaping.Shaping`)."""


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

    @classmethod
    def of(cls, card: ValuesCard) -> CardPublic:
        """The card as the participant sees it, with the digest they confirm and the card rules it breaks."""
        draft = CardDraft.of(card)
        return cls.model_validate(
            card, update={"digest": draft.digest(), "problems": [p.for_people for p in lint_card(draft)]}
        )


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
    card_behind: bool = False  # the participant wrote more since the card: the next card is due
    prompt_style: str = "full"  # the prompts' variant it started with: full, or compact (a small model)
    awaiting_reply: bool = False  # the last message is the participant's: the reply failed or is due
    replying: bool = False  # a reply is being written (a ``streaming`` row: this tab, another, or a crash)
    user_turns: int = 0
    turn_limit: int = 12
    tokens_used: int = 0  # tokens of the interview's own model calls (the budget counts these)
    token_budget: int = 0  # the deliberation's budget for them (0: the app's PARTICIPANT_TOKEN_BUDGET)


# --- upgrade stories -------------------------------------------------------------------------------


class EdgeHypothesisCreate(EdgeHypothesisBase):
    @field_validator("model_id", mode="before")
    @classmethod
    def _cut_model_id(cls, value: object) -> object:
        return _cut(value, 200)


class JudgementCreate(JudgementBase):
    pass


class StoryValuePublic(BaseModel):
    """A canonical value as a story panel shows it (card A or card B); ``seed``: suggested by the
    organisers (a seed value) rather than written by a participant."""

    id: int
    title: str
    description: str = ""
    policies: list[str] = Field(default_factory=list)
    seed: bool = False

    @classmethod
    def of(cls, value: CanonicalValue) -> StoryValuePublic:
        """A canonical value as a story (and a receipt) shows it."""
        return cls(
            id=value.id or 0,
            title=value.title,
            description=value.description,
            policies=list(value.policies),
            seed=value.seed,
        )


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


class CanonicalValueCreate(CanonicalValueBase):
    @field_validator("title", mode="before")
    @classmethod
    def _cut_title(cls, value: object) -> object:
        return _cut(value, 200)


class CanonicalValuePublic(CanonicalValueBase):
    """A deduplicated value with its member cards, for the facilitator's review screen."""

    id: int
    updated_at: datetime
    cards: list[CardPublic] = Field(default_factory=list)
    votes: int = 0


class SeedCreate(BaseModel):
    """A seed value to store: a canonical value (``seed=True``) and its own member card on the question
    (submitted, no author), both with this text (checked by the card rules before it gets here)."""

    deliberation_id: int
    question_id: int
    title: str = Field(min_length=1, max_length=200)
    description: str
    policies: list[str]


class SeedPublic(BaseModel):
    """A seed value of a question: the value's id, its own card, its text and where it stands."""

    id: int  # the canonical value
    deliberation_id: int
    question_id: int
    card_id: int
    title: str
    description: str
    policies: list[str]
    contexts_mined: bool = False  # its contexts were mined or given (else a pipeline run mines them)
    members: int = 0  # participants' cards that joined it
    votes: int = 0
    created_at: datetime


class ModerationEventCreate(ModerationEventBase):
    @field_validator("actor", mode="before")
    @classmethod
    def _cut_actor(cls, value: object) -> object:
        return _cut(value, 100)


class ModerationEventPublic(ModerationEventBase):
    """One entry of a deliberation's moderation log (merge, split, a dedup batch, a hidden card...)."""

    id: int
    created_at: datetime


class GraphSnapshotCreate(GraphSnapshotBase):
    pass


# --- participation: vote, judge, survey, receipt ---------------------------------------------------


class ImpressionCreate(ImpressionBase):
    pass


class VoteCreate(VoteBase):
    pass


class SurveyResponseCreate(SurveyResponseBase):
    """One survey answer to store; ``answer=None`` removes the participant's answer to that key."""

    answer: Any = None


class ValueOptionPublic(StoryValuePublic):
    """A canonical value offered in a vote draw (id, title, description, policies)."""


class VoteDrawPublic(BaseModel):
    """The values one draw shows a participant; ``chosen`` are the ones they already selected in it."""

    draw_id: str  # "" for an empty draw (nothing to vote on: the page lets the person skip)
    question_id: int
    values: list[ValueOptionPublic] = Field(default_factory=list)
    min_votes: int = 0
    chosen: list[int] = Field(default_factory=list)
    # Why an empty draw is empty: other participants' cards on the question not linked to a value yet
    # (``waiting``), and whether this process's pipeline is working on the deliberation (``processing``).
    waiting: int = 0
    processing: bool = False


class StoryToJudgePublic(BaseModel):
    """An upgrade story of the participant's judging set, with their answer when they gave one."""

    hypothesis_id: int
    context_id: int
    context: str
    story: str
    from_value: StoryValuePublic
    to_value: StoryValuePublic
    answer: str | None = None  # upgrade | no_upgrade | not_sure
    reason: str | None = None


class NothingToJudgePublic(BaseModel):
    """Why a participant's judging set is empty (``reason``), and whether stories may come soon.

    ``reason``: ``processing`` (the pipeline is writing stories for this deliberation now), ``judged_all``
    (they judged every story shown so far), ``no_pairs`` (no two values share a context yet, so there is
    nothing to write a story about) or ``not_ready`` (pairs exist but no story is ready: not written yet,
    or none passed the story judge).
    """

    reason: Literal["processing", "judged_all", "no_pairs", "not_ready"]
    processing: bool = False


class SurveyItemPublic(BaseModel):
    """One exit-survey question with the participant's current answer (None: not answered)."""

    key: str
    label: str
    kind: str  # scale | text | yes_no
    required: bool
    answer: Any = None


class RelatedValuePublic(StoryValuePublic):
    """A value the latest graph judged wiser or less wise than the participant's, with that edge's support."""

    wiser_likelihood: float | None = None
    contexts: list[str] = Field(default_factory=list)


class ReceiptCardPublic(BaseModel):
    """One submitted card on the receipt: where its value landed.

    ``value`` is None while the card is not deduplicated yet; ``wiser``/``less_wise``/``rank`` are None
    while there is no graph (or no value). ``rank`` is 1-based among ``ranked`` values of the whole graph.
    """

    card: CardPublic
    question: str = ""
    value: StoryValuePublic | None = None
    judged_by: int = 0  # participants who judged a story involving the value
    wiser: list[RelatedValuePublic] | None = None
    less_wise: list[RelatedValuePublic] | None = None
    rank: int | None = None
    ranked: int | None = None


class ReceiptPublic(BaseModel):
    cards: list[ReceiptCardPublic] = Field(default_factory=list)
    messages: int = 0  # messages the participant wrote in interviews
    votes: int = 0
    judgements: int = 0
    graph_exists: bool = False
    graph_built_at: datetime | None = None
    answers: dict[str, bool | None] = Field(default_factory=dict)  # RECEIPT_KEYS -> answer


class ProgressStepPublic(BaseModel):
    name: str  # join | interview | vote | judge | survey | done
    label: str
    done: bool
    current: bool
    skipped: bool = False  # passed with nothing to do (no values to vote on, no stories to judge)


class ProgressPublic(BaseModel):
    stage: str
    steps: list[ProgressStepPublic]
