"""App-side overhead of one interview turn, with the model's own time subtracted.

One turn is what the interview page does when a participant sends a message: ``post_message`` (store it,
advance the stage) and ``reply`` (read the interview, assemble the prompt, stream the reply, store it),
with every model call recorded as an LLMCall row. The model is a fake that sleeps a fixed latency and
answers; its own time (measured inside it) is subtracted, leaving storage + prompt assembly + accounting.

The baseline in the same run is the same fake model called directly with the same messages and no app
around it: its "overhead" is LangChain's own work for one streamed call (callbacks, message objects), which
any real model call includes too. The target is judged on the app-side overhead: the gross turn overhead
minus that client baseline's median (storage, prompt assembly and accounting are what remain).

    python -m bench.interview [--turns 200] [--latency-ms 20] [--database sqlite|URL]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from langchain_core.messages import BaseMessage

from interviews.flow import Stage, interviewer_messages, stream_interviewer
from providers.accounting import RecordingCallback
from providers.fakes import ScriptedChatModel
from services.facilitator import deliberations
from services.participant import interviewing
from services.runtime.accounting import llm_call_sink
from storage import db, repo_participants
from storage.db import session_scope
from storage.schemas import ParticipantCreate

TURNS_PER_INTERVIEW = 25
TARGET_P95_MS = 15.0


class Clock:
    """Sums the time spent inside the fake model."""

    def __init__(self, latency_s: float) -> None:
        self.latency_s = latency_s
        self.spent = 0.0

    def __call__(self, messages: list[BaseMessage]) -> str:
        started = time.perf_counter()
        time.sleep(self.latency_s)
        self.spent += time.perf_counter() - started
        return f"Thank you. What did you notice the {len(messages)}th time?"


def _model(clock: Clock, turns: int, engine: Any = None) -> ScriptedChatModel:
    callbacks = [RecordingCallback(llm_call_sink(engine))] if engine is not None else None
    return ScriptedChatModel([clock] * turns, callbacks=callbacks)


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def app_turns(url: str, turns: int, latency_s: float) -> list[float]:
    engine = db.init_db(url)
    clock = Clock(latency_s)
    model = _model(clock, turns, engine)
    overheads: list[float] = []
    done = 0
    while done < turns:
        d = deliberations.create_deliberation(
            engine, title="Bench", questions=["What should I do?"], config={"interview_turn_limit": 50}
        )
        with session_scope(engine) as s:
            token = repo_participants.create_participant(
                s, data=ParticipantCreate(deliberation_id=d.id)
            ).token
        view = interviewing.start_interview(engine, token=token, question_id=d.questions[0].id)
        for i in range(min(TURNS_PER_INTERVIEW, turns - done)):
            before_model = clock.spent
            started = time.perf_counter()
            interviewing.post_message(engine, token=token, interview_id=view.id, text=f"Answer number {i}.")
            for _ in interviewing.reply(engine, model, token=token, interview_id=view.id, token_budget=10**9):
                pass
            overheads.append(time.perf_counter() - started - (clock.spent - before_model))
            done += 1
    engine.dispose()
    return overheads


def baseline_turns(turns: int, latency_s: float) -> list[float]:
    clock = Clock(latency_s)
    model = _model(clock, turns)
    messages = interviewer_messages(question="What should I do?", history=[], stage=Stage.STORY, turns_left=9)
    overheads = []
    for _ in range(turns):
        before_model = clock.spent
        started = time.perf_counter()
        for _ in stream_interviewer(model, messages):
            pass
        overheads.append(time.perf_counter() - started - (clock.spent - before_model))
    return overheads


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.interview", description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=200)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--database", default="sqlite", help="'sqlite' (a temp file) or a database URL")
    args = parser.parse_args(argv)
    latency = args.latency_ms / 1000
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.sqlite3'}" if args.database == "sqlite" else args.database
        app = app_turns(url, args.turns, latency)
    base = baseline_turns(args.turns, latency)
    print(
        f"{args.turns} turns, fake model latency {args.latency_ms:.0f} ms (subtracted), "
        f"database {args.database}"
    )
    app_ms, base_ms = [s * 1000 for s in app], [s * 1000 for s in base]
    client = percentile(base_ms, 0.5)  # LangChain's own work per call: part of calling any model
    net_ms = [x - client for x in app_ms]
    print(f"{'path':<44}{'p50 ms':>10}{'p95 ms':>10}{'mean ms':>10}{'max ms':>10}")
    rows = [
        ("app turn overhead (gross)", app_ms),
        ("baseline: bare model call (client)", base_ms),
        ("app-side overhead (gross - client p50)", net_ms),
    ]
    for name, ms in rows:
        print(
            f"{name:<44}{percentile(ms, 0.5):>10.2f}{percentile(ms, 0.95):>10.2f}"
            f"{statistics.fmean(ms):>10.2f}{max(ms):>10.2f}"
        )
    p95 = percentile(net_ms, 0.95)
    verdict = "met" if p95 <= TARGET_P95_MS else "MISSED"
    print(f"target: app-side overhead p95 <= {TARGET_P95_MS:.0f} ms on SQLite: {verdict} ({p95:.2f} ms)")
