"""A deliberation whose every shown text is hostile (from :mod:`tests.hostile.text_corpus`), with one
participant waiting on each page, for the page tests (AppTest) and the browser test of literal text.

The facilitator's texts (title, questions, welcome, consent, demographics and survey labels), peers'
canonical values, the context and upgrade stories, a chat of participant and interviewer messages, the
participant's card and the receipt's related values all hold corpus strings; :attr:`TextWorld.shown` says
which strings each page must show exactly as typed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Engine

from interviews.vocabulary import JudgementAnswer, MessageRole, ParticipantStage, Stage
from services.facilitator import deliberations
from services.participant import interviewing, joining
from services.research import graphs
from storage import repo_interviews, repo_participants
from storage.db import session_scope
from storage.schemas import MessageCreate, ParticipantCreate, ValuesCardCreate
from storage.tables import (
    CanonicalValue,
    Context,
    EdgeHypothesis,
    Judgement,
    QuestionContext,
    ValuesCard,
    utcnow,
)
from tests.hostile.text_corpus import CASES

#: The corpus strings that can be stored (NUL and lone surrogates are refused before they are).
SCREEN = [c.text for c in CASES if c.stored]
#: Every screen string, one per line: the welcome and consent texts, the stories.
BLOCK = "\n".join(SCREEN)

TITLE = "Care [click](http://e.vil) :material/warning: &lt;b&gt; -- www.e.vil"
OTHER_TITLES = ("Second <script>alert(1)</script> **bold**", "Third ![i](http://e.vil/i.png) :streamlit: $x$")
QUESTIONS = (
    "What should I do? <http://e.vil> ![logo](http://e.vil/x.png) :red[alarm]",
    "Or this: **bold** $x^2$ me@e.vil :smile: -> ok",
)
DEMOGRAPHIC_LABEL = "Party [x](http://e.vil) :material/home: &amp;"
OPTIONS = ("[a](http://e.vil)", ":blue[b]", "&lt;c&gt; --")
SURVEY_LABELS = ("Was it fair? [y](http://e.vil) :material/check: &copy;", "Any comment? ***x*** www.e.vil")
CONTEXT = "When [t](http://e.vil) :material/help: -- happens"
VALUE_TITLES = (
    "Honest [v](http://e.vil)",
    "Gentle :material/favorite: :red[x]",
    "Room &lt;b&gt; -- www.x.org",
)
CARD_TITLE = "Mine [c](http://e.vil) ~~x~~"
#: A peer value titled with ordinary punctuation only: its vote checkbox's accessible name reads as typed.
ORDINARY_TITLE = "Self-Reliance: honesty (first), 1. then 2? Yes!"


def _third(i: int) -> list[str]:
    return SCREEN[i::3]


def _description(i: int) -> str:
    return "\n".join(_third(i))


def _policies(i: int) -> list[str]:
    return _third(i)[:4]


@dataclass
class TextWorld:
    deliberation_id: int
    tokens: dict[str, str] = field(default_factory=dict)
    """Page name (``consent``, ``choose``, ``interview``, ``vote``, ``judge``, ``survey``, ``receipt``) →
    the token of a participant waiting on it."""
    shown: dict[str, list[str]] = field(default_factory=dict)
    """Page name (those above and ``deliberations``) → the strings it shows exactly as typed."""


def seed(engine: Engine) -> TextWorld:
    d = deliberations.create_deliberation(
        engine,
        title=TITLE,
        questions=list(QUESTIONS),
        welcome_text=BLOCK,
        consent_text=BLOCK,
        config={
            "demographics": [{"key": "party", "label": DEMOGRAPHIC_LABEL, "options": list(OPTIONS)}],
            "survey": [
                {"key": "fair", "label": SURVEY_LABELS[0], "kind": "scale"},
                {"key": "comment", "label": SURVEY_LABELS[1], "kind": "text"},
            ],
            "stories_to_judge": 3,
        },
    )
    deliberations.set_status(engine, deliberation_id=d.id, status="open")  # only an open one takes people
    for title in OTHER_TITLES:
        deliberations.create_deliberation(engine, title=title, questions=["Q?"])
    world = TextWorld(d.id)
    q1 = d.questions[0].id
    values, stories, context_id = _peers(engine, d.id, q1)

    world.tokens["consent"] = _person(engine, d.id)
    world.tokens["choose"] = _person(engine, d.id, consent=True)
    world.tokens["interview"] = _talker(engine, d.id, q1)
    world.tokens["vote"] = _person(engine, d.id, consent=True, stage=ParticipantStage.VOTE)
    interviewing.start_interview(engine, token=world.tokens["vote"], question_id=q1)
    world.tokens["judge"] = _person(engine, d.id, consent=True, stage=ParticipantStage.JUDGE)
    _judge(engine, d.id, world.tokens["judge"], stories[0], values[0], values[1], context_id)
    world.tokens["survey"] = _person(engine, d.id, consent=True, stage=ParticipantStage.SURVEY)
    world.tokens["receipt"] = _receipt(engine, d.id, q1, values, stories, context_id)

    chat = [*SCREEN, "Thank you."] if len(SCREEN) % 2 else list(SCREEN)
    world.shown = {
        "consent": [TITLE, DEMOGRAPHIC_LABEL, *SCREEN],
        "choose": [TITLE, *QUESTIONS, *SCREEN],
        "interview": [QUESTIONS[0], *chat, CARD_TITLE, _description(0), *_policies(1)],
        "vote": [QUESTIONS[0], *VALUE_TITLES, ORDINARY_TITLE, *SCREEN],
        "judge": [CONTEXT, *SCREEN],
        "survey": list(SURVEY_LABELS),
        "receipt": [CARD_TITLE, *VALUE_TITLES, *_third(0), *_third(1)],
        "deliberations": [TITLE, *OTHER_TITLES],
    }
    return world


def _person(engine: Engine, d: int, *, consent: bool = False, stage: str | None = None) -> str:
    with session_scope(engine) as s:
        token = repo_participants.create_participant(s, data=ParticipantCreate(deliberation_id=d)).token
    if consent:
        joining.consent(engine, token=token, demographics={})
    if stage is not None:
        with session_scope(engine) as s:
            person = repo_participants.get_participant_by_token(s, token=token)
            assert person is not None
            person.stage = stage
            s.add(person)
    return token


def _peers(engine: Engine, d: int, q: int) -> tuple[list[int], list[int], int]:
    """Peers' canonical values on ``q`` (three hostile, one ordinary), a context and stories V1→V2, V2→V3,
    V1→V3."""
    with session_scope(engine) as s:
        context = Context(deliberation_id=d, text=CONTEXT)
        s.add(context)
        s.flush()
        assert context.id is not None
        s.add(QuestionContext(question_id=q, context_id=context.id))
        values: list[int] = []
        for i, title in enumerate((*VALUE_TITLES, ORDINARY_TITLE)):
            value = CanonicalValue(
                deliberation_id=d, title=title, description=_description(i % 3), policies=_policies(i % 3)
            )
            s.add(value)
            s.flush()
            assert value.id is not None
            peer = repo_participants.create_participant(s, data=ParticipantCreate(deliberation_id=d))
            peer.stage = ParticipantStage.DONE.value
            s.add(
                ValuesCard(
                    participant_id=peer.id,
                    question_id=q,
                    title=title,
                    description=_description(i % 3),
                    policies=_policies(i % 3),
                    status="submitted",
                    submitted_at=utcnow(),
                    canonical_value_id=value.id,
                )
            )
            values.append(value.id)
        stories: list[int] = []
        for a, b in ((0, 1), (1, 2), (0, 2)):
            story = EdgeHypothesis(
                deliberation_id=d,
                from_value_id=values[a],
                to_value_id=values[b],
                context_id=context.id,
                story=BLOCK,
                run_id="hostile",
                shown=True,
            )
            s.add(story)
            s.flush()
            assert story.id is not None
            stories.append(story.id)
        return values, stories, context.id


def _judge(engine: Engine, d: int, token: str, story: int, a: int, b: int, context: int) -> None:
    with session_scope(engine) as s:
        person = repo_participants.get_participant_by_token(s, token=token)
        assert person is not None and person.id is not None
        s.add(
            Judgement(
                deliberation_id=d,
                participant_id=person.id,
                hypothesis_id=story,
                from_value_id=a,
                to_value_id=b,
                context_id=context,
                answer=JudgementAnswer.UPGRADE.value,
            )
        )


def _talker(engine: Engine, d: int, q: int) -> str:
    """A participant at their card: the whole screen corpus as the chat, alternately theirs and the
    interviewer's, and a hostile draft card (no reply due, so no model runs)."""
    token = _person(engine, d, consent=True)
    view = interviewing.start_interview(engine, token=token, question_id=q)
    chat = [*SCREEN, "Thank you."] if len(SCREEN) % 2 else list(SCREEN)
    with session_scope(engine) as s:
        for i, text in enumerate(chat):
            role = MessageRole.USER if i % 2 == 0 else MessageRole.ASSISTANT
            repo_interviews.add_message(s, data=MessageCreate(interview_id=view.id, role=role, content=text))
        card = ValuesCardCreate(
            participant_id=view.participant_id,
            question_id=q,
            interview_id=view.id,
            title=CARD_TITLE,
            description=_description(0),
            policies=_policies(1),
        )
        repo_interviews.add_card(s, data=card)
        interview = repo_interviews.get_interview(s, interview_id=view.id, lock=True)
        repo_interviews.set_interview_state(s, interview=interview, state=Stage.SHOW_CARD.value)
        person = repo_participants.get_participant_by_token(s, token=token)
        assert person is not None
        person.stage = ParticipantStage.INTERVIEW.value
        s.add(person)
    return token


def _receipt(engine: Engine, d: int, q: int, values: list[int], stories: list[int], context: int) -> str:
    """A participant who is done: their card joined V2, and a graph where V3 is wiser and V1 less wise."""
    token = _person(engine, d, consent=True, stage=ParticipantStage.DONE)
    with session_scope(engine) as s:
        person = repo_participants.get_participant_by_token(s, token=token)
        assert person is not None
        s.add(
            ValuesCard(
                participant_id=person.id,
                question_id=q,
                title=CARD_TITLE,
                description=_description(0),
                policies=_policies(1),
                status="submitted",
                submitted_at=utcnow(),
                canonical_value_id=values[1],
            )
        )
    for _ in range(3):
        judge = _person(engine, d, consent=True, stage=ParticipantStage.DONE)
        _judge(engine, d, judge, stories[0], values[0], values[1], context)
        _judge(engine, d, judge, stories[1], values[1], values[2], context)
    graphs.build_snapshot(engine, deliberation_id=d)
    return token
