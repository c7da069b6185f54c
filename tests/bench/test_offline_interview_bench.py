"""The offline-interview benchmark's code path with a scripted model (the real run uses the bundled model and
is reported in bench/README.md; nothing here times anything)."""

from __future__ import annotations

from bench.offline_interview.personas import PERSONAS
from bench.offline_interview.run import run, summary
from providers.fakes import ScriptedChatModel
from tests.worlds import HONEST_CARD

BAD_CARD = {"title": "2-5 Words", "description": "Draft Complete!", "policies": ["policy 1"]}


def test_the_benchmark_measures_replies_and_cards() -> None:
    monologue = "That is a lovely thought. " + "Honesty is a value that many people hold dear in life. " * 6
    model = ScriptedChatModel(
        [
            "What did you notice then? And what else did you notice?",  # persona 1: trimmed after it
            monologue,  # kept brief, then its stage's question
            HONEST_CARD,  # passes on the first write
            "Thank you.",  # persona 2: the question is added
            {"reason": "enough"},  # the ready signal ends the conversation
            BAD_CARD,  # fails the rules, repaired into a passing one
            HONEST_CARD,
        ]
    )
    results = run(
        model, personas=PERSONAS[:2], turns=2, style="compact", reply_max_tokens=120, model_name="scripted"
    )
    assert [(r.persona, r.turn) for r in results.replies] == [
        ("nurse", 1),
        ("nurse", 2),
        ("teacher", 1),
        ("teacher", 2),
    ]
    first, brief, added, ready = results.replies
    assert first.text == "What did you notice then?" and first.trimmed and first.questions_raw == 2
    assert first.shaping == ["cut_after_question"]
    assert brief.fallback_added and brief.questions_shown == 1 and brief.tokens_shown < brief.tokens_generated
    assert brief.shaping == ["kept_brief", "question_added"]
    assert added.fallback_added and added.text.startswith("Thank you.\n\n")
    assert added.shaping == ["question_added"]
    assert ready.ready and ready.text == ""
    assert [(c.first_write_passes, c.passes_after_repair) for c in results.cards] == [
        (True, True),
        (False, True),
    ]
    assert model.remaining == 0

    lines = summary(results)
    assert any(
        line.startswith("  exactly one question, ending the reply (shown): 3/3 (100%)") for line in lines
    )
    assert any("pass the card rules on the first write: 1/2 (50%)" in line for line in lines)
    # the one-question target is met mostly by the question the app added: the report says so
    assert any("the stage's question the app added (not the model's): 2/3 (67%)" in line for line in lines)
    assert any("shaping: cut_after_question 1, kept_brief 1, question_added 2" in line for line in lines)
    assert any("target <= 120: met" in line for line in lines)
