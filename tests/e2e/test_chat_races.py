"""One tab sending while the interviewer's reply streams, in Chromium, against a slow OpenAI-compatible server
(issue 10 item 1): nothing the participant sends is lost, and every message is answered in order.

The app runs with ``LLM_MODE=openai`` pointed at :class:`SlowServer`, a real HTTP server in this process that
streams each reply word by word (a finish reason and ``[DONE]`` at the end, as OpenAI's does), slowly
enough to act while it streams. The database is read directly to check what was stored.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from services.facilitator import deliberations
from services.participant import interviewing
from storage import db, repo_participants
from storage.db import session_scope
from storage.schemas import ParticipantCreate
from tests.e2e.conftest import AppServer, Page, expect, wait_idle

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

WORD_DELAY_S = 0.2


class SlowServer:
    """``/v1/chat/completions`` that streams ``Reply N: I read M of your messages ...`` one word every
    ``delay`` seconds; ``bodies`` holds every request it got."""

    def __init__(self, delay: float = WORD_DELAY_S) -> None:
        self.delay = delay
        self.bodies: list[dict[str, Any]] = []
        self.dropped = 0  # streams the app stopped reading before their end
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)) or b"{}")
                server.bodies.append(body)
                users = [m for m in body.get("messages", []) if m.get("role") == "user"]
                text = (
                    f"Reply {len(server.bodies)}: I read {len(users)} of your messages, and I would like "
                    "to hear more about the moment you describe."
                )
                if not body.get("stream"):
                    self._send_json(text)
                    return
                self.send_response(200)
                self.send_header("content-type", "text/event-stream")
                self.end_headers()
                try:
                    self._event({"role": "assistant", "content": ""})
                    for i, word in enumerate(text.split(" ")):
                        time.sleep(server.delay)
                        self._event({"content": word if i == 0 else f" {word}"})
                    self._event({}, finish="stop")
                    self.wfile.write(b"data: [DONE]\n\n")
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):  # the app stopped reading this stream
                    server.dropped += 1

            def _event(self, delta: dict[str, Any], finish: str | None = None) -> None:
                chunk = {
                    "id": "chatcmpl-slow",
                    "object": "chat.completion.chunk",
                    "created": 1_700_000_000,
                    "model": "slow",
                    "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
                }
                self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                self.wfile.flush()

            def _send_json(self, text: str) -> None:
                payload = json.dumps(
                    {
                        "id": "chatcmpl-slow",
                        "object": "chat.completion",
                        "created": 1_700_000_000,
                        "model": "slow",
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": text},
                                "finish_reason": "stop",
                            }
                        ],
                        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                    }
                ).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def slow_app(start_app: Callable[..., AppServer]) -> Iterator[tuple[AppServer, SlowServer]]:
    server = SlowServer()
    try:
        app = start_app(
            LLM_MODE="openai",
            LLM_BASE_URL=server.url,
            LLM_MODEL="slow",
            LLM_MAX_RETRIES="0",
            LLM_TIMEOUT_S="30",
        )
        yield app, server
    finally:
        server.close()


def _interview(app: AppServer, *, waiting: str | None = None) -> str:
    """A participant with an interview started (and ``waiting``, a message not answered yet); the token."""
    engine = db.init_db(app.database_url)
    try:
        d = deliberations.create_deliberation(engine, title="Races", questions=["Should I tell my friend?"])
        deliberations.set_status(engine, deliberation_id=d.id, status="open")  # a draft's pages stop
        with session_scope(engine) as s:
            token = repo_participants.create_participant(
                s, data=ParticipantCreate(deliberation_id=d.id)
            ).token
        view = interviewing.start_interview(engine, token=token, question_id=d.questions[0].id)
        if waiting is not None:
            interviewing.post_message(engine, token=token, interview_id=view.id, text=waiting)
    finally:
        engine.dispose()
    return token


def _messages(app: AppServer) -> list[tuple[str, str, str]]:
    engine = sa.create_engine(app.database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(sa.text("SELECT role, content, status FROM message ORDER BY seq"))
            return [(str(r[0]), str(r[1]), str(r[2])) for r in rows]
    finally:
        engine.dispose()


def _full_reply(n: int) -> str:
    """The whole text of the slow server's reply number ``n``, when it has read ``n`` messages."""
    return (
        f"Reply {n}: I read {n} of your messages, and I would like to hear more about the moment you "
        "describe."
    )


def _streaming(page: Page, reply: int) -> None:
    """Wait until reply number ``reply`` is on screen: its first words have streamed (the rest takes
    seconds more)."""
    expect(page.get_by_text(f"Reply {reply}:", exact=False)).to_be_visible()


def test_a_message_typed_while_the_reply_streams_is_sent_after_it_and_answered(
    slow_app: tuple[AppServer, SlowServer], page: Page, shot: Callable[..., Path]
) -> None:
    app, server = slow_app
    page.goto(f"{app.base_url}/interview?token={_interview(app)}")
    wait_idle(page)
    box = page.get_by_test_id("stChatInputTextArea")
    box.fill("First message.")
    box.press("Enter")
    _streaming(page, 1)
    expect(box).to_be_disabled()  # while the reply streams, the chat box waits
    assert "moment you describe" not in page.get_by_test_id("stChatMessageContent").last.inner_text()
    box.fill("Second message.", timeout=30_000)  # typed at once; the browser waits for the box to open
    box.press("Enter")
    wait_idle(page)
    expect(page.get_by_text("Reply 2:", exact=False)).to_be_visible()
    wait_idle(page)
    shot("both-answered")
    reply_1, reply_2 = (_full_reply(n) for n in (1, 2))
    assert _messages(app)[1:] == [
        ("user", "First message.", "complete"),
        ("assistant", reply_1, "complete"),
        ("user", "Second message.", "complete"),
        ("assistant", reply_2, "complete"),
    ]
    assert len(server.bodies) == 2


def test_a_message_sent_into_a_stream_is_kept_and_the_next_reply_answers_both(
    slow_app: tuple[AppServer, SlowServer], page: Page, shot: Callable[..., Path]
) -> None:
    """A reply the page streams on its own (the message was waiting when the page opened: a reload, a
    second tab) leaves the chat box open; a message sent into it is stored at once and answered next."""
    app, _ = slow_app
    page.goto(f"{app.base_url}/interview?token={_interview(app, waiting='First message.')}")
    _streaming(page, 1)
    box = page.get_by_test_id("stChatInputTextArea")
    box.fill("Second message.")
    box.press("Enter")
    expect(page.get_by_text("Reply 2:", exact=False)).to_be_visible(timeout=30_000)
    wait_idle(page)
    shot("both-kept")
    stored = _messages(app)[1:]
    first, interrupted, second, answer = stored  # nothing lost, nothing doubled, in order
    assert first == ("user", "First message.", "complete")
    assert second == ("user", "Second message.", "complete")
    # the reply the send interrupted keeps what was shown, marked (complete, had it ended first)
    assert interrupted[0] == "assistant" and interrupted[2] in ("cut_off", "complete")
    # what was shown before the send cut it: a prefix of reply 1 (how much streamed depends on the machine)
    assert interrupted[1].startswith("Reply 1:") and _full_reply(1).startswith(interrupted[1])
    assert answer[0] == "assistant" and answer[2] == "complete"
    assert answer[1].startswith("Reply 2: I read 2 of your messages")  # it answered both
