"""Participant pages (AppTest): join by link, consent, interview with the demo model, bad links."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import sqlalchemy as sa
from streamlit.testing.v1 import AppTest

from providers.accounting import LLMCallRecord
from providers.fakes import ScriptedChatModel
from services.facilitator import deliberations, system
from services.jobs import pipeline
from services.participant import cards, interviewing, joining, receipts
from services.runtime.accounting import llm_call_sink
from settings import load_settings
from tests import worlds
from tests.app.conftest import open_page, shown, texts
from ui import components, resources

DEMOGRAPHICS = [
    {"key": "party", "label": "Party", "options": ["Democrat", "Republican", "Other"], "required": True},
    {"key": "age", "label": "Age", "kind": "number"},
]


@pytest.fixture
def engine(app_env: pytest.MonkeyPatch):
    """The app's own database (the test's DATA_DIR), opened the way the app opens it."""
    engine = system.open_database(load_settings())
    yield engine
    engine.dispose()


def _deliberation(engine, *, questions=("What should I do?",), config=None) -> int:
    d = deliberations.create_deliberation(
        engine,
        title="Parenting",
        questions=list(questions),
        welcome_text="Welcome, **friend**.",
        consent_text="We store what you write.",
        config=config or {},
    )
    deliberations.set_status(engine, deliberation_id=d.id, status="open")
    return d.id


def _invite(engine, deliberation_id: int) -> str:
    link = deliberations.create_invites(
        engine, deliberation_id=deliberation_id, count=1, base_url="http://x"
    )[0]
    return link.invite.code


def test_the_consent_box_names_terms_only_when_there_are_some(
    make_app: Callable[[], AppTest], engine
) -> None:
    with_terms = _deliberation(engine)
    without = deliberations.create_deliberation(engine, title="No terms", questions=["Q?"]).id
    deliberations.set_status(engine, deliberation_id=without, status="open")
    labels = {}
    for d in (with_terms, without):
        at = open_page(make_app, "pages/join.py", invite=_invite(engine, d))
        assert not at.exception
        labels[d] = shown(at.checkbox[0].label)
    assert labels == {with_terms: "I agree to take part on these terms.", without: "I agree to take part."}


def test_join_consent_and_start(make_app: Callable[[], AppTest], engine) -> None:
    d = _deliberation(engine, questions=("Q one?", "Q two?"), config={"demographics": DEMOGRAPHICS})
    at = open_page(make_app, "pages/join.py", invite=_invite(engine, d))
    assert not at.exception
    token = at.query_params["token"]
    assert "invite" not in at.query_params and len(token) >= 22  # the URL now carries the token
    assert "Parenting" in texts(at) and "We store what you write." in texts(at)

    at.button[0].click().run()  # Continue without agreeing or answering
    assert not at.exception and "tick the box" in at.error[0].value
    at.selectbox[0].set_value("Republican")
    at.checkbox[0].check()
    at.button[0].click().run()
    assert not at.exception
    person = joining.home(engine, token=token)
    assert person.participant.demographics == {"party": "Republican"} and person.participant.consented_at

    assert [o for o in at.radio[0].options] == ["Q one?", "Q two?"]
    at.radio[0].set_value(at.radio[0].options[1])
    next(b for b in at.button if b.label == "Start the interview").click().run()
    assert not at.exception
    view = interviewing.current_interview(engine, token=token)
    assert view is not None and view.question == "Q two?"


def test_the_same_invite_resumes_the_same_person(make_app: Callable[[], AppTest], engine) -> None:
    d = _deliberation(engine)
    code = _invite(engine, d)
    first = open_page(make_app, "pages/join.py", invite=code).query_params["token"]
    again = open_page(make_app, "pages/join.py", invite=code).query_params["token"]
    assert first == again


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"invite": "not-a-code"}, "invite link is not valid"),
        ({"code": "nope"}, "link is not valid"),
        ({"token": "forged-token"}, "participant link is not valid"),
        ({}, "needs your invite link"),
    ],
)
def test_bad_links_get_a_clear_message(make_app: Callable[[], AppTest], params: dict, message: str) -> None:
    at = open_page(make_app, "pages/join.py", **params)
    assert not at.exception
    assert message in at.error[0].value


def test_a_closed_deliberation_says_so(make_app: Callable[[], AppTest], engine) -> None:
    d = _deliberation(engine)
    code = _invite(engine, d)
    deliberations.set_status(engine, deliberation_id=d, status="closed")
    at = open_page(make_app, "pages/join.py", invite=code)
    assert not at.exception and "closed" in at.error[0].value


def _start(engine) -> tuple[str, int]:
    d = _deliberation(engine)
    token = joining.join(engine, invite=_invite(engine, d)).token
    joining.consent(engine, token=token, demographics={})
    q = joining.home(engine, token=token).questions[0].id
    return token, interviewing.start_interview(engine, token=token, question_id=q).id


def test_interview_chat_with_the_demo_model_and_resume(make_app: Callable[[], AppTest], engine) -> None:
    token, interview = _start(engine)
    at = open_page(make_app, "pages/interview.py", token=token)
    assert not at.exception and "What should I do?" in texts(at)
    at.chat_input[0].set_value("When my son lied, I **listened** first. <script>x</script>").run()
    assert not at.exception
    view = interviewing.get_interview(engine, token=token, interview_id=interview)
    assert [m.role for m in view.messages] == ["assistant", "user", "assistant"]
    # participant text is shown literally: no Markdown or HTML character reaches the page as syntax
    source = [m.value for m in at.chat_message[1].markdown]
    assert source and "\\*\\*listened\\*\\*" in source[0] and "&lt;script>" in source[0]
    assert shown(source[0]) == "When my son lied, I **listened** first. <script>x</script>"

    again = open_page(make_app, "pages/interview.py", token=token)  # a reload: a new session, same page
    assert not again.exception and len(again.chat_message) == 3


def _fix_the_demo_card(at: AppTest) -> None:
    """Write a card that keeps every rule into the edit form (opened if it is not) and save it."""
    if not at.text_input:
        next(b for b in at.button if b.label == "Edit it myself").click().run()
    at.text_input[0].input("Honest Kindness")
    at.text_area[0].input("Telling the truth in a way the other person can bear.")
    at.text_area[1].input("MOMENTS when the truth can be heard\nWORDS that leave the other person standing")
    next(b for b in at.button if b.label == "Save my changes").click().run()


def test_show_the_card_edit_it_and_see_the_rules(make_app: Callable[[], AppTest], engine) -> None:
    token, _ = _start(engine)
    at = open_page(make_app, "pages/interview.py", token=token)
    at.chat_input[0].set_value("Honesty with kindness.").run()
    next(b for b in at.button if b.label == "Show me my card now").click().run()
    assert not at.exception
    card = interviewing.current_interview(engine, token=token).card
    assert card.problems == [] and card.title == "Honest Gentleness"  # the demo card keeps the rules
    assert not at.warning and not at.text_input  # nothing to fix: the edit form stays closed
    next(b for b in at.button if b.label == "Edit it myself").click().run()
    at.text_input[0].input("Deep")  # an edit that breaks the rules
    at.text_area[1].input("being kind\nMOMENTS of calm")
    next(b for b in at.button if b.label == "Save my changes").click().run()
    assert not at.exception
    rules = at.warning[0].value
    assert rules.startswith("Before you can submit, please fix: ") and "policies[" not in rules
    assert "line 1 of what you pay attention to" in rules  # named as the edit form names it
    _fix_the_demo_card(at)
    assert not at.exception
    card = interviewing.current_interview(engine, token=token).card
    assert card.title == "Honest Kindness" and card.problems == [] and card.edited_by_participant
    submit = next(b for b in at.button if b.label == "This is my value: submit")
    assert not submit.disabled

    submit.click().run()  # on to the vote; the contexts are mined by a side job, not on the page's time
    assert not at.exception
    assert joining.home(engine, token=token).participant.stage == "vote"
    assert resources.jobs().wait(timeout_s=60)
    with engine.connect() as connection:
        purposes = connection.execute(sa.text("SELECT purpose FROM llmcall")).scalars().all()
    assert purposes.count("contexts") == 1


def test_a_failing_side_job_never_reaches_the_participant(
    make_app: Callable[[], AppTest], engine, app_env: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    token, _ = _start(engine)
    at = open_page(make_app, "pages/interview.py", token=token)
    at.chat_input[0].set_value("Honesty with kindness.").run()
    next(b for b in at.button if b.label == "Show me my card now").click().run()
    _fix_the_demo_card(at)
    card = interviewing.current_interview(engine, token=token).card

    def broken(*args: object, **kwargs: object) -> list[str]:
        raise RuntimeError("a bug in the side job")

    app_env.setattr(pipeline, "after_cards", broken)
    next(b for b in at.button if b.label == "This is my value: submit").click().run()
    assert not at.exception and not at.error
    assert joining.home(engine, token=token).participant.stage == "vote"
    assert resources.jobs().wait(timeout_s=60)
    assert any(
        r.getMessage() == f"the pipeline after card {card.id} failed" and r.exc_info for r in caplog.records
    )
    assert not pipeline.working(joining.home(engine, token=token).deliberation_id)  # it ended: not working


def test_a_model_failure_is_one_message_with_a_retry(
    make_app: Callable[[], AppTest], engine, app_env: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from providers.errors import ModelTimeout

    token, interview = _start(engine)

    def broken(*args: object, **kwargs: object):
        raise ModelTimeout("The model did not answer within 60 s.")
        yield  # pragma: no cover

    app_env.setattr(interviewing, "reply", broken)
    at = open_page(make_app, "pages/interview.py", token=token)
    at.chat_input[0].set_value("My story.").run()
    assert not at.exception
    # plain words for the participant; the detail goes to the log (and the model call's llmcall row)
    assert shown(at.error[0].value) == components.MODEL_TROUBLE and "60 s" not in at.error[0].value
    assert any("did not answer within 60 s" in r.getMessage() for r in caplog.records)
    view = interviewing.get_interview(engine, token=token, interview_id=interview)
    assert view.messages[-1].content == "My story." and view.awaiting_reply
    app_env.undo()
    next(b for b in at.button if b.label == "Try again").click().run()
    assert not at.exception
    assert not interviewing.get_interview(engine, token=token, interview_id=interview).awaiting_reply


def _submitted(engine, *, stories: int = 3) -> tuple[str, worlds.Peers]:
    """A participant whose card is submitted (stage "vote"), on a question three peers worked on."""
    d = _deliberation(engine, config={"stories_to_judge": stories})
    token = joining.join(engine, invite=_invite(engine, d)).token
    joining.consent(engine, token=token, demographics={})
    question = joining.home(engine, token=token).questions[0].id
    seeded = worlds.peers(engine, deliberation_id=d, question_id=question)
    view = interviewing.start_interview(engine, token=token, question_id=question)
    card = cards.request_card(
        engine, ScriptedChatModel([worlds.GOOD_CARD]), token=token, interview_id=view.id
    )
    cards.submit_card(engine, token=token, card_id=card.id, digest=card.digest)
    return token, seeded


def test_vote_judge_survey_and_receipt(make_app: Callable[[], AppTest], engine) -> None:
    token, seeded = _submitted(engine)
    at = open_page(make_app, "pages/vote.py", token=token)
    assert not at.exception
    shown = sorted(c.label.removeprefix("Wise: ") for c in at.checkbox)
    assert shown == sorted(title for title, _ in worlds.PEER_VALUES)  # never the person's own value
    at.checkbox[0].check()
    next(b for b in at.button if b.label == "Continue").click().run()
    assert not at.exception and "at least 2" in at.error[0].value  # one is not enough
    at.checkbox[1].check()
    next(b for b in at.button if b.label == "Continue").click().run()
    assert not at.exception
    assert joining.home(engine, token=token).participant.stage == "judge"

    at = open_page(make_app, "pages/judge.py", token=token)
    for answer in ("upgrade", "no_upgrade", "not_sure"):
        assert not at.exception and "Did this person become wiser?" in texts(at)
        at.radio[0].set_value(answer)
        if answer == "upgrade":
            at.text_area[0].input("It keeps what mattered and sees more.")
        next(b for b in at.button if b.label == "Save my answer").click().run()
    assert not at.exception
    next(b for b in at.button if b.label == "Continue").click().run()
    assert not at.exception and joining.home(engine, token=token).participant.stage == "survey"

    at = open_page(make_app, "pages/finish.py", token=token)
    assert not at.exception and "A few last questions" in texts(at)
    next(b for b in at.button if b.label == "Finish").click().run()
    assert not at.exception and at.error  # required questions unanswered
    for radio in at.radio:
        radio.set_value(4)
    next(b for b in at.button if b.label == "Finish").click().run()
    assert not at.exception
    assert "Thank you!" in texts(at) and "Listening First" in texts(at)
    assert "judged 3 stories" in texts(at) and "chose 2 wise values" in texts(at)


def test_the_back_button_never_loses_or_doubles_anything(make_app: Callable[[], AppTest], engine) -> None:
    token, _ = _submitted(engine)
    at = open_page(make_app, "pages/vote.py", token=token)
    at.checkbox[0].check()
    at.checkbox[1].check()
    next(b for b in at.button if b.label == "Continue").click().run()
    back = open_page(make_app, "pages/vote.py", token=token)  # going back: sent on to where they are
    assert not back.exception and "Did this person become wiser?" in texts(back)
    back = open_page(make_app, "pages/interview.py", token=token)
    assert not back.exception and "Did this person become wiser?" in texts(back)
    assert receipts.receipt(engine, token=token).votes == 2


@pytest.mark.parametrize("page", ["interview", "vote", "judge", "finish"])
@pytest.mark.parametrize(
    ("token", "message"), [("forged-token", "participant link is not valid"), (None, "needs your personal")]
)
def test_every_step_refuses_a_bad_or_missing_token(
    make_app: Callable[[], AppTest], page: str, token: str | None, message: str
) -> None:
    at = open_page(make_app, f"pages/{page}.py", **({"token": token} if token else {}))
    assert not at.exception and message in at.error[0].value


def test_an_ended_deliberation_stops_the_steps_but_keeps_the_receipt(
    make_app: Callable[[], AppTest], engine
) -> None:
    token, _ = _start(engine)
    deliberation = joining.home(engine, token=token).deliberation_id
    deliberations.set_status(engine, deliberation_id=deliberation, status="archived")
    at = open_page(make_app, "pages/interview.py", token=token)
    assert not at.exception and "has ended (archived)" in at.info[0].value and not at.chat_input
    deliberations.set_status(engine, deliberation_id=deliberation, status="open")
    at = open_page(make_app, "pages/interview.py", token=token)
    assert not at.exception and at.chat_input


def test_over_the_budget_a_revision_points_to_the_edit_form(
    make_app: Callable[[], AppTest], engine, app_env: pytest.MonkeyPatch
) -> None:
    app_env.setenv("PARTICIPANT_TOKEN_BUDGET", "10")
    token, interview = _start(engine)
    model = ScriptedChatModel([worlds.GOOD_CARD])
    interviewing.post_message(engine, token=token, interview_id=interview, text="I care about listening.")

    cards.request_card(engine, model, token=token, interview_id=interview)
    llm_call_sink(engine)(
        LLMCallRecord(
            purpose="articulate", model="m", tokens_in=50, tokens_out=50, latency_ms=1, interview_id=interview
        )
    )
    cards.ask_for_changes(engine, token=token, interview_id=interview)
    interviewing.post_message(engine, token=token, interview_id=interview, text="Say more about silence.")
    at = open_page(make_app, "pages/interview.py", token=token)
    assert not at.exception
    assert "edit the card yourself" in shown(at.error[0].value)
    assert any(b.label == "Edit it myself" for b in at.button)  # the way out is on the page
    assert at.chat_input  # and the chat too
