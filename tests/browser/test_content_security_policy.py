"""The Content-Security-Policy in a real browser: the public sign-up page (ALTCHA solves its
challenge in a worker) and the admin's scripted pages work, and the browser reports no
violation."""

import pytest
from django.urls import reverse

from tests.factories import CampaignFactory, ContactFactory, ContactListFactory
from tests.scenarios.factories import ScenarioFactory
from tests.signups.factories import SignupFormFactory

pytestmark = pytest.mark.browser


def violations_recorder(page) -> list[str]:
    """What the browser's console says about the policy (Chromium: "Refused to ... because it
    violates the following Content Security Policy directive")."""
    reported: list[str] = []
    page.on(
        "console",
        lambda message: (
            reported.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    return reported


def test_the_signup_page_solves_its_captcha_under_the_strict_policy(page, live_server):
    signup_form = SignupFormFactory(slug="newsletter")
    violations = violations_recorder(page)

    response = page.goto(live_server.url + reverse("signups:signup", args=[signup_form.slug]))
    page.locator("altcha-widget input[type=checkbox]").click()
    # A locator, not a script: evaluating a string is what the policy forbids.
    page.locator("altcha-widget .altcha[data-state=verified]").wait_for()

    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert violations == []


def test_admin_pages_with_scripts_run_under_the_admin_policy(logged_in_page, live_server):
    page = logged_in_page
    violations = violations_recorder(page)
    contact_list = ContactListFactory()
    contact_list.contacts.add(ContactFactory())
    campaign = CampaignFactory(
        html_body='<p>Hi {{ first_name }}</p><img src="https://cdn.example.com/logo.png">',
        target_lists=[contact_list],
    )
    scenario = ScenarioFactory(status="draft")

    # The rule editor is built by its script: its rows appear only if the script ran.
    page.goto(live_server.url + reverse("admin:segments_segment_add"))
    page.wait_for_selector(".rule-editor-tree .rule-group-root")
    page.goto(live_server.url + reverse("admin:campaigns_campaign_preview", args=[campaign.pk]))
    page.wait_for_selector("#preview-html")
    page.goto(live_server.url + reverse("admin:scenarios_scenario_change", args=[scenario.pk]))
    page.goto(live_server.url + reverse("admin:contacts_contact_changelist"))
    # Django's own admin script: the select-all checkbox ticks every row.
    page.locator("#action-toggle").click()

    assert page.locator("input.action-select:checked").count() >= 1
    assert violations == []
