"""The segment rule editor in a real browser: build a rule with the form, preview it, save it."""

import importlib
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from contacts.models import EmailStatus
from segments.models import Segment, SegmentEvaluation
from tests.factories import ContactFactory, LeadSourceFactory, SegmentFactory

pytestmark = pytest.mark.browser

BUILTIN_SEGMENTS = importlib.import_module(
    "segments.migrations.0002_builtin_segments"
).BUILTIN_SEGMENTS


@pytest.fixture
def page_errors(logged_in_page) -> list[str]:
    """JavaScript errors and console errors of the page, which must stay empty.

    Chromium logs every 400 answer as a console error: those are the preview naming the
    mistakes of an unfinished rule, which is expected.
    """
    errors: list[str] = []

    def console(message) -> None:
        if message.type == "error" and "status of 400" not in message.text:
            errors.append(message.text)

    logged_in_page.on("pageerror", lambda error: errors.append(str(error)))
    logged_in_page.on("console", console)
    return errors


def root_rows(page):
    return page.locator(".rule-group-root > .rule-group-items > .rule-condition")


def set_field(row, label: str) -> None:
    row.locator("select.rule-field").select_option(label=label)


def test_staff_builds_previews_and_saves_a_rule_with_the_form_editor(
    logged_in_page, live_server, page_errors
):
    page = logged_in_page
    now = timezone.now()
    fair, web = LeadSourceFactory(name="Fair"), LeadSourceFactory(name="Web")
    long_ago = now - timedelta(days=400)
    # Subscribed, no open for 6 months, and from the fair or with a score of 50 or more.
    ContactFactory(email="fair-never@example.com", lead_source=fair)
    ContactFactory(email="fair-old@example.com", lead_source=fair, last_open_at=long_ago)
    ContactFactory(email="web-scored@example.com", lead_source=web, score=80)
    # Not matching: a web contact with a low score, a recent opener, an unsubscribed one.
    ContactFactory(email="web-low@example.com", lead_source=web, score=10)
    ContactFactory(email="fair-recent@example.com", lead_source=fair, last_open_at=now)
    ContactFactory(
        email="fair-gone@example.com", lead_source=fair, email_status=EmailStatus.UNSUBSCRIBED
    )

    page.goto(live_server.url + reverse("admin:segments_segment_add"))
    page.locator("#id_name").press_sequentially("Sleeping fair visitors")
    expect(page.locator("#id_slug")).to_have_value("sleeping-fair-visitors")
    expect(page.locator(".rule-empty")).to_be_visible()
    # The empty rule matches everyone.
    expect(page.locator(".rule-preview-count")).to_contain_text("6 contacts match")

    root_add = page.locator(".rule-group-root > .rule-group-actions")
    root_add.locator(".rule-add-condition").click()
    status = root_rows(page).nth(0)
    set_field(status, "E-mail status")
    expect(status.locator("select.rule-operator")).to_have_value("is")
    status.locator("select.rule-choices").select_option(label="Subscribed")

    root_add.locator(".rule-add-condition").click()
    last_open = root_rows(page).nth(1)
    set_field(last_open, "Last open")
    last_open.locator("select.rule-operator").select_option("not_within")
    # The number is still missing: the preview names the mistake.
    expect(page.locator(".rule-preview-errors")).to_contain_text(
        "Condition 2: the number of days, weeks or months must be a whole number."
    )
    last_open.locator("input.rule-value").fill("6")
    last_open.locator("select.rule-unit").select_option("months")
    expect(page.locator(".rule-preview-count")).to_contain_text("4 contacts match")

    root_add.locator(".rule-add-group").click()
    group = page.locator(".rule-group-nested")
    expect(group).to_have_count(1)
    expect(group.locator("select.rule-match")).to_have_value("any")
    source = group.locator(".rule-condition").nth(0)
    set_field(source, "Lead source")
    source.locator("select.rule-choices").select_option(label="Fair")
    expect(page.locator(".rule-preview-count")).to_contain_text("2 contacts match")
    group.locator(".rule-group-actions .rule-add-condition").click()
    score = group.locator(".rule-condition").nth(1)
    set_field(score, "Score")
    score.locator("select.rule-operator").select_option("gte")
    score.locator("input.rule-value").fill("50")

    expect(page.locator("[data-rule-editor]")).to_have_attribute("data-preview-count", "3")
    expect(page.locator(".rule-preview-count")).to_contain_text("3 contacts match")
    sample = page.locator(".rule-preview-sample")
    for email in ("fair-never@example.com", "fair-old@example.com", "web-scored@example.com"):
        expect(sample.get_by_role("link", name=email)).to_be_visible()
    expect(page.locator(".rule-preview-sources")).to_contain_text("Fair")
    expect(page.locator(".rule-preview-sources tbody tr")).to_have_count(2)

    page.get_by_role("button", name="Save", exact=True).click()

    expect(page.locator(".messagelist")).to_contain_text("was added successfully")
    segment = Segment.objects.get(slug="sleeping-fair-visitors")
    assert segment.rule == {
        "match": "all",
        "conditions": [
            {"field": "email_status", "operator": "is", "value": ["subscribed"]},
            {"field": "last_open_at", "operator": "not_within", "value": 6, "unit": "months"},
            {
                "match": "any",
                "conditions": [
                    {"field": "lead_source", "operator": "is", "value": [fair.pk]},
                    {"field": "score", "operator": "gte", "value": 50},
                ],
            },
        ],
    }
    assert page_errors == []


def test_staff_evaluates_a_saved_segment_now_from_its_page(logged_in_page, live_server):
    page = logged_in_page
    ContactFactory.create_batch(2)
    segment = SegmentFactory(name="Everyone", slug="everyone")

    page.goto(live_server.url + reverse("admin:segments_segment_change", args=[segment.pk]))
    expect(page.locator(".rule-preview-count")).to_contain_text("2 contacts match")
    page.get_by_role("button", name="Evaluate now").click()

    # Tasks run synchronously in tests: the evaluation is done when the page comes back.
    expect(page.locator(".messagelist")).to_contain_text("1 segment queued for evaluation")
    expect(page.locator("#segment-evaluations tbody tr")).to_have_count(1)
    assert SegmentEvaluation.objects.get(segment=segment).members == 2
    page.get_by_role("link", name="Members", exact=True).click()
    expect(page.locator("#result_list tbody tr")).to_have_count(2)


def test_editor_draws_every_builtin_rule_without_errors(logged_in_page, live_server, page_errors):
    page = logged_in_page
    for spec in BUILTIN_SEGMENTS:
        segment = SegmentFactory(name=spec["name"], slug=spec["slug"], rule=spec["rule"])
        page.goto(live_server.url + reverse("admin:segments_segment_change", args=[segment.pk]))

        expect(page.locator("[data-rule-editor]")).to_have_attribute("data-editor-state", "ready")
        expect(root_rows(page)).to_have_count(len(spec["rule"]["conditions"]))
        expect(page.locator("[data-rule-editor]")).to_have_attribute("data-preview-state", "done")
        # Drawing the rule leaves it as it was: the raw view still holds the same JSON.
        assert (
            page.evaluate("JSON.parse(document.getElementById('id_rule').value)") == (spec["rule"])
        )
    assert page_errors == []


def test_editor_shows_names_with_html_as_text_in_the_preview(
    logged_in_page, live_server, page_errors
):
    page = logged_in_page
    ContactFactory(
        email="xss@example.com",
        first_name="<img src=x onerror=window.hacked=1>",
        lead_source=LeadSourceFactory(name="<b>Bold source</b>"),
    )

    page.goto(live_server.url + reverse("admin:segments_segment_add"))

    expect(page.locator(".rule-preview-count")).to_contain_text("1 contact matches")
    expect(page.locator(".rule-preview-sample")).to_contain_text(
        "<img src=x onerror=window.hacked=1>"
    )
    expect(page.locator(".rule-preview-sources")).to_contain_text("<b>Bold source</b>")
    expect(page.locator(".rule-preview img")).to_have_count(0)
    expect(page.locator(".rule-preview b")).to_have_count(0)
    assert page.evaluate("window.hacked === undefined")
    assert page_errors == []


def test_raw_view_edits_redraw_the_editor(logged_in_page, live_server, page_errors):
    page = logged_in_page

    page.goto(live_server.url + reverse("admin:segments_segment_add"))
    page.locator(".rule-editor-raw summary").click()
    page.fill(
        "#id_rule",
        '{"match": "any", "conditions": [{"field": "score", "operator": "lt", "value": 5}]}',
    )

    expect(root_rows(page)).to_have_count(1)
    expect(root_rows(page).nth(0).locator("select.rule-field")).to_have_value("score")
    expect(page.locator(".rule-group-root select.rule-match").first).to_have_value("any")
    page.fill("#id_rule", "{broken")
    expect(page.locator(".rule-editor-message")).to_be_visible()
    expect(page.locator(".rule-preview-errors")).to_contain_text("The rule is not valid JSON.")
    assert page_errors == []


def test_editor_draws_a_rule_with_mistakes_as_it_is_and_the_preview_names_them(
    logged_in_page, live_server, page_errors
):
    page = logged_in_page
    rule = {
        "match": "all",
        "conditions": [
            {"field": "shoe_size", "operator": "is", "value": 42},
            {"operator": "is"},
            {"field": "tag", "operator": "is", "value": [987654]},
            {"field": "last_open_at", "operator": "sometimes"},
            {"match": "maybe", "conditions": []},
        ],
    }
    segment = SegmentFactory(slug="broken", rule=rule)

    page.goto(live_server.url + reverse("admin:segments_segment_change", args=[segment.pk]))

    expect(root_rows(page)).to_have_count(4)
    expect(root_rows(page).nth(0).locator("select.rule-field")).to_contain_text(
        "unknown field: shoe_size"
    )
    expect(root_rows(page).nth(2).locator("select.rule-choices")).to_contain_text(
        "#987654 (no longer exists)"
    )
    errors = page.locator(".rule-preview-errors")
    expect(errors).to_contain_text("Condition 1: unknown field “shoe_size”.")
    expect(errors).to_contain_text("Condition 5: a group must match “all” or “any”")
    assert page.evaluate("JSON.parse(document.getElementById('id_rule').value)") == rule
    # Choosing a known field turns the row into a condition the editor fills in.
    set_field(root_rows(page).nth(0), "Score")
    expect(root_rows(page).nth(0).locator("select.rule-operator")).to_have_value("lt")
    stored = page.evaluate("JSON.parse(document.getElementById('id_rule').value)")
    assert stored["conditions"][0] == {"field": "score", "operator": "lt", "value": None}
    assert page_errors == []
