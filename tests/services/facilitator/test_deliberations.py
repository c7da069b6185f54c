"""Setting up and changing deliberations through the database (SQLite and PostgreSQL): one check of the
settings for every way in, edits logged with before and after, questions removed only while unanswered,
duplicates, deleting every row in dependency order, the status rules, and only open deliberations taking
participants."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, func
from sqlmodel import select

from errors import InvalidInput
from services.facilitator import deliberation_edits, deliberations, question_contexts, settings_json
from services.participant import joining
from storage import repo_deliberations, repo_values
from storage.db import session_scope
from storage.tables import (
    CanonicalValue,
    Cohort,
    Context,
    Deliberation,
    EdgeHypothesis,
    GraphSnapshot,
    Impression,
    Interview,
    Invite,
    JobRun,
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
    utcnow,
)

BASE = "http://x"
NO_OPTIONS = {"demographics": [{"key": "party", "label": "Party", "required": True}]}
EVERY_TABLE = (
    Judgement,
    Vote,
    Impression,
    SurveyResponse,
    EdgeHypothesis,
    LLMCall,
    Message,
    ValuesCard,
    Interview,
    Invite,
    Participant,
    CanonicalValue,
    QuestionContext,
    Context,
    Question,
    Cohort,
    ModerationEvent,
    GraphSnapshot,
    JobRun,
    Deliberation,
)


def _new(engine: Engine, **config: object) -> int:
    return deliberations.create_deliberation(
        engine, title="Care", questions=["Q one?", "Q two?"], config=config, actor="ann"
    ).id


def _events(engine: Engine, d: int, action: str | None = None) -> list[ModerationEvent]:
    with session_scope(engine) as s:
        found = repo_values.list_moderation_events(s, deliberation_id=d, action=action)
        for e in found:
            s.expunge(e)
        return list(found)


# --- one check of the settings ----------------------------------------------------------------------


def test_a_required_choice_without_options_is_refused_everywhere_it_comes_in(engine: Engine) -> None:
    with pytest.raises(InvalidInput, match="a choice question needs options"):
        settings_json.check_config(NO_OPTIONS)
    with pytest.raises(InvalidInput, match="a choice question needs options"):
        deliberations.create_deliberation(engine, title="T", questions=["Q?"], config=NO_OPTIONS)
    with pytest.raises(InvalidInput, match="a choice question needs options"):
        settings_json.parse_config('{"demographics": [{"key": "p", "label": "P", "kind": "choice"}]}')
    d = _new(engine)
    with pytest.raises(InvalidInput, match="a choice question needs options"):
        deliberation_edits.edit_deliberation(engine, deliberation_id=d, actor="ann", config=NO_OPTIONS)
    assert deliberations.get_deliberation(engine, deliberation_id=d).settings.demographics == []
    assert deliberations.list_deliberations(engine)[0].id == d  # nothing else was made


def test_a_stored_bad_setting_stays_readable_and_is_fixed_by_an_edit(engine: Engine) -> None:
    d = _new(engine)
    with session_scope(engine) as s:  # stored by an earlier version, before the rule
        s.get(Deliberation, d).config = {**NO_OPTIONS}
    assert deliberations.get_deliberation(engine, deliberation_id=d).settings.demographics[0].options == []
    with pytest.raises(InvalidInput, match="demographics.0: a choice question needs options"):
        deliberation_edits.edit_deliberation(engine, deliberation_id=d, actor="ann", title="New title")
    fixed = [{"key": "party", "label": "Party", "options": ["A", "B"], "required": True}]
    edited = deliberation_edits.edit_deliberation(
        engine, deliberation_id=d, actor="ann", title="New title", config={"demographics": fixed}
    )
    assert edited.title == "New title" and edited.settings.demographics[0].options == ["A", "B"]


def test_an_edit_is_logged_with_before_and_after(engine: Engine) -> None:
    d = _new(engine)
    (created,) = _events(engine, d)
    assert (created.action, created.actor, created.target_id) == ("deliberation_create", "ann", d)
    edited = deliberation_edits.edit_deliberation(
        engine,
        deliberation_id=d,
        actor="bob",
        welcome_text="Hello",
        config={"stories_to_judge": 5, "graph_thresholds": {"min_wiser": 4}},
    )
    assert edited.settings.stories_to_judge == 5
    assert edited.settings.graph_thresholds.model_dump() == {
        "min_wiser": 4,
        "min_likelihood": 0.33,
        "max_entropy": 1.69,
    }
    (event,) = _events(engine, d, "deliberation_edit")
    assert event.actor == "bob"
    assert event.details["changed"]["welcome_text"] == {"before": "", "after": "Hello"}
    assert event.details["changed"]["config.stories_to_judge"] == {"before": 3, "after": 5}
    assert set(event.details["changed"]) == {
        "welcome_text",
        "config.stories_to_judge",
        "config.graph_thresholds",
    }
    deliberation_edits.edit_deliberation(engine, deliberation_id=d, actor="bob", welcome_text="Hello")
    assert len(_events(engine, d, "deliberation_edit")) == 1  # nothing changed: nothing logged
    with pytest.raises(InvalidInput, match="title"):
        deliberation_edits.edit_deliberation(engine, deliberation_id=d, actor="bob", title="  ")
    with pytest.raises(InvalidInput, match="NUL"):
        deliberation_edits.edit_deliberation(engine, deliberation_id=d, actor="bob", consent_text="a\x00b")


# --- questions ---------------------------------------------------------------------------------------


def test_questions_are_added_edited_and_removed_only_while_unanswered(engine: Engine) -> None:
    d = _new(engine)
    q1, q2 = (q.id for q in deliberations.get_deliberation(engine, deliberation_id=d).questions)
    q3 = deliberation_edits.add_question(engine, deliberation_id=d, text="  Q three? ", actor="ann")
    assert (q3.text, q3.position) == ("Q three?", 2)
    deliberation_edits.edit_question(engine, question_id=q3.id, text="Q three, better?", actor="ann")
    (edit,) = _events(engine, d, "question_edit")
    assert edit.details == {"before": "Q three?", "after": "Q three, better?"}
    with pytest.raises(InvalidInput, match="empty"):
        deliberation_edits.edit_question(engine, question_id=q3.id, text=" ", actor="ann")

    with session_scope(engine) as s:  # question 1 is answered; question 2 has a context
        person = Participant(deliberation_id=d)
        s.add(person)
        s.flush()
        s.add(ValuesCard(participant_id=person.id, question_id=q1, title="A value"))
        context = Context(deliberation_id=d, text="When the user is tired")
        s.add(context)
        s.flush()
        s.add(QuestionContext(question_id=q2, context_id=context.id))
    with pytest.raises(InvalidInput, match=r"has been answered \(1 cards\)"):
        deliberation_edits.remove_question(engine, question_id=q1, actor="ann")
    deliberation_edits.remove_question(engine, question_id=q2, actor="ann")
    deliberation_edits.remove_question(engine, question_id=q3.id, actor="ann")
    assert [q.id for q in deliberations.get_deliberation(engine, deliberation_id=d).questions] == [q1]
    with session_scope(engine) as s:
        assert s.exec(select(QuestionContext)).all() == [] and len(s.exec(select(Context)).all()) == 1
    assert [e.details for e in _events(engine, d, "question_remove")] == [
        {"before": "Q three, better?"},
        {"before": "Q two?"},
    ]


def test_the_last_question_stays_and_the_cap_holds(engine: Engine) -> None:
    d = deliberations.create_deliberation(engine, title="T", questions=[f"Q{i}?" for i in range(50)]).id
    with pytest.raises(InvalidInput, match="at most 50 questions"):
        deliberation_edits.add_question(engine, deliberation_id=d, text="One more?", actor="ann")
    single = deliberations.create_deliberation(engine, title="T", questions=["Only?"])
    with pytest.raises(InvalidInput, match="at least one question"):
        deliberation_edits.remove_question(engine, question_id=single.questions[0].id, actor="ann")


def test_contexts_of_a_question_are_set_exactly(engine: Engine) -> None:
    d = _new(engine)
    q1, q2 = (q.id for q in deliberations.get_deliberation(engine, deliberation_id=d).questions)
    first = question_contexts.save_contexts(
        engine, question_id=q1, texts=["When the user is tired", "", "when the user is TIRED."], actor="ann"
    )
    assert first.added == ["When the user is tired"]
    second = question_contexts.save_contexts(
        engine, question_id=q2, texts=["When the user is tired", "When a child asks for help"], actor="ann"
    )
    assert (second.added, second.linked) == (["When a child asks for help"], ["When the user is tired"])
    third = question_contexts.save_contexts(
        engine, question_id=q2, texts=["When a child asks for help"], actor="ann"
    )
    assert third.unlinked == ["When the user is tired"]
    assert question_contexts.question_contexts(engine, question_id=q1) == ["When the user is tired"]
    assert question_contexts.question_contexts(engine, question_id=q2) == ["When a child asks for help"]
    with pytest.raises(InvalidInput, match="starts with"):
        question_contexts.save_contexts(engine, question_id=q2, texts=["Tired"], actor="ann")
    events = _events(engine, d, "question_contexts")
    assert len(events) == 3 and events[0].details["before"] == [
        "When the user is tired",
        "When a child asks for help",
    ]


# --- duplicate and delete -----------------------------------------------------------------------------


def test_a_duplicate_has_settings_questions_and_contexts_but_nobody(engine: Engine) -> None:
    d = _new(engine, stories_to_judge=5)
    deliberation_edits.edit_deliberation(engine, deliberation_id=d, actor="ann", welcome_text="Hi")
    q1, q2 = (q.id for q in deliberations.get_deliberation(engine, deliberation_id=d).questions)
    question_contexts.save_contexts(engine, question_id=q1, texts=["When the user is tired"], actor="ann")
    question_contexts.save_contexts(engine, question_id=q2, texts=["When a child asks for help"], actor="ann")
    deliberations.set_status(engine, deliberation_id=d, status="open")
    deliberations.create_invites(engine, deliberation_id=d, count=2, base_url=BASE, cohort="pilot")
    code = deliberations.open_link(engine, deliberation_id=d, base_url=BASE).split("code=")[1]
    joining.join(engine, code=code)

    copy = deliberation_edits.duplicate_deliberation(engine, deliberation_id=d, actor="bob")
    assert (copy.title, copy.status, copy.welcome_text, copy.visitors) == ("Copy of Care", "draft", "Hi", 0)
    assert copy.settings.stories_to_judge == 5 and [q.text for q in copy.questions] == ["Q one?", "Q two?"]
    assert question_contexts.question_contexts(engine, question_id=copy.questions[0].id) == [
        "When the user is tired"
    ]
    assert question_contexts.question_contexts(engine, question_id=copy.questions[1].id) == [
        "When a child asks for help"
    ]
    with session_scope(engine) as s:
        assert s.exec(select(Invite).where(Invite.deliberation_id == copy.id)).all() == []
        assert s.exec(select(Cohort).where(Cohort.deliberation_id == copy.id)).all() == []
    for which in (d, copy.id):
        (event,) = _events(engine, which, "deliberation_duplicate")
        assert event.details["from"] == d and event.details["to"] == copy.id and event.actor == "bob"
    named = deliberation_edits.duplicate_deliberation(engine, deliberation_id=d, actor="bob", title="Pilot 2")
    assert named.title == "Pilot 2"


def _fill(engine: Engine, d: int) -> None:
    """One row of every table that holds a deliberation's data."""
    with session_scope(engine) as s:
        q = s.exec(select(Question).where(Question.deliberation_id == d)).first()
        context = Context(deliberation_id=d, text="When the user is tired")
        cohort = Cohort(deliberation_id=d, name="pilot")
        value = CanonicalValue(deliberation_id=d, title="Care", description="Caring.")
        other = CanonicalValue(deliberation_id=d, title="Truth", description="Truthful.")
        s.add_all([context, cohort, value, other])
        s.flush()
        s.add(QuestionContext(question_id=q.id, context_id=context.id))
        person = Participant(deliberation_id=d, cohort_id=cohort.id, consented_at=utcnow())
        s.add(person)
        s.flush()
        s.add(Invite(deliberation_id=d, cohort_id=cohort.id, participant_id=person.id, used_at=utcnow()))
        interview = Interview(participant_id=person.id, question_id=q.id)
        s.add(interview)
        s.flush()
        s.add(Message(interview_id=interview.id, role="user", content="hi", seq=1))
        s.add(
            ValuesCard(
                participant_id=person.id,
                question_id=q.id,
                interview_id=interview.id,
                title="Care",
                status="submitted",
                canonical_value_id=value.id,
            )
        )
        s.add(ValuesCard(question_id=q.id, title="Seed", status="submitted", canonical_value_id=other.id))
        s.add(
            Impression(participant_id=person.id, canonical_value_id=value.id, question_id=q.id, draw_id="d1")
        )
        s.add(Vote(participant_id=person.id, canonical_value_id=value.id, question_id=q.id, draw_id="d1"))
        story = EdgeHypothesis(
            deliberation_id=d, from_value_id=value.id, to_value_id=other.id, context_id=context.id, run_id="r"
        )
        s.add(story)
        s.flush()
        s.add(
            Judgement(
                deliberation_id=d,
                participant_id=person.id,
                hypothesis_id=story.id,
                from_value_id=value.id,
                to_value_id=other.id,
                context_id=context.id,
                answer="upgrade",
            )
        )
        s.add(SurveyResponse(participant_id=person.id, question_key="comment", answer="ok"))
        s.add(
            LLMCall(
                purpose="interview", deliberation_id=d, interview_id=interview.id, participant_id=person.id
            )
        )
        s.add(LLMCall(purpose="dedup", deliberation_id=d))
        s.add(GraphSnapshot(deliberation_id=d))
        s.add(ModerationEvent(deliberation_id=d, action="hide_card", target_type="card"))
        s.add(JobRun(kind="dedup", deliberation_id=d, status="succeeded"))


def _counts(engine: Engine) -> dict[str, int]:
    with session_scope(engine) as s:
        return {t.__name__: int(s.exec(select(func.count()).select_from(t)).one()) for t in EVERY_TABLE}


def test_deleting_removes_every_row_of_the_deliberation_and_nothing_else(engine: Engine) -> None:
    keep, gone = _new(engine), _new(engine)
    _fill(engine, keep)
    _fill(engine, gone)
    before = _counts(engine)
    preview = deliberation_edits.deletion_preview(engine, deliberation_id=gone)
    assert preview["participants"] == 1 and preview["cards"] == 2 and preview["model_calls"] == 2
    assert all(preview[name] >= 1 for name in preview), preview  # every kind of row is there to delete

    with pytest.raises(InvalidInput, match="type its title exactly"):
        deliberation_edits.delete_deliberation(engine, deliberation_id=gone, confirm_title="Car", actor="ann")
    with session_scope(engine) as s:
        s.add(JobRun(kind="dedup", deliberation_id=gone, status="running"))
    with pytest.raises(InvalidInput, match="1 job queued or running"):
        deliberation_edits.delete_deliberation(
            engine, deliberation_id=gone, confirm_title="Care", actor="ann"
        )
    with session_scope(engine) as s:
        for run in s.exec(select(JobRun).where(JobRun.status == "running")):
            run.status = "failed"
    assert _counts(engine)["JobRun"] == before["JobRun"] + 1

    removed = deliberation_edits.delete_deliberation(
        engine, deliberation_id=gone, confirm_title="Care", actor="ann"
    )
    assert removed["deliberations"] == 1 and removed["job_runs"] == 2 and removed["questions"] == 2
    after = _counts(engine)
    expected = {name: n // 2 for name, n in before.items()}  # the other one is untouched
    expected["ModerationEvent"] += 1  # and the console's log tells of the deletion
    assert after == expected, after
    with pytest.raises(Exception, match="no deliberation"):
        deliberations.get_deliberation(engine, deliberation_id=gone)
    assert deliberations.get_deliberation(engine, deliberation_id=keep).participant_count == 1


# --- status and who may join ------------------------------------------------------------------------------


def test_the_status_moves_and_is_logged(engine: Engine) -> None:
    d = _new(engine)
    assert deliberations.set_status(engine, deliberation_id=d, status="open", actor="ann").status == "open"
    deliberations.set_status(engine, deliberation_id=d, status="open", actor="ann")  # no change, no event
    deliberations.set_status(engine, deliberation_id=d, status="draft", actor="ann")  # nobody came yet
    deliberations.set_status(engine, deliberation_id=d, status="open", actor="ann")
    code = deliberations.open_link(engine, deliberation_id=d, base_url=BASE).split("code=")[1]
    joining.join(engine, code=code)
    with pytest.raises(InvalidInput, match="cannot go back to draft: 1 person has joined"):
        deliberations.set_status(engine, deliberation_id=d, status="draft", actor="ann")
    for status in ("closed", "archived", "closed", "open"):
        deliberations.set_status(engine, deliberation_id=d, status=status, actor="bob")
    moves = [
        (e.details["before"], e.details["after"]) for e in reversed(_events(engine, d, "deliberation_status"))
    ]
    assert moves == [
        ("draft", "open"),
        ("open", "draft"),
        ("draft", "open"),
        ("open", "closed"),
        ("closed", "archived"),
        ("archived", "closed"),
        ("closed", "open"),
    ]
    with pytest.raises(InvalidInput, match="A status is one of"):
        deliberations.set_status(engine, deliberation_id=d, status="paused", actor="bob")


def test_drafts_and_closed_deliberations_take_no_participants(engine: Engine) -> None:
    d = _new(engine)
    code = deliberations.open_link(engine, deliberation_id=d, base_url=BASE).split("code=")[1]
    invite = deliberations.create_invites(engine, deliberation_id=d, count=2, base_url=BASE, force=True)
    with pytest.raises(InvalidInput, match="not opened yet"):
        joining.join(engine, code=code)
    with pytest.raises(InvalidInput, match="not opened yet"):
        joining.join(engine, invite=invite[0].invite.code)
    deliberations.set_status(engine, deliberation_id=d, status="open")
    joined = joining.join(engine, invite=invite[0].invite.code)  # the invite made in the draft works now
    visitor = joining.join(engine, code=code, external_id="P-1")
    joining.consent(engine, token=joined.token, demographics={})
    counted = deliberations.get_deliberation(engine, deliberation_id=d)
    assert (counted.participant_count, counted.visitors) == (1, 2)  # a visitor who never consented is not one

    deliberations.set_status(engine, deliberation_id=d, status="closed")
    with pytest.raises(InvalidInput, match="closed"):
        joining.join(engine, code=code)
    with pytest.raises(InvalidInput, match="closed"):
        joining.join(engine, invite=invite[1].invite.code)
    assert joining.join(engine, invite=invite[0].invite.code).token == joined.token  # resumes
    assert joining.join(engine, code=code, external_id="P-1").token == visitor.token
    joining.consent(engine, token=joined.token, demographics={})  # consented: may update answers
    with pytest.raises(InvalidInput, match="closed"):
        joining.consent(engine, token=visitor.token, demographics={})  # never consented: no new participant
    with session_scope(engine) as s:
        assert repo_deliberations.people_counts(s, deliberation_ids=[d]) == {d: (2, 1)}
