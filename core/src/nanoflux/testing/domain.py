"""The contract every domain pack passes."""

from __future__ import annotations

import pytest

from ..domains import Domain, PromptSet
from ..plugins import PluginHost
from ..records import Question, ToolEvidence


class DomainContract:
    """Supply ``domain`` (an instance) and ``host`` (a loaded PluginHost that includes the
    pack), and ``wrong_answer``: an answer that differs from the example question's."""

    #: the id the plugin registers this under; the meta-test checks that every
    #: installed id has a contract test that declares it
    registered_as: str | None = None

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
        prompts = domain.prompts()
        assert isinstance(prompts, PromptSet)
        attacker = prompts.render(
            "attacker",
            domain=domain.name,
            skills=", ".join(domain.skills),
            target_skill=domain.skills[0],
            weak_skills="none",
            recent_wrong="none",
            avoid="none",
            hops_min=2,
            hops_max=6,
        )
        assert "$" not in attacker.replace("$$", ""), "attacker template has an unknown $variable"
        question = domain.example_question()
        defender = prompts.render("defender", question=question.text, choices="")
        assert question.text in defender
        judge = prompts.render(
            "judge",
            question=question.text,
            reference_answer=question.reference_answer,
            solution="\n".join(question.solution_steps),
            defender_answer="x",
            defender_reasoning="",
            evidence="none",
            hops=question.hops,
        )
        assert question.reference_answer in judge

    def test_example_question_is_valid(self, domain):
        question = domain.example_question()
        assert isinstance(question, Question)
        assert question.domain == domain.name

    def test_checker(self, domain, wrong_answer):
        question = domain.example_question()
        ref = question.reference_answer
        assert domain.check_answer(ref, ref, choices=question.choices)
        assert not domain.check_answer(ref, wrong_answer, choices=question.choices)

    def test_verify_confirms_the_example_with_tools(self, domain, host):
        calls = []

        def call_tool(tool_id, args):
            calls.append(tool_id)
            tool = host.tools.get(tool_id)
            return ToolEvidence(tool=tool_id, args=args, result=tool.call(args))

        verification = domain.verify(domain.example_question(), call_tool)
        assert calls, "verify() should use the domain's tools"
        assert all(c.startswith(f"{domain.name}.") for c in calls)
        assert verification.verified is True

    def test_verify_catches_a_wrong_reference(self, domain, host, wrong_answer):
        def call_tool(tool_id, args):
            tool = host.tools.get(tool_id)
            return ToolEvidence(tool=tool_id, args=args, result=tool.call(args))

        question = domain.example_question().model_copy(update={"reference_answer": wrong_answer})
        assert domain.verify(question, call_tool).verified is not True

    def test_tools_are_registered_for_the_domain(self, domain, host):
        assert host.tools_for(domain.name), "a domain pack provides judge tools"

    def test_loaders(self, domain):
        assert domain.loaders(), "a domain pack reads at least one benchmark format"
