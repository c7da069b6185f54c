"""The closed sets of the domain, each written once: the values a state, stage, status, role or source
column may hold (DOMAIN.md §10).

Tables derive their CHECK constraints from these (:mod:`storage.tables`); services and pages compare
against the members instead of string literals. Migrations are history and keep their own copy of each
set: ``tests/storage/test_vocabulary.py`` reads the constraints back from a migrated database and fails
when a set here and its constraint disagree (a change here needs a new migration).

Every member is a ``str`` (a :class:`~enum.StrEnum`), so it compares equal to the stored text and goes
into a column as is. The order of a set is meaningful where it says so (:class:`ParticipantStage`).

>>> ParticipantStage.VOTE == "vote", ParticipantStage("judge") is ParticipantStage.JUDGE
(True, True)
>>> [s.value for s in CONVERSATION]
['opening', 'story', 'zoom_in', 'attention']
>>> values_of(CardStatus)
('draft', 'submitted', 'hidden')
"""

from __future__ import annotations

from enum import StrEnum


def values_of(vocabulary: type[StrEnum]) -> tuple[str, ...]:
    """The stored values of a closed set, in its order.

    >>> values_of(MessageRole)
    ('user', 'assistant', 'note')
    """
    return tuple(member.value for member in vocabulary)


class Stage(StrEnum):
    """The state of an interview (the ``interview.state`` column); :mod:`interviews.flow` moves it.

    ``opening`` to ``attention`` are the conversation, ``show_card`` and ``revise`` the card, ``submitted``
    the end. ``abandoned`` is reserved for an interview given up on: it is never resumed (no flow event
    leaves it, and the participant's latest interview is the latest one that is not abandoned).
    """

    OPENING = "opening"
    STORY = "story"
    ZOOM_IN = "zoom_in"
    ATTENTION = "attention"
    SHOW_CARD = "show_card"
    REVISE = "revise"
    SUBMITTED = "submitted"
    ABANDONED = "abandoned"


#: The stages of the conversation, before any card is shown.
CONVERSATION = (Stage.OPENING, Stage.STORY, Stage.ZOOM_IN, Stage.ATTENTION)


class ParticipantStage(StrEnum):
    """Where a participant is in the process (the ``participant.stage`` column), in the order they pass.

    The stage only moves forward: a member later in this order is further along.
    """

    JOINED = "joined"
    CONSENTED = "consented"
    INTERVIEW = "interview"
    VOTE = "vote"
    JUDGE = "judge"
    SURVEY = "survey"
    DONE = "done"


class DeliberationStatus(StrEnum):
    """A deliberation's life: drafted, open to participants, closed (results only), archived."""

    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"
    ARCHIVED = "archived"


class MessageRole(StrEnum):
    """Who wrote an interview message: the participant, the interviewer, or the app (a note)."""

    USER = "user"
    ASSISTANT = "assistant"
    NOTE = "note"


class MessageStatus(StrEnum):
    """How a message ended: whole, cut off mid-stream, or failed; ``streaming`` while a reply is being
    written (the row is the claim of the one call writing it; see ``services.participant.interviewing``)."""

    COMPLETE = "complete"
    CUT_OFF = "cut_off"
    ERROR = "error"
    STREAMING = "streaming"


class CardStatus(StrEnum):
    """A values card: a draft the participant may still change, submitted, or hidden (by a facilitator)."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    HIDDEN = "hidden"


class JudgementAnswer(StrEnum):
    """The stored answer to "Did this person become wiser?" (the ``judgement.answer`` column).

    These are the names of :class:`graph.model.Answer` (the graph engine's integer codes, in the same
    order) lowercased, as MAI's data writes them. graph/ cannot import this module and storage does not load
    the graph engine to name them, so a test checks that the two agree.
    """

    UPGRADE = "upgrade"
    NO_UPGRADE = "no_upgrade"
    NOT_SURE = "not_sure"


class ContextSource(StrEnum):
    """Where a "When ..." context came from (the ``context.source`` column; no CHECK constraint yet).

    ``mined`` from a submitted card, ``generated`` for a question at a facilitator's request, ``imported``
    from a study dump (MAI's data), or typed by a ``facilitator``.
    """

    MINED = "mined"
    GENERATED = "generated"
    IMPORTED = "imported"
    FACILITATOR = "facilitator"


class JobStatus(StrEnum):
    """A persisted job run (the ``jobrun.status`` column): waiting for a worker, running, or ended.

    ``failed`` is a run that stopped on an error or whose every batch failed; ``succeeded`` may still
    report failed batches in its log when some others went through.
    """

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class JobKind(StrEnum):
    """What a persisted job run does (the ``jobrun.kind`` column): the facilitator's long work."""

    DEDUP = "dedup"
    GENERATE_CONTEXTS = "generate_contexts"
    MINE_CONTEXTS = "mine_contexts"
    STORIES = "stories"
    GRADE = "grade"
    BUILD = "build"
    IMPORT = "import"
