"""A scenario in a real browser: from the catalogue, create one from the Inactivity template,
edit a block, activate it, and see the live counts once the engine has run."""

import importlib
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from campaigns.models import Campaign, SenderProfile
from scenarios.engine import scenarios_tick
from scenarios.models import Block, Scenario
from segments.models import Segment, SegmentMembership
from tests.factories import ContactFactory

pytestmark = pytest.mark.browser


@pytest.fixture
def catalogue(transactional_db):
    """The built-in segments and templates: a live-server test's database is emptied between
    tests, data migrations included, so they are installed again."""
    for module in (
        "segments.migrations.0002_builtin_segments",
        "scenarios.migrations.0002_scenario_templates",
    ):
        importlib.import_module(module).install(apps, SimpleNamespace(connection=connection))


def test_staff_creates_edits_activates_a_scenario_and_sees_counts(
    logged_in_page, live_server, catalogue
):
    page = logged_in_page
    SenderProfile.objects.create(
        name="Réactivation",
        purpose=SenderProfile.Purpose.REACTIVATION,
        from_name="La Boutique",
        from_email="bonjour@relance.example",
    )
    inactive = Segment.objects.get(slug="inactive")
    for contact in ContactFactory.create_batch(4):
        SegmentMembership.objects.create(
            segment=inactive, contact=contact, entered_at=timezone.now()
        )

    # The catalogue opens on the Essentials tab.
    page.goto(live_server.url + reverse("admin:scenarios_scenariotemplate_changelist"))
    row = page.locator("#result_list tr", has_text="Inactivity")
    row.locator("a.button", has_text="Create a scenario").click()
    page.fill("#id_name", "Relance des inactifs")
    page.click("input[type=submit]")
    expect(page.locator("#scenario-diagram svg")).to_be_visible()
    scenario = Scenario.objects.get(name="Relance des inactifs")

    # Edit the wait for a click from its box in the flow: 10 days instead of 14.
    click_block = Block.objects.get(scenario=scenario, kind="wait_for_click")
    page.click(f"#scenario-diagram g.block[data-key='{click_block.key}']")
    expect(page.locator("#block-settings")).to_be_visible()
    page.fill("#id_settings-timeout_days", "10")
    page.click("#block-form input[type=submit]")
    expect(page.locator(".messagelist .success")).to_be_visible()
    click_block.refresh_from_db()
    assert click_block.config["timeout_days"] == 10

    # Add a score block and connect it after the click; the flow shows it.
    page.click("#block-add-link")
    page.select_option("#id_kind", "score")
    page.fill("#id_name", "Bonus de retour")
    page.click("input[type=submit]")
    page.fill("#id_settings-delta", "5")
    page.select_option("#id_next__next", click_block.next["clicked"])
    page.click("#block-form input[type=submit]")
    expect(page.locator(".messagelist .success")).to_be_visible()
    page.goto(
        live_server.url
        + reverse("admin:scenarios_scenario_block", args=[scenario.pk, click_block.pk])
    )
    page.select_option("#id_next__clicked", "score")
    page.click("#block-form input[type=submit]")
    expect(page.locator("#scenario-diagram svg")).to_contain_text("Bonus de retour")
    assert Block.objects.get(scenario=scenario, key="score").config == {"delta": 5}

    # Activate: the contacts already in the segment are enrolled, the campaigns start.
    page.click("button:has-text('Activate')")
    expect(page.locator(".messagelist")).to_contain_text("The scenario is active.")
    scenario.refresh_from_db()
    assert scenario.status == Scenario.Status.ACTIVE
    assert scenario.enrollments.count() == 4
    assert set(
        Campaign.objects.filter(
            pk__in=scenario.blocks.exclude(campaign=None).values("campaign_id")
        ).values_list("status", flat=True)
    ) == {Campaign.Status.SENDING}

    # A worker's tick moves them; the diagram counts them where they are.
    scenarios_tick()
    page.reload()
    expect(page.locator("#scenario-diagram svg")).to_contain_text("passed 4")
