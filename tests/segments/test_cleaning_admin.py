"""The admin's "Clean the base" page, its CSV download, the cleanings list and the revert.

Confirming hands the cleaning (or the revert) to a worker; tasks run inline in tests when the
request commits, hence `django_capture_on_commit_callbacks(execute=True)` around the posts.
"""

import csv
import io
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.urls import reverse

from contacts.models import Contact, EmailStatus
from contacts.resources import EXPORT_FIELDS
from segments.models import Cleaning
from segments.services import (
    CleaningCriterion,
    CleaningKind,
    cleaning_request,
    cleaning_run,
)
from tests.factories import ContactFactory, LeadSourceFactory, SegmentFactory

pytestmark = pytest.mark.django_db
PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 3, 14, 9, 30, tzinfo=PARIS)
DAY = timedelta(days=1)
LONG_AGO = NOW - 400 * DAY

CLEAN_URL = "admin:segments_cleaning_clean"
EXPORT_URL = "admin:segments_cleaning_export"


@pytest.fixture(autouse=True)
def frozen_now():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def old_contact(**fields) -> Contact:
    return ContactFactory(created_at=LONG_AGO, **fields)


def staff_with(client, django_user_model, *codenames: str):
    """A client logged in as a staff user holding only the given permissions."""
    user = django_user_model.objects.create_user("limited", "l@example.com", "pw", is_staff=True)
    for codename in codenames:
        app_label, name = codename.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=name)
        )
    client.force_login(user)
    client.user = user
    return client


def page(response) -> str:
    return response.content.decode()


def csv_rows(response) -> list[list[str]]:
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))


def clean_without_admin(user, days: int = 90) -> Cleaning:
    """A cleaning requested and run (what the worker does), without the admin."""
    cleaning = cleaning_request(
        criterion=CleaningCriterion(kind=CleaningKind.NEVER_OPENED, days=days), user=user
    )
    return cleaning_run(cleaning_id=cleaning.pk)


def change_url(cleaning: Cleaning) -> str:
    return reverse("admin:segments_cleaning_change", args=[cleaning.pk])


def revert_url(cleaning: Cleaning) -> str:
    return reverse("admin:segments_cleaning_revert", args=[cleaning.pk])


# The page --------------------------------------------------------------------------------------


def test_page_offers_the_criteria_and_no_preview_when_nothing_is_chosen_yet(staff_client):
    response = staff_client.get(reverse(CLEAN_URL))

    assert response.status_code == 200
    html = page(response)
    for value in ("never_opened", "never_clicked", "segment"):
        assert f'value="{value}"' in html
    assert 'id="cleaning-preview"' not in html


def test_preview_shows_count_sources_download_and_confirm_when_criterion_is_valid(staff_client):
    fair = LeadSourceFactory(name="Fair")
    for _ in range(2):
        old_contact(lead_source=fair)
    old_contact(lead_source=None)
    old_contact(last_open_at=NOW - DAY)

    response = staff_client.get(reverse(CLEAN_URL), {"criterion": "never_opened", "days": "90"})

    html = page(response)
    assert "<strong>3</strong> subscribed contacts would be cleaned." in html
    assert "<td>Fair</td>" in html
    assert "(no source)" in html
    export = reverse(EXPORT_URL) + "?criterion=never_opened&amp;days=90"
    assert export in html
    assert 'id="cleaning-confirm"' in html
    assert 'value="Clean these 3 contacts"' in html
    assert not Cleaning.objects.exists()  # looking changes nothing


def test_preview_has_no_confirm_button_when_nobody_matches(staff_client):
    old_contact(last_click_at=NOW - DAY)

    html = page(staff_client.get(reverse(CLEAN_URL), {"criterion": "never_clicked", "days": "90"}))

    assert "<strong>0</strong> subscribed contacts would be cleaned." in html
    assert 'id="cleaning-confirm"' not in html


def test_preview_escapes_names_when_they_hold_html(staff_client):
    old_contact(first_name="<script>x</script>", lead_source=LeadSourceFactory(name="<b>Ads</b>"))

    html = page(staff_client.get(reverse(CLEAN_URL), {"criterion": "never_opened", "days": "9"}))

    assert "<script>x</script>" not in html
    assert "&lt;script&gt;x&lt;/script&gt;" in html
    assert "&lt;b&gt;Ads&lt;/b&gt;" in html


@pytest.mark.parametrize(
    ("days", "message"),
    [
        ("0", "Ensure this value is greater than or equal to 1."),
        ("-3", "Ensure this value is greater than or equal to 1."),
        ("abc", "Enter a whole number."),
        ("1.5", "Enter a whole number."),
        ("99999999999999999999999", "Ensure this value is less than or equal to 10000."),
        ("", "Give the number of days."),
    ],
)
def test_form_error_is_shown_and_nothing_happens_when_days_are_bad(staff_client, days, message):
    contact = old_contact()

    preview = staff_client.get(reverse(CLEAN_URL), {"criterion": "never_opened", "days": days})
    confirm = staff_client.post(
        reverse(CLEAN_URL), {"criterion": "never_opened", "days": days, "confirm": "1"}
    )

    for response in (preview, confirm):
        assert response.status_code == 200
        assert message in page(response)
        assert 'id="cleaning-preview"' not in page(response)
    assert not Cleaning.objects.exists()
    contact.refresh_from_db()
    assert contact.email_status == EmailStatus.SUBSCRIBED


def test_form_error_is_shown_when_segment_criterion_has_no_segment(staff_client):
    response = staff_client.get(reverse(CLEAN_URL), {"criterion": "segment", "segment": ""})

    assert response.status_code == 200
    assert "Choose a segment." in page(response)


def test_form_error_is_shown_when_segment_does_not_exist(staff_client):
    response = staff_client.post(
        reverse(CLEAN_URL), {"criterion": "segment", "segment": "999999", "confirm": "1"}
    )

    assert response.status_code == 200
    assert "Select a valid choice." in page(response)
    assert not Cleaning.objects.exists()


# CSV download ----------------------------------------------------------------------------------


def test_download_lists_the_matching_contacts_when_criterion_is_valid(staff_client):
    web = LeadSourceFactory(name="Web")
    picked = old_contact(email="anna@example.com", first_name="Anna", lead_source=web, score=-10)
    old_contact(email="opened@example.com", last_open_at=NOW - DAY)
    old_contact(email="gone@example.com", email_status=EmailStatus.UNSUBSCRIBED)

    response = staff_client.get(reverse(EXPORT_URL), {"criterion": "never_opened", "days": "90"})

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    disposition = response["Content-Disposition"]
    assert disposition == 'attachment; filename="cleaning-never_opened-2026-03-14.csv"'
    header, *rows = csv_rows(response)
    assert header == list(EXPORT_FIELDS)
    assert len(rows) == 1
    row = dict(zip(header, rows[0], strict=True))
    assert row["email"] == picked.email
    assert row["first_name"] == "Anna"
    assert row["source"] == "Web"
    assert row["email_status"] == "subscribed"
    assert row["score"] == "-10"  # a number, not a formula
    assert not Cleaning.objects.exists()


def test_download_escapes_formulas_when_cells_start_like_one(staff_client):
    old_contact(
        first_name='=HYPERLINK("http://evil")',
        last_name="+33 1",
        lead_source=LeadSourceFactory(name="@SUM(A1)"),
    )

    response = staff_client.get(reverse(EXPORT_URL), {"criterion": "never_opened", "days": "9"})

    header, row = csv_rows(response)
    row = dict(zip(header, row, strict=True))
    assert row["first_name"] == '\'=HYPERLINK("http://evil")'
    assert row["last_name"] == "'+33 1"
    assert row["source"] == "'@SUM(A1)"


def test_download_redirects_with_an_error_when_days_are_bad(staff_client):
    response = staff_client.get(
        reverse(EXPORT_URL), {"criterion": "never_opened", "days": "-1"}, follow=True
    )

    assert response.redirect_chain[-1][0] == reverse(CLEAN_URL)
    assert "Choose a valid criterion before downloading." in page(response)


# Confirm ---------------------------------------------------------------------------------------


def test_confirm_hands_the_cleaning_to_a_worker_and_shows_its_page_when_posted(
    staff_client, django_capture_on_commit_callbacks
):
    contact = old_contact()
    form = {"criterion": "never_opened", "days": "90", "confirm": "1"}

    with django_capture_on_commit_callbacks() as callbacks:
        response = staff_client.post(reverse(CLEAN_URL), form)

    cleaning = Cleaning.objects.get()
    assert response.status_code == 302
    assert response["Location"] == change_url(cleaning)
    assert len(callbacks) == 1  # the worker's task, queued once the request commits
    assert (cleaning.status, cleaning.created_by, cleaning.created_at) == (
        Cleaning.Status.PENDING,
        staff_client.user,
        NOW,
    )
    contact.refresh_from_db()
    assert contact.email_status == EmailStatus.SUBSCRIBED  # nothing done in the request
    html = page(staff_client.get(response["Location"]))
    assert "Cleaning “Never opened in the last 90 days” handed to a worker" in html
    assert "This cleaning waits for a worker." in html
    assert '<meta http-equiv="refresh" content="3">' in html
    assert revert_url(cleaning) not in html


def test_confirm_cleans_records_who_and_shows_the_count_once_the_worker_is_done(
    staff_client, django_capture_on_commit_callbacks
):
    contact = old_contact()
    kept = old_contact(last_open_at=NOW - DAY)

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            reverse(CLEAN_URL), {"criterion": "never_opened", "days": "90", "confirm": "1"}
        )

    cleaning = Cleaning.objects.get()
    assert response["Location"] == change_url(cleaning)
    assert (cleaning.status, cleaning.created_by, cleaning.contact_count) == (
        Cleaning.Status.DONE,
        staff_client.user,
        1,
    )
    contact.refresh_from_db()
    assert contact.email_status == EmailStatus.CLEANED
    assert contact.email_status_reason == f"cleaning #{cleaning.pk}"
    assert contact.email_status_changed_at == NOW
    kept.refresh_from_db()
    assert kept.email_status == EmailStatus.SUBSCRIBED
    html = page(staff_client.get(response["Location"]))
    assert "Done: 1 contact cleaned, its e-mail status is now “cleaned”." in html
    assert 'http-equiv="refresh"' not in html
    assert revert_url(cleaning) in html


def test_confirm_cleans_segment_members_when_criterion_is_a_segment(
    staff_client, django_capture_on_commit_callbacks
):
    from tests.factories import SegmentMembershipFactory

    segment = SegmentFactory(name="Dormant")
    member = SegmentMembershipFactory(segment=segment).contact
    outsider = ContactFactory()

    with django_capture_on_commit_callbacks(execute=True):
        staff_client.post(
            reverse(CLEAN_URL),
            {"criterion": "segment", "segment": str(segment.pk), "confirm": "1"},
        )

    member.refresh_from_db()
    outsider.refresh_from_db()
    assert member.email_status == EmailStatus.CLEANED
    assert outsider.email_status == EmailStatus.SUBSCRIBED
    cleaning = Cleaning.objects.get()
    assert (cleaning.segment, cleaning.kind) == (segment, CleaningKind.SEGMENT)


def test_add_button_leads_to_the_clean_page_when_user_may_clean(staff_client):
    response = staff_client.get(reverse("admin:segments_cleaning_add"))

    assert response.status_code == 302
    assert response["Location"] == reverse(CLEAN_URL)


# The cleaning's page and the list --------------------------------------------------------------


def test_page_says_the_worker_runs_it_and_refreshes_when_the_cleaning_is_running(staff_client):
    cleaning = cleaning_request(
        criterion=CleaningCriterion(kind=CleaningKind.NEVER_OPENED, days=90),
        user=staff_client.user,
    )
    Cleaning.objects.filter(pk=cleaning.pk).update(status=Cleaning.Status.RUNNING)

    html = page(staff_client.get(change_url(cleaning)))

    assert "A worker is running this cleaning. This page refreshes every few seconds." in html
    assert '<meta http-equiv="refresh" content="3">' in html
    assert revert_url(cleaning) not in html


def test_page_shows_the_error_escaped_and_no_revert_when_the_cleaning_failed(staff_client):
    cleaning = cleaning_request(
        criterion=CleaningCriterion(kind=CleaningKind.NEVER_OPENED, days=90),
        user=staff_client.user,
    )
    Cleaning.objects.filter(pk=cleaning.pk).update(
        status=Cleaning.Status.FAILED, error="unexpected error: <b>boom</b>"
    )

    html = page(staff_client.get(change_url(cleaning)))

    assert (
        "This cleaning failed and changed no contact: unexpected error: &lt;b&gt;boom&lt;/b&gt;"
        in html
    )
    assert "<b>boom</b>" not in html
    assert 'http-equiv="refresh"' not in html
    assert revert_url(cleaning) not in html
    list_html = page(staff_client.get(reverse("admin:segments_cleaning_changelist")))
    assert "Failed" in list_html
    assert revert_url(cleaning) not in list_html


def test_list_shows_each_cleaning_status_and_filters_by_it(staff_client):
    old_contact()
    done = clean_without_admin(staff_client.user)
    pending = cleaning_request(
        criterion=CleaningCriterion(kind=CleaningKind.NEVER_CLICKED, days=30),
        user=staff_client.user,
    )
    changelist = reverse("admin:segments_cleaning_changelist")

    html = page(staff_client.get(changelist))
    pending_only = page(staff_client.get(changelist, {"status__exact": "pending"}))

    assert "Done" in html and "Pending" in html and "Not reverted" in html
    assert revert_url(done) in html
    assert revert_url(pending) not in html
    assert '<td class="field-contacts_cleaned">1</td>' in html
    assert "Never clicked in the last 30 days" in pending_only
    assert "Never opened in the last 90 days" not in pending_only
    assert '<td class="field-contacts_cleaned">-</td>' in pending_only  # no count before it ran


# Permissions -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "permissions",
    [
        ("segments.view_cleaning", "contacts.view_contact"),
        ("segments.add_cleaning", "contacts.view_contact"),
        ("contacts.change_contact",),
    ],
)
def test_cleaning_is_refused_when_user_lacks_a_permission(client, django_user_model, permissions):
    client = staff_with(client, django_user_model, *permissions)
    contact = old_contact()
    query = {"criterion": "never_opened", "days": "90"}

    assert client.get(reverse(CLEAN_URL), query).status_code == 403
    assert client.get(reverse(EXPORT_URL), query).status_code == 403
    assert client.post(reverse(CLEAN_URL), {**query, "confirm": "1"}).status_code == 403
    assert client.get(reverse("admin:segments_cleaning_add")).status_code == 403

    assert not Cleaning.objects.exists()
    contact.refresh_from_db()
    assert contact.email_status == EmailStatus.SUBSCRIBED


def test_cleaning_is_allowed_when_user_may_add_cleanings_and_change_contacts(
    client, django_user_model, django_capture_on_commit_callbacks
):
    client = staff_with(
        client, django_user_model, "segments.add_cleaning", "contacts.change_contact"
    )
    old_contact()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse(CLEAN_URL), {"criterion": "never_opened", "days": "90", "confirm": "1"}
        )

    assert response.status_code == 302
    assert Cleaning.objects.get().contact_count == 1


def test_list_shows_cleanings_without_clean_or_revert_links_when_user_only_views(
    client, django_user_model, staff_client
):
    cleaning = clean_without_admin(staff_client.user)
    client = staff_with(client, django_user_model, "segments.view_cleaning")

    html = page(client.get(reverse("admin:segments_cleaning_changelist")))

    assert "Never opened in the last 90 days" in html
    assert reverse(CLEAN_URL) not in html
    assert reverse("admin:segments_cleaning_revert", args=[cleaning.pk]) not in html
    revert = reverse("admin:segments_cleaning_revert", args=[cleaning.pk])
    assert client.get(revert).status_code == 403
    assert client.post(revert).status_code == 403


def test_list_shows_clean_and_revert_links_when_user_may_do_both(staff_client):
    old_contact()
    cleaning = clean_without_admin(staff_client.user)

    html = page(staff_client.get(reverse("admin:segments_cleaning_changelist")))

    assert reverse(CLEAN_URL) in html
    assert "Clean the base" in html
    assert reverse("admin:segments_cleaning_revert", args=[cleaning.pk]) in html


def test_cleaning_cannot_be_edited_or_deleted_when_recorded(staff_client):
    cleaning = clean_without_admin(staff_client.user)

    change = staff_client.post(
        reverse("admin:segments_cleaning_change", args=[cleaning.pk]), {"criterion": "x"}
    )
    delete = staff_client.post(
        reverse("admin:segments_cleaning_delete", args=[cleaning.pk]), {"post": "yes"}
    )

    assert change.status_code == 403
    assert delete.status_code == 403
    cleaning.refresh_from_db()
    assert cleaning.criterion == "Never opened in the last 90 days"


# Revert ----------------------------------------------------------------------------------------


def test_revert_page_asks_for_confirmation_with_the_count_when_opened(staff_client):
    for _ in range(2):
        old_contact()
    cleaning = clean_without_admin(staff_client.user)

    response = staff_client.get(revert_url(cleaning))

    html = page(response)
    assert "suppressed 2 contacts" in html
    assert 'value="Yes, revert this cleaning"' in html
    assert Contact.objects.filter(email_status=EmailStatus.CLEANED).count() == 2


def test_revert_is_handed_to_a_worker_and_shown_pending_when_confirmed(
    staff_client, django_capture_on_commit_callbacks
):
    old_contact()
    cleaning = clean_without_admin(staff_client.user)

    with django_capture_on_commit_callbacks() as callbacks:
        response = staff_client.post(revert_url(cleaning), follow=True)

    assert len(callbacks) == 1
    html = page(response)
    assert "Revert handed to a worker: this page shows its status." in html
    assert "The revert waits for a worker. This page refreshes every few seconds." in html
    assert '<meta http-equiv="refresh" content="3">' in html
    assert revert_url(cleaning) not in html
    assert Contact.objects.get().email_status == EmailStatus.CLEANED
    # a second confirmation (another tab) is refused while the first waits
    again = staff_client.post(revert_url(cleaning), follow=True)
    assert "This cleaning is already being reverted." in page(again)
    cleaning.refresh_from_db()
    assert cleaning.revert_status == Cleaning.RevertStatus.PENDING


def test_revert_restores_contacts_and_records_who_when_confirmed(
    staff_client, frozen_now, django_capture_on_commit_callbacks
):
    contact = old_contact()
    cleaning = clean_without_admin(staff_client.user)
    frozen_now.shift(DAY)

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(revert_url(cleaning))

    assert response["Location"] == change_url(cleaning)
    html = page(staff_client.get(response["Location"]))
    assert "Cleaning reverted: 1 contact got its previous status back." in html
    assert 'http-equiv="refresh"' not in html
    contact.refresh_from_db()
    assert contact.email_status == EmailStatus.SUBSCRIBED
    cleaning.refresh_from_db()
    assert cleaning.revert_status == Cleaning.RevertStatus.DONE
    assert (cleaning.reverted_by, cleaning.reverted_at) == (staff_client.user, NOW + DAY)
    assert revert_url(cleaning) not in html
    again = staff_client.post(revert_url(cleaning), follow=True)
    assert "This cleaning was already reverted." in page(again)
    opened = staff_client.get(revert_url(cleaning), follow=True)
    assert "This cleaning was already reverted." in page(opened)
    assert 'value="Yes, revert this cleaning"' not in page(opened)
    cleaning.refresh_from_db()
    assert cleaning.reverted_at == NOW + DAY


def test_revert_page_sends_back_when_the_cleaning_has_not_finished(staff_client):
    old_contact()
    cleaning = cleaning_request(
        criterion=CleaningCriterion(kind=CleaningKind.NEVER_OPENED, days=90),
        user=staff_client.user,
    )

    opened = staff_client.get(revert_url(cleaning), follow=True)
    posted = staff_client.post(revert_url(cleaning), follow=True)

    for response in (opened, posted):
        assert response.redirect_chain[-1][0] == change_url(cleaning)
        assert "This cleaning has not finished yet" in page(response)
    cleaning.refresh_from_db()
    assert cleaning.revert_status == Cleaning.RevertStatus.NONE


def test_page_shows_the_revert_error_and_offers_it_again_when_the_revert_failed(staff_client):
    old_contact()
    cleaning = clean_without_admin(staff_client.user)
    Cleaning.objects.filter(pk=cleaning.pk).update(
        revert_status=Cleaning.RevertStatus.FAILED, revert_error="unexpected error: timeout"
    )

    html = page(staff_client.get(change_url(cleaning)))

    assert "The revert failed and changed no contact: unexpected error: timeout" in html
    assert revert_url(cleaning) in html


def test_revert_is_refused_when_user_cannot_change_contacts(
    client, django_user_model, staff_client
):
    old_contact()
    cleaning = clean_without_admin(staff_client.user)
    client = staff_with(client, django_user_model, "segments.change_cleaning")

    response = client.post(revert_url(cleaning))

    assert response.status_code == 403
    assert Contact.objects.get().email_status == EmailStatus.CLEANED
    cleaning.refresh_from_db()
    assert cleaning.revert_status == Cleaning.RevertStatus.NONE
