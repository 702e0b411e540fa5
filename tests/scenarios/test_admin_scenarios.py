"""The scenario admin through the test client: catalogue, creation, activation, editing."""

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from campaigns.models import Campaign
from contacts.models import Contact
from scenarios.models import GenericChannelEntry, Scenario, ScenarioTemplate
from segments.models import Segment
from tests.factories import ContactFactory, ContactListFactory, SegmentMembershipFactory
from tests.scenarios.factories_admin import (
    end,
    entry,
    reactivation_profile,
    scenario_from,
    scenario_with,
    wait,
)

pytestmark = pytest.mark.django_db

CATALOGUE = reverse("admin:scenarios_scenariotemplate_changelist")


def _messages(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def _create_url(slug: str) -> str:
    template = ScenarioTemplate.objects.get(slug=slug)
    return reverse("admin:scenarios_scenariotemplate_create", args=[template.pk])


def _status(client, scenario, action):
    return client.post(
        reverse("admin:scenarios_scenario_status", args=[scenario.pk]),
        {"action": action},
        follow=True,
    )


def test_catalogue_opens_on_essentials_and_has_two_tabs(staff_client):
    response = staff_client.get(CATALOGUE, follow=True)

    assert response.redirect_chain[-1][0].endswith("category__exact=essentials")
    content = response.content.decode()
    assert "Inactivity" in content and "We miss you" in content
    assert "Progressive sunset" not in content
    assert "More inspiration" in content and "category__exact=inspiration" in content
    assert _create_url("inactivity") in content

    inspiration = staff_client.get(CATALOGUE + "?category__exact=inspiration").content.decode()
    assert "Progressive sunset" in inspiration
    assert "Not enabled" in inspiration
    assert _create_url("progressive-sunset") not in inspiration


@pytest.mark.parametrize("slug", ["inactivity", "we-miss-you", "loyalty-expiry"])
def test_create_from_each_essentials_template(staff_client, slug):
    contact_list = ContactListFactory()

    response = staff_client.post(
        _create_url(slug), {"name": "Ma relance", "contact_list": contact_list.pk}
    )

    scenario = Scenario.objects.get(name="Ma relance")
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:scenarios_scenario_change", args=[scenario.pk])
    assert scenario.template.slug == slug
    assert scenario.contact_list == contact_list
    assert scenario.created_by == staff_client.user
    assert scenario.blocks.filter(kind="entry", config__segment__isnull=False).exists()
    send_blocks = scenario.blocks.filter(kind__in=["send_email", "send_sms"])
    assert send_blocks.exists()
    assert not send_blocks.filter(campaign__isnull=True).exists()
    assert Campaign.objects.filter(kind="scenario", name__startswith="Ma relance – ").count() == (
        len(ScenarioTemplate.objects.get(slug=slug).graph["campaigns"])
    )


def test_create_page_shows_the_form_and_blank_canvas_works(staff_client):
    page = staff_client.get(_create_url("inactivity"))
    assert page.status_code == 200
    assert "All contacts" in page.content.decode()

    response = staff_client.post(
        reverse("admin:scenarios_scenariotemplate_blank"), {"name": "Toile vierge"}
    )

    scenario = Scenario.objects.get(name="Toile vierge")
    assert response.status_code == 302
    assert scenario.contact_list is None
    assert scenario.blocks.count() == 2


def test_disabled_template_is_refused(staff_client):
    response = staff_client.post(_create_url("progressive-sunset"), {"name": "Sunset"}, follow=True)

    assert not Scenario.objects.exists()
    assert any("not enabled" in message for message in _messages(response))


def test_enable_action_needs_the_permission(django_user_model, staff_client):
    template = ScenarioTemplate.objects.get(slug="progressive-sunset")
    data = {"action": "enable", "_selected_action": [template.pk]}
    url = CATALOGUE + "?category__exact=inspiration"
    user = django_user_model.objects.create_user("editor", password="pw", is_staff=True)
    user.user_permissions.add(
        Permission.objects.get(codename="view_scenariotemplate"),
        Permission.objects.get(codename="add_scenario"),
    )
    editor = Client()
    editor.force_login(user)

    editor.post(url, data)
    template.refresh_from_db()
    assert not template.is_enabled

    staff_client.post(url, data)
    template.refresh_from_db()
    assert template.is_enabled


def test_change_page_shows_diagram_counts_blocks_and_results(staff_client):
    scenario = scenario_from("inactivity")

    content = staff_client.get(
        reverse("admin:scenarios_scenario_change", args=[scenario.pk])
    ).content.decode()

    assert "<svg" in content
    for key in scenario.blocks.values_list("key", flat=True):
        assert f'data-key="{key}"' in content
    block = scenario.blocks.get(key="entry")
    block_url = reverse("admin:scenarios_scenario_block", args=[scenario.pk, block.pk])
    # Each box of the flow and each row of the block list leads to the block's page.
    assert content.count(f'href="{block_url}"') == 2
    assert 'id="block-add-link"' in content
    assert 'id="scenario-results"' in content
    assert "Goal: win back 20 %" in content
    assert 'value="activate"' in content


def test_activate_lists_every_failure_and_activates_nothing(staff_client):
    scenario = scenario_with(
        [entry(), wait(next_key=""), {"key": "send", "kind": "send_email", "next": {}}]
    )

    response = _status(staff_client, scenario, "activate")

    messages = _messages(response)
    assert any("leads nowhere" in message for message in messages)
    assert any("no campaign" in message for message in messages)
    scenario.refresh_from_db()
    assert scenario.status == Scenario.Status.DRAFT


def test_activate_pause_and_resume(staff_client):
    reactivation_profile()
    scenario = scenario_from("inactivity")
    Scenario.objects.filter(pk=scenario.pk).update(only_new_entries=True)

    _status(staff_client, scenario, "activate")
    scenario.refresh_from_db()
    assert scenario.status == Scenario.Status.ACTIVE
    campaigns = Campaign.objects.filter(kind=Campaign.Kind.SCENARIO)
    assert set(campaigns.values_list("status", flat=True)) == {"sending"}

    response = _status(staff_client, scenario, "pause")
    scenario.refresh_from_db()
    assert scenario.status == Scenario.Status.PAUSED
    assert set(campaigns.values_list("status", flat=True)) == {"paused"}
    assert 'value="resume"' in response.content.decode()

    _status(staff_client, scenario, "resume")
    scenario.refresh_from_db()
    assert scenario.status == Scenario.Status.ACTIVE


def test_activation_needs_the_permission(client, django_user_model):
    scenario = scenario_with([entry(), wait(), end()])
    user = django_user_model.objects.create_user("viewer", password="pw", is_staff=True)
    user.user_permissions.add(
        Permission.objects.get(codename="view_scenario"),
        Permission.objects.get(codename="change_scenario"),
    )
    client.force_login(user)

    response = client.post(
        reverse("admin:scenarios_scenario_status", args=[scenario.pk]), {"action": "activate"}
    )

    assert response.status_code == 403
    scenario.refresh_from_db()
    assert scenario.status == Scenario.Status.DRAFT


def test_enrollments_list_and_generic_channel_csv(staff_client):
    scenario = scenario_with([entry(), wait(), end()])
    contact = ContactFactory(email="jean.dupont@example.com", first_name="=cmd")
    enrollment = scenario.enrollments.create(contact=contact, state="completed", branch="b")
    GenericChannelEntry.objects.create(
        channel="Audience publicitaire", contact=contact, scenario=scenario, enrollment=enrollment
    )

    listing = staff_client.get(
        reverse("admin:scenarios_enrollment_changelist") + f"?scenario__id__exact={scenario.pk}"
    )
    detail = staff_client.get(reverse("admin:scenarios_enrollment_change", args=[enrollment.pk]))
    export = staff_client.post(
        reverse("admin:scenarios_genericchannelentry_changelist"),
        {
            "action": "export_csv",
            "_selected_action": list(GenericChannelEntry.objects.values_list("pk", flat=True)),
        },
    )

    assert listing.status_code == 200 and "jean.dupont@example.com" in listing.content.decode()
    assert detail.status_code == 200
    assert export["Content-Type"].startswith("text/csv")
    body = export.content.decode()
    assert "Audience publicitaire,jean.dupont@example.com" in body
    assert "'=cmd" in body
    assert not GenericChannelEntry.objects.filter(exported_at__isnull=True).exists()
    assert Contact.objects.count() == 1


def test_activation_page_follows_the_enrolment_of_segment_members(
    staff_client, django_capture_on_commit_callbacks
):
    reactivation_profile()
    scenario = scenario_from("we-miss-you")
    SegmentMembershipFactory(segment=Segment.objects.get(slug="inactive"))
    url = reverse("admin:scenarios_scenario_change", args=[scenario.pk])

    with django_capture_on_commit_callbacks() as callbacks:
        _status(staff_client, scenario, "activate")
    running = staff_client.get(url).content.decode()
    for callback in callbacks:
        callback()
    done = staff_client.get(url).content.decode()

    assert "A worker is enrolling them" in running
    assert "1 contact already in the segment was enrolled" in done


def test_the_export_needs_its_own_permission_and_marks_only_the_selection(
    client, django_user_model
):
    scenario = scenario_with([entry(), wait(), end()])
    chosen, other = (
        GenericChannelEntry.objects.create(
            channel="Courrier",
            contact=contact,
            scenario=scenario,
            enrollment=scenario.enrollments.create(contact=contact, state="completed"),
        )
        for contact in ContactFactory.create_batch(2)
    )
    user = django_user_model.objects.create_user("viewer", password="pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_genericchannelentry"))
    client.force_login(user)
    url = reverse("admin:scenarios_genericchannelentry_changelist")
    data = {"action": "export_csv", "_selected_action": [chosen.pk]}

    refused = client.post(url, data)
    user.user_permissions.add(Permission.objects.get(codename="export_genericchannelentry"))
    user = django_user_model.objects.get(pk=user.pk)  # permissions are cached per instance
    client.force_login(user)
    exported = client.post(url, data)

    assert not refused["Content-Type"].startswith("text/csv")
    assert exported["Content-Type"].startswith("text/csv")
    chosen.refresh_from_db()
    other.refresh_from_db()
    assert chosen.exported_at is not None and other.exported_at is None


def test_only_a_draft_scenario_can_be_deleted(staff_client):
    draft = scenario_with([entry(), wait(), end()])
    ran = scenario_with([entry(), wait(), end()], status=Scenario.Status.PAUSED)

    kept = staff_client.post(
        reverse("admin:scenarios_scenario_delete", args=[ran.pk]), {"post": "yes"}
    )
    gone = staff_client.post(
        reverse("admin:scenarios_scenario_delete", args=[draft.pk]), {"post": "yes"}
    )
    listing = staff_client.get(reverse("admin:scenarios_scenario_changelist"))

    assert kept.status_code == 403
    assert gone.status_code == 302
    assert list(Scenario.objects.values_list("pk", flat=True)) == [ran.pk]
    assert "delete_selected" not in listing.content.decode()


def test_enrollments_filter_by_branch_and_outcome(staff_client):
    scenario = scenario_with([entry(), wait(), end()])
    reactivated = scenario.enrollments.create(
        contact=ContactFactory(email="won@example.com"),
        state="completed",
        branch="a",
        outcome="reactivated",
    )
    scenario.enrollments.create(
        contact=ContactFactory(email="lost@example.com"),
        state="completed",
        branch="b",
        outcome="let go",
    )
    url = reverse("admin:scenarios_enrollment_changelist")

    by_outcome = staff_client.get(url + "?outcome=reactivated").content.decode()
    by_branch = staff_client.get(url + "?branch=b").content.decode()

    assert "won@example.com" in by_outcome and "lost@example.com" not in by_outcome
    assert "lost@example.com" in by_branch and "won@example.com" not in by_branch
    assert reactivated.outcome == "reactivated"


def test_activation_and_enabling_are_in_the_audit_trail(staff_client):
    from auditlog.models import LogEntry

    reactivation_profile()
    scenario = scenario_from("inactivity")
    Scenario.objects.filter(pk=scenario.pk).update(only_new_entries=True)
    template = ScenarioTemplate.objects.get(slug="win-back-discount")

    _status(staff_client, scenario, "activate")
    staff_client.post(
        CATALOGUE + "?category__exact=inspiration",
        {"action": "enable", "_selected_action": [template.pk]},
    )

    update = LogEntry.Action.UPDATE
    activation = LogEntry.objects.get_for_object(scenario).get(action=update)
    enabling = LogEntry.objects.get_for_object(template).get(action=update)
    assert activation.actor == staff_client.user
    assert activation.changes_dict["status"] == ["draft", "active"]
    assert enabling.changes_dict["is_enabled"] == ["False", "True"]
