"""Races of one participant's chat, on SQLite and PostgreSQL (issue 10 items 1, 2 and 6: category races).

Each :class:`RaceCase` replays, through the services and with threads where two tabs act at once, what a
browser does: the same tab sending again while a reply streams, two tabs of one person sending within
milliseconds (different messages, the same one, the same send twice), two reply calls at once, a message
arriving mid-reply, a process killed mid-stream (its claim fresh, then stale), and streams that end early
or cut by ``max_tokens``. Every case ends with the same checks (:func:`_kept`): each message sent is
stored exactly once, every one is answered, no message gets two replies, and each reply saw every
participant message before it. ``CASES`` is the corpus the hostile suite counts.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import BaseMessage, HumanMessage
from sqlmodel import select

from errors import InvalidInput
from interviews.flow import Stage, fallback_question
from interviews.vocabulary import MessageRole, MessageStatus
from providers.chat import make_chat_model
from providers.errors import ModelServerError
from providers.fakes import FakeEndpoint, ScriptedChatModel, cut_short, truncated_stream
from services.facilitator import deliberations
from services.participant import interviewing, reply_claims
from services.runtime.retrying import RetryPolicy
from settings import load_settings
from storage import db, repo_interviews, repo_participants
from storage.db import session_scope
from storage.errors import DatabaseUnavailable
from storage.schemas import InterviewPublic, MessagePublic, ParticipantCreate
from storage.tables import Message
from tests import postgres_server

NO_WAIT = RetryPolicy(attempts=2, sleep=lambda s: None)
BUDGET = 10_000_000
THREAD_TIMEOUT_S = 30


# --- the world: one deliberation per backend, one participant per case --------------------------------


@dataclass(frozen=True)
class World:
    engine: Any
    deliberation_id: int
    question_id: int
    data_dir: Path


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    admin = url = None
    folder = Path(tmp_path_factory.mktemp("races"))
    if request.param == "sqlite":
        url = f"sqlite:///{folder / 'races.sqlite3'}"
    else:
        admin = request.getfixturevalue("postgres_admin_url")
        url = postgres_server.create_database(admin)
    engine = db.init_db(url)
    d = deliberations.create_deliberation(
        engine, title="Races", questions=["What should I do?"], config={"interview_turn_limit": 50}
    )
    try:
        yield World(engine, d.id, d.questions[0].id, folder)
    finally:
        engine.dispose()
        if admin is not None:
            postgres_server.drop_database(admin, url)


@dataclass
class Tab:
    """One browser tab of the participant: it sends (each send with its own idempotency key, as the page
    does) and asks for the reply, as the interview page does."""

    engine: Any
    token: str
    interview_id: int

    def send(self, text: str, key: str | None = None) -> MessagePublic:
        key = uuid.uuid4().hex if key is None else key
        return interviewing.post_message(
            self.engine, token=self.token, interview_id=self.interview_id, text=text, key=key
        )

    def replies(self, model: Any, **kw: Any) -> Iterator[str]:
        options = {"retry": NO_WAIT, "token_budget": BUDGET, **kw}
        return interviewing.reply(
            self.engine, model, token=self.token, interview_id=self.interview_id, **options
        )

    def reply(self, model: Any, **kw: Any) -> str:
        return "".join(self.replies(model, **kw))

    def view(self) -> InterviewPublic:
        return interviewing.get_interview(self.engine, token=self.token, interview_id=self.interview_id)


@dataclass
class Race:
    world: World
    monkeypatch: pytest.MonkeyPatch

    def tab(self) -> Tab:
        """A new participant with an interview started; more tabs of the same person: :func:`twin`."""
        with session_scope(self.world.engine) as s:
            data = ParticipantCreate(deliberation_id=self.world.deliberation_id)
            token = repo_participants.create_participant(s, data=data).token
        engine = self.world.engine
        view = interviewing.start_interview(engine, token=token, question_id=self.world.question_id)
        return Tab(engine, token, view.id)

    def endpoint_model(self, *replies: Any) -> tuple[Any, FakeEndpoint]:
        """The real chat model over a fake OpenAI-compatible server answering ``replies`` in turn."""
        endpoint = FakeEndpoint(*replies)
        environ = {
            "LLM_BASE_URL": "http://llm.test/v1",
            "LLM_MODEL": "test-model",
            "LLM_MAX_RETRIES": "0",
            "DATA_DIR": str(self.world.data_dir / "data"),
        }
        settings = load_settings(environ=environ, secrets={})
        return make_chat_model(settings, http_client=endpoint.client()), endpoint


def twin(tab: Tab) -> Tab:
    """A second tab of the same participant on the same interview."""
    return Tab(tab.engine, tab.token, tab.interview_id)


def said(messages: list[BaseMessage]) -> str:
    """The echo model's reply: every participant message it was sent, in order."""
    return "You wrote: " + " / ".join(str(m.content) for m in messages if isinstance(m, HumanMessage))


def echo(*, delay: float = 0.0, turns: int = 12) -> ScriptedChatModel:
    """A model that streams (in small pieces, ``delay`` apart) the participant messages it was sent."""
    return ScriptedChatModel([said] * turns, chunk_chars=6, chunk_delay_s=delay)


def gated(gate: threading.Event, entered: threading.Event) -> ScriptedChatModel:
    """An echo model whose first call waits, inside the model, until ``gate`` opens."""

    def slow(messages: list[BaseMessage]) -> str:
        entered.set()
        assert gate.wait(THREAD_TIMEOUT_S), "the gate never opened"
        return said(messages)

    return ScriptedChatModel([slow, *[said] * 6], chunk_chars=6)


def settle(tab: Tab, model: Any) -> None:
    """What the page's next runs do: ask for a reply until none is due."""
    for _ in range(4):
        if not tab.reply(model):
            return
    raise AssertionError("a reply is still due after four replies")


def at_once(*actions: Callable[[], Any]) -> list[Any]:
    """Run the actions in threads that start together (a barrier), as two tabs within milliseconds."""
    barrier = threading.Barrier(len(actions))

    def run(action: Callable[[], Any]) -> Any:
        barrier.wait(THREAD_TIMEOUT_S)
        return action()

    with ThreadPoolExecutor(len(actions)) as pool:
        futures = [pool.submit(run, action) for action in actions]
        return [f.result(timeout=THREAD_TIMEOUT_S) for f in futures]


def _kept(tab: Tab, sent: list[str]) -> InterviewPublic:
    """The invariants of every case: each message sent is stored once, all are answered, no message is
    answered twice, and each complete reply saw every participant message before it (the echo model)."""
    view = tab.view()
    users = [m.content for m in view.messages if m.role == MessageRole.USER]
    assert sorted(users) == sorted(sent), "a message was lost or stored twice"
    assert not view.replying and not view.awaiting_reply, "a message is left unanswered"
    complete = [m for m in view.messages if m.status == MessageStatus.COMPLETE]
    for first, second in zip(complete, complete[1:], strict=False):
        assert not (first.role == second.role == MessageRole.ASSISTANT), "one message got two replies"
    seen: list[str] = []
    for message in view.messages:
        if message.role == MessageRole.USER:
            seen.append(message.content)
        elif message.status == MessageStatus.COMPLETE and message.content.startswith("You wrote"):
            assert message.content == f"You wrote: {' / '.join(seen)}", "a reply missed a message"
    return view


# --- the cases ------------------------------------------------------------------------------------------


def same_tab_double_send(race: Race) -> None:
    """One send handled twice (a rerun replays it) is stored once."""
    tab, model = race.tab(), echo()
    first = tab.send("Honesty matters to me.", key="send-1")
    again = tab.send("Honesty matters to me.", key="send-1")
    assert again.id == first.id
    settle(tab, model)
    _kept(tab, ["Honesty matters to me."])


def same_tab_send_replayed_after_its_reply(race: Race) -> None:
    """A send replayed after it was answered returns the stored message, and no new reply is due."""
    tab, model = race.tab(), echo()
    first = tab.send("My story.", key="k-1")
    settle(tab, model)
    assert tab.send("My story.", key="k-1").id == first.id
    assert tab.reply(model) == ""
    _kept(tab, ["My story."])


def same_key_from_two_threads(race: Race) -> None:
    """The same send arriving twice at once (two server threads) is stored once."""
    tab = race.tab()

    def send() -> MessagePublic:
        return tab.send("Twice at once.", key="same")

    a, b = at_once(send, send)
    assert a.id == b.id
    settle(tab, echo())
    _kept(tab, ["Twice at once."])


def same_tab_second_message_while_streaming(race: Race) -> None:
    """A second message sent while the reply streams is stored after it and answered next."""
    tab, model = race.tab(), echo()
    tab.send("First thought.")
    stream = tab.replies(model)
    next(stream)
    tab.send("Second thought.")  # the chat box queued it: stored at once
    assert tab.view().replying
    list(stream)
    view = tab.view()
    assert [m.content for m in view.messages[1:3]] == ["First thought.", "You wrote: First thought."]
    assert view.awaiting_reply and not view.replying
    settle(tab, model)
    _kept(tab, ["First thought.", "Second thought."])


def same_tab_send_interrupts_the_stream(race: Race) -> None:
    """The page stops reading the stream to store a new message: the shown part is kept as cut off, and
    the next reply answers both messages."""
    tab, model = race.tab(), echo()
    tab.send("First thought.")
    stream = tab.replies(model)
    shown = next(stream)
    stream.close()
    tab.send("Second thought.")
    settle(tab, model)
    view = _kept(tab, ["First thought.", "Second thought."])
    statuses = [(m.content, m.status) for m in view.messages[1:]]
    assert statuses == [
        ("First thought.", "complete"),
        (shown, "cut_off"),
        ("Second thought.", "complete"),
        ("You wrote: First thought. / Second thought.", "complete"),
    ]


def two_tabs_send_different_messages(race: Race) -> None:
    """Two tabs send different messages within milliseconds and each asks for the reply."""
    a = race.tab()
    b, model = twin(a), echo(delay=0.002)

    at_once(lambda: a.send("From tab one."), lambda: b.send("From tab two."))
    at_once(lambda: a.reply(model), lambda: b.reply(model))
    settle(a, model)
    _kept(a, ["From tab one.", "From tab two."])


def two_tabs_send_the_same_message(race: Race) -> None:
    """The same message from two tabs at once is stored once and answered once."""
    a = race.tab()
    b, model = twin(a), echo(delay=0.002)

    first, second = at_once(lambda: a.send("The very same words."), lambda: b.send("The very same words."))
    assert first.id == second.id
    at_once(lambda: a.reply(model), lambda: b.reply(model))
    settle(a, model)
    _kept(a, ["The very same words."])
    assert len(model.calls) == 1


def two_tabs_send_many(race: Race) -> None:
    """Two tabs each send three messages, asking for replies between: nothing lost, nothing doubled."""
    a = race.tab()
    b, model = twin(a), echo(delay=0.001, turns=20)

    def act(tab: Tab, name: str) -> None:
        for n in range(3):
            tab.send(f"{name} message {n}.")
            tab.reply(model)

    at_once(lambda: act(a, "One"), lambda: act(b, "Two"))
    settle(a, model)
    _kept(a, [f"{name} message {n}." for name in ("One", "Two") for n in range(3)])


def reply_called_twice_at_once(race: Race) -> None:
    """Two reply calls at once (two tabs, or a double request): the model is asked once."""
    a = race.tab()
    b, model = twin(a), echo(delay=0.002)
    a.send("Only once, please.")
    texts = at_once(lambda: a.reply(model), lambda: b.reply(model))
    assert sorted(texts) == ["", "You wrote: Only once, please."]
    assert len(model.calls) == 1
    _kept(a, ["Only once, please."])


def reply_while_another_writes(race: Race) -> None:
    """While one call is inside the model, a second call yields nothing and calls no model; the page sees
    the reply as being written."""
    a = race.tab()
    b = twin(a)
    gate, entered = threading.Event(), threading.Event()
    model = gated(gate, entered)
    a.send("Tell me.")
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(a.reply, model)
        assert entered.wait(THREAD_TIMEOUT_S)
        view = b.view()
        assert view.replying and view.awaiting_reply
        assert b.reply(model) == ""
        assert len(model.calls) == 1
        gate.set()
        assert first.result(THREAD_TIMEOUT_S) == "You wrote: Tell me."
    _kept(a, ["Tell me."])


def send_from_another_tab_during_the_reply(race: Race) -> None:
    """A message from another tab while the model writes goes after the reply and is answered next, by a
    reply that saw the first one."""
    a = race.tab()
    b = twin(a)

    def reply_while_tab_two_writes(messages: list[BaseMessage]) -> str:
        b.send("From tab two.")
        return said(messages)

    model = ScriptedChatModel([reply_while_tab_two_writes, said, said])
    a.send("From tab one.")
    assert a.reply(model) == "You wrote: From tab one."
    settle(b, model)
    view = _kept(a, ["From tab one.", "From tab two."])
    assert [m.content for m in view.messages[1:]] == [
        "From tab one.",
        "You wrote: From tab one.",
        "From tab two.",
        "You wrote: From tab one. / From tab two.",
    ]
    turns = [type(m).__name__ for m in model.calls[1][2:]]  # after the system prompt and the opening
    assert turns == ["HumanMessage", "AIMessage", "HumanMessage"]


#: What the participant of a crashed writer says: in sentences, so that its echo streams in pieces (a reply
#: shows whole sentences as each one ends: interviews.flow.ReplyStream).
IN_SENTENCES = "Are you there? I wrote before. Still here."


def _crashed_mid_stream(race: Race, tab: Tab, model: Any, pieces: int) -> Iterator[str]:
    """A reply that streamed ``pieces`` pieces (each one renewing its claim), then its process died."""
    tab.send(IN_SENTENCES)  # the first piece writes the row (a heartbeat is 2 s away)
    stream = tab.replies(model)
    for _ in range(pieces):
        next(stream)
    return stream  # never read again nor closed: what a killed process leaves behind


def crash_mid_stream_claim_still_fresh(race: Race) -> None:
    """A claim renewed moments ago is respected: another call yields nothing and calls no model."""
    tab = race.tab()
    model = echo()
    dead = _crashed_mid_stream(race, tab, model, pieces=2)
    assert tab.reply(model, stale_after_s=3600) == ""
    assert len(model.calls) == 1
    view = tab.view()
    assert view.replying and f"You wrote: {IN_SENTENCES}".startswith(view.messages[-1].content)
    list(dead)  # the writer was only slow after all: it finishes its own reply
    _kept(tab, [IN_SENTENCES])


def crash_mid_stream_claim_stale(race: Race) -> None:
    """A claim its writer stopped renewing is taken over: what it had written is kept as cut off, a new
    reply is written, and the old writer, if it ever wakes, writes nothing."""
    tab = race.tab()
    model = echo()
    dead = _crashed_mid_stream(race, tab, model, pieces=2)
    partial = tab.view().messages[-1].content
    assert partial and f"You wrote: {IN_SENTENCES}".startswith(partial)
    assert tab.reply(model, stale_after_s=0) == f"You wrote: {IN_SENTENCES}"
    race.monkeypatch.setattr(reply_claims, "HEARTBEAT_S", 0.0)  # its next piece writes (no 2 s wait)
    assert list(dead) == []  # it finds its claim gone and stops
    view = _kept(tab, [IN_SENTENCES])
    assert [(m.content, m.status) for m in view.messages[2:]] == [
        (partial, "cut_off"),
        (f"You wrote: {IN_SENTENCES}", "complete"),
    ]


def crash_before_the_first_piece(race: Race) -> None:
    """A claim that died before any text came leaves nothing behind once taken over."""
    tab = race.tab()
    gate, entered = threading.Event(), threading.Event()
    tab.send("Hello?")
    with ThreadPoolExecutor(1) as pool:
        stuck = pool.submit(tab.reply, gated(gate, entered))
        assert entered.wait(THREAD_TIMEOUT_S)
        assert tab.view().messages[-1].status == MessageStatus.STREAMING
        assert tab.reply(echo(), stale_after_s=0) == "You wrote: Hello?"
        gate.set()
        assert stuck.result(THREAD_TIMEOUT_S) == ""  # its claim was taken: it stops without writing
    view = _kept(tab, ["Hello?"])
    assert [m.status for m in view.messages] == ["complete"] * 3


def stream_closed_early(race: Race) -> None:
    """A server that closes the stream without a finish reason or [DONE]: the text is kept as cut off,
    the participant sees an error, and a retry writes the whole reply."""
    tab = race.tab()
    model, endpoint = race.endpoint_model(truncated_stream("Tell me about a ti"), "Tell me about a time.")
    tab.send("Hello.")
    with pytest.raises(ModelServerError, match="stopped before it was finished"):
        tab.reply(model)
    view = tab.view()
    assert (view.messages[-1].content, view.messages[-1].status) == ("Tell me about a ti", "cut_off")
    assert view.awaiting_reply and not view.replying
    assert tab.reply(model) == "Tell me about a time."
    assert "Tell me about a ti" not in str(endpoint.bodies[1]["messages"])  # the cut-off part is not sent
    assert tab.view().messages[-1].status == MessageStatus.COMPLETE


def stream_closed_before_any_text(race: Race) -> None:
    """A stream that closes early with nothing in it is retried at once (nothing was shown)."""
    tab = race.tab()
    model, endpoint = race.endpoint_model(truncated_stream(""), "Go on.")
    tab.send("Hello.")
    assert tab.reply(model) == "Go on."
    assert len(endpoint.bodies) == 2
    assert [m.status for m in tab.view().messages] == ["complete"] * 3


def stream_cut_by_max_tokens(race: Race) -> None:
    """``finish_reason: length`` (cut by LLM_MAX_TOKENS) is kept as a whole reply (README); asking nothing
    then, it ends with its stage's question."""
    tab = race.tab()
    model, _ = race.endpoint_model(truncated_stream("A long question that goes on", finish_reason="length"))
    tab.send("Hello.")
    question = fallback_question(Stage.STORY, 1)
    assert tab.reply(model) == f"A long question that goes on\n\n{question}"
    view = tab.view()
    assert view.messages[-1].status == MessageStatus.COMPLETE and not view.awaiting_reply


def stream_stopped_by_a_content_filter(race: Race) -> None:
    """Any finish reason but the model's own end (``content_filter``) is a reply cut off."""
    tab = race.tab()
    model, _ = race.endpoint_model(truncated_stream("I would", finish_reason="content_filter"))
    tab.send("Hello.")
    with pytest.raises(ModelServerError):
        tab.reply(model)
    assert tab.view().messages[-1].status == MessageStatus.CUT_OFF


def scripted_stream_cut_short(race: Race) -> None:
    """The scripted fake's early close: the same rule without a network (cut off, then a retry works)."""
    tab = race.tab()
    model = ScriptedChatModel([cut_short("Half a sen"), "Half a sentence, then whole."])
    tab.send("Hello.")
    with pytest.raises(ModelServerError):
        tab.reply(model)
    assert tab.reply(model) == "Half a sentence, then whole."
    assert [m.status for m in tab.view().messages[2:]] == ["cut_off", "complete"]


def reload_mid_stream_then_retry(race: Race) -> None:
    """A reload stops the page reading: the part shown is kept as cut off, the next run answers afresh
    and the model is not sent the cut-off part."""
    tab, model = race.tab(), echo()
    tab.send("Once more.")
    stream = tab.replies(model)
    next(stream)
    stream.close()
    assert tab.view().awaiting_reply
    settle(tab, model)
    _kept(tab, ["Once more."])
    assert all("You wrote" not in str(m.content) for m in model.calls[1])


def same_words_after_the_answer_are_a_new_message(race: Race) -> None:
    """The same words sent again after they were answered are a new turn, stored again."""
    tab, model = race.tab(), echo()
    tab.send("Yes.")
    settle(tab, model)
    tab.send("Yes.")
    settle(tab, model)
    _kept(tab, ["Yes.", "Yes."])


def _model_writes(bad: str) -> Callable[[Race], None]:
    def scenario(race: Race) -> None:
        tab = race.tab()
        model = ScriptedChatModel([f"Tell me{bad} more{bad}."], chunk_chars=4)
        tab.send("Hello.")
        assert tab.reply(model) == "Tell me\ufffd more\ufffd."
        last = tab.view().messages[-1]
        assert (last.content, last.status) == ("Tell me\ufffd more\ufffd.", "complete")

    scenario.__doc__ = f"A reply with {bad!r} in it is stored with U+FFFD in its place, complete, no error."
    return scenario


def ending_a_broken_reply_fails_too(race: Race) -> None:
    """When the write that ends a broken-off reply fails as well, the first error is the one raised."""
    tab = race.tab()
    tab.send("Hello.")
    write = repo_interviews.write_claimed_reply

    def failing(session: Any, **kw: Any) -> bool:
        if kw["status"] == MessageStatus.CUT_OFF:
            raise DatabaseUnavailable("The database went away.")
        return write(session, **kw)

    race.monkeypatch.setattr(repo_interviews, "write_claimed_reply", failing)
    with pytest.raises(ModelServerError, match="stopped before it was finished"):
        tab.reply(ScriptedChatModel([cut_short("Half a sen")]))
    race.monkeypatch.setattr(repo_interviews, "write_claimed_reply", write)
    assert tab.reply(echo(), stale_after_s=0) == "You wrote: Hello."  # the stuck claim is taken over


def a_slow_first_piece_keeps_its_claim(race: Race) -> None:
    """A writer waiting long for the model's first piece (SDK retries, backoff, a slow prompt) renews its
    claim from its heartbeat: a second tab polling past the stale limit still calls no model."""
    race.monkeypatch.setattr(reply_claims, "HEARTBEAT_S", 0.1)
    a = race.tab()
    b = twin(a)
    gate, entered = threading.Event(), threading.Event()
    model = gated(gate, entered)
    a.send("Take your time.")
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(a.reply, model, stale_after_s=1.0)
        assert entered.wait(THREAD_TIMEOUT_S)
        for _ in range(4):  # 2 s in all: twice the stale limit
            time.sleep(0.5)
            assert b.reply(model, stale_after_s=1.0) == ""
        assert len(model.calls) == 1
        gate.set()
        assert first.result(THREAD_TIMEOUT_S) == "You wrote: Take your time."
    _kept(a, ["Take your time."])


def a_waiting_tab_takes_no_row_lock(race: Race) -> None:
    """A tab that polls while another writes the reply reads the claim without locking the row."""
    a = race.tab()
    b = twin(a)
    gate, entered = threading.Event(), threading.Event()
    model = gated(gate, entered)
    a.send("Go on.")
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(a.reply, model)
        assert entered.wait(THREAD_TIMEOUT_S)
        locks: list[bool] = []
        rows = repo_interviews.interview_rows

        def recorded(session: Any, **kw: Any) -> Any:
            locks.append(bool(kw.get("lock")))
            return rows(session, **kw)

        race.monkeypatch.setattr(repo_interviews, "interview_rows", recorded)
        assert b.reply(model) == ""
        race.monkeypatch.setattr(repo_interviews, "interview_rows", rows)
        assert locks and not any(locks)
        gate.set()
        assert first.result(THREAD_TIMEOUT_S) == "You wrote: Go on."
    _kept(a, ["Go on."])


def a_send_key_never_finds_a_reply(race: Race) -> None:
    """A reply claim's key cannot be a send's: a send whose key is the claim's hex is a new message."""
    tab, model = race.tab(), echo()
    tab.send("First.")
    settle(tab, model)
    with session_scope(tab.engine) as s:
        statement = select(Message).where(Message.interview_id == tab.interview_id, Message.seq == 2)
        key = s.exec(statement).one().client_key
    assert key is not None and key.startswith(reply_claims.KEY_PREFIX)
    sent = tab.send("Second.", key=key.removeprefix(reply_claims.KEY_PREFIX))
    assert (sent.role, sent.content) == ("user", "Second.")
    with pytest.raises(InvalidInput, match="message key"):
        tab.send("Third.", key=key)
    settle(tab, model)
    _kept(tab, ["First.", "Second."])


def _bad_key(key: str) -> Callable[[Race], None]:
    def scenario(race: Race) -> None:
        tab = race.tab()
        with pytest.raises(InvalidInput, match="message key"):
            tab.send("Hello.", key=key)
        assert [m.role for m in tab.view().messages] == ["assistant"]  # nothing stored

    scenario.__doc__ = f"A send key {key!r} is refused with one line, and nothing is stored."
    return scenario


@dataclass(frozen=True)
class RaceCase:
    id: str
    category: str
    run: Callable[[Race], None]


CASES: list[RaceCase] = [
    RaceCase(name.replace("_", "-"), "races", fn)
    for name, fn in [
        ("same_tab_double_send", same_tab_double_send),
        ("same_tab_send_replayed_after_its_reply", same_tab_send_replayed_after_its_reply),
        ("same_key_from_two_threads", same_key_from_two_threads),
        ("same_tab_second_message_while_streaming", same_tab_second_message_while_streaming),
        ("same_tab_send_interrupts_the_stream", same_tab_send_interrupts_the_stream),
        ("two_tabs_send_different_messages", two_tabs_send_different_messages),
        ("two_tabs_send_the_same_message", two_tabs_send_the_same_message),
        ("two_tabs_send_many", two_tabs_send_many),
        ("reply_called_twice_at_once", reply_called_twice_at_once),
        ("reply_while_another_writes", reply_while_another_writes),
        ("send_from_another_tab_during_the_reply", send_from_another_tab_during_the_reply),
        ("crash_mid_stream_claim_still_fresh", crash_mid_stream_claim_still_fresh),
        ("crash_mid_stream_claim_stale", crash_mid_stream_claim_stale),
        ("crash_before_the_first_piece", crash_before_the_first_piece),
        ("stream_closed_early", stream_closed_early),
        ("stream_closed_before_any_text", stream_closed_before_any_text),
        ("stream_cut_by_max_tokens", stream_cut_by_max_tokens),
        ("stream_stopped_by_a_content_filter", stream_stopped_by_a_content_filter),
        ("scripted_stream_cut_short", scripted_stream_cut_short),
        ("reload_mid_stream_then_retry", reload_mid_stream_then_retry),
        ("same_words_after_the_answer_are_a_new_message", same_words_after_the_answer_are_a_new_message),
        ("model_writes_a_nul", _model_writes("\x00")),
        ("model_writes_a_lone_surrogate", _model_writes("\ud800")),
        ("ending_a_broken_reply_fails_too", ending_a_broken_reply_fails_too),
        ("a_slow_first_piece_keeps_its_claim", a_slow_first_piece_keeps_its_claim),
        ("a_waiting_tab_takes_no_row_lock", a_waiting_tab_takes_no_row_lock),
        ("a_send_key_never_finds_a_reply", a_send_key_never_finds_a_reply),
        ("key_too_long", _bad_key("k" * 65)),
        ("key_empty", _bad_key("")),
        ("key_with_nul", _bad_key("key\x00")),
        ("key_with_a_path", _bad_key("../../etc/passwd")),
    ]
]
assert len({c.id for c in CASES}) == len(CASES), "case ids are unique"


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_race(world: World, monkeypatch: pytest.MonkeyPatch, case: RaceCase) -> None:
    case.run(Race(world, monkeypatch))
