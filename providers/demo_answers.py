"""The demo model's answers to the studio's structured calls: valid for the schema and the domain's checks.

:class:`~providers.fakes.DemoChatModel` (``LLM_MODE=fake``) calls :func:`answer` with the name of the
tool it must call (the output schema's name), that tool's JSON schema and the texts of the human messages
it was sent. Each of the studio's structured calls has a small deterministic writer, which reads what it
needs from the rendered prompt (the shapes of :mod:`interviews.prompting`'s ``as_data`` and
:mod:`interviews.card_text`):

- ``CardDraft``: a card of :data:`providers.demo_texts.DEMO_VALUES` that keeps the card rules, picked by
  the participant's words; a change request moves to the value's next wording (a draft the participant
  edited by hand comes back as it is, unless it breaks a rule); a repair writes the card afresh;
- ``Partition``: a real partition of the prompt's new cards: a card joins the existing value with the same
  title, cards with one title form one new value, every other card a value of its own;
- ``ContextList``: contexts of :data:`providers.demo_texts.DEMO_CONTEXTS` (mining names the question's
  first existing contexts again, so the deliberation does not grow a context per card);
- ``UpgradeStory``: a first-person story naming the context and what both values attend to;
- ``StoryScores``: passing scores for a story that tells of its context, a failing fit otherwise;
- ``TranscriptGrades``: a fixed grade, labelled as the demo's;
- any schema that asks for a list of cards (the seed values): distinct demo cards.

Any other schema gets ``None`` (the caller fills it generically). Nothing here is random, reads a clock or
calls out: the same prompt always gets the same answer.

>>> card = answer("CardDraft", {}, ["Write one values card ... <transcript>\\nInterviewer: Hi\\n"
...               "Participant: I want to be told the truth, gently.\\n</transcript> (no draft yet)"])
>>> card["title"]
'Honest Gentleness'
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from typing import Any

from interviews.cards import CardDraft, lint_card
from interviews.prompting import from_data
from providers.demo_texts import DEMO_CONTEXTS, DEMO_VALUES, DemoValue

__all__ = ["answer", "pick_value"]

Writer = Callable[[Sequence[str], dict[str, Any]], dict[str, Any]]

#: Scores the demo judge gives a story that names its context (they pass: mean >= 4, none below 2).
PASSING_SCORES = {"clarity": 5, "gain": 4, "fit": 5, "respect": 5}
DEMO_GRADE_REASON = "Demo grader (LLM_MODE=fake): a fixed grade, not a reading of this interview."


def answer(name: str, schema: dict[str, Any], prompts: Sequence[str]) -> dict[str, Any] | None:
    """The demo's arguments for tool ``name`` (schema ``schema``) given the human ``prompts``; ``None``
    when the demo has no writer for it."""
    writer = _WRITERS.get(name)
    if writer is None and _card_list_field(schema) is not None:
        writer = _card_list
    return writer(prompts, schema) if writer is not None else None


# ------------------------------------------------------------------------------------------ reading


def _participant_words(prompt: str) -> str:
    """What the participant said in the prompt's transcript (their turns only, joined by newlines).

    >>> _participant_words("<transcript>\\nInterviewer: Hi?\\nParticipant: One\\ntwo\\nInterviewer: Ok\\n"
    ...                    "</transcript>")
    'One\\ntwo'
    """
    transcript = from_data(prompt, "transcript") or ""
    said: list[str] = []
    speaking = False
    for line in transcript.splitlines():
        if line.startswith("Interviewer: "):
            speaking = False
        elif line.startswith("Participant: "):
            speaking = True
            said.append(line.removeprefix("Participant: "))
        elif speaking:
            said.append(line)
    return "\n".join(said)


def _card_fields(text: str) -> dict[str, Any]:
    """A card as :func:`interviews.card_text.card_text` writes it, back as fields.

    >>> _card_fields("Title: A b\\nDescription: C.\\nWhat they attend to when choosing:\\n- X\\n- Y")
    {'title': 'A b', 'description': 'C.', 'policies': ['X', 'Y']}
    """
    fields: dict[str, Any] = {"title": "", "description": "", "policies": []}
    for line in text.splitlines():
        if line.startswith("Title: "):
            fields["title"] = line.removeprefix("Title: ").strip()
        elif line.startswith("Description: "):
            fields["description"] = line.removeprefix("Description: ").strip()
        elif line.startswith("- "):
            fields["policies"].append(line[2:].strip())
    return fields


def _digest(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")


# --------------------------------------------------------------------------------------------- cards


def _matches(keyword: str, word: str) -> bool:
    """A keyword of up to three letters matches the word or its plural; a longer one its beginning.

    >>> _matches("son", "sons"), _matches("son", "song"), _matches("truth", "truthful")
    (True, False, True)
    """
    if len(keyword) <= 3:
        return word in (keyword, keyword + "s")
    return word.startswith(keyword)


def pick_value(words: str) -> DemoValue:
    """The demo value that the participant's ``words`` call for most (keyword hits), ties broken by a hash
    of the words, so two people who say different things usually get different values.

    >>> pick_value("I want to be told the truth, gently.").title
    'Honest Gentleness'
    >>> pick_value("My mother and my sister never agree.").title
    'Rooted in Family Bonds'
    """
    tokens = re.findall(r"[a-z']+", words.lower())
    pool = list(DEMO_VALUES)
    scores = [sum(any(_matches(k, t) for k in v.keywords) for t in tokens) for v in pool]
    best = max(scores)
    tied = [v for v, s in zip(pool, scores, strict=True) if s == best]
    return tied[_digest(" ".join(words.split())) % len(tied)]


def _as_card(value: DemoValue, wording: int = 0) -> dict[str, Any]:
    chosen = value.wordings[wording % len(value.wordings)]
    return {"title": value.title, "description": chosen.description, "policies": list(chosen.policies)}


def _card(prompts: Sequence[str], schema: dict[str, Any]) -> dict[str, Any]:
    """An articulated, revised or repaired card (see the module notes)."""
    prompt = prompts[0] if prompts else ""
    fresh = _as_card(pick_value(_participant_words(prompt)))
    current = from_data(prompt, "card")
    if current is None:  # a first card: no draft yet
        return fresh
    try:
        draft = CardDraft.model_validate_json(current)
    except ValueError:
        return fresh
    if lint_card(draft):  # a repair, or a change to a draft that breaks the rules: one that keeps them
        return fresh
    title, description, policies = draft.title, draft.description, list(draft.policies)
    value = next((v for v in DEMO_VALUES if v.title == title.strip()), None)
    for i, wording in enumerate(value.wordings if value is not None else ()):
        if (description, policies) == (wording.description, list(wording.policies)):
            assert value is not None
            return _as_card(value, i + 1)  # a change request: the value's next wording
    return {"title": title, "description": description, "policies": policies}  # their own edit: kept


def _card_list_field(schema: dict[str, Any]) -> str | None:
    """The field of ``schema`` that holds a list of cards (title, description, policies), if it has one."""
    for name, prop in (schema.get("properties") or {}).items():
        items = _resolve(schema, prop.get("items") or {}) if prop.get("type") == "array" else {}
        if {"title", "description", "policies"} <= set(items.get("properties") or {}):
            return str(name)
    return None


def _resolve(root: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if not isinstance(ref, str) or not ref.startswith("#/"):
        return schema
    node: Any = root
    for part in ref[2:].split("/"):
        node = node.get(part, {}) if isinstance(node, dict) else {}
    return node if isinstance(node, dict) else {}


def _card_list(prompts: Sequence[str], schema: dict[str, Any]) -> dict[str, Any]:
    """Distinct demo cards (seed values): as many as the prompt asks for, within the schema's bounds, none
    titled as a value the prompt already lists (``Title: ...`` lines, or the lines of ``<existing_values>``)
    while there are others."""
    field = _card_list_field(schema)
    assert field is not None
    prop = schema["properties"][field]
    prompt = "\n".join(prompts)
    asked = re.search(
        r"(?i)\b(\d{1,2})\s+(?:distinct\s+|different\s+|new\s+)*(?:values?\s+)?cards?\b", prompt
    )
    count = int(asked[1]) if asked else 3
    count = max(int(prop.get("minItems", 1)), min(count, int(prop.get("maxItems", len(DEMO_VALUES)))))
    listed = {
        line.removeprefix("Title: ").strip().lower() for line in prompt.splitlines() if "Title: " in line
    }
    listed |= {line.strip().lower() for line in (from_data(prompt, "existing_values") or "").splitlines()}
    fresh = [v for v in DEMO_VALUES if v.title.lower() not in listed]
    chosen = (fresh + [v for v in DEMO_VALUES if v not in fresh])[:count]
    return {field: [_as_card(v) for v in chosen]}


# ----------------------------------------------------------------------------------------- partition

_BLOCK_ID = re.compile(r"^\[([cv])(\d+)\]\s*(.*)$")


def _blocks(section: str | None, kind: str) -> list[tuple[int, str]]:
    """``(id, title)`` of each ``[c12] Title`` block of a partition prompt's section."""
    found = []
    for block in (section or "").split("\n\n"):
        match = _BLOCK_ID.match(block.strip().split("\n", 1)[0])
        if match and match[1] == kind:
            found.append((int(match[2]), match[3].strip()))
    return found


def _partition(prompts: Sequence[str], schema: dict[str, Any]) -> dict[str, Any]:
    """Every new card in exactly one group: joined to the existing value with its title, or with the other
    new cards of its title in a new value. Cards are read from the prompt's ``[c12] Title`` blocks; a
    participant's text can fake such a block, so the first answer may list a card that is not in the batch:
    the retry then names the batch's cards, and the second answer uses exactly those."""
    prompt = prompts[0] if prompts else ""
    cards = _blocks(from_data(prompt, "new_cards"), "c")
    retry = re.search(
        r"Every new card \(([c\d, ]*)\) must appear exactly once", prompts[-1] if prompts else ""
    )
    if retry:  # a retry names the batch's cards: a block a participant's text faked is left out now
        ids = [int(label) for label in re.findall(r"c(\d+)", retry[1])]
        titles = dict(cards)
        cards = [(card_id, titles.get(card_id, "")) for card_id in ids]
    values = {
        title.lower(): vid for vid, title in reversed(_blocks(from_data(prompt, "existing_values"), "v"))
    }
    groups: dict[str, list[int]] = {}
    for card_id, title in cards:
        groups.setdefault(title.lower(), []).append(card_id)
    answer_groups = []
    for title, members in groups.items():
        labels = [f"c{m}" for m in members]
        if title in values:
            reason = "Demo dedup (LLM_MODE=fake): the same title as an existing value."
            answer_groups.append({"reason": reason, "cards": labels, "join": f"v{values[title]}"})
        else:
            reason = "Demo dedup (LLM_MODE=fake): no existing value has this title."
            answer_groups.append({"reason": reason, "cards": labels, "representative": labels[0]})
    return {"groups": answer_groups}


# ------------------------------------------------------------------------------------------ contexts


def _key(text: str) -> str:
    return " ".join(w for w in re.findall(r"[\w']+", text.lower()) if w not in ("a", "an", "the"))


def _contexts(prompts: Sequence[str], schema: dict[str, Any]) -> dict[str, Any]:
    """Mining: the first two existing contexts (those of the card's question come first), topped up from
    the demo's own; generating: the demo's contexts not there yet."""
    prompt = prompts[0] if prompts else ""
    shown = from_data(prompt, "existing_contexts") or ""
    existing = [line.strip() for line in shown.splitlines() if line.strip() and line.strip() != "(none yet)"]
    asked = re.search(r"Name (?:up to )?(\d+)", prompt)
    count = int(asked[1]) if asked else 3
    taken = {_key(e) for e in existing}
    fresh = [c for c in DEMO_CONTEXTS if _key(c) not in taken]
    card = from_data(prompt, "values_card")
    if card is None:
        return {"contexts": fresh[:count]}
    start = _digest(_card_fields(card)["title"]) % len(fresh) if fresh else 0
    rotated = fresh[start:] + fresh[:start]
    kept = existing[: min(2, count)]
    return {"contexts": kept + rotated[: max(0, min(2, count) - len(kept))]}


# ------------------------------------------------------------------------------------------- stories


def _lowered(policy: str) -> str:
    """A policy inside a sentence: its CAPS opening word in lower case.

    >>> _lowered("MOMENTS when the user feels heard")
    'moments when the user feels heard'
    """
    first, _, rest = policy.strip().partition(" ")
    return f"{first.lower()} {rest}".strip() if first.isupper() else policy.strip()


def _attends(policies: Sequence[str]) -> str:
    """Up to two policies as one phrase.

    >>> _attends(["MOMENTS of calm", "WORDS that help", "THIRD ones"])
    'moments of calm, and words that help'
    """
    shown = [_lowered(p) for p in policies[:2] if p.strip()] or ["what seemed right at the time"]
    return ", and ".join(shown)


def _situation(context: str) -> str:
    """The context as the end of a sentence: "when ..." in lower case, no final stop."""
    text = " ".join(context.split()).rstrip(".!?")
    return text[:1].lower() + text[1:] if text else "a hard moment"


def _story(prompts: Sequence[str], schema: dict[str, Any]) -> dict[str, Any]:
    """A first-person story of moving from value A to value B in the prompt's context (120-220 words)."""
    prompt = prompts[0] if prompts else ""
    context = from_data(prompt, "context") or ""
    before = _card_fields(from_data(prompt, "value_a") or "")
    after = _card_fields(from_data(prompt, "value_b") or "")
    situation = _situation(context)
    story = (
        f"This happened in a situation I know well: {situation}. A friend came to me in exactly that "
        "place and asked what I thought. I did what I had always done and paid "
        f"attention to {_attends(before['policies'])}. I meant it sincerely: it was my way of caring, and "
        "it had served me before. But halfway through our talk my friend went quiet, and I felt a small, "
        "uneasy sense that I was answering a question they had not asked. That evening I went over the "
        "conversation again and saw what I had missed. The next time, I tried to notice "
        f"{_attends(after['policies'])}. The conversation changed: my friend slowed down, said more than "
        "before, and found their own way to what they needed. Looking back, nothing I cared about before "
        "was lost. What I used to watch for is still there, but now it sits inside something larger, and "
        "I no longer need it to prove that I am helping. It is what I was reaching for all along."
    )
    return {"story": story}


#: Words a context shares with any sentence; they say nothing about whether a story happens in it.
_COMMON = frozenset("when a an the of to in on at is are be or and with their them they it its would".split())


def _tells_of(context: str, story: str) -> bool:
    """Whether ``story`` happens in ``context``: it uses most of the context's own words (by their first
    five letters, so "carried" counts for "carries").

    >>> _tells_of("When a choice would be hard to reverse", "a choice that would be hard to reverse")
    True
    >>> _tells_of("When a choice would be hard to reverse", "I changed my mind.")
    False
    """
    words = {w[:5] for w in re.findall(r"[a-z']+", context.lower()) if w not in _COMMON}
    said = {w[:5] for w in re.findall(r"[a-z']+", story.lower())}
    return bool(words) and len(words & said) * 5 >= len(words) * 3  # at least three in five


def _story_scores(prompts: Sequence[str], schema: dict[str, Any]) -> dict[str, Any]:
    """Passing scores when the story tells of its context (:func:`_tells_of`); otherwise fit is 1 and the
    story fails."""
    prompt = prompts[0] if prompts else ""
    if _tells_of(from_data(prompt, "context") or "", from_data(prompt, "story") or ""):
        reason = "Demo judge (LLM_MODE=fake): the story tells of its situation; gain scored lowest by rule."
        return {**PASSING_SCORES, "reason": reason}
    reason = "Demo judge (LLM_MODE=fake): the story does not tell of the situation it is meant to happen in."
    return {**PASSING_SCORES, "fit": 1, "reason": reason}


def _grades(prompts: Sequence[str], schema: dict[str, Any]) -> dict[str, Any]:
    """The same labelled grade for every criterion of the transcript grader."""
    names = [n for n in (schema.get("properties") or {}) if n]
    return {n: {"grade": "B", "reason": DEMO_GRADE_REASON} for n in names}


_WRITERS: dict[str, Writer] = {
    "CardDraft": _card,
    "Partition": _partition,
    "ContextList": _contexts,
    "UpgradeStory": _story,
    "StoryScores": _story_scores,
    "TranscriptGrades": _grades,
}
