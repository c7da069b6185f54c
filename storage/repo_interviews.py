"""Repository functions for interviews, their messages and the cards they produce.

Keyword-only, session first; they flush but never commit (the caller's ``session_scope`` does). A row is
created from its ``XCreate`` schema (``data=``).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Text, cast, delete, func, or_, update
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from interviews.vocabulary import CardStatus, MessageRole, MessageStatus, Stage
from storage.errors import Conflict, NotFound
from storage.schemas import InterviewCreate, MessageCreate, MessagePublic, ValuesCardCreate
from storage.tables import (
    Deliberation,
    Interview,
    Message,
    Participant,
    Question,
    ValuesCard,
    utcnow,
)


def get_interview(session: Session, *, interview_id: int, lock: bool = False) -> Interview:
    """The interview; ``lock=True`` takes a row lock on PostgreSQL (SQLite serialises writers anyway)."""
    statement = select(Interview).where(Interview.id == interview_id)
    if lock:
        statement = statement.with_for_update()
    interview = session.exec(statement).first()
    if interview is None:
        raise NotFound(f"There is no interview {interview_id}.")
    return interview


#: An interview with its question, deliberation and participant (what every interview page needs).
InterviewRows = tuple[Interview, Question, Deliberation, Participant]


def interview_rows(
    session: Session, *, interview_id: int, token: str | None = None, lock: bool = False
) -> InterviewRows | None:
    """The interview with its question, deliberation and participant, in one query; ``None`` when there is
    no such interview (or, with ``token``, when it is not that participant's). ``lock``: see
    :func:`get_interview`.
    """
    statement = (
        select(Interview, Question, Deliberation, Participant)
        .join(Question, col(Question.id) == Interview.question_id)
        .join(Deliberation, col(Deliberation.id) == Question.deliberation_id)
        .join(Participant, col(Participant.id) == Interview.participant_id)
        .where(Interview.id == interview_id)
    )
    if token is not None:
        statement = statement.where(Participant.token == token)
    if lock:
        statement = statement.with_for_update(of=Interview)
    return session.exec(statement).first()


def find_interview(session: Session, *, participant_id: int, question_id: int) -> Interview | None:
    """The participant's latest interview on this question that was not abandoned."""
    statement = (
        select(Interview)
        .where(
            Interview.participant_id == participant_id,
            Interview.question_id == question_id,
            Interview.state != Stage.ABANDONED,
        )
        .order_by(col(Interview.id).desc())
    )
    return session.exec(statement).first()


def list_participant_interviews(session: Session, *, participant_id: int) -> Sequence[Interview]:
    statement = (
        select(Interview).where(Interview.participant_id == participant_id).order_by(col(Interview.id))
    )
    return session.exec(statement).all()


def create_interview(session: Session, *, data: InterviewCreate) -> Interview:
    interview = Interview.model_validate(data)
    session.add(interview)
    session.flush()
    return interview


def set_interview_state(session: Session, *, interview: Interview, state: str) -> None:
    """Move the interview to ``state`` (no write when it is already there)."""
    if interview.state == state:
        return
    interview.state = state
    interview.updated_at = utcnow()
    if state == Stage.SUBMITTED:
        interview.finished_at = interview.updated_at
    session.add(interview)


def list_messages(session: Session, *, interview_id: int) -> list[MessagePublic]:
    """The interview's messages in order, read as plain rows (this runs on every chat turn, so it skips
    building ORM objects and re-validating what the database already checked).
    """
    columns = [getattr(Message, name) for name in MessagePublic.model_fields]
    rows = session.connection().execute(
        sa_select(*columns).where(col(Message.interview_id) == interview_id).order_by(col(Message.seq))
    )
    return [MessagePublic.model_construct(**row._mapping) for row in rows]


def message_tail(session: Session, *, interview_id: int) -> tuple[list[Message], int]:
    """What still waits for the interviewer: the messages after its newest complete reply (oldest first;
    cut-off or streaming replies among them), and how many messages the participant wrote in all.
    """
    answered = (
        select(func.coalesce(func.max(Message.seq), -1))
        .where(
            Message.interview_id == interview_id,
            Message.role == MessageRole.ASSISTANT,
            Message.status == MessageStatus.COMPLETE,
        )
        .scalar_subquery()
    )
    tail = session.exec(
        select(Message)
        .where(Message.interview_id == interview_id, Message.seq > answered)
        .order_by(col(Message.seq))
    ).all()
    users = session.exec(
        select(func.count()).where(Message.interview_id == interview_id, Message.role == MessageRole.USER)
    ).one()
    return list(tail), int(users)


def message_by_key(session: Session, *, interview_id: int, key: str) -> Message | None:
    """The participant's message sent with idempotency key ``key``, if any (a reply claim's key is never
    a send's, and replies are not looked at)."""
    statement = select(Message).where(
        Message.interview_id == interview_id, Message.client_key == key, Message.role == MessageRole.USER
    )
    return session.exec(statement).first()


def streaming_replies(session: Session, *, interview_id: int) -> list[Message]:
    """The interview's replies being written (status ``streaming``: each one is a reply call's claim)."""
    statement = (
        select(Message)
        .where(Message.interview_id == interview_id, Message.status == MessageStatus.STREAMING)
        .order_by(col(Message.seq))
    )
    return list(session.exec(statement).all())


def end_stale_reply(session: Session, *, message: Message) -> None:
    """End a ``streaming`` reply whose writer is gone: kept as ``cut_off`` with the text it had written,
    or deleted when it had written none."""
    if message.content.strip():
        message.status = MessageStatus.CUT_OFF.value
        session.add(message)
    else:
        session.delete(message)
    session.flush()


def _claimed(message_id: int, key: str) -> Any:
    return (
        (col(Message.id) == message_id)
        & (col(Message.client_key) == key)
        & (col(Message.status) == MessageStatus.STREAMING)
    )


def write_claimed_reply(
    session: Session,
    *,
    message_id: int,
    key: str,
    content: str,
    status: str,
    model_text: str | None = None,
    shaping: Sequence[str] = (),
) -> bool:
    """Write a reply row that is still ``streaming`` under claim ``key``: its text so far (``content``, what
    the participant read; ``model_text``, the model's own when it differs; ``shaping``, what was done to
    it) and its status (``streaming`` again for a heartbeat, or how it ended); ``created_at`` becomes now (a
    claim's age is the time since its last write). ``False``, writing nothing, when the claim is no longer
    ``key``'s: the reply was finished, or taken over as stale by another call.
    """
    result = session.exec(
        update(Message)
        .where(_claimed(message_id, key))
        .values(
            content=content,
            model_text=model_text,
            shaping=list(shaping),
            status=status,
            created_at=utcnow(),
        )
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)


def drop_claimed_reply(session: Session, *, message_id: int, key: str) -> bool:
    """Delete a ``streaming`` reply row of claim ``key`` that has nothing to keep (no text came)."""
    result = session.exec(
        delete(Message).where(_claimed(message_id, key)).execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)


def add_message(session: Session, *, data: MessageCreate, after: int | None = None) -> Message:
    """Append a message after ``seq`` ``after`` (a hint: looked up when not given; ``-1``: the first).

    When another request appended first (a second tab; the hint is stale), the insert collides on the
    (interview, seq) key inside a savepoint and is retried after the newest message, so no message is lost
    and none interleaves silently.
    """
    if session.get_bind().dialect.name == "sqlite":
        # SQLite runs one writer at a time (BEGIN IMMEDIATE): the newest seq read here cannot change
        # before this insert, so no savepoint is needed (this runs twice on every chat turn).
        message = Message.model_validate(data, update={"seq": _last_seq(session, data.interview_id) + 1})
        session.add(message)
        session.flush()
        return message
    for _ in range(3):
        if after is None:
            after = _last_seq(session, data.interview_id)
        message = Message.model_validate(data, update={"seq": after + 1})
        try:
            with session.begin_nested():
                session.add(message)
                session.flush()
            return message
        except IntegrityError:
            after = None
    raise Conflict("Too many messages arrived at once. Please send yours again.")


def _last_seq(session: Session, interview_id: int) -> int:
    last = session.exec(select(func.max(Message.seq)).where(Message.interview_id == interview_id)).one()
    return -1 if last is None else int(last)


def add_card(session: Session, *, data: ValuesCardCreate) -> ValuesCard:
    """Insert a values card (a draft written from an interview, or an imported card)."""
    return add_cards(session, data=[data])[0]


def add_cards(session: Session, *, data: Sequence[ValuesCardCreate]) -> list[ValuesCard]:
    """Insert many cards in one flush (an import), in the given order."""
    cards = [ValuesCard.model_validate(d) for d in data]
    session.add_all(cards)
    session.flush()
    return cards


def latest_card(session: Session, *, interview_id: int) -> ValuesCard | None:
    statement = (
        select(ValuesCard).where(ValuesCard.interview_id == interview_id).order_by(col(ValuesCard.id).desc())
    )
    return session.exec(statement).first()


def get_card(session: Session, *, card_id: int) -> ValuesCard:
    card = session.get(ValuesCard, card_id)
    if card is None:
        raise NotFound(f"There is no values card {card_id}.")
    return card


#: The model calls an interview's token budget counts: the conversation and card writing (not the
#: facilitator's jobs that mention it, such as grading or context mining).
BUDGET_PURPOSES = ("interview", "articulate")


def add_interview_tokens(session: Session, *, interview_id: int, tokens_in: int, tokens_out: int) -> None:
    """Add one model call's tokens to the interview's running totals (one UPDATE, no read)."""
    session.exec(
        update(Interview)
        .where(col(Interview.id) == interview_id)
        .values(tokens_in=Interview.tokens_in + tokens_in, tokens_out=Interview.tokens_out + tokens_out)
    )


def participant_cards(
    session: Session, *, participant_id: int, question_id: int | None = None, submitted_only: bool = True
) -> Sequence[ValuesCard]:
    """The participant's cards (submitted ones only by default), oldest first."""
    statement = select(ValuesCard).where(ValuesCard.participant_id == participant_id)
    if submitted_only:
        statement = statement.where(ValuesCard.status == CardStatus.SUBMITTED)
    if question_id is not None:
        statement = statement.where(ValuesCard.question_id == question_id)
    return session.exec(statement.order_by(col(ValuesCard.id))).all()


def own_value_ids(session: Session, *, participant_id: int, question_id: int | None = None) -> set[int]:
    """Canonical values the participant's cards (any status) joined, on one question or any."""
    statement = select(ValuesCard.canonical_value_id).where(
        ValuesCard.participant_id == participant_id, col(ValuesCard.canonical_value_id).is_not(None)
    )
    if question_id is not None:
        statement = statement.where(ValuesCard.question_id == question_id)
    return {int(v) for v in session.exec(statement).all() if v is not None}


def participant_question_ids(session: Session, *, participant_id: int) -> set[int]:
    """Questions the participant was interviewed on or wrote a card for."""
    interviews = select(Interview.question_id).where(Interview.participant_id == participant_id)
    cards = select(ValuesCard.question_id).where(
        ValuesCard.participant_id == participant_id, col(ValuesCard.question_id).is_not(None)
    )
    found = set(session.exec(interviews).all()) | set(session.exec(cards).all())
    return {int(q) for q in found if q is not None}


def lock_card(session: Session, *, card_id: int) -> ValuesCard:
    """The card with a row lock on PostgreSQL (SQLite's ``BEGIN IMMEDIATE`` serialises writers anyway)."""
    card = session.exec(select(ValuesCard).where(ValuesCard.id == card_id).with_for_update()).first()
    if card is None:
        raise NotFound(f"There is no values card {card_id}.")
    return card


#: The flag of a card whose contexts were mined (or given with it, for a seed): it is never mined again.
MINED_FLAG = "contexts_mined"


def add_card_flag(session: Session, *, card: ValuesCard, flag: str) -> None:
    """Add ``flag`` to the card's ``quality_flags`` once (a new list, so the JSON change is seen)."""
    if flag not in card.quality_flags:
        card.quality_flags = [*card.quality_flags, flag]
        session.add(card)
        session.flush()


# --- the facilitator's search (moderation) -----------------------------------------------------------


def _cards_of(deliberation_id: int) -> ColumnElement[bool]:
    """A card of the deliberation: through its question or its author."""
    questions = select(Question.id).where(Question.deliberation_id == deliberation_id)
    people = select(Participant.id).where(Participant.deliberation_id == deliberation_id)
    return or_(col(ValuesCard.question_id).in_(questions), col(ValuesCard.participant_id).in_(people))


def _contains(column: Any, text: str, *, escape: bool = False) -> ColumnElement[bool]:
    """``text`` in ``column``, ignoring case. SQLite folds only ASCII letters, so a text with other letters
    is also looked for all in lower and all in upper case (which finds "Café" and "CAFÉ" for "café").
    ``escape``: the column holds JSON, whose non-ASCII letters, quotes and backslashes are escaped, so the
    text is escaped the same way (an escaped text holds no bare quote: it never spans two strings)."""
    variants = dict.fromkeys([text] if text.isascii() else [text, text.lower(), text.upper()])
    return or_(*(column.icontains(json.dumps(v)[1:-1] if escape else v, autoescape=True) for v in variants))


def _card_text_matches(text: str) -> ColumnElement[bool]:
    """``text`` in the card's title, description or one of its policies, ignoring case."""
    return or_(
        _contains(col(ValuesCard.title), text),
        _contains(col(ValuesCard.description), text),
        _contains(cast(col(ValuesCard.policies), Text), text, escape=True),
    )


def search_cards(
    session: Session,
    *,
    deliberation_id: int,
    text: str = "",
    statuses: Iterable[str] | None = None,
    limit: int = 20,
    offset: int = 0,
) -> Sequence[ValuesCard]:
    """The deliberation's cards whose title, description or policies hold ``text`` (every card when it is
    empty), of ``statuses`` when given, newest first: ``limit`` of them after skipping ``offset``."""
    statement = select(ValuesCard).where(_cards_of(deliberation_id))
    if text:
        statement = statement.where(_card_text_matches(text))
    if statuses is not None:
        statement = statement.where(col(ValuesCard.status).in_(sorted(set(statuses))))
    statement = statement.order_by(col(ValuesCard.id).desc()).offset(offset).limit(limit)
    return session.exec(statement).all()


#: The messages a transcript search reads: what the participant and the interviewer said (not notes).
SEARCHED_ROLES = (MessageRole.USER.value, MessageRole.ASSISTANT.value)


def search_interviews(
    session: Session, *, deliberation_id: int, text: str = "", limit: int = 20, offset: int = 0
) -> Sequence[Interview]:
    """The deliberation's interviews with a message (the participant's or the interviewer's) that holds
    ``text``, ignoring case (every interview when it is empty), newest first: ``limit`` after ``offset``."""
    questions = select(Question.id).where(Question.deliberation_id == deliberation_id)
    statement = select(Interview).where(col(Interview.question_id).in_(questions))
    if text:
        hits = select(Message.interview_id).where(
            col(Message.role).in_(SEARCHED_ROLES), _contains(col(Message.content), text)
        )
        statement = statement.where(col(Interview.id).in_(hits))
    statement = statement.order_by(col(Interview.id).desc()).offset(offset).limit(limit)
    return session.exec(statement).all()


def matching_messages(
    session: Session, *, interview_ids: Iterable[int], text: str, per_interview: int = 3
) -> dict[int, list[Message]]:
    """For each interview, its first ``per_interview`` messages (the participant's or the interviewer's)
    that hold ``text`` (ignoring case; the first ones when ``text`` is empty), in order."""
    ids = sorted(set(interview_ids))
    found: dict[int, list[Message]] = {i: [] for i in ids}
    if not ids:
        return found
    statement = select(Message).where(
        col(Message.interview_id).in_(ids), col(Message.role).in_(SEARCHED_ROLES)
    )
    if text:
        statement = statement.where(_contains(col(Message.content), text))
    for message in session.exec(statement.order_by(col(Message.interview_id), col(Message.seq))).all():
        if len(found[message.interview_id]) < per_interview:
            found[message.interview_id].append(message)
    return found


def message_counts(session: Session, *, interview_ids: Iterable[int]) -> dict[int, int]:
    """How many messages (the participant's and the interviewer's) each interview has."""
    ids = sorted(set(interview_ids))
    counts = dict.fromkeys(ids, 0)
    if ids:
        statement = (
            select(Message.interview_id, func.count())
            .where(col(Message.interview_id).in_(ids), col(Message.role).in_(SEARCHED_ROLES))
            .group_by(col(Message.interview_id))
        )
        counts.update({int(i): int(n) for i, n in session.exec(statement).all()})
    return counts


def latest_cards(session: Session, *, interview_ids: Iterable[int]) -> dict[int, ValuesCard]:
    """Each interview's newest card (interviews without one are left out)."""
    ids = sorted(set(interview_ids))
    found: dict[int, list[ValuesCard]] = defaultdict(list)
    if ids:
        statement = (
            select(ValuesCard).where(col(ValuesCard.interview_id).in_(ids)).order_by(col(ValuesCard.id))
        )
        for card in session.exec(statement).all():
            if card.interview_id is not None:
                found[card.interview_id].append(card)
    return {i: cards[-1] for i, cards in found.items()}


def card_deliberation_id(session: Session, *, card: ValuesCard) -> int | None:
    """The deliberation a card belongs to (through its question, else its author), or None."""
    if card.question_id is not None:
        question = session.get(Question, card.question_id)
        if question is not None:
            return question.deliberation_id
    if card.participant_id is not None:
        person = session.get(Participant, card.participant_id)
        if person is not None:
            return person.deliberation_id
    return None
