"""What each role may open and do in the admin: every custom page and action, and the model
pages that separate the roles. Users are staff, not superusers: their rights come from their
group only (as `migrate` created it)."""

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils import timezone

from campaigns.models import Campaign
from contacts.models import Contact, ImportJob
from scenarios.models import GenericChannelEntry, Scenario, ScenarioTemplate
from segments.models import Cleaning, Segment
from tests.factories import (
    CampaignFactory,
    ContactFactory,
    ContactListFactory,
    SegmentFactory,
    SenderProfileFactory,
)
from tests.scenarios.factories import ScenarioFactory
from tests.staff.conftest import ROLES

pytestmark = pytest.mark.django_db

MARKETER, MANAGER, ADMINISTRATOR = ROLES
YES, NO = True, False


def import_job() -> ImportJob:
    job = ImportJob(original_name="spring.csv", status=ImportJob.Status.DONE)
    job.file.save("spring.csv", ContentFile(b"email\na@example.com\n"), save=False)
    job.rejects_file.save("rejects.csv", ContentFile(b"line,reason\n3,invalid\n"), save=False)
    job.save()
    return job


def done_cleaning() -> Cleaning:
    return Cleaning.objects.create(
        criterion="Never opened in the last 90 days",
        kind=Cleaning.Kind.NEVER_OPENED,
        days=90,
        status=Cleaning.Status.DONE,
    )


def url(name: str, *args) -> str:
    return reverse(f"admin:{name}", args=args)


# (page, how to get its address, whether Marketer / Manager / Administrator may open it).
PAGES: list[tuple[str, Callable[[], str], tuple[bool, bool, bool]]] = [
    # The home page (with the dashboard's panels).
    ("admin home", lambda: url("index"), (YES, YES, YES)),
    # Contacts, lists, imports.
    ("contact list", lambda: url("contacts_contact_changelist"), (YES, YES, YES)),
    ("contact add", lambda: url("contacts_contact_add"), (YES, YES, YES)),
    ("contact import", lambda: url("contacts_contact_import"), (YES, YES, YES)),
    ("contact delete", lambda: url("contacts_contact_delete", ContactFactory().pk), (NO, YES, YES)),
    (
        "contact data export (GDPR)",
        lambda: url("contacts_contact_privacy_export", ContactFactory().pk),
        (YES, YES, YES),
    ),
    (
        "contact data erasure (GDPR)",
        lambda: url("contacts_contact_privacy_erase", ContactFactory().pk),
        (NO, YES, YES),
    ),
    ("list add", lambda: url("contacts_contactlist_add"), (YES, YES, YES)),
    (
        "list delete",
        lambda: url("contacts_contactlist_delete", ContactListFactory().pk),
        (NO, YES, YES),
    ),
    ("import job", lambda: url("contacts_importjob_change", import_job().pk), (YES, YES, YES)),
    ("import rejects", lambda: url("contacts_importjob_rejects", import_job().pk), (YES, YES, YES)),
    (
        "import job delete",
        lambda: url("contacts_importjob_delete", import_job().pk),
        (NO, YES, YES),
    ),
    (
        "engagement policy edit",
        lambda: url("contacts_engagementpolicy_changelist"),
        # Everybody reads it (the list page redirects to the one row); see the POST test.
        (YES, YES, YES),
    ),
    # Segments, cleaning, report.
    ("segment add", lambda: url("segments_segment_add"), (YES, YES, YES)),
    ("segment page", lambda: url("segments_segment_change", SegmentFactory().pk), (YES, YES, YES)),
    ("segment delete", lambda: url("segments_segment_delete", SegmentFactory().pk), (NO, YES, YES)),
    ("cleanings", lambda: url("segments_cleaning_changelist"), (YES, YES, YES)),
    ("clean the base", lambda: url("segments_cleaning_clean"), (NO, YES, YES)),
    (
        "cleaning download",
        lambda: url("segments_cleaning_export") + "?criterion=never_opened&days=90",
        (NO, YES, YES),
    ),
    ("cleaning add", lambda: url("segments_cleaning_add"), (NO, YES, YES)),
    (
        "cleaning revert",
        lambda: url("segments_cleaning_revert", done_cleaning().pk),
        (NO, YES, YES),
    ),
    ("inactivity report", lambda: url("segments_leadsourceinactivity_changelist"), (YES, YES, YES)),
    # Campaigns and sender profiles.
    ("campaign add", lambda: url("campaigns_campaign_add"), (YES, YES, YES)),
    (
        "campaign page",
        lambda: url("campaigns_campaign_change", CampaignFactory().pk),
        (YES, YES, YES),
    ),
    (
        "campaign preview",
        lambda: url("campaigns_campaign_preview", CampaignFactory().pk),
        (YES, YES, YES),
    ),
    (
        "campaign audience",
        lambda: url("campaigns_campaign_audience", CampaignFactory().pk),
        (YES, YES, YES),
    ),
    (
        "campaign send page",
        lambda: url("campaigns_campaign_send", CampaignFactory().pk),
        (YES,) * 3,
    ),
    ("campaign report", lambda: url("campaigns_campaign_report", CampaignFactory().pk), (YES,) * 3),
    ("sender profiles", lambda: url("campaigns_senderprofile_changelist"), (YES, YES, YES)),
    ("sender profile add", lambda: url("campaigns_senderprofile_add"), (NO, NO, YES)),
    (
        "sender profile delete",
        lambda: url("campaigns_senderprofile_delete", SenderProfileFactory().pk),
        (NO, NO, YES),
    ),
    # Scenarios.
    ("template catalogue", lambda: url("scenarios_scenariotemplate_changelist"), (YES, YES, YES)),
    ("blank scenario", lambda: url("scenarios_scenariotemplate_blank"), (YES, YES, YES)),
    (
        "scenario from a template",
        lambda: url(
            "scenarios_scenariotemplate_create",
            ScenarioTemplate.objects.filter(is_enabled=True).first().pk,
        ),
        (YES, YES, YES),
    ),
    ("scenario page", lambda: url("scenarios_scenario_change", ScenarioFactory().pk), (YES,) * 3),
    (
        "scenario delete",
        lambda: url("scenarios_scenario_delete", ScenarioFactory(status="draft").pk),
        (NO, YES, YES),
    ),
    (
        "block add",
        lambda: url("scenarios_scenario_block_add", ScenarioFactory(status="draft").pk),
        (YES, YES, YES),
    ),
    ("enrollments", lambda: url("scenarios_enrollment_changelist"), (YES, YES, YES)),
    # The audit trail: read by everybody, written by nobody.
    ("audit trail", lambda: url("auditlog_logentry_changelist"), (YES, YES, YES)),
    ("audit entry add", lambda: url("auditlog_logentry_add"), (NO, NO, NO)),
    # Users, groups, tasks: administrators only.
    ("users", lambda: url("auth_user_changelist"), (NO, NO, YES)),
    ("groups", lambda: url("auth_group_changelist"), (NO, NO, YES)),
    ("task schedules", lambda: url("django_q_schedule_changelist"), (NO, NO, YES)),
    ("login failures", lambda: url("axes_accessattempt_changelist"), (NO, NO, YES)),
]

CASES = [
    pytest.param(address, role, allowed[index], id=f"{name}-{role}")
    for name, address, allowed in PAGES
    for index, role in enumerate(ROLES)
]


def is_refused(response) -> bool:
    """A 403, or the admin sending a staff member without the right to its login page."""
    if response.status_code == 403:
        return True
    return response.status_code == 302 and reverse("admin:login") in response["Location"]


@pytest.mark.parametrize(("address", "role", "allowed"), CASES)
def test_page_is_open_to_the_roles_it_belongs_to(role_client, address, role, allowed):
    client = role_client(role)

    response = client.get(address())

    if allowed:
        assert response.status_code in (200, 302), response.status_code
        assert not is_refused(response)
    else:
        assert is_refused(response), response.status_code


# Actions: the right ones act, the others change nothing. --------------------------------------


def future() -> str:
    return (timezone.localtime() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")


@pytest.mark.parametrize(
    ("role", "allowed"), [(MARKETER, NO), (MANAGER, YES), (ADMINISTRATOR, YES)]
)
def test_only_managers_and_administrators_send_campaigns(role_client, role, allowed):
    campaign = CampaignFactory(html_body="<p>Hi</p>", target_lists=[ContactListFactory()])
    client = role_client(role)

    response = client.post(
        url("campaigns_campaign_send", campaign.pk), {"action": "schedule", "at": future()}
    )

    campaign.refresh_from_db()
    if allowed:
        assert response.status_code == 302
        assert campaign.status == Campaign.Status.SCHEDULED
    else:
        assert response.status_code == 403
        assert campaign.status == Campaign.Status.DRAFT


@pytest.mark.parametrize("role", ROLES)
def test_every_role_edits_a_draft_campaign_and_none_a_scheduled_one(role_client, role):
    draft = CampaignFactory(name="Spring")
    scheduled = CampaignFactory(name="Summer", status=Campaign.Status.SCHEDULED)
    client = role_client(role)

    draft_page = client.get(url("campaigns_campaign_change", draft.pk)).content.decode()
    scheduled_page = client.get(url("campaigns_campaign_change", scheduled.pk)).content.decode()

    assert 'name="name"' in draft_page
    assert 'name="name"' not in scheduled_page
    assert client.get(url("campaigns_campaign_delete", scheduled.pk)).status_code == 403


@pytest.mark.parametrize(
    ("role", "allowed"), [(MARKETER, NO), (MANAGER, YES), (ADMINISTRATOR, YES)]
)
def test_only_managers_and_administrators_pause_or_activate_scenarios(role_client, role, allowed):
    scenario = ScenarioFactory(status=Scenario.Status.ACTIVE)
    client = role_client(role)

    response = client.post(url("scenarios_scenario_status", scenario.pk), {"action": "pause"})

    scenario.refresh_from_db()
    if allowed:
        assert response.status_code == 302
        assert scenario.status == Scenario.Status.PAUSED
    else:
        assert response.status_code == 403
        assert scenario.status == Scenario.Status.ACTIVE


@pytest.mark.parametrize(
    ("role", "allowed"), [(MARKETER, NO), (MANAGER, YES), (ADMINISTRATOR, YES)]
)
def test_only_managers_and_administrators_enable_more_inspiration_templates(
    role_client, role, allowed
):
    template = ScenarioTemplate.objects.filter(
        category=ScenarioTemplate.Category.INSPIRATION
    ).first()
    template.is_enabled = False
    template.save(update_fields=["is_enabled"])
    client = role_client(role)

    client.post(
        url("scenarios_scenariotemplate_changelist") + "?category__exact=inspiration",
        {"action": "enable", "_selected_action": [template.pk]},
    )

    template.refresh_from_db()
    assert template.is_enabled is allowed


@pytest.mark.parametrize("role", ROLES)
def test_every_role_creates_a_draft_scenario_from_the_blank_canvas(role_client, role):
    client = role_client(role)

    response = client.post(url("scenarios_scenariotemplate_blank"), {"name": f"{role} draft"})

    scenario = Scenario.objects.get(name=f"{role} draft")
    assert response.status_code == 302
    assert scenario.status == Scenario.Status.DRAFT


@pytest.mark.parametrize(
    ("role", "allowed"), [(MARKETER, NO), (MANAGER, YES), (ADMINISTRATOR, YES)]
)
def test_only_managers_and_administrators_clean_the_base(
    role_client, role, allowed, django_capture_on_commit_callbacks
):
    client = role_client(role)

    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(
            url("segments_cleaning_clean"), {"criterion": "never_opened", "days": "90"}
        )

    assert Cleaning.objects.exists() is allowed
    assert response.status_code == (302 if allowed else 403)


@pytest.mark.parametrize(
    ("role", "allowed"), [(MARKETER, NO), (MANAGER, YES), (ADMINISTRATOR, YES)]
)
def test_only_managers_and_administrators_revert_a_cleaning(
    role_client, role, allowed, django_capture_on_commit_callbacks
):
    cleaning = done_cleaning()
    client = role_client(role)

    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(url("segments_cleaning_revert", cleaning.pk))

    cleaning.refresh_from_db()
    reverted = cleaning.revert_status == Cleaning.RevertStatus.PENDING
    assert reverted is allowed
    assert response.status_code == (302 if allowed else 403)


@pytest.mark.parametrize(
    ("role", "allowed"), [(MARKETER, NO), (MANAGER, YES), (ADMINISTRATOR, YES)]
)
def test_marketers_cannot_delete_contacts_in_bulk(role_client, role, allowed):
    contacts = ContactFactory.create_batch(3)
    client = role_client(role)

    client.post(
        url("contacts_contact_changelist"),
        {
            "action": "delete_selected",
            "_selected_action": [contact.pk for contact in contacts],
            "post": "yes",
        },
    )

    assert Contact.objects.count() == (0 if allowed else 3)


@pytest.mark.parametrize("role", ROLES)
def test_every_role_evaluates_and_previews_segments(
    role_client, role, django_capture_on_commit_callbacks
):
    segment = SegmentFactory()
    client = role_client(role)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        evaluate = client.post(url("segments_segment_evaluate", segment.pk))
    preview = client.post(
        url("segments_segment_preview"), {"rule": '{"match": "all", "conditions": []}'}
    )

    assert evaluate.status_code == 302 and len(callbacks) == 1
    assert preview.status_code == 200 and "count" in preview.json()


@pytest.mark.parametrize(
    ("role", "allowed"), [(MARKETER, NO), (MANAGER, YES), (ADMINISTRATOR, YES)]
)
def test_only_managers_and_administrators_delete_segments(role_client, role, allowed):
    segment = SegmentFactory()
    client = role_client(role)

    client.post(url("segments_segment_delete", segment.pk), {"post": "yes"})

    assert Segment.objects.filter(pk=segment.pk).exists() is not allowed


@pytest.mark.parametrize(("role", "allowed"), [(MARKETER, NO), (MANAGER, NO), (ADMINISTRATOR, YES)])
def test_only_administrators_change_the_sending_policies(role_client, role, allowed):
    client = role_client(role)
    cap_url = url("campaigns_frequencycap_changelist")
    change_url = client.get(cap_url)["Location"]

    response = client.post(change_url, {"per_day": "2", "per_week": "5", "per_month": "10"})

    assert response.status_code == (302 if allowed else 403)


@pytest.mark.parametrize("role", ROLES)
def test_no_role_sees_a_stored_sender_secret(role_client, role):
    profile = SenderProfileFactory(
        smtp_host="smtp.example.com", smtp_password="hunter2-secret", esp_api_key="key-123456"
    )
    client = role_client(role)

    response = client.get(url("campaigns_senderprofile_change", profile.pk))

    page = response.content.decode()
    assert response.status_code == 200
    assert "smtp.example.com" in page
    assert "hunter2-secret" not in page
    assert "key-123456" not in page


def test_marketer_group_has_no_delete_right_on_contacts_and_no_sending_right():
    marketer = Group.objects.get(name=MARKETER)

    codenames = set(marketer.permissions.values_list("codename", flat=True))

    assert {"add_contact", "change_contact", "add_campaign", "add_scenario"} <= codenames
    assert not {c for c in codenames if c.startswith("delete_") and c != "delete_campaign"} - {
        "delete_block"
    }
    assert not {"send_campaign", "activate_scenario", "enable_scenariotemplate"} & codenames
    assert not {"change_senderprofile", "add_cleaning", "change_cleaning"} & codenames


@pytest.mark.parametrize("role", ROLES)
def test_every_role_exports_the_generic_channel_audience(role_client, role):
    scenario = ScenarioFactory()
    entry = GenericChannelEntry.objects.create(
        channel="facebook", contact=ContactFactory(email="ann@example.com"), scenario=scenario
    )
    client = role_client(role)

    response = client.post(
        url("scenarios_genericchannelentry_changelist"),
        {"action": "export_csv", "_selected_action": [entry.pk]},
    )

    assert response["Content-Type"].startswith("text/csv")
    assert "ann@example.com" in response.content.decode()
