"""The seed problems medicine and genomics ship: shown to the Attacker in its own form,
so each must be what the round accepts (the kit's ``seed_faults``)."""

from __future__ import annotations

import random

import pytest

from nanoflux.domains import load_benchmark
from nanoflux.engine.judge import make_tool_caller
from nanoflux.engine.programs import computing_lines
from nanoflux.engine.seeds import SeedPool
from nanoflux.kit import seed_faults
from nanoflux.kit.stated import REUSED
from nanoflux.plugins import PluginHost
from nanoflux.records import Question
from nanoflux.testing import needs_sandbox

PACKS = {"medicine": ("vignettes.jsonl", 20, 5), "genomics": ("problems.jsonl", 15, 6)}


@pytest.fixture(scope="module", params=list(PACKS))
def pack(request):
    host = PluginHost.load(allow=[request.param])
    domain = host.domain(request.param)
    return host, domain, load_benchmark(host, domain.default_seeds())


def test_the_pack_ships_seeds_with_programs_over_its_skills(pack):
    _, domain, items = pack
    file, least, skills = PACKS[domain.name]
    assert domain.default_seeds().startswith(f"{domain.name}:jsonl:")
    assert domain.default_seeds().endswith(f"seeds/{file}")
    assert len(items) >= least and all(item.program for item in items)
    shown = {item.meta["skill"] for item in items}
    assert shown <= set(domain.skills) and len(shown) >= skills
    # each has the steps a round asks for (acceptance.hops_min is 2)
    assert all(len(computing_lines(item.program)) >= 2 for item in items)


@needs_sandbox
def test_each_seed_gives_its_answer_in_the_sandbox_and_passes_the_screen(pack):
    host, domain, items = pack
    assert seed_faults(domain, items, make_tool_caller(host)) == []


def test_a_round_targets_a_skill_its_seeds_cover_and_shows_a_seed_of_it(pack):
    host, domain, _ = pack
    seeds = SeedPool.load(host, domain.default_seeds(), domain.name)
    covered = seeds.covering(domain.skills)
    held = {item.meta["skill"] for item in seeds.items}
    assert covered == [skill for skill in domain.skills if skill in held]
    assert len(covered) < len(domain.skills)  # each pack has a skill without seeds
    rng = random.Random(0)
    for skill in covered:
        assert all(seeds.pick(rng, skill).meta["skill"] == skill for _ in range(5))
    # seeds without skills (GSM8K's), or a skill no seed is of: any seed, every skill
    bare = SeedPool(seeds.spec, [item.model_copy(update={"meta": {}}) for item in seeds.items])
    assert bare.covering(domain.skills) == list(domain.skills)
    assert (
        bare.pick(random.Random(1), covered[0])
        == bare.items[random.Random(1).randrange(len(bare.items))]
    )


def test_a_question_with_a_seeds_numbers_is_its_copy_but_in_genomics(pack):
    """Medicine: a seed's numbers are its copy. Genomics: a problem may keep a seed's
    generator calls and ask something new about its sequences (the copy check of the
    round still rejects the seed's own text)."""
    _, domain, items = pack
    expected = [REUSED] if domain.name == "medicine" else []
    for item in items:
        copied = Question(
            text=f"Another one. {item.question}",
            domain=domain.name,
            hops=2,
            skill=item.meta["skill"],
            reference_answer=item.answer,
            solution_steps=[item.answer],
            program=item.program,
        )
        assert domain.screen(copied) == expected, item.id


def test_a_broken_seed_is_named(pack):
    host, domain, items = pack
    first = items[0]
    broken = [
        first.model_copy(update={"program": None}),
        first.model_copy(update={"answer": "12345"}),
        first.model_copy(update={"question": "Solve it."}),
    ]
    faults = seed_faults(domain, broken, make_tool_caller(host))
    assert faults[0] == f"{first.id}: no program"
    assert faults[1].startswith(f"{first.id}: the program gives ")
    assert faults[1].endswith("not 12345")
    assert len(faults) > 2 and all(f.startswith(f"{first.id}: ") for f in faults[2:])


def test_the_pack_ships_multiple_choice_seeds(pack):
    """Some seeds end on options: shown so, the Attacker writes options too, and the
    program's value decides the key (``seed_faults`` checks each is its program's).
    The keys are spread over the letters."""
    from nanoflux.engine.seeds import CHOICES_RULE, seed_block

    _, domain, items = pack
    chosen = [item for item in items if item.choices]
    assert len(chosen) >= {"medicine": 10, "genomics": 4}[domain.name]
    assert all(len(item.choices) == 4 for item in chosen)
    assert len({item.answer for item in chosen}) == 4
    shown = seed_block(chosen[0], code_first=True)
    assert f"\nA. {chosen[0].choices[0]}\nB. " in shown and CHOICES_RULE in shown
    plain = chosen[0].model_copy(update={"choices": None})
    assert CHOICES_RULE not in seed_block(plain, code_first=True)


@needs_sandbox
def test_a_multiple_choice_seed_whose_answer_is_not_its_programs_option_is_named():
    host = PluginHost.load(allow=["medicine"])
    domain = host.domain("medicine")
    item = next(i for i in load_benchmark(host, domain.default_seeds()) if i.choices)
    other = next(letter for letter in "ABCD" if letter != item.answer)
    faults = seed_faults(
        domain, [item.model_copy(update={"answer": other})], make_tool_caller(host)
    )
    assert len(faults) == 1 and faults[0].endswith(
        f"which is option {item.answer}, not the answer {other}"
    )
