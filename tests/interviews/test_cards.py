"""The card linter: each rule of DOMAIN.md §4 is caught, a good card passes."""

from __future__ import annotations

import re

import pytest

from interviews.cards import CardDraft, lint_card
from interviews.prompting import PROMPTS_DIR, Prompt

GOOD = CardDraft(
    title="Faith in People",
    description="Trusting people to find their own way through hard choices.",
    policies=[
        "CHANGES in people when entrusted with self-determination",
        "INSIGHTS from grappling with morally fraught questions",
        "CAPACITIES that develop when trying to be free and self-directed",
        "WISDOM that emerges in a discursive, responsible context",
    ],
)


def codes(**changes: object) -> list[str]:
    return [p.code for p in lint_card(GOOD.model_copy(update=changes))]


def test_a_good_card_passes() -> None:
    assert lint_card(GOOD) == []


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"title": "Faith"}, "title_words"),
        ({"title": "A title of far too many words"}, "title_words"),
        ({"description": "First sentence. Second sentence."}, "one_sentence"),
        ({"description": "Write to ann@example.org about trust."}, "personal_data"),
        ({"description": "x" * 301}, "too_long"),
        ({"policies": ["MOMENTS where the user feels heard"]}, "too_few_policies"),
        ({"policies": [f"MOMENTS number {i}" for i in range(11)]}, "too_many_policies"),
        (
            {"policies": ["MOMENTS where the user feels heard", "moments where the user feels heard!"]},
            "duplicate",
        ),
        ({"policies": ["MOMENTS where the user feels heard", "Listening to the user"]}, "policy_caps"),
        ({"policies": ["MOMENTS where the user feels heard", "HAPPY users"]}, "policy_plural"),
        ({"policies": ["MOMENTS where the user feels heard", "CHOICES ..."]}, "placeholder"),
        ({"policies": ["MOMENTS where the user feels heard", "[policy]"]}, "placeholder"),
        ({"title": "Deep Care"}, "banned_word"),
        ({"policies": ["MOMENTS that are meaningful", "CHOICES of the user"]}, "banned_word"),
        ({"policies": ["MOMENTS where the user feels heard", "CHOICES " + "y" * 200]}, "too_long"),
    ],
)
def test_each_rule_is_caught(changes: dict, code: str) -> None:
    assert code in codes(**changes)


@pytest.mark.parametrize(
    "changes",
    [
        {"title": "2-5 Words"},
        {"title": "Pithy Title Here"},
        {"policies": ["MOMENTS where the user feels heard", "Draft Complete!"]},
        {"description": "A sentence with no names or personal details."},
        {"policies": ["MOMENTS where the user feels heard", "INSIGHTS as a plural noun in CAPS"]},
        {"description": "The values card of someone who trusts people."},
        {"title": "Two To Five Words"},
        {"title": "The interview (data, not instructions), 2.5"},
        {"description": "The interview (data, not instructions)."},
        {"policies": ["MOMENTS where the user feels heard", "THREE to five lines of what matters"]},
        {"title": "Fill the ValuesCard"},
    ],
)
def test_text_copied_from_the_instructions_is_caught(changes: dict) -> None:
    assert "prompt_echo" in codes(**changes)


#: The card prompts whose instructions a card must not copy.
CARD_PROMPTS = sorted(PROMPTS_DIR.glob("articulate_card*.md")) + sorted(PROMPTS_DIR.glob("repair_card*.md"))


def field_instructions(body: str) -> list[str]:
    """What a card prompt tells the model to write in the card: each ``<...>`` field description, each
    bullet (``- title: ...``, with its continuation lines), each clause of a ``Rules:`` paragraph, and the
    remarks in brackets of its section headings ("The interview (data, not instructions):")."""
    found = [m[1] for m in re.finditer(r"<([^<>]{4,})>", body)]
    for paragraph in re.split(r"\n\s*\n", body):
        if "\n- " in f"\n{paragraph}":
            for item in re.split(r"(?:^|\n)- ", paragraph)[1:]:
                found.append(re.sub(r"^(title|description|policies):", "", item.strip()))
        elif paragraph.startswith("Rules"):
            found += paragraph.split(":", 1)[1].split(";")
        heading = paragraph.splitlines()[0]
        if heading.endswith(":"):
            found += re.findall(r"\(([^()]+)\)", heading)
    return [" ".join(text.split()).strip(" .") for text in found if text.strip()]


@pytest.mark.parametrize("path", CARD_PROMPTS, ids=lambda path: path.stem)
def test_each_field_instruction_of_the_card_prompts_is_refused_as_a_card_field(path) -> None:
    instructions = field_instructions(Prompt.parse(path.read_text(encoding="utf-8")).body)
    assert len(instructions) >= 3  # the parser found the prompt's field instructions
    copied = {"prompt_echo", "placeholder", "banned_word"}  # what text copied from the instructions breaks
    for text in instructions:
        for placed in ({"title": text}, {"description": text}, {"policies": [*GOOD.policies[:2], text]}):
            assert copied & set(codes(**placed)), (path.name, placed)


@pytest.mark.parametrize(
    "changes",
    [
        {"policies": ["PEOPLE who are trusted with hard choices", "CHILDREN learning to choose alone"]},
        {"policies": ["DATA that show how people really choose", "CRITERIA people use when unsure"]},
        {"policies": ["MEN and WOMEN who ask for help", "MOMENTS where the user feels heard"]},
        {"description": "Trusting people to find their own way, for example in hard choices."},
        {"title": "An Example Set"},
        {"description": "Keeping personal details safe when someone shares one sentence too many."},
        {"policies": ["MOMENTS when someone shares personal details", "FORMS people fill in with no names"]},
        {"description": "This way of choosing is about trusting people to find their own way."},
        {"policies": ["INSTRUCTIONS people give when they are scared", "DATA people share about themselves"]},
        {"policies": ["CHOICES between two to five options", "WORDS that calm a frightened person"]},
        {"title": "Reading the Interview Closely"},
    ],
)
def test_irregular_plurals_and_ordinary_phrases_pass(changes: dict) -> None:
    assert codes(**changes) == []


@pytest.mark.parametrize("text", ["Example", "an example", "example 2"])
def test_a_field_that_is_only_an_example_is_a_placeholder(text: str) -> None:
    assert "placeholder" in codes(policies=["MOMENTS where the user feels heard", text])


def test_each_problem_is_listed_once() -> None:
    problems = lint_card(GOOD.model_copy(update={"policies": ["MOMENTS ...", "MOMENTS ..."]}))
    assert len(problems) == len(set(problems))


def test_problems_name_the_field() -> None:
    problems = lint_card(GOOD.model_copy(update={"policies": [*GOOD.policies[:1], "listening well"]}))
    assert [str(p) for p in problems] == [
        "policies[1]: open with a plural noun in CAPS, e.g. MOMENTS where ..."
    ]
    # participants see the edit form's words, not the schema's
    assert [p.for_people for p in problems] == [
        "line 2 of what you pay attention to: open with a plural noun in CAPS, e.g. MOMENTS where ..."
    ]
    bare = lint_card(GOOD.model_copy(update={"title": "Honesty", "description": "One. Two.", "policies": []}))
    assert [p.for_people.split(":")[0] for p in bare] == ["title", "sentence", "what you pay attention to"]


def test_the_digest_changes_with_any_field() -> None:
    digests = {
        GOOD.digest(),
        GOOD.model_copy(update={"title": "Faith in Others"}).digest(),
        GOOD.model_copy(update={"description": "Other."}).digest(),
        GOOD.model_copy(update={"policies": GOOD.policies[:3]}).digest(),
    }
    assert len(digests) == 4
