"""``cli.py demo``'s service: an open deliberation whose first participant has values to vote on and
stories to judge, all of it written by the project (services/facilitator/demo_content.py)."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from errors import InvalidInput
from interviews import stories
from interviews.cards import CardDraft, lint_card
from interviews.contexts import clean_context
from interviews.pipeline import pairs_per_value
from providers.fakes import DemoChatModel
from services.facilitator import deliberations, demo, seeds
from services.facilitator import demo_content as content
from services.jobs import pipeline
from services.participant import cards, interviewing, joining, judging, voting
from storage import repo_deliberations
from storage.db import session_scope
from storage.schemas import DeliberationConfig
from tests.services.dedup_world import TitleEmbeddings

BASE = "http://studio.test"


def test_the_demo_content_keeps_the_domain_rules() -> None:
    for seed in content.SEEDS:
        card = CardDraft(title=seed.title, description=seed.description, policies=list(seed.policies))
        assert lint_card(card) == [], seed.title
    assert [clean_context(c) for c in content.CONTEXTS] == list(content.CONTEXTS)
    titles = {s.title for s in content.SEEDS}
    for story in content.STORIES:
        assert {story.from_title, story.to_title} <= titles and story.context in content.CONTEXTS
        assert 120 <= len(story.story.split()) <= 220  # what the story prompt asks of a model
        assert story.from_title not in story.story and story.to_title not in story.story  # no titles quoted
    by_title = {
        s.title: CardDraft(title=s.title, description=s.description, policies=list(s.policies))
        for s in content.SEEDS
    }
    for story in content.STORIES:  # a rerun of the demo's run with the demo model would keep them shown
        scores = stories.judge_story(
            DemoChatModel(),
            context=story.context,
            from_card=by_title[story.from_title],
            to_card=by_title[story.to_title],
            story=story.story,
        )
        assert stories.passes(scores), (story.story[:60], scores)
    triples = [(s.from_title, s.to_title, s.context) for s in content.STORIES]
    assert len(set(triples)) == len(triples) and {(b, a, c) for a, b, c in triples} == set(triples)
    # Each seed is in more pairs than a new value gets at first, so the pipeline (fewest pairs first) pairs
    # the second participant's value with the first one's, not only with seeds.
    ids = {s.title: i for i, s in enumerate(content.SEEDS)}
    pairs = {(min(ids[a], ids[b]), max(ids[a], ids[b]), content.CONTEXTS.index(c)) for a, b, c in triples}
    load = pairs_per_value(pairs)
    assert min(load[i] for i in ids.values()) >= DeliberationConfig().pipeline_pairs_per_value


def test_the_demo_is_open_with_seeds_contexts_stories_and_links(engine: Engine) -> None:
    made = demo.create_demo(engine, base_url=BASE + "/", invites=3)
    d = made.deliberation
    assert (
        d.status == "open"
        and d.title == content.TITLE
        and [q.text for q in d.questions] == [content.QUESTION]
    )
    assert [s.title for s in made.seeds] == [s.title for s in content.SEEDS]
    listed = seeds.list_seeds(engine, deliberation_id=d.id)
    assert {s.id for s in listed} == {s.id for s in made.seeds} and all(s.contexts_mined for s in listed)
    with session_scope(engine) as s:
        linked = repo_deliberations.question_context_ids(s, question_id=made.question_id)
        texts = {c.text for c in repo_deliberations.list_contexts(s, deliberation_id=d.id) if c.id in linked}
    assert texts == set(content.CONTEXTS) and made.contexts == content.CONTEXTS
    assert made.stories == len(content.STORIES)
    assert made.open_link.startswith(f"{BASE}/join?code=") and len(made.invite_links) == 3
    assert all(link.startswith(f"{BASE}/join?invite=") for link in made.invite_links)
    assert made.facilitator_url == f"{BASE}/deliberations"

    # The first participant has the seeds to vote on and the demo's stories to judge.
    token = joining.join(engine, invite=made.invite_links[0].rsplit("=", 1)[1]).token
    joining.consent(engine, token=token, demographics={})
    draw = voting.draw_values(engine, token=token, question_id=made.question_id)
    assert sorted(v.title for v in draw.values) == sorted(s.title for s in content.SEEDS)
    to_judge = judging.stories_to_judge(engine, token=token)
    assert len(to_judge) == 3 and {s.story for s in to_judge} <= {s.story for s in content.STORIES}
    assert all(s.from_value.title in {x.title for x in content.SEEDS} for s in to_judge)


def test_each_demo_is_a_new_deliberation(engine: Engine) -> None:
    first = demo.create_demo(engine, base_url=BASE)
    second = demo.create_demo(engine, base_url=BASE)
    assert first.deliberation.id != second.deliberation.id
    assert {s.id for s in first.seeds}.isdisjoint(s.id for s in second.seeds)
    assert [d.status for d in deliberations.list_deliberations(engine)] == ["open", "open"]


@pytest.mark.parametrize(("base_url", "invites"), [("javascript:alert(1)", 2), (BASE, 0), (BASE, 21)])
def test_bad_arguments_are_refused_before_anything_is_written(
    sqlite_engine: Engine, base_url: str, invites: int
) -> None:
    with pytest.raises(InvalidInput):
        demo.create_demo(sqlite_engine, base_url=base_url, invites=invites)
    assert deliberations.list_deliberations(sqlite_engine) == []


def _take_part(engine: Engine, link: str, said: str) -> tuple[str, int]:
    """Join by ``link``, talk with the demo model, submit its card and run the pipeline after it, as the
    interview page's side job does; the token and the card's canonical value."""
    demo_model = DemoChatModel()
    token = joining.join(engine, invite=link.rsplit("=", 1)[1]).token
    joining.consent(engine, token=token, demographics={})
    question = joining.home(engine, token=token).questions[0].id
    view = interviewing.start_interview(engine, token=token, question_id=question)
    interviewing.post_message(engine, token=token, interview_id=view.id, text=said)
    card = cards.request_card(engine, demo_model, token=token, interview_id=view.id)
    cards.submit_card(engine, token=token, card_id=card.id, digest=card.digest)
    report = pipeline.after_card(engine, demo_model, TitleEmbeddings(), card_id=card.id)
    assert report.card_id == card.id
    interview = interviewing.current_interview(engine, token=token)
    assert interview is not None and interview.card is not None
    value = interview.card.canonical_value_id
    assert value is not None
    return token, value


def test_in_the_demo_the_second_participant_votes_on_and_judges_the_first_ones_value(engine: Engine) -> None:
    made = demo.create_demo(engine, base_url=BASE)
    _, first = _take_part(
        engine, made.invite_links[0], "My sister told me the truth about our father, gently."
    )
    token, second = _take_part(engine, made.invite_links[1], "We made a plan with clear steps and costs.")
    assert first != second
    draw = voting.draw_values(engine, token=token, question_id=made.question_id)
    assert first in [v.id for v in draw.values]
    voting.submit_votes(engine, token=token, draw_id=draw.draw_id, value_ids=[first, draw.values[0].id])
    to_judge = judging.stories_to_judge(engine, token=token)
    assert len(to_judge) == 3 and all(s.story for s in to_judge)
    assert any(first in (s.from_value.id, s.to_value.id) for s in to_judge)
    assert all(second in (s.from_value.id, s.to_value.id) for s in to_judge)  # their own value's first
