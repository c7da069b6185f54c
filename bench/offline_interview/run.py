"""An offline interview worth having? Scripted participants talk with the bundled model (issue 11 item 4).

Each persona (:mod:`bench.offline_interview.personas`) answers ``--turns`` times; after each answer the
interviewer replies as the interview page has it reply: the prompt of its stage in the style the settings
choose (``PROMPT_STYLE``, compact for the bundled model), capped at ``LLM_REPLY_MAX_TOKENS`` and shaped
as it streams (:class:`interviews.flow.ReplyStream`). Then its card is written as the card step writes it
(:func:`interviews.articulate.articulate`: one structured call, one repair if it breaks a card rule).

Measured per reply: the seconds until the stream ended, the tokens the model generated (the server's own
tokenizer on everything it streamed), the tokens shown (the shaped reply), and how many questions the
model wrote and the participant sees. Per card: whether the first write passes the card rules
(:func:`interviews.cards.lint_card`), whether it passes after the repair.

    python -m bench.offline_interview [--personas 10] [--turns 4] [--style auto|full|compact]
                                      [--reply-max-tokens N] [--json PATH]

It always runs the offline model (``LLM_MODE=local``; ``LOCAL_MODEL`` / ``LOCAL_MODEL_PATH`` and
``LOCAL_MODEL_THREADS`` are read from the environment), in a temporary data folder.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections import Counter as Tally
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from langchain_core.language_models import BaseChatModel

from bench.offline_interview.personas import PERSONAS, Persona
from interviews.articulate import articulate
from interviews.flow import (
    BRIEF_WORDS,
    Turn,
    conversation_stage,
    fallback_question,
    interviewer_messages,
    opening_message,
    stream_interviewer,
)
from interviews.prompting import PromptStyle
from interviews.reply_shaping import Shaping, count_questions, ends_with_question
from providers.accounting import estimate_tokens
from providers.errors import ModelError
from settings import Settings, load_settings

TARGET_ONE_QUESTION = 0.80
TARGET_MEDIAN_TOKENS = 120
Counter = Callable[[str], int]


@dataclass
class Reply:
    persona: str
    turn: int
    stage: str
    seconds: float
    tokens_generated: int
    tokens_shown: int
    questions_raw: int
    questions_shown: int
    trimmed: bool
    fallback_added: bool
    shaping: list[str]
    ready: bool
    finish_reason: str | None
    text: str
    raw: str


@dataclass
class Card:
    persona: str
    seconds: float
    first_write_passes: bool
    passes_after_repair: bool
    repaired: bool
    problems: list[str] = field(default_factory=list)
    error: str | None = None
    title: str = ""
    description: str = ""
    policies: list[str] = field(default_factory=list)


@dataclass
class Results:
    model: str
    style: PromptStyle
    reply_max_tokens: int
    replies: list[Reply]
    cards: list[Card]
    startup_s: float | None = None


def interview(
    model: BaseChatModel,
    persona: Persona,
    *,
    turns: int,
    style: PromptStyle,
    reply_max_tokens: int,
    turn_limit: int = 12,
    count_tokens: Counter,
) -> tuple[list[Reply], Card]:
    """One persona's interview: ``turns`` answers with a reply each, then the card."""
    history = [Turn("assistant", opening_message(persona.question))]
    replies: list[Reply] = []
    for turn, answer in enumerate(persona.answers[:turns], 1):
        history.append(Turn("user", answer))
        stage = conversation_stage(turn)
        messages = interviewer_messages(
            question=persona.question, history=history, stage=stage, turns_left=turn_limit - turn, style=style
        )
        started = time.perf_counter()
        stream = stream_interviewer(  # as services.participant.interviewing.reply has it
            model,
            messages,
            max_tokens=reply_max_tokens,
            fallback=fallback_question(stage, turn),
            max_words=BRIEF_WORDS if style == "compact" else None,
            style=style,
        )
        try:
            for _ in stream:
                pass
        finally:
            stream.close()
        seconds = time.perf_counter() - started
        text = stream.text.strip()
        replies.append(
            Reply(
                persona=persona.name,
                turn=turn,
                stage=stage.value,
                seconds=round(seconds, 2),
                tokens_generated=count_tokens(stream.raw),
                tokens_shown=count_tokens(text),
                questions_raw=count_questions(stream.raw),
                questions_shown=count_questions(text),
                trimmed=stream.trimmed,
                fallback_added=Shaping.QUESTION_ADDED in stream.shaping,
                shaping=[str(flag) for flag in stream.shaping],
                ready=stream.ready,
                finish_reason=stream.finish_reason,
                text=text,
                raw=stream.raw,
            )
        )
        history.append(Turn("assistant", text or "(the interviewer has enough)"))
        if stream.ready:
            break
    return replies, write_card(model, persona, history, style=style)


def write_card(
    model: BaseChatModel, persona: Persona, history: Sequence[Turn], *, style: PromptStyle
) -> Card:
    started = time.perf_counter()
    try:
        result = articulate(model, question=persona.question, transcript=history, style=style)
    except ModelError as exc:
        seconds = time.perf_counter() - started
        return Card(
            persona.name, round(seconds, 2), False, False, False, error=" ".join(str(exc).split())[:200]
        )
    seconds = time.perf_counter() - started
    return Card(
        persona=persona.name,
        seconds=round(seconds, 2),
        first_write_passes=not result.repaired,
        passes_after_repair=not result.problems,
        repaired=result.repaired,
        problems=sorted({p.code for p in result.problems}),
        title=result.card.title,
        description=result.card.description,
        policies=list(result.card.policies),
    )


def run(
    model: BaseChatModel,
    *,
    personas: Sequence[Persona],
    turns: int,
    style: PromptStyle,
    reply_max_tokens: int,
    model_name: str,
    count_tokens: Counter = lambda text: estimate_tokens(len(text)),
    progress: Callable[[str], None] = lambda line: None,
) -> Results:
    replies: list[Reply] = []
    cards: list[Card] = []
    for persona in personas:
        started = time.perf_counter()
        got, card = interview(
            model,
            persona,
            turns=turns,
            style=style,
            reply_max_tokens=reply_max_tokens,
            count_tokens=count_tokens,
        )
        replies += got
        cards.append(card)
        progress(
            f"{persona.name}: {len(got)} replies, card {'ok' if card.first_write_passes else 'not ok'} "
            f"({time.perf_counter() - started:.0f} s)"
        )
    return Results(model_name, style, reply_max_tokens, replies, cards)


def _share(count: int, total: int) -> str:
    return f"{count}/{total} ({100 * count / total:.0f}%)" if total else "0/0"


def _verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def summary(results: Results) -> list[str]:
    """The printed report: one line per reply, then the totals against the targets."""
    r, c = results.replies, results.cards
    lines = [
        f"{'persona':<11} {'turn':>4} {'stage':<8} {'s':>6} {'tok gen':>7} {'tok shown':>9} "
        f"{'? model':>7} {'? shown':>7}  shaping"
    ]
    for x in r:
        shaping = ", ".join([*x.shaping, *(["ready"] if x.ready else [])])
        lines.append(
            f"{x.persona:<11} {x.turn:>4} {x.stage:<8} {x.seconds:>6.1f} {x.tokens_generated:>7} "
            f"{x.tokens_shown:>9} {x.questions_raw:>7} {x.questions_shown:>7}  {shaping or '-'}"
        )
    lines.append("")
    for card in c:
        verdict = (
            "passes" if card.first_write_passes else ("repaired" if card.passes_after_repair else "fails")
        )
        detail = card.error or f"{card.title!r}; problems after repair: {', '.join(card.problems) or 'none'}"
        lines.append(f"card {card.persona:<11} {card.seconds:>6.1f} s  {verdict:<8}  {detail}")
    lines.append("")
    written = [x for x in r if not x.ready or x.text]
    one_shown = sum(x.questions_shown == 1 and ends_with_question(x.text) for x in written)
    one_added = sum(x.questions_shown == 1 and x.fallback_added for x in written)
    flags = Tally(flag for x in r for flag in x.shaping)
    one_raw = sum(x.questions_raw == 1 for x in written)
    median_gen = statistics.median(x.tokens_generated for x in written) if written else 0
    median_shown = statistics.median(x.tokens_shown for x in written) if written else 0
    median_s = statistics.median(x.seconds for x in written) if written else 0.0
    first = sum(card.first_write_passes for card in c)
    after = sum(card.passes_after_repair for card in c)
    share = one_shown / len(written) if written else 0.0
    max_s = max((x.seconds for x in written), default=0.0)
    errors = sum(card.error is not None for card in c)
    lines += [
        f"replies: {len(written)} written (+{len(r) - len(written)} with the ready signal only); "
        f"{sum(x.finish_reason == 'length' for x in r)} stopped by the token cap; shaping: "
        + (", ".join(f"{flag} {count}" for flag, count in sorted(flags.items())) or "none"),
        f"  exactly one question, ending the reply (shown): {_share(one_shown, len(written))}   "
        f"target >= {TARGET_ONE_QUESTION:.0%}: {_verdict(share >= TARGET_ONE_QUESTION)}",
        f"    of these, ending with the stage's question the app added (not the model's): "
        f"{_share(one_added, len(written))}",
        f"  exactly one question in the model's own text:    {_share(one_raw, len(written))}",
        f"  median tokens generated: {median_gen:g} (shown: {median_shown:g})   "
        f"target <= {TARGET_MEDIAN_TOKENS}: {_verdict(median_gen <= TARGET_MEDIAN_TOKENS)}",
        f"  median seconds per reply: {median_s:.1f} (max {max_s:.1f})",
        f"cards: {len(c)}; pass the card rules on the first write: {_share(first, len(c))}; "
        f"after the one repair: {_share(after, len(c))}; model errors: {errors}",
        f"  median seconds per card: {statistics.median(card.seconds for card in c) if c else 0:.1f}",
    ]
    return lines


def _server_counter(base_url: str) -> Counter:
    """Tokens as the server's own tokenizer counts them (``/extras/tokenize/count``, BOS excluded)."""
    import httpx

    root = base_url.removesuffix("/v1")
    client = httpx.Client(timeout=30, trust_env=False)

    def count(text: str) -> int:
        return int(client.post(f"{root}/extras/tokenize/count", json={"input": text}).json()["count"])

    empty = count("")

    def counter(text: str) -> int:
        return max(0, count(text) - empty) if text else 0

    return counter


def _settings(args: argparse.Namespace, data_dir: Path) -> Settings:
    keep = (
        "LOCAL_MODEL",
        "LOCAL_MODEL_PATH",
        "LOCAL_MODEL_THREADS",
        "LLM_MAX_TOKENS",
        "LLM_REPLY_MAX_TOKENS",
    )
    env = {name: os.environ[name] for name in keep if os.environ.get(name)}
    env |= {"LLM_MODE": "local", "DATA_DIR": str(data_dir), "PROMPT_STYLE": args.style}
    if args.reply_max_tokens:
        env["LLM_REPLY_MAX_TOKENS"] = str(args.reply_max_tokens)
    return load_settings(environ=env, secrets={})


def main(argv: list[str] | None = None) -> Results:
    parser = argparse.ArgumentParser(
        prog="python -m bench.offline_interview", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--personas", type=int, default=len(PERSONAS), help="how many personas (max 10)")
    parser.add_argument("--turns", type=int, default=4, help="participant answers per interview (max 4)")
    parser.add_argument("--style", choices=("auto", "full", "compact"), default="auto")
    parser.add_argument("--reply-max-tokens", type=int, default=None, help="default: LLM_REPLY_MAX_TOKENS")
    parser.add_argument("--json", type=Path, default=None, help="write every reply and card here")
    args = parser.parse_args(argv)

    from providers.chat import make_chat_model
    from providers.local import ensure_local_server, stop_local_server

    with tempfile.TemporaryDirectory(prefix="bench-offline-") as tmp:
        settings = _settings(args, Path(tmp))
        started = time.perf_counter()
        server = ensure_local_server(settings)
        startup = time.perf_counter() - started
        model = make_chat_model(settings)
        print(
            f"bench.offline_interview: {min(args.personas, len(PERSONAS))} personas x {args.turns} turns + "
            f"a card; model {settings.chat_model_name} (offline, {settings.local_model_threads} threads, "
            f"started in {startup:.1f} s); prompts {settings.prompt_style}; reply cap "
            f"{settings.llm_reply_max_tokens} tokens",
            flush=True,
        )
        print(
            f"load average (1, 5, 15 min): {' '.join(f'{x:.2f}' for x in os.getloadavg())} at the start",
            flush=True,
        )
        try:
            results = run(
                model,
                personas=PERSONAS[: args.personas],
                turns=args.turns,
                style=settings.prompt_style,
                reply_max_tokens=settings.llm_reply_max_tokens,
                model_name=settings.chat_model_name,
                count_tokens=_server_counter(server.base_url),
                progress=lambda line: print(line, file=sys.stderr, flush=True),
            )
        finally:
            stop_local_server()
        results.startup_s = round(startup, 2)
    print("\n".join(summary(results)))
    print(f"load average (1, 5, 15 min): {' '.join(f'{x:.2f}' for x in os.getloadavg())} at the end")
    if args.json:
        args.json.write_text(json.dumps(asdict(results), indent=1, ensure_ascii=False))
    return results
