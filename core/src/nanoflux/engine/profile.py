"""What the Attacker knows about the Defender it is about to face.

Weaknesses are tracked per defender model: the skills it got wrong, its recent wrong
answers, and the questions already accepted (which the Attacker must not repeat).
"""

from __future__ import annotations

import random
from collections import Counter, deque
from dataclasses import dataclass, field


@dataclass
class DefenderProfile:
    size: int = 5
    failed_skills: Counter = field(default_factory=Counter)
    attempted_skills: Counter = field(default_factory=Counter)
    recent_wrong: deque = field(default_factory=deque)

    def observe(self, skill: str, question: str, defender_answer: str, correct: bool) -> None:
        self.attempted_skills[skill] += 1
        if not correct:
            self.failed_skills[skill] += 1
            self.recent_wrong.append((skill, question, defender_answer))
            while len(self.recent_wrong) > self.size:
                self.recent_wrong.popleft()

    def weak_skills(self) -> list[str]:
        """Skills by failure rate, most failed first."""
        rate = {s: self.failed_skills[s] / self.attempted_skills[s] for s in self.failed_skills}
        return sorted(rate, key=lambda s: (-rate[s], s))[: self.size]

    def failure_ratio(self, skill: str) -> float:
        """The Defender's failure rate on ``skill``, smoothed: 0.5 before any attempt."""
        return (self.failed_skills[skill] + 1) / (self.attempted_skills[skill] + 2)

    def pick_target(self, skills: list[str], rng: random.Random) -> str:
        """A skill drawn with probability proportional to the Defender's failure ratio.

        The attack budget follows the failures (as SwS does) without starving any skill:
        an untried skill weighs 0.5, a skill failed every time approaches 1, one always
        solved approaches 0.
        """
        weights = [self.failure_ratio(skill) for skill in skills]
        return rng.choices(skills, weights=weights)[0]


#: how the Attacker's prompt labels a wrong answer; a question that carries the label, in
#: any case, copied the prompt's list, not the problem (seen: "... defective? | its wrong
#: answer: 0.20", and "... rounded to one decimal place? Its wrong answer: 16.67")
WRONG_ANSWER_LABEL = "| its wrong answer:"


def describe_wrong(profile: DefenderProfile, skill: str) -> str:
    """The Defender's recent wrong answers in the round's target ``skill``. Shown those of
    every skill, the 1.5B medicine Attacker wrote a BMI question in nearly every round of
    a 12-round trial once the Defender had missed one, whatever its seed and target."""
    wrong = [(q, a) for s, q, a in profile.recent_wrong if s == skill]
    if not wrong:
        return "none yet"
    return "\n".join(f"- Q: {q[:160]} {WRONG_ANSWER_LABEL} {a[:60]}" for q, a in wrong)


def describe_avoid(accepted: deque) -> str:
    if not accepted:
        return "none yet"
    return "\n".join(f"- {text[:160]}" for text in accepted)
