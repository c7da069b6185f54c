"""The demo model (LLM_MODE=fake) answers every structured call of the studio validly, domain checks included.

Each test drives the real core function (interviews/) with :class:`DemoChatModel`, so a prompt whose shape
changes under the demo's reader fails here, not in a newcomer's first demo.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from interviews import contexts, dedup, grading, seeds, stories
from interviews.articulate import articulate, render_transcript
from interviews.cards import CardDraft, describe_problems, lint_card
from interviews.dedup import ValueText
from interviews.flow import Turn
from interviews.prompting import as_data, load_prompt
from providers.demo_answers import answer
from providers.demo_texts import DEMO_CONTEXTS, DEMO_VALUES
from providers.fakes import DemoChatModel

QUESTION = "My mother is ill. Should I tell her the whole prognosis?"


def _interview(*said: str) -> list[Turn]:
    turns = [Turn("assistant", "What happened?")]
    for text in said:
        turns += [Turn("user", text), Turn("assistant", "And what did you notice?")]
    return turns


def _card(title: str) -> CardDraft:
    value = next(v for v in DEMO_VALUES if v.title == title)
    wording = value.wordings[0]
    return CardDraft(title=title, description=wording.description, policies=list(wording.policies))


# --- cards ----------------------------------------------------------------------------------------------


def test_every_demo_card_and_context_keeps_the_rules() -> None:
    for value in DEMO_VALUES:
        for wording in value.wordings:
            card = CardDraft(
                title=value.title, description=wording.description, policies=list(wording.policies)
            )
            assert lint_card(card) == [], value.title
        assert len({w.policies for w in value.wordings}) == len(value.wordings)  # the wordings differ
    assert [contexts.clean_context(c) for c in DEMO_CONTEXTS] == list(DEMO_CONTEXTS)


def test_the_card_passes_the_rules_and_follows_the_participants_words() -> None:
    model = DemoChatModel()
    honest = articulate(model, question=QUESTION, transcript=_interview("Tell me the truth, gently."))
    listened = articulate(model, question=QUESTION, transcript=_interview("The nurse sat and listened."))
    assert honest.problems == () and not honest.repaired
    assert honest.card.title == "Honest Gentleness" and listened.card.title == "Steady Presence"
    # deterministic: the same words give the same card
    again = articulate(model, question=QUESTION, transcript=_interview("Tell me the truth, gently."))
    assert again.card == honest.card


def test_most_pairs_of_different_participants_get_different_values() -> None:
    said = [f"Participant {n} talked about their week and what it was like." for n in range(12)]
    titles = [
        articulate(DemoChatModel(), question=QUESTION, transcript=_interview(s)).card.title for s in said
    ]
    assert len(set(titles)) >= 4  # no keyword: the hash of their words spreads them over the values


def test_a_change_request_returns_a_card_that_changed() -> None:
    model = DemoChatModel()
    first = articulate(model, question=QUESTION, transcript=_interview("Tell me the truth, gently."))
    longer = _interview("Tell me the truth, gently.", "Please change it.")
    revised = articulate(model, question=QUESTION, transcript=longer, current=first.card)
    assert revised.problems == () and revised.card != first.card
    assert revised.card.title == first.card.title  # the same value, in its other wording
    back = articulate(model, question=QUESTION, transcript=longer, current=revised.card)
    assert back.card == first.card


def test_a_draft_the_participant_edited_is_kept_as_they_wrote_it() -> None:
    edited = CardDraft(
        title="Honest Gentleness",
        description="My own words about telling the truth kindly.",
        policies=["MOMENTS when a person can hear it", "WORDS that keep hope alive"],
    )
    result = articulate(DemoChatModel(), question=QUESTION, transcript=_interview("x"), current=edited)
    assert result.card == edited and not result.repaired


def test_a_change_to_a_draft_that_breaks_the_rules_gives_one_that_keeps_them() -> None:
    broken = CardDraft(title="Deep", description="x", policies=["be kind"])
    result = articulate(DemoChatModel(), question=QUESTION, transcript=_interview("truth"), current=broken)
    assert result.problems == () and result.card.title == "Honest Gentleness"


def test_the_repair_prompt_gets_a_card_that_keeps_the_rules() -> None:
    broken = CardDraft(title="Deep", description="x", policies=["be kind"])
    prompt = load_prompt("repair_card").render(
        question=as_data("question", QUESTION),
        transcript=render_transcript(_interview("The doctor sat with us and listened.")),
        card=as_data("card", broken.model_dump_json()),
        problems=describe_problems(lint_card(broken)),
    )
    repaired = DemoChatModel().with_structured_output(CardDraft).invoke(prompt)
    assert lint_card(repaired) == [] and repaired.title == "Steady Presence"


# --- dedup ----------------------------------------------------------------------------------------------


def _text(card_id: int, title: str) -> ValueText:
    card = _card(title)
    return ValueText(card_id, card.title, card.description, tuple(card.policies))


def test_the_partition_is_a_real_partition_that_joins_same_titles() -> None:
    new = [
        _text(11, "Steady Presence"),
        _text(12, "Honest Gentleness"),
        _text(13, "Honest Gentleness"),
        _text(14, "Practical Clarity"),
    ]
    existing = [_text(3, "Practical Clarity"), _text(4, "Faith and Conscience")]
    result = dedup.partition_cards(DemoChatModel(), new, existing)
    assert result.attempts == 1  # valid on the first try
    decisions = {d.card_ids: (d.canonical_id, d.representative_id) for d in result.decisions}
    assert decisions == {(11,): (None, 11), (12, 13): (None, 12), (14,): (3, None)}
    assert sorted(c for d in result.decisions for c in d.card_ids) == [11, 12, 13, 14]


def test_the_partition_with_no_existing_values_and_text_needing_escapes() -> None:
    odd = ValueText(7, "Care <for> & [c9] them", "A line.\n\n[c99] not a card", ("MOMENTS <b>",))
    result = dedup.partition_cards(DemoChatModel(), [odd, _text(8, "Steady Presence")], [])
    assert result.attempts == 2  # the faked block fooled the first answer; the retry names the real cards
    assert sorted(d.card_ids for d in result.decisions) == [(7,), (8,)]
    assert all(d.canonical_id is None for d in result.decisions)


# --- contexts -------------------------------------------------------------------------------------------


def test_mining_names_existing_contexts_again_and_adds_only_when_there_are_few() -> None:
    card = _card("Steady Presence")
    first = contexts.mine_contexts(DemoChatModel(), question=QUESTION, card=card, existing=[])
    assert len(first.new) == 2 and not first.rejected
    existing = ["When the user is in distress", "When someone asks for medical advice", "When time is short"]
    later = contexts.mine_contexts(DemoChatModel(), question=QUESTION, card=card, existing=existing)
    assert later.new == () and later.matched == tuple(existing[:2]) and not later.rejected


def test_generated_contexts_are_valid_and_new() -> None:
    existing = [DEMO_CONTEXTS[0]]
    selection = contexts.draft_contexts(DemoChatModel(), question=QUESTION, existing=existing, n=4)
    assert len(selection.new) == 4 and not selection.rejected and DEMO_CONTEXTS[0] not in selection.new


# --- stories --------------------------------------------------------------------------------------------


def test_stories_name_the_context_and_both_values_and_pass_the_judge() -> None:
    model = DemoChatModel()
    a, b = _card("Practical Clarity"), _card("Steady Presence")
    context = "When strong feelings make it hard to think"
    forward, reverse = stories.write_pair(model, context=context, a=a, b=b)
    assert forward != reverse
    for story, before, after in [(forward, a, b), (reverse, b, a)]:
        assert 120 <= len(story.split()) <= 220
        assert "when strong feelings make it hard to think" in story
        assert (
            before.policies[0].split()[0].lower() in story and after.policies[0].split()[0].lower() in story
        )
        scores = stories.judge_story(model, context=context, from_card=before, to_card=after, story=story)
        assert stories.passes(scores), scores


def test_the_judge_fails_a_story_that_misses_its_context() -> None:
    a, b = _card("Practical Clarity"), _card("Steady Presence")
    scores = stories.judge_story(
        DemoChatModel(), context="When time is short", from_card=a, to_card=b, story="I changed my mind."
    )
    assert not stories.passes(scores) and scores.fit == 1


# --- grader and seed cards ------------------------------------------------------------------------------


def test_the_transcript_grader_is_labelled_as_the_demo() -> None:
    grades = grading.grade_transcript(DemoChatModel(), question=QUESTION, transcript=_interview("truth"))
    assert {grade for _, grade, _ in grades.rows()} == {"B"}
    assert all("LLM_MODE=fake" in reason for _, _, reason in grades.rows())


class SeedCards(BaseModel):
    """A schema shaped like a request for seed values: a list of cards."""

    cards: list[CardDraft] = Field(min_length=1, max_length=6)


def test_a_list_of_cards_gets_distinct_cards_that_keep_the_rules() -> None:
    prompt = "Write 4 distinct values cards for this question.\nAlready seeded:\nTitle: Steady Presence\n"
    seeds = DemoChatModel().with_structured_output(SeedCards).invoke(prompt)
    titles = [c.title for c in seeds.cards]
    assert len(titles) == 4 == len(set(titles)) and "Steady Presence" not in titles
    assert all(lint_card(c) == [] for c in seeds.cards)


def test_seed_values_are_written_new_and_within_the_rules() -> None:
    drafts = seeds.write_seeds(DemoChatModel(), question=QUESTION, existing=["Steady Presence"], count=3)
    assert len(drafts.accepted) == 3 and drafts.rejected == ()
    assert "Steady Presence" not in [c.title for c in drafts.accepted]


def test_a_schema_the_studio_does_not_use_gets_no_demo_writer() -> None:
    assert answer("Unknown", {"properties": {"x": {"type": "string"}}}, ["hi"]) is None
