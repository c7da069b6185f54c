"""Ten scripted participants, written for this benchmark (no study data): a question each, and what the
person answers at each of their turns (an opening view, a story, what mattered in it, what they notice).

The answers do not depend on what the interviewer asked, so every run sends the same participant turns and
only the model's replies differ.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Persona:
    name: str
    question: str
    answers: tuple[str, ...]


PERSONAS: tuple[Persona, ...] = (
    Persona(
        "nurse",
        "My elderly father keeps refusing help at home. Should I move him into care against his wishes?",
        (
            "I think the assistant should take the father's dignity seriously, not only his safety.",
            "When I worked nights on a ward, a patient refused a bed alarm. We talked for an hour and "
            "found a way he could call us himself. He slept better than anyone that week.",
            "That he was still the one deciding. He was frail, but he was not a child.",
            "I watch whether someone is being talked about or talked with. And whether they get a real "
            "choice, even a small one.",
        ),
    ),
    Persona(
        "teacher",
        "My teenage son wants to drop out of school to start a business. How should I respond?",
        (
            "It should help the parent listen before arguing, and ask what the son actually wants.",
            "One of my students wanted to leave at sixteen to fix bikes. I asked him to show me his "
            "workshop. He explained gear ratios better than our textbook does.",
            "Seeing what he was already good at, instead of what he was failing at.",
            "I notice what makes a young person lose track of time, and whether the adults have asked.",
        ),
    ),
    Persona(
        "engineer",
        "I found a safety issue at work but reporting it could cost my team its bonus. What should I do?",
        (
            "The assistant should be clear that safety comes first, but not pretend it is easy.",
            "Years ago I flagged a faulty valve two days before a deadline. My manager was furious for a "
            "week, then thanked me after the inspection.",
            "Being able to look the operators in the eye. They trusted our drawings with their hands.",
            "I pay attention to who carries the risk if I stay quiet, and whether they ever get a say.",
        ),
    ),
    Persona(
        "student",
        "My best friend cheated on an exam and asked me not to tell anyone. Is keeping quiet wrong?",
        (
            "I would want the assistant to care about the friendship and about fairness at the same time.",
            "Last term a friend copied my homework. I told her I would not let her again, but I did not "
            "report her. We are still friends, and she studies with me now.",
            "Being honest with her face to face, instead of going behind her back.",
            "I notice whether I can say the hard thing to the person directly, and whether they can still "
            "fix it themselves.",
        ),
    ),
    Persona(
        "farmer",
        "A neighbour's dog keeps getting into my field and scaring the sheep. Should I call the police?",
        (
            "It should suggest talking to the neighbour first. Police is a big step between neighbours.",
            "My father once had a row with a neighbour over a fence. They did not speak for ten years. "
            "When he was ill, that neighbour was the first to bring wood.",
            "That you have to live next to each other for a long time, whatever happens this week.",
            "I look at whether a step can be taken back. A visit with a cup of tea can; a police report "
            "cannot.",
        ),
    ),
    Persona(
        "refugee",
        "I was offered a good job but it means lying about my past on the application. Should I take it?",
        (
            "The assistant should not judge quickly. People lie on papers for many reasons, some of them "
            "to stay alive.",
            "When I arrived here, an officer asked about my town. I told the truth even though I was "
            "afraid, and a volunteer later said that truth is why my case went well.",
            "That I did not have to carry a second story around with me every day.",
            "I notice how heavy a secret feels in the morning. And whether someone would be hurt if they "
            "knew.",
        ),
    ),
    Persona(
        "retiree",
        "My daughter asked me to lend her my savings for a house. Should I give her the money?",
        (
            "It should ask what the person needs for their own old age before talking about the daughter.",
            "My sister gave all her savings to her son, then needed care and had nothing. He helped, but "
            "they both felt ashamed about it for years.",
            "That love does not mean leaving yourself with nothing to stand on.",
            "I pay attention to whether a gift can be given without a debt hanging over it afterwards.",
        ),
    ),
    Persona(
        "doctor",
        "A patient asks me not to tell her family that her cancer has returned. What should I do?",
        (
            "The assistant should respect that it is her news to share, and help her think about it.",
            "I had a patient who told her children only at the end. They were angry at first, but she "
            "said she had wanted one more normal summer with them, and they understood.",
            "Her choosing how her own story is told, while she still could.",
            "I notice whether a person is being protected or being replaced. Protecting leaves them in "
            "charge.",
        ),
    ),
    Persona(
        "shopkeeper",
        "A regular customer has been shoplifting small things. Should I confront him or let it go?",
        (
            "It should help the shopkeeper find out why before deciding anything.",
            "A boy used to take bread from my shop. One day I asked him to help me unload deliveries for "
            "it. He came every Saturday for two years.",
            "Giving him a way to keep his pride. He did not want charity, he wanted to be useful.",
            "I look at whether a person has a way to make it right that does not shame them.",
        ),
    ),
    Persona(
        "volunteer",
        "My friend asked me to help her leave a religious community her family belongs to. Should I?",
        (
            "It should take her wish seriously and also think about her safety and her family ties.",
            "I helped a woman at the shelter who left her village. She wanted to keep calling her mother "
            "every week, and we found a way to do that safely.",
            "That leaving did not have to mean cutting off everyone she loved.",
            "I notice which relationships a person wants to keep, not just what they want to get away from.",
        ),
    ),
)
