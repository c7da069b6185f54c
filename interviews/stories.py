"""Upgrade stories (edge hypotheses, DOMAIN.md §6): write one, write both directions, judge, pick pairs.

A story is told by someone who moved from value A to value B in a context: one specific situation, the
feeling that exposed A's problem, how B was found, why B is what they cared about all along. Both
directions of a pair are written, so both can be judged. A judge scores each story 1-5 on clarity,
gain (not abandonment), fit to the context and respect for holders of A; a story :func:`passes` when
the mean is at least 4 and no score is below 2. Stories that fail are stored but not shown.

>>> passes(StoryScores(clarity=4, gain=4, fit=4, respect=4))
True
>>> passes({"clarity": 5, "gain": 5, "fit": 5, "respect": 1})
False
>>> plan_pairs({7: [3, 1, 2], 8: [1, 2]}, max_pairs=3)
[(1, 2, 7), (1, 2, 8), (1, 3, 7)]
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from typing import Any

from langchain_core.language_models import BaseChatModel
from pydantic import BaseModel, Field

from interviews.calls import structured_call
from interviews.card_text import CardLike, card_data
from interviews.prompting import as_data, load_prompt

STORY_PURPOSE = "stories"
JUDGE_PURPOSE = "story_judge"
MAX_STORY_CHARS = 2500
CRITERIA = ("clarity", "gain", "fit", "respect")
PASS_MEAN = 4
MIN_SCORE = 2


class UpgradeStory(BaseModel):
    """The story the model writes (bounded: about 120-220 words are asked for)."""

    story: str = Field(
        min_length=1,
        max_length=MAX_STORY_CHARS,
        description="120-220 words, first person: the situation, the feeling, how they changed, why",
    )


class StoryScores(BaseModel):
    """The story judge's scores, 1 (very poor) to 5 (excellent), and a reason for the lowest one."""

    clarity: int = Field(ge=1, le=5, description="one concrete situation, easy to follow")
    gain: int = Field(ge=1, le=5, description="B deepens what mattered in A; 1 when A is abandoned")
    fit: int = Field(ge=1, le=5, description="the story happens in the given context")
    respect: int = Field(ge=1, le=5, description="holders of A are not mocked or caricatured")
    reason: str = Field(default="", max_length=400, description="one sentence on the lowest score")

    @property
    def mean(self) -> float:
        return sum(self.scores()) / len(CRITERIA)

    def scores(self) -> list[int]:
        return [getattr(self, name) for name in CRITERIA]

    def as_record(self) -> dict[str, Any]:
        """What is stored in ``EdgeHypothesis.judge_scores`` (with the verdict and the mean)."""
        return {**self.model_dump(), "mean": self.mean, "passed": passes(self)}


def passes(scores: StoryScores | Mapping[str, Any]) -> bool:
    """Mean score >= 4 and no score < 2 (MAI's 2026 rule). Accepts stored ``judge_scores`` too.

    >>> passes({"clarity": 4, "gain": 4, "fit": 4, "respect": 3})
    False
    >>> passes({"clarity": 5, "gain": 5, "fit": 5, "respect": 2})
    True
    """
    values = scores.scores() if isinstance(scores, StoryScores) else [int(scores[c]) for c in CRITERIA]
    # Integer arithmetic: mean >= 4 exactly when the sum is >= 4 * the number of criteria.
    return sum(values) >= PASS_MEAN * len(values) and min(values) >= MIN_SCORE


def story_prompt(*, context: str, from_card: CardLike, to_card: CardLike) -> str:
    """The rendered ``upgrade_story`` prompt: the context and both cards only as delimited data."""
    return load_prompt("upgrade_story").render(
        context=as_data("context", context),
        value_a=card_data("value_a", from_card),
        value_b=card_data("value_b", to_card),
    )


def judge_prompt(*, context: str, from_card: CardLike, to_card: CardLike, story: str) -> str:
    """The rendered ``story_judge`` prompt."""
    return load_prompt("story_judge").render(
        context=as_data("context", context),
        value_a=card_data("value_a", from_card),
        value_b=card_data("value_b", to_card),
        story=as_data("story", story),
    )


def write_story(
    model: BaseChatModel,
    *,
    context: str,
    from_card: CardLike,
    to_card: CardLike,
    metadata: Mapping[str, Any] | None = None,
) -> str:
    """The story of someone moving from ``from_card`` to ``to_card`` in ``context`` (stripped text)."""
    prompt = story_prompt(context=context, from_card=from_card, to_card=to_card)
    result = structured_call(model, UpgradeStory, prompt, purpose=STORY_PURPOSE, metadata=metadata)
    return result.story.strip()


def write_pair(
    model: BaseChatModel,
    *,
    context: str,
    a: CardLike,
    b: CardLike,
    metadata: Mapping[str, Any] | None = None,
) -> tuple[str, str]:
    """Both directions: ``(story A→B, story B→A)``, so both can be judged."""
    forward = write_story(model, context=context, from_card=a, to_card=b, metadata=metadata)
    reverse = write_story(model, context=context, from_card=b, to_card=a, metadata=metadata)
    return forward, reverse


def judge_story(
    model: BaseChatModel,
    *,
    context: str,
    from_card: CardLike,
    to_card: CardLike,
    story: str,
    metadata: Mapping[str, Any] | None = None,
) -> StoryScores:
    """Score ``story`` on clarity, gain, fit and respect (1-5 each); see :func:`passes` for the verdict."""
    prompt = judge_prompt(context=context, from_card=from_card, to_card=to_card, story=story)
    return structured_call(model, StoryScores, prompt, purpose=JUDGE_PURPOSE, metadata=metadata)


def plan_pairs(
    values_by_context: Mapping[int, Iterable[int]], *, max_pairs: int | None = None
) -> list[tuple[int, int, int]]:
    """Unordered pairs ``(a, b, context)`` with ``a < b``, at most ``max_pairs``, deterministic.

    Within a context pairs come in ``(a, b)`` order; contexts take turns (round robin, by id), so a cap
    spreads the stories over every context instead of spending it all on the first one.
    """
    per_context = []
    for context in sorted(values_by_context):
        values = sorted(set(values_by_context[context]))
        per_context.append([(a, b, context) for a, b in itertools.combinations(values, 2)])
    planned: list[tuple[int, int, int]] = []
    for row in itertools.zip_longest(*per_context):
        for pair in row:
            if pair is None:
                continue
            if max_pairs is not None and len(planned) >= max_pairs:
                return planned
            planned.append(pair)
    return planned
