"""Helpers for the scenario catalogue, services, reports and admin tests: scenarios made from
the installed templates, and small hand-written graphs."""

from campaigns.models import Campaign, SenderProfile
from scenarios.models import Block, Scenario, ScenarioTemplate
from scenarios.services import scenario_create_from_template
from segments.models import Segment
from tests.factories import CampaignFactory, SenderProfileFactory

GOOD_RULE = {
    "match": "all",
    "conditions": [{"field": "last_purchase_at", "operator": "within", "value": 7, "unit": "days"}],
}


def reactivation_profile() -> SenderProfile:
    return SenderProfileFactory(name="Reactivation", purpose=SenderProfile.Purpose.REACTIVATION)


def scenario_from(slug: str, *, name: str = "Relance", **kwargs) -> Scenario:
    template = ScenarioTemplate.objects.get(slug=slug)
    return scenario_create_from_template(template=template, name=name, **kwargs)


def scenario_campaign(**kwargs) -> Campaign:
    fields = {
        "kind": Campaign.Kind.SCENARIO,
        "subject": "Bonjour {{ first_name }}",
        "html_body": "<p>Bonjour</p>",
    } | kwargs
    return CampaignFactory(**fields)


def scenario_with(blocks: list[dict], *, status: str = Scenario.Status.DRAFT, **kwargs) -> Scenario:
    """A scenario whose blocks are given as dicts: key, kind, and optionally config, next,
    campaign, name."""
    scenario = Scenario.objects.create(name="Hand-made", status=status, **kwargs)
    for position, spec in enumerate(blocks):
        Block.objects.create(
            scenario=scenario,
            key=spec["key"],
            kind=spec["kind"],
            name=spec.get("name", ""),
            config=spec.get("config", {}),
            next=spec.get("next", {}),
            campaign=spec.get("campaign"),
            position=position,
        )
    return scenario


def entry(next_key: str = "wait", segment: Segment | None = None) -> dict:
    segment = segment or Segment.objects.get(slug="inactive")
    return {
        "key": "entry",
        "kind": "entry",
        "config": {"segment": segment.pk, "reentry": "never"},
        "next": {"next": next_key},
    }


def wait(key: str = "wait", next_key: str = "end") -> dict:
    return {"key": key, "kind": "wait", "config": {"days": 1}, "next": {"next": next_key}}


def end(key: str = "end") -> dict:
    return {"key": key, "kind": "end", "config": {"outcome": "let go"}}
