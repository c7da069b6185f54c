"""Every hostile input of :mod:`tests.hostile.input_corpus` at the service layer: accepted and stored exactly
as ``expected`` (read back), or refused with one clear line (a :class:`errors.StudioError`) that stores
nothing. The pure parsers the front ends share (:func:`interviews.text_rules.parse_id`,
:func:`services.facilitator.settings_json.parse_config`) are the service layer of ids and settings JSON.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func
from sqlmodel import select

from errors import InvalidInput, StudioError, one_line
from interviews.text_rules import parse_id
from services.facilitator import deliberations, settings_json
from services.participant import interviewing, joining, judging, receipts
from settings import SettingsError, load_settings
from storage import db
from storage.db import session_scope
from storage.errors import NotFound
from storage.tables import (
    CanonicalValue,
    Context,
    Deliberation,
    EdgeHypothesis,
    Invite,
    Judgement,
    Message,
    Participant,
    SurveyResponse,
)
from tests.hostile.input_corpus import CASES, LIMITS, InputCase, contains, ids, make_path, of

DEMOGRAPHICS = [
    {"key": "age", "label": "Age", "kind": "number", "max": 120},
    {"key": "hours", "label": "Hours", "kind": "number", "max": 1000, "decimals": True},
    {"key": "town", "label": "Town", "kind": "text"},
]


@dataclass(frozen=True)
class World:
    engine: Engine
    deliberation_id: int
    question_id: int
    code: str
    hypothesis_id: int


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """One deliberation (the demographics above, an open link, one shown story) for the whole module."""
    engine = db.init_db(f"sqlite:///{tmp_path_factory.mktemp('inputs') / 'inputs.sqlite3'}")
    d = deliberations.create_deliberation(
        engine, title="Inputs", questions=["What should I do?"], config={"demographics": DEMOGRAPHICS}
    )
    deliberations.set_status(engine, deliberation_id=d.id, status="open")
    link = deliberations.open_link(engine, deliberation_id=d.id, base_url="https://studio.example.org")
    with session_scope(engine) as s:
        a, b = (CanonicalValue(deliberation_id=d.id, title=t, policies=["MOMENTS"]) for t in ("A", "B"))
        context = Context(deliberation_id=d.id, text="When asked")
        s.add_all([a, b, context])
        s.flush()
        assert a.id and b.id and context.id
        story = EdgeHypothesis(
            deliberation_id=d.id,
            from_value_id=a.id,
            to_value_id=b.id,
            context_id=context.id,
            run_id="r",
            story="S",
        )
        s.add(story)
        s.flush()
        assert story.id
        hypothesis = story.id
    yield World(engine, d.id, d.questions[0].id, link.split("code=")[1], hypothesis)
    engine.dispose()


def _person(w: World) -> str:
    return joining.join(w.engine, code=w.code).token


def _count(w: World, table: Any) -> int:
    with session_scope(w.engine) as s:
        return s.exec(select(func.count()).select_from(table)).one()


def _refused(case: InputCase, call: Any, *args: Any, error: type[Exception] = InvalidInput, **kw: Any) -> str:
    """``call`` raises one clear line saying ``case.says``; the line is printable (no lone surrogate)."""
    with pytest.raises(error) as caught:
        call(*args, **kw)
    message = one_line(caught.value)
    assert case.says in message, message
    assert "\n" not in str(caught.value) and len(message) < 400
    message.encode("utf-8")  # a line a page or a terminal can show
    return message


# --- ids --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", of("id"), ids=ids(of("id")))
def test_an_id_is_parsed_exactly_or_refused(case: InputCase, world: World) -> None:
    if not case.accepted:
        _refused(case, parse_id, case.value)
        return
    parsed = parse_id(case.value)
    assert parsed == case.expected and type(parsed) is int
    token = _person(world)
    with pytest.raises(StudioError):  # an id nobody has: a clear line from the service, never a crash
        interviewing.get_interview(world.engine, token=token, interview_id=parsed)


def test_the_services_answer_an_impossible_id_plainly(engine: Engine) -> None:
    """Called directly (not through a front end's parser), on SQLite and PostgreSQL: NotFound, not a crash
    (SQLite's integers end at 2**63, PostgreSQL's ids at 2**31)."""
    for number in (0, -1, 2**31, 2**63, 10**30, 99999999999999999999999):
        with pytest.raises(NotFound):
            deliberations.get_deliberation(engine, deliberation_id=number)


# --- numbers ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", of("number") + of("decimal"), ids=ids(of("number") + of("decimal")))
def test_a_number_answer_is_stored_exactly_or_refused(case: InputCase, world: World) -> None:
    key = "age" if case.target == "number" else "hours"
    token = _person(world)
    if case.accepted:
        joining.consent(world.engine, token=token, demographics={key: case.value})
        stored = joining.home(world.engine, token=token).participant.demographics
        assert stored == {key: case.expected} and type(stored[key]) is type(case.expected)
        return
    _refused(case, joining.consent, world.engine, token=token, demographics={key: case.value})
    person = joining.home(world.engine, token=token).participant
    assert person.demographics == {} and person.consented_at is None


# --- settings JSON and --config files ----------------------------------------------------------------


def _stored_config(w: World, config: dict[str, Any]) -> dict[str, Any]:
    made = deliberations.create_deliberation(w.engine, title="Configured", questions=["Q?"], config=config)
    return deliberations.get_deliberation(w.engine, deliberation_id=made.id).config


@pytest.mark.parametrize("case", of("config"), ids=ids(of("config")))
def test_settings_json_is_bounded(case: InputCase, world: World) -> None:
    if case.accepted:
        assert contains(_stored_config(world, settings_json.parse_config(case.value)), case.expected)
        return
    before = _count(world, Deliberation)
    _refused(case, settings_json.parse_config, case.value)
    assert _count(world, Deliberation) == before


@pytest.mark.parametrize("case", of("config_file"), ids=ids(of("config_file")))
def test_a_config_file_is_read_only_when_it_is_a_small_utf8_file(
    case: InputCase, world: World, tmp_path: Path
) -> None:
    path = make_path(case.value, tmp_path)
    if case.accepted:
        assert contains(_stored_config(world, settings_json.read_config_file(path)), case.expected)
    else:
        _refused(case, settings_json.read_config_file, path)


def test_a_config_dict_given_directly_is_checked_as_strictly(world: World) -> None:
    """The page and the CLI parse JSON first; a caller with a dict gets the same rules."""
    for config, says in (
        ({"graph_thresholds": {"max_entropy": float("inf")}}, "max_entropy"),
        ({"survey": [{"key": "a", "label": "A\x00"}]}, "NUL character"),
        ({"demographics": [{"key": "a", "label": "A", "options": ["\ud800"]}]}, "lone surrogate"),
    ):
        with pytest.raises(InvalidInput, match=says):
            deliberations.create_deliberation(world.engine, title="T", questions=["Q?"], config=config)


# --- texts ------------------------------------------------------------------------------------------


def _sender(w: World, name: str) -> tuple[Callable[[str], Any], Callable[[], str]]:
    """``(send, read_back)`` for text field ``name``: ``send(text)`` goes through its service, ``read_back()``
    returns what that service stored. The person (and interview) a field needs exist before ``send``."""
    e = w.engine
    made: list[Any] = []
    if name in ("title", "question", "welcome", "consent"):
        key = {
            "title": "title",
            "question": "questions",
            "welcome": "welcome_text",
            "consent": "consent_text",
        }

        def create(text: str) -> None:
            fields: dict[str, Any] = {
                "title": "T",
                "questions": ["Q?"],
                "welcome_text": "",
                "consent_text": "",
            }
            fields[key[name]] = [text] if name == "question" else text
            made.append(deliberations.create_deliberation(e, **fields).id)

        def created() -> str:
            back = deliberations.get_deliberation(e, deliberation_id=made[-1])
            return back.questions[0].text if name == "question" else str(getattr(back, key[name]))

        return create, created
    if name == "cohort":

        def invite(text: str) -> None:
            made.extend(
                deliberations.create_invites(
                    e, deliberation_id=w.deliberation_id, count=1, base_url="http://x", cohort=text
                )
            )

        def cohort() -> str:
            with session_scope(e) as s:
                assert s.exec(select(Invite).where(Invite.code == made[-1].invite.code)).one().cohort_id
            return str(made[-1].invite.cohort)

        return invite, cohort
    if name == "panel_id":
        return (
            lambda text: made.append(joining.join(e, code=w.code, external_id=text).token),
            lambda: str(joining.home(e, token=made[-1]).participant.external_id),
        )
    token = _person(w)
    if name == "town":
        return (
            lambda text: joining.consent(e, token=token, demographics={"town": text}),
            lambda: str(joining.home(e, token=token).participant.demographics["town"]),
        )
    if name == "message":
        interview = interviewing.start_interview(e, token=token, question_id=w.question_id).id
        return (
            lambda text: interviewing.post_message(e, token=token, interview_id=interview, text=text),
            lambda: interviewing.get_interview(e, token=token, interview_id=interview).messages[-1].content,
        )
    if name == "reason":
        return (
            lambda text: judging.judge(
                e, token=token, hypothesis_id=w.hypothesis_id, answer="upgrade", reason=text
            ),
            lambda: str(judging.stories_to_judge(e, token=token)[0].reason),
        )
    assert name == "comment"
    scales = {item.key: 4 for item in receipts.survey(e, token=token) if item.kind == "scale"}
    return (
        lambda text: receipts.submit_survey(e, token=token, answers={**scales, "comment": text}),
        lambda: next(str(i.answer) for i in receipts.survey(e, token=token) if i.key == "comment"),
    )


TABLES = (Deliberation, Invite, Participant, Message, Judgement, SurveyResponse)


@pytest.mark.parametrize("case", of("text"), ids=ids(of("text")))
def test_a_text_is_stored_exactly_or_refused_whole(case: InputCase, world: World) -> None:
    name, text = case.value
    assert name in LIMITS
    send, read_back = _sender(world, name)
    if case.accepted:
        send(text)
        assert read_back() == case.expected
        return
    before = [_count(world, t) for t in TABLES]
    _refused(case, send, text)
    assert [_count(world, t) for t in TABLES] == before  # nothing stored, nothing cut


UNSTORABLE = [c for c in of("text") if not c.accepted and ("NUL" in c.says or "surrogate" in c.says)]


def test_nul_and_lone_surrogates_are_refused_on_both_databases(engine: Engine) -> None:
    """PostgreSQL cannot store NUL and no database a lone surrogate: both refused before they reach one."""
    d = deliberations.create_deliberation(engine, title="T", questions=["Q?"])
    deliberations.set_status(engine, deliberation_id=d.id, status="open")
    code = deliberations.open_link(engine, deliberation_id=d.id, base_url="http://x").split("code=")[1]
    token = joining.join(engine, code=code).token
    interview = interviewing.start_interview(engine, token=token, question_id=d.questions[0].id).id
    assert len(UNSTORABLE) >= 6
    for case in UNSTORABLE:
        _, text = case.value
        _refused(case, interviewing.post_message, engine, token=token, interview_id=interview, text=text)
        _refused(case, deliberations.create_deliberation, engine, title="T", questions=[text])
    for pid in ("P\x00", "P\ud800"):
        with pytest.raises(InvalidInput, match="panel id"):
            joining.join(engine, code=code, external_id=pid)
    for bad_token in ("tok\x00en", "\udc80"):  # a URL token that can never be one: the usual line
        with pytest.raises(InvalidInput, match="participant link is not valid"):
            joining.home(engine, token=bad_token)
    for bad_code in ("co\x00de", "\udc80"):
        with pytest.raises(InvalidInput, match="link is not valid"):
            joining.join(engine, code=bad_code)
    assert len(deliberations.list_deliberations(engine)) == 1
    assert [
        m.role for m in interviewing.get_interview(engine, token=token, interview_id=interview).messages
    ] == ["assistant"]


# --- base URLs --------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", of("base_url"), ids=ids(of("base_url")))
def test_links_start_with_an_http_address_only(case: InputCase, world: World, tmp_path: Path) -> None:
    env = {"LLM_MODE": "fake", "DATA_DIR": str(tmp_path), "PUBLIC_BASE_URL": case.value}
    if case.accepted:
        assert deliberations.check_base_url(case.value) == case.expected
        link = deliberations.open_link(
            world.engine, deliberation_id=world.deliberation_id, base_url=case.value
        )
        assert link.startswith(f"{case.expected}/join?code=")
        assert load_settings(environ=env, secrets={}).public_base_url == case.expected
        return
    invites = _count(world, Invite)
    _refused(
        case,
        deliberations.open_link,
        world.engine,
        deliberation_id=world.deliberation_id,
        base_url=case.value,
    )
    _refused(
        case, deliberations.create_invites, world.engine, deliberation_id=world.deliberation_id, count=3,
        base_url=case.value,
    )  # fmt: skip
    assert _count(world, Invite) == invites
    if case.value:  # an empty variable is an unset one: the default applies
        _refused(case, load_settings, environ=env, secrets={}, error=SettingsError)


def test_the_corpus_is_large_enough() -> None:
    assert len(CASES) >= 90
