"""The consent record of a confirmed sign-up: time, IP, form, the consent text version shown
and the UTM parameters of the page; utm_source names the new contact's lead source."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from contacts.models import Contact, LeadSource
from signups.models import ConsentRecord
from signups.services import signup_form_save
from tests.factories import LeadSourceFactory
from tests.signups.conftest import confirmation_path

pytestmark = pytest.mark.django_db

UTM = "?utm_source=Instagram&utm_medium=social&utm_campaign=spring&utm_content=story"


def test_record_keeps_time_ip_form_consent_version_and_utm(signup_form, submit, sink, client):
    signed_up_at = timezone.now().replace(microsecond=0)
    with time_machine.travel(signed_up_at, tick=False):
        page = client.get("/signup/newsletter/" + UTM).content.decode()
        assert 'name="utm_source" value="Instagram"' in page
        submit(
            signup_form,
            remote_addr="203.0.113.7",
            utm_source="Instagram",
            utm_medium="social",
            utm_campaign="spring",
            utm_content="story",
        )
    with time_machine.travel(signed_up_at + timedelta(hours=2), tick=False):
        client.post(confirmation_path(sink.received[0]), REMOTE_ADDR="198.51.100.4")

    record = ConsentRecord.objects.select_related("consent_text").get()
    assert record.contact == Contact.objects.get(email="ann@example.com")
    assert record.form == signup_form
    assert (record.consent_text.version, record.consent_text.text) == (
        1,
        "I agree to receive the newsletter.",
    )
    assert record.signed_up_at == signed_up_at
    assert record.confirmed_at == signed_up_at + timedelta(hours=2)
    assert (record.ip, record.confirmation_ip) == ("203.0.113.7", "198.51.100.4")
    assert record.utm == {
        "utm_source": "Instagram",
        "utm_medium": "social",
        "utm_campaign": "spring",
        "utm_content": "story",
    }


def test_utm_on_the_forms_address_counts_when_hidden_fields_are_empty(
    signup_form, submit, sink, client
):
    submit(signup_form, query="?utm_source=partner-blog&utm_medium=embed")
    client.post(confirmation_path(sink.received[0]))

    assert ConsentRecord.objects.get().utm == {
        "utm_source": "partner-blog",
        "utm_medium": "embed",
    }


def test_utm_source_names_the_lead_source_created_when_new(signup_form, submit, sink, client):
    submit(signup_form, utm_source="Instagram")
    client.post(confirmation_path(sink.received[0]))

    assert Contact.objects.get().lead_source == LeadSource.objects.get(name="Instagram")


def test_utm_source_matches_an_existing_lead_source_in_any_case(signup_form, submit, sink, client):
    existing = LeadSourceFactory(name="Instagram")

    submit(signup_form, utm_source="instagram")
    client.post(confirmation_path(sink.received[0]))

    assert Contact.objects.get().lead_source == existing
    assert LeadSource.objects.filter(name__iexact="instagram").count() == 1


def test_without_utm_source_the_forms_lead_source_is_used(signup_form, submit, sink, client):
    signup_form.lead_source = LeadSourceFactory(name="Website form")
    signup_form_save(form=signup_form)

    submit(signup_form)
    client.post(confirmation_path(sink.received[0]))

    assert Contact.objects.get().lead_source.name == "Website form"


def test_editing_the_consent_text_adds_a_version_and_records_point_at_the_one_shown(
    signup_form, submit, sink, client
):
    old_version = signup_form.consent_version
    signup_form.consent_text = "I agree to receive the newsletter and partner offers."
    signup_form_save(form=signup_form)
    assert signup_form.consent_version == old_version + 1

    # An embedded snippet copied before the change still shows (and names) the old text.
    submit(signup_form, email="old@example.com", consent_version=str(old_version))
    submit(signup_form, email="new@example.com", consent_version=str(old_version + 1))
    for mail in sink.received:
        client.post(confirmation_path(mail))

    versions = dict(ConsentRecord.objects.values_list("email", "consent_text__version"))
    assert versions == {"old@example.com": old_version, "new@example.com": old_version + 1}
    assert signup_form.consent_texts.count() == 2


def test_saving_without_changing_the_text_keeps_the_version(signup_form):
    signup_form.title = "Our newsletter"
    signup_form_save(form=signup_form)

    assert signup_form.consent_texts.count() == 1
    assert signup_form.consent_version == 1


def test_a_version_the_form_never_had_counts_as_the_current_one(signup_form, submit, sink, client):
    submit(signup_form, consent_version="99")
    client.post(confirmation_path(sink.received[0]))

    assert ConsentRecord.objects.get().consent_text.version == signup_form.consent_version
