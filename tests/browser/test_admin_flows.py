"""What marketing staff do in the admin, in a real browser."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from contacts.models import Contact, ImportJob
from tests.browser.conftest import admin_log_in
from tests.factories import ContactFactory, ContactListFactory

pytestmark = pytest.mark.browser


def test_staff_reaches_the_admin_when_logging_in_through_the_form(page, live_server, staff_user):
    admin_log_in(page, live_server.url, "marketing", "a-long-test-password")

    expect(page.locator("#site-name")).to_contain_text("administration")
    expect(page.locator("#contacts-contact").get_by_role("link", name="Contacts")).to_be_visible()


def test_login_form_says_so_when_password_is_wrong(page, live_server, staff_user):
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "marketing")
    page.fill("#id_password", "wrong")
    page.click("input[type=submit]")

    expect(page.locator(".errornote")).to_be_visible()


def test_staff_finds_a_contact_when_searching_the_contact_list(logged_in_page, live_server):
    page = logged_in_page
    ContactFactory(email="jean.dupont@example.com", first_name="Jean", last_name="Dupont")
    ContactFactory(email="marie.curie@example.com", first_name="Marie", last_name="Curie")

    page.goto(live_server.url + reverse("admin:contacts_contact_changelist"))
    expect(page.locator("#result_list tbody tr")).to_have_count(2)
    page.fill("#searchbar", "Dupont")
    page.press("#searchbar", "Enter")

    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("jean.dupont@example.com")


def test_staff_imports_a_csv_when_uploading_previewing_and_confirming(logged_in_page, live_server):
    page = logged_in_page
    ContactListFactory(name="Spring fair")
    csv = (
        "Adresse e-mail;Prénom;Nom;Ville\r\n"
        "claire@example.fr;Claire;Martin;Lille\r\n"
        "pas-une-adresse;X;Y;\r\n"
        "louis@example.fr;Louis;Bernard;Brest\r\n"
    ).encode("cp1252")

    page.goto(live_server.url + reverse("admin:contacts_contact_changelist"))
    page.get_by_role("link", name="Import", exact=True).click()
    page.set_input_files(
        "input[name=import_file]",
        {"name": "salon.csv", "mimeType": "text/csv", "buffer": csv},
    )
    page.select_option("#id_contact_list", label="Spring fair")
    page.get_by_role("button", name="Submit").click()

    expect(page.locator("#import-preview tbody tr")).to_have_count(2)
    expect(page.locator("#rejected-rows")).to_contain_text("invalid e-mail address")
    expect(page.locator("#import-summary")).to_contain_text("new 2")
    page.get_by_role("button", name="Confirm import").click()

    expect(page.locator(".messagelist")).to_contain_text("created 2")
    expect(page.locator("#result_list")).to_contain_text("claire@example.fr")
    expect(page.locator("#result_list")).to_contain_text("louis@example.fr")
    assert set(Contact.objects.values_list("email", flat=True)) == {
        "claire@example.fr",
        "louis@example.fr",
    }


def test_staff_follows_a_large_import_on_its_job_page(logged_in_page, live_server, settings):
    page = logged_in_page
    settings.RELANCE_IMPORT_PREVIEW_MAX_ROWS = 2
    csv = b"email,first_name\na@example.com,A\nb@example.com,B\nnope,C\n"

    page.goto(live_server.url + reverse("admin:contacts_contact_import"))
    page.set_input_files(
        "input[name=import_file]", {"name": "big.csv", "mimeType": "text/csv", "buffer": csv}
    )
    page.get_by_role("button", name="Submit").click()

    expect(page.locator(".messagelist")).to_contain_text("imported in the background")
    job = ImportJob.objects.get()
    # Tasks run synchronously in tests; the page shows the finished job after a reload.
    page.goto(live_server.url + reverse("admin:contacts_importjob_change", args=[job.pk]))
    expect(page.locator("progress")).to_have_attribute("value", "100")
    expect(page.get_by_role("link", name="Download rejected rows")).to_be_visible()
