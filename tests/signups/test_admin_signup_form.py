"""Staff edit sign-up forms in the admin: fields asked, consent text versions, the public page
and snippet; pending sign-ups and consent records are read-only."""

import pytest
from django.urls import reverse

from signups.models import ConsentRecord, ConsentText, PendingSignup, SignupForm
from signups.services import signup_form_save
from tests.factories import ContactFactory, ContactListFactory
from tests.signups.factories import SignupFormFactory

pytestmark = pytest.mark.django_db


def _form_data(contact_list, **changes) -> dict:
    data = {
        "name": "Spring form",
        "slug": "spring",
        "is_active": "on",
        "contact_list": contact_list.pk,
        "asked_fields": ["first_name", "phone"],
        "required_fields": ["first_name"],
        "consent_text": "I agree to the newsletter.",
        "expiry_days": "5",
        "consent_texts-TOTAL_FORMS": "0",
        "consent_texts-INITIAL_FORMS": "0",
    }
    data.update(changes)
    return data


def test_staff_create_a_form_with_its_first_consent_version(staff_client):
    contact_list = ContactListFactory()

    response = staff_client.post(reverse("admin:signups_signupform_add"), _form_data(contact_list))

    assert response.status_code == 302, response.context["adminform"].form.errors
    form = SignupForm.objects.get()
    assert form.asked_fields == ["first_name", "phone"]
    assert form.required_fields == ["first_name"]
    assert form.expiry_days == 5
    assert form.consent_version == 1
    assert form.consent_texts.get().text == "I agree to the newsletter."


def test_editing_the_consent_text_keeps_the_old_version(staff_client):
    form = SignupFormFactory(consent_text="Version one.")
    url = reverse("admin:signups_signupform_change", args=[form.pk])
    data = _form_data(form.contact_list, name=form.name, slug=form.slug)
    # What the page posts back for its one (read-only) version row.
    data.update({"consent_text": "Version two.", "consent_texts-INITIAL_FORMS": "1"})
    data.update({"consent_texts-TOTAL_FORMS": "1", "consent_texts-0-form": str(form.pk)})
    data["consent_texts-0-id"] = str(form.consent_texts.get().pk)

    response = staff_client.post(url, data)

    assert response.status_code == 302
    assert list(form.consent_texts.values_list("version", "text")) == [
        (2, "Version two."),
        (1, "Version one."),
    ]
    assert staff_client.get(url).content.decode().count("Version one.") == 1


def test_a_required_field_must_be_asked(staff_client):
    contact_list = ContactListFactory()

    response = staff_client.post(
        reverse("admin:signups_signupform_add"),
        _form_data(contact_list, asked_fields=["first_name"], required_fields=["phone"]),
    )

    assert response.status_code == 200
    assert "Only fields that are asked can be required: Phone." in response.content.decode()
    assert not SignupForm.objects.exists()


def test_reserved_address_is_refused(staff_client):
    response = staff_client.post(
        reverse("admin:signups_signupform_add"),
        _form_data(ContactListFactory(), slug="confirm"),
    )

    assert response.status_code == 200
    assert "This address is reserved" in response.content.decode()


def test_list_counts_pending_and_confirmed_sign_ups_and_links_the_page(staff_client):
    form = SignupFormFactory(name="Spring", slug="spring")
    SignupFormFactory(name="Empty")
    consent = form.consent_texts.get()
    for email in ("a@example.com", "b@example.com"):
        PendingSignup.objects.create(form=form, email=email, consent_text=consent)
    ConsentRecord.objects.create(
        contact=ContactFactory(),
        form=form,
        consent_text=consent,
        signup_token="5b3f7c1e-0000-4000-8000-000000000001",
        signed_up_at="2025-01-01T10:00:00Z",
        confirmed_at="2025-01-01T11:00:00Z",
    )

    response = staff_client.get(reverse("admin:signups_signupform_changelist"))

    html = response.content.decode()
    pending_url = reverse("admin:signups_pendingsignup_changelist")
    records_url = reverse("admin:signups_consentrecord_changelist")
    assert f'<a href="{pending_url}?form__id__exact={form.pk}">2</a>' in html
    assert f'<a href="{records_url}?form__id__exact={form.pk}">1</a>' in html
    assert "http://127.0.0.1:8000/signup/spring/" in html


def test_change_page_shows_the_snippet_escaped(staff_client):
    form = SignupFormFactory(slug="spring", consent_text="I agree <b>now</b> & later.")

    response = staff_client.get(reverse("admin:signups_signupform_change", args=[form.pk]))

    html = response.content.decode()
    assert (
        "&lt;form method=&quot;post&quot; action=&quot;http://127.0.0.1:8000/signup/spring/" in html
    )
    assert "&lt;altcha-widget" in html
    # The consent text is escaped in the snippet, and the snippet once more in the page.
    assert "I agree &amp;lt;b&amp;gt;now&amp;lt;/b&amp;gt; &amp;amp; later." in html


def test_pending_sign_ups_and_consent_records_are_read_only(staff_client):
    form = SignupFormFactory()
    pending = PendingSignup.objects.create(
        form=form, email="ann@example.com", consent_text=form.consent_texts.get()
    )

    for model in ("pendingsignup", "consentrecord"):
        assert staff_client.get(reverse(f"admin:signups_{model}_changelist")).status_code == 200
        assert staff_client.get(reverse(f"admin:signups_{model}_add")).status_code == 403
    change = staff_client.get(reverse("admin:signups_pendingsignup_change", args=[pending.pk]))
    assert change.status_code == 200
    assert "ann@example.com" in change.content.decode()
    search = staff_client.get(reverse("admin:signups_pendingsignup_changelist") + "?q=ANN")
    assert "ann@example.com" in search.content.decode()


def test_consent_text_versions_cannot_be_edited_in_the_admin(staff_client):
    form = SignupFormFactory(consent_text="Version one.")
    form.consent_text = "Version two."
    signup_form_save(form=form)

    response = staff_client.get(reverse("admin:signups_signupform_change", args=[form.pk]))

    assert response.status_code == 200
    assert ConsentText.objects.filter(form=form).count() == 2
    assert 'name="consent_texts-0-text"' not in response.content.decode()
