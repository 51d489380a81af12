"""The contract every domain pack passes."""

from __future__ import annotations

import string

import pytest

from ..domains import PROMPT_VARIABLES, Domain, PromptSet, Verification, load_benchmark
from ..engine.judge import consulted_tools, gather_evidence, make_tool_caller
from ..engine.programs import answer_value
from ..kit import seed_faults
from ..plugins import PluginHost
from ..records import Question


class DomainContract:
    """Supply ``domain`` (an instance) and ``host`` (a loaded PluginHost that includes the
    pack), and ``wrong_answer``: an answer that differs from the example question's."""

    #: the id the plugin registers this under; the meta-test checks that every
    #: installed id has a contract test that declares it
    registered_as: str | None = None
    #: how many of the pack's seed problems (the first ones) the seed test checks
    seeds_checked: int = 30

    @pytest.fixture
    def domain(self) -> Domain:
        raise NotImplementedError("subclass the contract and supply a `domain` fixture")

    @pytest.fixture
    def host(self) -> PluginHost:
        return PluginHost.load()

    @pytest.fixture
    def wrong_answer(self) -> str:
        raise NotImplementedError("supply an answer that is wrong for example_question()")

    def test_identity_and_skills(self, domain):
        assert domain.name and domain.name.isidentifier()
        assert len(domain.skills) >= 3
        assert len(set(domain.skills)) == len(domain.skills)

    def test_registered_under_its_name(self, domain, host):
        assert self.registered_as, "declare registered_as: the domain's name"
        assert domain.name == self.registered_as
        assert type(host.domain(domain.name)) is type(domain)

    def test_prompts_render_every_variable(self, domain):
        """Each template uses only its role's variables (PromptSet checks that when made),
        and what it uses shows in the rendered prompt."""
        prompts = domain.prompts()
        assert isinstance(prompts, PromptSet)
        for role, declared in PROMPT_VARIABLES.items():
            values = {name: f"<{name} value>" for name in declared.names}
            rendered = prompts.render(role, **values)
            used = string.Template(getattr(prompts, role)).get_identifiers()
            for name in used:
                assert values[name] in rendered, f"{role} template: ${name} did not render"
            for name in declared.required:
                assert values[name] in rendered, f"{role} template lacks ${name}"

    def test_example_question_is_valid(self, domain):
        question = domain.example_question()
        assert isinstance(question, Question)
        assert question.domain == domain.name

    def test_the_example_needs_nothing_written_in(self, domain):
        """``complete()`` writes in only what a problem lacks: the example shows all its
        program decides, so it comes back as it is, with no change recorded."""
        question = domain.example_question()
        assert domain.complete(question) == (question, [])

    def test_checker(self, domain, wrong_answer):
        question = domain.example_question()
        ref = question.reference_answer
        assert domain.check_answer(ref, ref, choices=question.choices)
        assert not domain.check_answer(ref, wrong_answer, choices=question.choices)

    def gather(self, domain, host, question) -> Verification:
        """What the Judge gathers: the domain's verify(), then its tools that apply."""
        consulted = consulted_tools(host, domain.name)
        return gather_evidence(domain, question, make_tool_caller(host), consulted)

    def test_verify_confirms_the_example_with_tools(self, domain, host):
        verification = self.gather(domain, host, domain.example_question())
        assert verification.evidence, "the domain's tools should check the example"
        assert all(e.tool.startswith(f"{domain.name}.") for e in verification.evidence)
        assert verification.verified is True, [e.note for e in verification.evidence]

    def test_verify_catches_a_wrong_reference(self, domain, host, wrong_answer):
        question = domain.example_question().model_copy(update={"reference_answer": wrong_answer})
        assert self.gather(domain, host, question).verified is not True

    def test_a_program_that_reads_chance_is_refused(self, domain, host):
        """A program whose value could come from chance never confirms a reference, even
        when it returns it: the kit's python tool refuses it before it runs."""
        if not domain.supports_programs:
            pytest.skip(f"{domain.name} asks for no programs (supports_programs is False)")
        question = domain.example_question()
        cheat = f"import random\n\ndef solution():\n    return {question.reference_answer!r}\n"
        verification = self.gather(domain, host, question.model_copy(update={"program": cheat}))
        refused = [e for e in verification.evidence if "refused" in (e.result.error or "")]
        assert refused, "the program was run, or its refusal not recorded"
        assert all(e.supports_reference is None for e in refused)

    def test_a_code_first_domain_runs_its_example_program(self, domain, host):
        """Code-first (``program_tool`` set): the tool runs the example's program and its
        value is the example's reference, as a round would take it."""
        if domain.program_tool is None:
            pytest.skip(f"{domain.name} is not code-first (program_tool is None)")
        assert domain.supports_programs, "a code-first domain asks for programs"
        evidence = make_tool_caller(host)(
            domain.program_tool, {"code": domain.example_question().program}
        )
        assert evidence.result.ok, evidence.result.error
        value = answer_value(evidence.result.value, domain.answer_pattern)
        assert value is not None and domain.check_answer(
            domain.example_question().reference_answer, value
        )

    def test_a_code_first_domains_seeds_are_fit_to_show(self, domain, host):
        """Code-first with seeds of its own (``default_seeds()``): a seed is shown to the
        Attacker as a reply in its own form, so each must be what a round accepts
        (:func:`nanoflux.kit.seed_faults`): a program that gives the seed's answer, a
        problem the domain's screen passes. A domain that shows none has none to check."""
        if domain.program_tool is None or not domain.default_seeds():
            return
        items = load_benchmark(host, domain.default_seeds(), limit=self.seeds_checked)
        assert seed_faults(domain, items, make_tool_caller(host)) == []

    def test_a_seed_as_drafted_completes_to_the_seed(self, domain, host):
        """A seed is shown to the Attacker as it is to write a problem
        (``as_drafted()``); ``complete()`` of that is the seed's problem again, so the
        form the seed teaches is one the round turns into a whole problem."""
        if not domain.default_seeds():
            return
        for item in load_benchmark(host, domain.default_seeds(), limit=self.seeds_checked):
            drafted = domain.as_drafted(item)
            question = Question(
                text=drafted.question,
                domain=domain.name,
                hops=2,
                skill=domain.skills[0] if domain.skills else None,
                reference_answer=str(item.answer),
                solution_steps=["(the seed's)"],
                program=item.program,
            )
            assert domain.complete(question)[0].text == item.question, drafted.question

    def test_tools_are_registered_for_the_domain(self, domain, host):
        assert host.tools_for(domain.name), "a domain pack provides judge tools"

    def test_loaders(self, domain):
        assert domain.loaders(), "a domain pack reads at least one benchmark format"
