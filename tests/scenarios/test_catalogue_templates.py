"""The catalogue installed by the data migration, and scenarios created from its templates."""

import importlib

import pytest
from django.apps import apps as django_apps
from django.core.exceptions import ValidationError
from django.db import connection

from campaigns.models import Campaign, SenderProfile
from contacts.models import Tag
from scenarios.models import ScenarioTemplate
from scenarios.services import scenario_check, scenario_create_blank, scenario_create_from_template
from segments.models import Segment
from tests.factories import ContactListFactory, SenderProfileFactory
from tests.scenarios.factories_admin import reactivation_profile, scenario_from

pytestmark = pytest.mark.django_db

ESSENTIALS = ["inactivity", "we-miss-you", "loyalty-expiry"]
INSPIRATION = ["progressive-sunset", "win-back-discount"]

migration = importlib.import_module("scenarios.migrations.0002_scenario_templates")


class _SchemaEditor:
    connection = connection


def test_templates_are_installed_in_two_categories():
    templates = {t.slug: t for t in ScenarioTemplate.objects.all()}

    assert set(ESSENTIALS + INSPIRATION) <= set(templates)
    assert all(templates[slug].category == "essentials" for slug in ESSENTIALS)
    assert all(templates[slug].is_enabled for slug in ESSENTIALS)
    assert all(templates[slug].category == "inspiration" for slug in INSPIRATION)
    assert not any(templates[slug].is_enabled for slug in INSPIRATION)
    assert all(templates[slug].description for slug in templates)


def test_migration_rerun_changes_nothing_and_keeps_an_enabled_template_enabled():
    ScenarioTemplate.objects.filter(slug="progressive-sunset").update(is_enabled=True)
    ScenarioTemplate.objects.filter(slug="inactivity").update(name="Edited")
    count = ScenarioTemplate.objects.count()

    migration.install(django_apps, _SchemaEditor())

    assert ScenarioTemplate.objects.count() == count
    assert ScenarioTemplate.objects.get(slug="progressive-sunset").is_enabled
    assert ScenarioTemplate.objects.get(slug="inactivity").name == "Inactivity"


def test_migration_reversal_deletes_only_its_templates():
    ScenarioTemplate.objects.create(slug="staff-made", name="Staff made")

    migration.uninstall(django_apps, _SchemaEditor())

    assert list(ScenarioTemplate.objects.values_list("slug", flat=True)) == ["staff-made"]


def test_inactivity_creates_its_blocks_campaigns_and_resolves_the_segment():
    profile = reactivation_profile()
    SenderProfileFactory(name="Main", purpose=SenderProfile.Purpose.MAIN)
    contact_list = ContactListFactory()

    scenario = scenario_from("inactivity", name="Relance inactifs", contact_list=contact_list)

    blocks = {block.key: block for block in scenario.blocks.all()}
    assert blocks["entry"].config["segment"] == Segment.objects.get(slug="inactive").pk
    assert "segment_slug" not in blocks["entry"].config
    assert blocks["split"].config["weights"] == {"a": 50, "b": 50}
    assert blocks["split"].next == {"a": "wait-sms", "b": "wait-email"}
    assert blocks["click"].config == {"block": "email", "timeout_days": 14}
    assert blocks["generic"].kind == "generic_channel"
    sms, email = blocks["sms"].campaign, blocks["email"].campaign
    assert (sms.channel, email.channel) == ("sms", "email")
    assert email.name == "Relance inactifs – E-mail de réactivation"
    for campaign in (sms, email):
        assert campaign.kind == Campaign.Kind.SCENARIO
        assert campaign.status == Campaign.Status.DRAFT
        assert campaign.sender_profile == profile
    assert "{{ unsubscribe_url }}" in email.html_body
    assert scenario.contact_list == contact_list
    assert scenario.status == "draft"


@pytest.mark.parametrize("slug", ESSENTIALS)
def test_each_essentials_template_passes_the_activation_check(slug):
    reactivation_profile()

    scenario = scenario_from(slug)

    assert scenario_check(scenario) == []
    assert scenario.blocks.filter(kind="entry").count() == 1
    assert scenario.blocks.filter(kind="end").exists()


@pytest.mark.parametrize("slug", INSPIRATION)
def test_each_inspiration_template_once_enabled_passes_the_activation_check(slug):
    reactivation_profile()
    ScenarioTemplate.objects.filter(slug=slug).update(is_enabled=True)

    assert scenario_check(scenario_from(slug)) == []


def test_we_miss_you_waits_for_the_stay_subscribed_link_and_creates_its_tag():
    scenario = scenario_from("we-miss-you")

    blocks = {block.key: block for block in scenario.blocks.all()}
    url = blocks["click"].config["url"]
    assert url.startswith("https://")
    assert url in blocks["email"].campaign.html_body
    assert blocks["unsubscribe"].config == {"channel": "email", "reason": "inactivity"}
    assert Tag.objects.filter(name="reactive").exists()


def test_loyalty_expiry_shows_points_and_expiry_and_enters_on_the_loyalty_segment():
    scenario = scenario_from("loyalty-expiry")

    blocks = {block.key: block for block in scenario.blocks.all()}
    assert blocks["entry"].config["segment"] == Segment.objects.get(slug="loyalty-expiring").pk
    body = blocks["email"].campaign.html_body
    assert "{{ loyalty_points }}" in body
    assert '{{ loyalty_points_expire_on|date:"d/m/Y" }}' in body
    assert blocks["purchased"].next == {"yes": "end-reactivated", "no": "sms"}


def test_main_sender_profile_is_used_without_a_reactivation_one():
    main = SenderProfileFactory(name="Main", purpose=SenderProfile.Purpose.MAIN)

    scenario = scenario_from("we-miss-you")

    assert scenario.blocks.get(key="email").campaign.sender_profile == main


def test_disabled_template_is_refused():
    template = ScenarioTemplate.objects.get(slug="progressive-sunset")

    with pytest.raises(ValidationError):
        scenario_create_from_template(template=template, name="Sunset")

    assert not template.scenarios.exists()
    assert not Campaign.objects.filter(kind=Campaign.Kind.SCENARIO).exists()


def test_blank_canvas_has_an_entry_and_an_end():
    scenario = scenario_create_blank(name="Blank")

    assert sorted(scenario.blocks.values_list("kind", flat=True)) == ["end", "entry"]
    assert scenario.blocks.get(kind="entry").next == {"next": "end"}
