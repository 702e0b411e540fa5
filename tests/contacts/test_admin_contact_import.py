"""Importing contacts through the admin: upload, preview, confirm (django-import-export)."""

from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from contacts.models import Contact, EmailStatus, ImportJob, LeadSource, SmsStatus
from tests.factories import ContactFactory, ContactListFactory, LeadSourceFactory

pytestmark = pytest.mark.django_db

IMPORT_URL = reverse("admin:contacts_contact_import")
CONFIRM_URL = reverse("admin:contacts_contact_process_import")


def upload(client, content: bytes | str, *, name: str = "contacts.csv", **options):
    if isinstance(content, str):
        content = content.encode("utf-8")
    data = {"format": "0", "import_file": SimpleUploadedFile(name, content, "text/csv")}
    for key, value in options.items():
        data[key] = getattr(value, "pk", value)
    return client.post(IMPORT_URL, data)


def confirm(client, preview):
    """Post the confirm form the preview page offered."""
    form = preview.context["confirm_form"]
    data = {key: "" if value is None else value for key, value in form.initial.items()}
    return client.post(CONFIRM_URL, data, follow=True)


def import_file(client, content: bytes | str, **options):
    preview = upload(client, content, **options)
    assert preview.status_code == 200
    assert preview.context.get("confirm_form") is not None, preview.content.decode()[-3000:]
    return confirm(client, preview)


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def test_preview_lists_rows_and_creates_nothing_when_file_is_uploaded(staff_client):
    response = upload(staff_client, "email,first_name\nann@example.com,Ann\nbob@example.com,Bob\n")

    page = response.content.decode()
    assert "ann@example.com" in page and "bob@example.com" in page
    assert response.context["confirm_form"] is not None
    assert not Contact.objects.exists()


def test_confirm_creates_contacts_when_all_rows_are_valid(staff_client):
    response = import_file(
        staff_client, "Email,First Name,Last Name\nAnn@Example.com,Ann,Lee\nbob@example.com,Bob,\n"
    )

    assert response.status_code == 200
    assert set(Contact.objects.values_list("email", "first_name", "last_name")) == {
        ("ann@example.com", "Ann", "Lee"),
        ("bob@example.com", "Bob", ""),
    }
    assert "created 2" in messages_of(response)[0]


def test_preview_shows_line_and_reason_when_rows_are_bad(staff_client):
    content = (
        "email,phone,created_at\n"
        "good@example.com,,\n"
        "not-an-address,,\n"
        "\n"
        "dated@example.com,,31/02/2024\n"
        "phone@example.com,12,\n"
    )
    response = upload(staff_client, content)

    rejected = {
        row.number: " ".join(row.error.messages) for row in response.context["result"].invalid_rows
    }
    assert set(rejected) == {3, 5, 6}
    assert "invalid e-mail address" in rejected[3]
    assert "created_at" in rejected[5]
    assert "invalid phone number" in rejected[6]
    page = response.content.decode()
    assert 'id="rejected-rows"' in page and "not-an-address" in page


def test_confirm_imports_valid_rows_and_counts_rejects_when_some_rows_are_bad(staff_client):
    response = import_file(staff_client, "email\ngood@example.com\nnope\nalso@example.com\n")

    assert set(Contact.objects.values_list("email", flat=True)) == {
        "good@example.com",
        "also@example.com",
    }
    assert "rejected 1" in messages_of(response)[0]


def test_no_confirm_is_offered_when_every_row_is_rejected(staff_client):
    response = upload(staff_client, "email\nnope\nstill-nope\n")

    assert response.context.get("confirm_form") is None
    assert len(response.context["result"].invalid_rows) == 2


def test_french_headers_are_understood_when_file_uses_aliases(staff_client):
    content = (
        "Adresse e-mail,Prénom,Nom,Téléphone,Date d'inscription,Statut\n"
        "marie@example.fr,Marie,Curie,06 12 34 56 78,31/12/2024,désabonné\n"
    )
    import_file(staff_client, content)

    contact = Contact.objects.get()
    assert (contact.email, contact.first_name, contact.last_name, contact.phone) == (
        "marie@example.fr",
        "Marie",
        "Curie",
        "+33612345678",
    )
    assert contact.email_status == EmailStatus.UNSUBSCRIBED
    assert timezone.localtime(contact.created_at).date() == date(2024, 12, 31)


def test_semicolon_windows_1252_file_is_read_when_exported_by_excel(staff_client):
    content = "Courriel;Prénom;Nom;Ville\r\nhelene@example.fr;Hélène;Lefèvre;Orléans\r\n"
    import_file(staff_client, content.encode("cp1252"), name="export excel.csv")

    contact = Contact.objects.get()
    assert (contact.first_name, contact.last_name) == ("Hélène", "Lefèvre")
    assert contact.attributes == {"Ville": "Orléans"}


def test_existing_contact_is_unchanged_when_update_existing_is_off(staff_client):
    ContactFactory(email="ann@example.com", first_name="Ann", last_name="Lee")

    response = import_file(staff_client, "email,first_name\nANN@example.com,Annie\n")

    assert Contact.objects.get().first_name == "Ann"
    assert "unchanged 1" in messages_of(response)[0]


def test_existing_contact_is_updated_when_update_existing_is_on(staff_client):
    ContactFactory(
        email="ann@example.com", first_name="Ann", last_name="Lee", attributes={"a": "1"}
    )

    response = import_file(
        staff_client,
        "email,first_name,last_name,city\nANN@example.com,Annie,,Nantes\n",
        update_existing="on",
    )

    contact = Contact.objects.get()
    # An empty cell keeps the stored value; extra columns merge into the attributes.
    assert (contact.first_name, contact.last_name) == ("Annie", "Lee")
    assert contact.attributes == {"a": "1", "city": "Nantes"}
    assert "updated 1" in messages_of(response)[0]


@pytest.mark.parametrize(
    "stored",
    [
        EmailStatus.UNSUBSCRIBED,
        EmailStatus.BOUNCED,
        EmailStatus.COMPLAINED,
        EmailStatus.CLEANED,
    ],
)
def test_suppressed_contact_stays_suppressed_when_file_says_subscribed(staff_client, stored):
    ContactFactory(email="gone@example.com", email_status=stored)

    import_file(staff_client, "email,status\ngone@example.com,subscribed\n", update_existing="on")

    assert Contact.objects.get().email_status == stored


def test_subscribed_contact_is_unsubscribed_when_file_says_so(staff_client):
    ContactFactory(email="ann@example.com", email_status=EmailStatus.SUBSCRIBED)

    import_file(staff_client, "email,status\nann@example.com,unsubscribed\n", update_existing="on")

    assert Contact.objects.get().email_status == EmailStatus.UNSUBSCRIBED


def test_sms_opt_out_is_kept_when_file_says_subscribed(staff_client):
    ContactFactory(email="ann@example.com", sms_status=SmsStatus.UNSUBSCRIBED)

    import_file(staff_client, "email,sms_status\nann@example.com,yes\n", update_existing="on")

    assert Contact.objects.get().sms_status == SmsStatus.UNSUBSCRIBED


def test_new_contact_takes_file_status_when_created(staff_client):
    import_file(staff_client, "email,status\nnew@example.com,bounced\n")

    assert Contact.objects.get().email_status == EmailStatus.BOUNCED


def test_duplicates_are_merged_into_one_contact_when_file_repeats_an_email(staff_client):
    content = (
        "email,first_name,last_name,city\n"
        "ann@example.com,Ann,,Paris\n"
        "bob@example.com,Bob,,\n"
        "ANN@example.com,,Lee,\n"
        "ann@example.com,Annie,,Lyon\n"
    )
    preview = upload(staff_client, content)
    merged = [row.line for row in preview.context["result"].valid_rows() if row.merged_into == 2]
    response = confirm(staff_client, preview)

    ann = Contact.objects.get(email="ann@example.com")
    assert (ann.first_name, ann.last_name, ann.attributes) == ("Annie", "Lee", {"city": "Lyon"})
    assert Contact.objects.count() == 2
    assert merged == [4, 5]
    assert "duplicates merged 2" in messages_of(response)[0]


def test_contacts_join_the_list_when_a_list_is_chosen(staff_client):
    newsletter = ContactListFactory(name="Newsletter")
    ContactFactory(email="old@example.com")

    import_file(staff_client, "email\nold@example.com\nnew@example.com\n", contact_list=newsletter)

    assert set(newsletter.contacts.values_list("email", flat=True)) == {
        "old@example.com",
        "new@example.com",
    }


def test_source_column_wins_over_default_source_when_both_are_given(staff_client):
    fair = LeadSourceFactory(name="Trade fair")

    import_file(
        staff_client,
        "email,source\nweb@example.com,Website\nfair@example.com,\n",
        lead_source=fair,
    )

    sources = dict(Contact.objects.values_list("email", "lead_source__name"))
    assert sources == {"web@example.com": "Website", "fair@example.com": "Trade fair"}
    assert LeadSource.objects.filter(name="Website").exists()


def test_preview_creates_no_lead_source_when_not_confirmed(staff_client):
    upload(staff_client, "email,source\nweb@example.com,Website\n")

    assert not LeadSource.objects.exists()


def test_form_error_names_the_problem_when_file_has_no_email_column(staff_client):
    response = upload(staff_client, "name,phone\nAnn,0612345678\n")

    errors = response.context["form"].errors["import_file"]
    assert "no e-mail column" in " ".join(errors)
    assert not Contact.objects.exists()


def test_preview_escapes_user_data_when_cells_hold_html(staff_client):
    response = upload(staff_client, "email,first_name\nx@example.com,<script>alert(1)</script>\n")

    page = response.content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;" in page


def test_large_file_goes_to_a_worker_job_when_over_preview_limit(
    staff_client, settings, django_capture_on_commit_callbacks
):
    settings.RELANCE_IMPORT_PREVIEW_MAX_ROWS = 3
    ContactFactory(email="known@example.com", first_name="Known")
    content = (
        "email,first_name\n"
        "a@example.com,A\n"
        "b@example.com,B\n"
        "known@example.com,Changed\n"
        "broken\n"
        "A@example.com,Again\n"
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(staff_client, content, name="big.csv")

    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:contacts_importjob_change", args=[job.pk])
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE
    assert (
        job.created_count,
        job.updated_count,
        job.unchanged_count,
        job.rejected_count,
        job.merged_count,
    ) == (2, 0, 1, 1, 1)
    assert job.original_name == "big.csv" and job.created_by == staff_client.user
    assert Contact.objects.get(email="known@example.com").first_name == "Known"


def test_small_file_is_previewed_when_under_preview_limit(staff_client, settings):
    settings.RELANCE_IMPORT_PREVIEW_MAX_ROWS = 3

    response = upload(staff_client, "email\na@example.com\nb@example.com\nc@example.com\n")

    assert response.status_code == 200
    assert not ImportJob.objects.exists()


def test_import_is_forbidden_when_user_may_only_view_contacts(client, django_user_model):
    from django.contrib.auth.models import Permission

    user = django_user_model.objects.create_user("viewer", password="pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_contact"))
    client.force_login(user)

    response = upload(client, "email\na@example.com\n")

    assert response.status_code == 403
    assert not Contact.objects.exists()
