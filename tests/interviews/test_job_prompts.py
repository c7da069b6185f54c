"""The prompts of the contexts, stories, judge and grader jobs render with their declared variables."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from interviews.cards import CardDraft
from interviews.contexts import generate_prompt, mine_prompt
from interviews.flow import Turn
from interviews.grading import grader_prompt
from interviews.prompting import load_prompt
from interviews.seeds import seed_prompt
from interviews.stories import judge_prompt, story_prompt

A = CardDraft(
    title="Follow the Rules", description="Keeping to the rules.", policies=["RULES anyone can check"]
)
B = CardDraft(title="Fairness in Practice", description="How it lands.", policies=["PEOPLE a rule forgot"])
CONTEXT = "When a rule seems to hurt someone"
TURNS = [Turn("assistant", "What matters here?"), Turn("user", "Being told the truth.")]

RENDERERS: dict[str, tuple[Callable[[], str], list[str]]] = {
    "mine_contexts": (
        lambda: mine_prompt(question="Q?", card=A, existing=[CONTEXT], count=3),
        ["<question>", "<values_card>", "<existing_contexts>", "Name up to 3"],
    ),
    "generate_contexts": (
        lambda: generate_prompt(question="Q?", existing=[], n=4),
        ["<question>", "<existing_contexts>\n(none yet)", "Name 4 distinct"],
    ),
    "upgrade_story": (
        lambda: story_prompt(context=CONTEXT, from_card=A, to_card=B),
        ["<context>", "<value_a>\nTitle: Follow the Rules", "<value_b>\nTitle: Fairness in Practice"],
    ),
    "story_judge": (
        lambda: judge_prompt(context=CONTEXT, from_card=A, to_card=B, story="I used to..."),
        ["<context>", "<value_a>", "<value_b>", "<story>\nI used to...\n</story>"],
    ),
    "seed_values": (
        lambda: seed_prompt(question="Q?", existing=["Follow the Rules"], count=4),
        ["<question>\nQ?\n</question>", "<existing_values>\nFollow the Rules\n</existing_values>", "write 4"],
    ),
    "transcript_grader": (
        lambda: grader_prompt(question="Q?", transcript=TURNS, card=A),
        ["<question>", "<transcript>\nInterviewer: What matters here?", "<values_card>"],
    ),
}


@pytest.mark.parametrize("name", sorted(RENDERERS))
def test_each_job_prompt_renders_every_declared_variable(name: str) -> None:
    prompt = load_prompt(name)
    assert prompt.name == name and prompt.version and prompt.variables
    render, expected = RENDERERS[name]
    text = render()
    for variable in prompt.variables:
        assert "{" + variable + "}" not in text
    for piece in expected:
        assert piece in text
    assert prompt.ref.startswith(f"{name}@{prompt.version}:")
