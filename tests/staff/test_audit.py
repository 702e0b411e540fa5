"""The audit trail: staff changes to segments, scenarios, campaigns, sender profiles,
cleanings and imports are recorded with who, when and what changed, and read in the admin."""

from datetime import timedelta

import pytest
from auditlog.context import set_actor
from auditlog.models import LogEntry
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from campaigns.models import Campaign
from contacts.models import ImportJob
from scenarios.models import Block
from segments.models import Cleaning, Segment
from staff.audit import SECRET_MASK
from tests.factories import (
    CampaignFactory,
    ContactListFactory,
    SegmentFactory,
    SenderProfileFactory,
)
from tests.scenarios.factories import BlockFactory, ScenarioFactory
from tests.staff.conftest import ROLES

pytestmark = pytest.mark.django_db

MARKETER, MANAGER, ADMINISTRATOR = ROLES


def entries_of(obj) -> list[LogEntry]:
    return list(
        LogEntry.objects.get_for_object(obj).select_related("actor").order_by("timestamp", "pk")
    )


def segment_form(segment: Segment, **changes) -> dict:
    data = {
        "name": segment.name,
        "slug": segment.slug,
        "description": segment.description,
        "rule": '{"match": "all", "conditions": []}',
        "is_active": "on" if segment.is_active else "",
        "evaluation_interval_hours": segment.evaluation_interval_hours,
    }
    return {**data, **changes}


def test_a_segment_changed_in_the_admin_records_who_and_which_fields(
    role_client, django_capture_on_commit_callbacks
):
    segment = SegmentFactory(name="Lapsed", is_active=False)
    client = role_client(MARKETER)
    created = entries_of(segment)

    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(
            reverse("admin:segments_segment_change", args=[segment.pk]),
            segment_form(segment, name="Lapsed spring buyers", is_active="on"),
        )

    assert response.status_code == 302, response.context["adminform"].form.errors
    [entry] = entries_of(segment)[len(created) :]
    assert entry.action == LogEntry.Action.UPDATE
    assert entry.actor == client.user
    assert set(entry.changes_dict) == {"name", "is_active"}
    assert entry.changes_dict["name"] == ["Lapsed", "Lapsed spring buyers"]


def test_a_worker_save_is_recorded_without_an_actor():
    segment = SegmentFactory(name="Lapsed")

    segment.description = "Changed by a script"
    segment.save()

    entry = entries_of(segment)[-1]
    assert entry.actor is None
    assert set(entry.changes_dict) == {"description"}


def test_fields_kept_by_workers_are_not_recorded():
    segment = SegmentFactory()
    entries_before = len(entries_of(segment))

    segment.member_count = 1234
    segment.last_evaluated_at = timezone.now()
    segment.save()

    assert len(entries_of(segment)) == entries_before


def test_sending_a_campaign_from_its_page_records_the_status_change(role_client):
    campaign = CampaignFactory(html_body="<p>Hi</p>", target_lists=[ContactListFactory()])
    client = role_client(MANAGER)
    at = (timezone.localtime() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")

    client.post(
        reverse("admin:campaigns_campaign_send", args=[campaign.pk]),
        {"action": "schedule", "at": at},
    )

    entry = entries_of(campaign)[-1]
    assert entry.actor == client.user
    assert entry.changes_dict["status"] == [Campaign.Status.DRAFT, Campaign.Status.SCHEDULED]
    assert entry.changes_dict["scheduled_at"][0] == "None"


def test_a_refused_send_records_nothing(role_client):
    campaign = CampaignFactory(sender_profile=None)
    client = role_client(MANAGER)
    entries_before = len(entries_of(campaign))

    client.post(reverse("admin:campaigns_campaign_send", args=[campaign.pk]), {"action": "send"})

    assert len(entries_of(campaign)) == entries_before


def test_campaign_targets_are_recorded_when_changed(role_client):
    campaign = CampaignFactory()
    newsletter = ContactListFactory(name="Newsletter")

    with set_actor(role_client(MARKETER).user):
        campaign.target_lists.add(newsletter)

    entry = entries_of(campaign)[-1]
    assert entry.changes_dict["target_lists"]["operation"] == "add"
    assert entry.changes_dict["target_lists"]["objects"] == ["Newsletter"]


def test_a_sender_secret_change_is_recorded_but_never_its_value(role_client):
    profile = SenderProfileFactory(smtp_host="smtp.example.com", smtp_password="old-secret")
    client = role_client(ADMINISTRATOR)
    data = {
        "name": profile.name,
        "purpose": profile.purpose,
        "from_name": profile.from_name,
        "from_email": profile.from_email,
        "reply_to": "",
        "connection": "smtp",
        "smtp_host": "smtp.example.com",
        "smtp_port": "587",
        "smtp_username": "",
        "smtp_password": "new-secret-value",
        "smtp_use_tls": "on",
        "esp_name": "",
        "esp_api_key": "",
        "esp_settings": "{}",
        "rate_per_minute": "600",
    }

    response = client.post(reverse("admin:campaigns_senderprofile_change", args=[profile.pk]), data)

    assert response.status_code == 302, response.content.decode()[-2000:]
    entry = entries_of(profile)[-1]
    assert entry.actor == client.user
    assert entry.changes_dict == {"smtp_password": [SECRET_MASK, SECRET_MASK]}
    stored = LogEntry.objects.filter(content_type__model="senderprofile")
    assert not any("secret" in str(e.changes) + str(e.serialized_data) for e in stored)


def test_cleaning_and_its_revert_are_recorded_with_who_asked(
    role_client, django_capture_on_commit_callbacks
):
    client = role_client(MANAGER)

    with django_capture_on_commit_callbacks(execute=False):
        client.post(
            reverse("admin:segments_cleaning_clean"), {"criterion": "never_opened", "days": "90"}
        )
    cleaning = Cleaning.objects.get()
    Cleaning.objects.filter(pk=cleaning.pk).update(status=Cleaning.Status.DONE)
    with django_capture_on_commit_callbacks(execute=False):
        client.post(reverse("admin:segments_cleaning_revert", args=[cleaning.pk]))

    created, reverted = entries_of(cleaning)
    assert created.action == LogEntry.Action.CREATE
    assert created.actor == client.user
    assert created.changes_dict["criterion"][1] == cleaning.criterion
    assert reverted.actor == client.user
    assert reverted.changes_dict == {"revert_status": ["none", "pending"]}


def test_an_import_handed_to_a_worker_is_recorded_with_who_started_it(
    role_client, settings, django_capture_on_commit_callbacks
):
    settings.RELANCE_IMPORT_PREVIEW_MAX_ROWS = 1
    client = role_client(MARKETER)
    content = b"email\na@example.com\nb@example.com\nc@example.com\n"

    with django_capture_on_commit_callbacks(execute=False):
        client.post(
            reverse("admin:contacts_contact_import"),
            {"format": "0", "import_file": SimpleUploadedFile("big.csv", content, "text/csv")},
        )

    job = ImportJob.objects.get()
    [entry] = entries_of(job)
    assert entry.action == LogEntry.Action.CREATE
    assert entry.actor == client.user
    assert entry.changes_dict["original_name"][1] == "big.csv"


def test_a_scenario_trail_lists_its_blocks_changes_deleted_ones_included(role_client):
    scenario = ScenarioFactory(name="Win back", status="draft")
    client = role_client(MARKETER)
    with set_actor(client.user):
        BlockFactory(scenario=scenario, key="entry", kind="entry")
        removed = BlockFactory(scenario=scenario, key="wait", kind="wait")
        removed.delete()
        BlockFactory(scenario=ScenarioFactory(name="Other"), key="elsewhere")

    response = client.get(reverse("admin:scenarios_scenario_history", args=[scenario.pk]))

    page = response.content.decode()
    assert response.status_code == 200
    assert 'id="audit-trail"' in page
    # The scenario's creation, two blocks added, one removed; not the other scenario's block.
    assert page.count('class="audit-entry"') == 4
    assert "“entry”" in page and "“wait”" in page and "elsewhere" not in page
    trail = client.get(
        reverse("admin:auditlog_logentry_changelist")
        + "?object="
        + f"{ContentType.objects.get_for_model(scenario).pk}-{scenario.pk}"
    )
    assert trail.status_code == 200
    assert len(trail.context["cl"].result_list) == 4
    assert not Block.objects.filter(pk=removed.pk).exists()


def test_the_history_page_shows_the_trail_with_who_and_what_changed(role_client):
    segment = SegmentFactory(name="Lapsed")
    client = role_client(MANAGER)
    with set_actor(client.user):
        segment.name = "Lapsed <b>buyers</b>"
        segment.save()

    response = client.get(reverse("admin:segments_segment_history", args=[segment.pk]))

    page = response.content.decode()
    trail = page[page.index('id="audit-trail"') :]
    assert "<td>manager</td>" in trail
    assert "Lapsed &lt;b&gt;buyers&lt;/b&gt;" in trail
    assert "<b>buyers</b>" not in page


def test_the_history_page_hides_the_trail_from_staff_who_may_not_read_it(client, django_user_model):
    segment = SegmentFactory()
    user = django_user_model.objects.create_user("viewer", password="pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_segment"))
    client.force_login(user)

    response = client.get(reverse("admin:segments_segment_history", args=[segment.pk]))

    assert response.status_code == 200
    assert 'id="audit-trail"' not in response.content.decode()


def test_the_audit_list_and_entry_page_say_who_when_and_what(role_client):
    segment = SegmentFactory(name="Lapsed", is_active=False)
    client = role_client(ADMINISTRATOR)
    with set_actor(client.user):
        segment.is_active = True
        segment.save()
    entry = entries_of(segment)[-1]

    listing = client.get(reverse("admin:auditlog_logentry_changelist")).content.decode()
    detail = client.get(reverse("admin:auditlog_logentry_change", args=[entry.pk]))

    assert "administrator" in listing and "Active" in listing
    page = detail.content.decode()
    assert detail.status_code == 200
    assert "Active" in page and "False" in page and "True" in page
    assert 'name="_save"' not in page


@pytest.mark.parametrize("role", ROLES)
def test_nobody_deletes_or_edits_audit_entries(role_client, role):
    segment = SegmentFactory()
    segment.description = "x"
    segment.save()
    entry = entries_of(segment)[-1]
    client = role_client(role)

    delete = client.post(
        reverse("admin:auditlog_logentry_delete", args=[entry.pk]), {"post": "yes"}
    )
    bulk = client.post(
        reverse("admin:auditlog_logentry_changelist"),
        {"action": "delete_selected", "_selected_action": [entry.pk], "post": "yes"},
    )

    assert delete.status_code == 403
    assert bulk.status_code in (200, 302)
    assert LogEntry.objects.filter(pk=entry.pk).exists()


def test_a_bad_object_filter_shows_no_entry_instead_of_an_error(role_client):
    SegmentFactory().save()
    client = role_client(MANAGER)

    for value in ("nonsense", "999999-1", f"{ContentType.objects.get_for_model(Permission).pk}-1"):
        response = client.get(reverse("admin:auditlog_logentry_changelist") + f"?object={value}")
        assert response.status_code == 200
        assert list(response.context["cl"].result_list) == []
