"""Factories for the scenarios app (the shared ones are in tests/factories.py)."""

import factory

from campaigns.models import Campaign
from scenarios.models import Block, Enrollment, Scenario
from tests.factories import CampaignFactory


class ScenarioFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Scenario

    name = factory.Sequence(lambda n: f"Scenario {n}")
    status = Scenario.Status.ACTIVE


class BlockFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Block

    scenario = factory.SubFactory(ScenarioFactory)
    key = factory.Sequence(lambda n: f"block-{n}")
    kind = "end"
    config = factory.LazyFunction(dict)
    next = factory.LazyFunction(dict)


class ScenarioCampaignFactory(CampaignFactory):
    """A scenario campaign, sending while its scenario is active."""

    kind = Campaign.Kind.SCENARIO
    status = Campaign.Status.SENDING
    html_body = "<p>We miss you</p>"
    sms_text = "We miss you"


class EnrollmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Enrollment

    scenario = factory.SubFactory(ScenarioFactory)
    state = Enrollment.State.ACTIVE


def scenario_build(blocks: list[dict], **scenario_fields) -> Scenario:
    """A scenario with the given blocks, each {"key", "kind", "config", "next", "campaign"}; the
    first is the entry point the tests enrol contacts at."""
    scenario = ScenarioFactory(**scenario_fields)
    for position, spec in enumerate(blocks):
        BlockFactory(
            scenario=scenario,
            position=position,
            key=spec["key"],
            kind=spec["kind"],
            config=spec.get("config", {}),
            next=spec.get("next", {}),
            campaign=spec.get("campaign"),
        )
    return scenario


def enroll(scenario: Scenario, contacts, *, at, block_key: str | None = None) -> list[Enrollment]:
    """Enrollments of `contacts` standing at the scenario's first block (or `block_key`), due at
    `at`."""
    blocks = scenario.blocks.order_by("position")
    block = blocks.get(key=block_key) if block_key else blocks.first()
    return [
        EnrollmentFactory(
            scenario=scenario, contact=contact, block=block, entered_at=at, wake_at=at
        )
        for contact in contacts
    ]
