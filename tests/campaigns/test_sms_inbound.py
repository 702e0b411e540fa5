"""Incoming SMS replies: a STOP unsubscribes the sender's number from SMS."""

import base64
import json

import pytest
from django.urls import reverse

from campaigns.sms.inbound import sms_is_stop
from contacts.models import Activity, ActivityKind, Channel, SmsStatus
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db

SECRET = "test-sms-secret"
PHONE = "+33612345678"


@pytest.fixture(autouse=True)
def inbound_secret(settings):
    settings.RELANCE_SMS_INBOUND_SECRET = SECRET
    settings.RELANCE_PHONE_REGION = "FR"


def basic(password: str, user: str = "provider") -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def post_json(client, payload: dict, *, authorization: str | None = basic(SECRET)):
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization else {}
    return client.post(
        reverse("campaigns:sms_inbound"),
        data=json.dumps(payload),
        content_type="application/json",
        **headers,
    )


def post_form(client, payload: dict, *, authorization: str | None = basic(SECRET)):
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization else {}
    return client.post(reverse("campaigns:sms_inbound"), data=payload, **headers)


def subscribed(phone=PHONE, **kwargs):
    return ContactFactory(phone=phone, sms_status=SmsStatus.SUBSCRIBED, **kwargs)


def test_url_is_sms_inbound_at_the_site_root():
    assert reverse("campaigns:sms_inbound") == "/sms/inbound/"


def test_stop_unsubscribes_the_sender_from_sms(client):
    contact = subscribed()

    response = post_json(client, {"from": PHONE, "text": "STOP", "id": "reply-1"})

    assert response.status_code == 200
    contact.refresh_from_db()
    assert contact.sms_status == SmsStatus.UNSUBSCRIBED
    (activity,) = Activity.objects.filter(contact=contact)
    assert activity.kind == ActivityKind.UNSUBSCRIBE
    assert activity.channel == Channel.SMS
    assert "reply-1" in activity.external_id


def test_stop_leaves_the_email_status_alone(client):
    contact = subscribed()

    post_json(client, {"from": PHONE, "text": "STOP", "id": "reply-1"})

    contact.refresh_from_db()
    assert contact.email_status == "subscribed"


def test_stop_unsubscribes_when_sent_form_encoded_with_a_number_without_plus(client):
    contact = subscribed()

    response = post_form(client, {"from": "33612345678", "text": "  Arrêt ", "id": "r-2"})

    assert response.status_code == 200
    contact.refresh_from_db()
    assert contact.sms_status == SmsStatus.UNSUBSCRIBED


def test_stop_unsubscribes_when_the_number_is_written_the_national_way(client):
    contact = subscribed()

    post_form(client, {"from": "06 12 34 56 78", "text": "stop"})

    contact.refresh_from_db()
    assert contact.sms_status == SmsStatus.UNSUBSCRIBED


def test_stop_unsubscribes_a_contact_without_sms_consent_too(client):
    contact = ContactFactory(phone=PHONE)  # no_consent by default

    post_json(client, {"from": PHONE, "text": "STOP", "id": "reply-1"})

    contact.refresh_from_db()
    assert contact.sms_status == SmsStatus.UNSUBSCRIBED


def test_stop_unsubscribes_every_contact_with_that_number(client):
    family = [subscribed(), subscribed(), subscribed()]
    neighbour = subscribed(phone="+33698765432")

    post_json(client, {"from": PHONE, "text": "Stop SMS", "id": "reply-1"})

    for contact in family:
        contact.refresh_from_db()
        assert contact.sms_status == SmsStatus.UNSUBSCRIBED
    assert Activity.objects.filter(kind=ActivityKind.UNSUBSCRIBE).count() == 3
    neighbour.refresh_from_db()
    assert neighbour.sms_status == SmsStatus.SUBSCRIBED


def test_replayed_reply_changes_nothing(client):
    contact = subscribed()
    post_json(client, {"from": PHONE, "text": "STOP", "id": "reply-1"})
    # Staff opt the contact back in after a phone call.
    contact.refresh_from_db()
    contact.sms_status = SmsStatus.SUBSCRIBED
    contact.save()

    response = post_json(client, {"from": PHONE, "text": "STOP", "id": "reply-1"})

    assert response.status_code == 200
    assert Activity.objects.filter(contact=contact).count() == 1
    contact.refresh_from_db()
    assert contact.sms_status == SmsStatus.SUBSCRIBED


def test_replayed_reply_without_id_is_recorded_once(client):
    contact = subscribed()

    post_json(client, {"from": PHONE, "text": "STOP"})
    post_json(client, {"from": PHONE, "text": "STOP"})

    assert Activity.objects.filter(contact=contact).count() == 1


def test_another_stop_with_another_id_is_recorded(client):
    contact = subscribed()

    post_json(client, {"from": PHONE, "text": "STOP", "id": "reply-1"})
    post_json(client, {"from": PHONE, "text": "STOP", "id": "reply-2"})

    assert Activity.objects.filter(contact=contact).count() == 2


@pytest.mark.parametrize("text", ["Merci, à bientôt", "Stop sending me this please", "Oui", ""])
def test_other_replies_change_nothing(client, text):
    contact = subscribed()

    response = post_json(client, {"from": PHONE, "text": text, "id": "reply-1"})

    assert response.status_code == 200
    contact.refresh_from_db()
    assert contact.sms_status == SmsStatus.SUBSCRIBED
    assert not Activity.objects.exists()


@pytest.mark.parametrize("sender", ["+33698765432", "36180", "Boutique", "+99912"])
def test_stop_from_an_unknown_number_changes_nothing(client, sender):
    contact = subscribed()

    response = post_json(client, {"from": sender, "text": "STOP", "id": "reply-1"})

    assert response.status_code == 200
    contact.refresh_from_db()
    assert contact.sms_status == SmsStatus.SUBSCRIBED
    assert not Activity.objects.exists()


def test_bearer_token_is_accepted(client):
    contact = subscribed()

    response = post_json(
        client, {"from": PHONE, "text": "STOP", "id": "r"}, authorization=f"Bearer {SECRET}"
    )

    assert response.status_code == 200
    contact.refresh_from_db()
    assert contact.sms_status == SmsStatus.UNSUBSCRIBED


@pytest.mark.parametrize(
    "authorization",
    [None, basic("wrong"), f"Bearer {SECRET}x", basic(""), "Basic !!not-base64!!", SECRET],
)
def test_forbidden_and_nothing_recorded_when_the_secret_is_missing_or_wrong(client, authorization):
    contact = subscribed()

    response = post_json(client, {"from": PHONE, "text": "STOP"}, authorization=authorization)

    assert response.status_code == 403
    contact.refresh_from_db()
    assert contact.sms_status == SmsStatus.SUBSCRIBED
    assert not Activity.objects.exists()


def test_forbidden_for_everyone_when_no_secret_is_configured(client, settings):
    settings.RELANCE_SMS_INBOUND_SECRET = ""
    subscribed()

    response = post_json(client, {"from": PHONE, "text": "STOP"}, authorization=basic(""))

    assert response.status_code == 403
    assert not Activity.objects.exists()


def test_bad_request_when_the_payload_is_not_usable(client):
    subscribed()
    url = reverse("campaigns:sms_inbound")
    auth = {"HTTP_AUTHORIZATION": basic(SECRET)}

    not_json = client.post(url, data="{oops", content_type="application/json", **auth)
    no_sender = post_json(client, {"text": "STOP"})
    a_list = client.post(url, data="[]", content_type="application/json", **auth)

    assert not_json.status_code == no_sender.status_code == a_list.status_code == 400
    assert not Activity.objects.exists()


def test_only_post_is_allowed(client):
    response = client.get(reverse("campaigns:sms_inbound"), HTTP_AUTHORIZATION=basic(SECRET))

    assert response.status_code == 405


def test_csrf_is_not_required(settings):
    from django.test import Client

    subscribed()
    response = post_json(
        Client(enforce_csrf_checks=True), {"from": PHONE, "text": "STOP", "id": "r"}
    )

    assert response.status_code == 200


@pytest.mark.parametrize(
    "text",
    [
        "STOP",
        "stop",
        " Stop. ",
        "STOP SMS",
        "stop-sms",
        "ARRET",
        "Arrêt",
        "ARRÊT !",
        "UNSUBSCRIBE",
        "Désinscription",
        "DESINSCRIPTION",
        "stopall",
    ],
)
def test_opt_out_keywords_are_recognised(text):
    assert sms_is_stop(text)


@pytest.mark.parametrize("text", ["", "stopper", "non stop", "stop stop please", "arrêtez svp"])
def test_messages_that_only_contain_a_keyword_are_not_opt_outs(text):
    assert not sms_is_stop(text)
