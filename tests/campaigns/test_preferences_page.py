"""The preference centre page: what it shows, what each button changes, and links that are
forged, altered, expired or of an erased contact (which change nothing)."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.core.signing import TimestampSigner
from django.test import Client

from campaigns.models import Message
from campaigns.tracking import (
    contact_preferences_url,
    open_url,
    preferences_signed,
    preferences_url,
    unsubscribe_url,
)
from contacts.models import (
    Activity,
    ActivityKind,
    Channel,
    Contact,
    EmailStatus,
    SmsStatus,
)
from contacts.services import contact_erase
from tests.factories import ContactFactory, ContactListFactory, MessageFactory

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 3, 14, 11, 0, tzinfo=ZoneInfo("Europe/Paris"))


@pytest.fixture(autouse=True)
def frozen_now():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def newsletter():
    return ContactListFactory(name="Newsletter", is_public=True)


@pytest.fixture
def offers():
    return ContactListFactory(name="Offers", is_public=True)


@pytest.fixture
def internal():
    return ContactListFactory(name="Trade fair 2025 import", is_public=False)


@pytest.fixture
def contact(newsletter, internal):
    contact = ContactFactory(email="ann@example.com", language="en", phone="+33612345678")
    contact.lists.add(newsletter, internal)
    return contact


@pytest.fixture
def message(contact) -> Message:
    return MessageFactory(contact=contact, status=Message.Status.SENT, sent_at=NOW)


def page(url: str) -> str:
    return url.removeprefix(settings.RELANCE_PUBLIC_URL)


def reloaded(contact: Contact) -> Contact:
    contact.refresh_from_db()
    return contact


def list_names(contact: Contact) -> set[str]:
    return set(contact.lists.values_list("name", flat=True))


def save(client, url, **choices):
    data = {"action": "save", "email": "on", **choices}
    return client.post(page(url), {k: v for k, v in data.items() if v is not None})


# --- What the page shows ---------------------------------------------------------------------


def test_page_shows_the_public_lists_with_the_contacts_ticked_and_hides_internal_ones(
    client, message, offers
):
    response = client.get(page(preferences_url(message)))

    assert response.status_code == 200
    html = response.content.decode()
    assert "ann@example.com" in html
    assert "Newsletter" in html and "Offers" in html
    assert "Trade fair 2025 import" not in html
    form = response.context["form"]
    assert set(form["lists"].value()) == {message.contact.lists.get(name="Newsletter").pk}
    assert form["email"].value() is True
    assert "no-store" in response["Cache-Control"]


def test_list_descriptions_are_shown_escaped(client, message, newsletter):
    newsletter.description = "<b>Monthly</b> news"
    newsletter.save()

    html = client.get(page(preferences_url(message))).content.decode()

    assert "&lt;b&gt;Monthly&lt;/b&gt; news" in html and "<b>Monthly" not in html


def test_showing_the_page_changes_nothing(client, message):
    client.get(page(preferences_url(message)))

    assert not Activity.objects.exists()
    assert reloaded(message.contact).email_status == EmailStatus.SUBSCRIBED


def test_page_speaks_the_contacts_language(client, message):
    Contact.objects.filter(pk=message.contact_id).update(language="fr-FR")

    response = client.get(page(preferences_url(message)), headers={"Accept-Language": "en"})

    assert response["Content-Language"] == "fr"
    assert '<html lang="fr">' in response.content.decode()


def test_sms_choice_is_offered_only_to_a_contact_with_a_phone(client):
    contact = ContactFactory(phone="")

    response = client.get(page(contact_preferences_url(contact.pk)))

    assert response.status_code == 200
    assert "sms" not in response.context["form"].fields


# --- Saving ----------------------------------------------------------------------------------


def test_saving_joins_and_leaves_public_lists_only(client, message, offers):
    response = save(client, preferences_url(message), lists=[offers.pk])

    assert response.status_code == 302 and "done=saved" in response["Location"]
    assert list_names(message.contact) == {"Offers", "Trade fair 2025 import"}
    record = Activity.objects.get(kind=ActivityKind.PREFERENCES)
    assert record.metadata["lists_joined"] == ["Offers"]
    assert record.metadata["lists_left"] == ["Newsletter"]
    assert record.campaign == message.campaign.key


def test_turning_email_off_unsubscribes_once_with_the_campaign(client, message, newsletter):
    save(client, preferences_url(message), email=None, lists=[newsletter.pk])
    save(client, preferences_url(message), email=None, lists=[newsletter.pk])

    contact = reloaded(message.contact)
    assert contact.email_status == EmailStatus.UNSUBSCRIBED
    unsubscribe = Activity.objects.get(kind=ActivityKind.UNSUBSCRIBE)
    assert (unsubscribe.channel, unsubscribe.campaign) == (Channel.EMAIL, message.campaign.key)
    message.refresh_from_db()
    assert message.unsubscribed_at == NOW


def test_turning_email_on_again_resubscribes_an_unsubscribed_contact(client, message, newsletter):
    Contact.objects.filter(pk=message.contact_id).update(email_status=EmailStatus.UNSUBSCRIBED)

    save(client, preferences_url(message), lists=[newsletter.pk])

    contact = reloaded(message.contact)
    assert contact.email_status == EmailStatus.SUBSCRIBED
    assert contact.email_status_changed_at == NOW
    assert Activity.objects.get(kind=ActivityKind.PREFERENCES).metadata["email_status"] == [
        "unsubscribed",
        "subscribed",
    ]


@pytest.mark.parametrize("status", [EmailStatus.BOUNCED, EmailStatus.COMPLAINED])
def test_a_bounced_or_complained_address_is_never_resubscribed(client, message, newsletter, status):
    Contact.objects.filter(pk=message.contact_id).update(email_status=status)

    response = save(client, preferences_url(message), lists=[newsletter.pk])

    assert response.status_code == 302
    assert reloaded(message.contact).email_status == status
    assert not Activity.objects.exists()


def test_sms_can_be_turned_off_and_on_again_after_a_prior_consent(client, message, newsletter):
    Contact.objects.filter(pk=message.contact_id).update(sms_status=SmsStatus.SUBSCRIBED)
    url = preferences_url(message)

    save(client, url, lists=[newsletter.pk])
    assert reloaded(message.contact).sms_status == SmsStatus.UNSUBSCRIBED
    assert Activity.objects.get(kind=ActivityKind.UNSUBSCRIBE).channel == Channel.SMS

    save(client, url, lists=[newsletter.pk], sms="on")
    assert reloaded(message.contact).sms_status == SmsStatus.SUBSCRIBED


@pytest.mark.parametrize(
    "status", [SmsStatus.NO_CONSENT, SmsStatus.BOUNCED, SmsStatus.COMPLAINED, SmsStatus.CLEANED]
)
def test_sms_is_never_turned_on_without_a_prior_consent(client, message, newsletter, status):
    Contact.objects.filter(pk=message.contact_id).update(sms_status=status)

    save(client, preferences_url(message), lists=[newsletter.pk], sms="on")

    assert reloaded(message.contact).sms_status == status


def test_an_unknown_or_internal_list_is_refused_and_changes_nothing(client, message, internal):
    response = save(client, preferences_url(message), email=None, lists=[internal.pk])

    assert response.status_code == 400
    assert response.context["form"].errors["lists"]
    assert reloaded(message.contact).email_status == EmailStatus.SUBSCRIBED
    assert list_names(message.contact) == {"Newsletter", "Trade fair 2025 import"}
    assert not Activity.objects.exists()


def test_saving_the_same_choices_records_nothing(client, message, newsletter):
    response = save(client, preferences_url(message), lists=[newsletter.pk])

    assert "done=unchanged" in response["Location"]
    assert not Activity.objects.exists()


def test_the_page_after_saving_says_so(client, message, newsletter):
    response = save(client, preferences_url(message), lists=[])

    followed = client.get(response["Location"])

    assert "Your preferences are saved." in followed.content.decode()
    assert list(followed.context["form"]["lists"].value()) == []


def test_a_post_without_the_csrf_token_is_refused(message, offers):
    browser = Client(enforce_csrf_checks=True)

    response = browser.post(page(preferences_url(message)), {"action": "unsubscribe_all"})

    assert response.status_code == 403
    assert reloaded(message.contact).email_status == EmailStatus.SUBSCRIBED


# --- Unsubscribe from everything, keep me subscribed -------------------------------------------


def test_unsubscribing_from_everything_stops_email_and_sms(client, message):
    Contact.objects.filter(pk=message.contact_id).update(sms_status=SmsStatus.SUBSCRIBED)

    response = client.post(page(preferences_url(message)), {"action": "unsubscribe_all"})

    assert "done=unsubscribed" in response["Location"]
    contact = reloaded(message.contact)
    assert (contact.email_status, contact.sms_status) == (
        EmailStatus.UNSUBSCRIBED,
        SmsStatus.UNSUBSCRIBED,
    )
    assert set(
        Activity.objects.filter(kind=ActivityKind.UNSUBSCRIBE).values_list("channel", flat=True)
    ) == {Channel.EMAIL, Channel.SMS}


def test_keep_me_subscribed_counts_as_engagement_once_per_double_click(client, message, frozen_now):
    url = page(preferences_url(message))

    client.post(url, {"action": "stay"})
    frozen_now.shift(2)
    response = client.post(url, {"action": "stay"})

    assert "done=stayed" in response["Location"]
    stay = Activity.objects.get(kind=ActivityKind.STAY)
    assert stay.campaign == message.campaign.key and not stay.is_machine
    contact = reloaded(message.contact)
    assert contact.last_click_at == NOW
    assert contact.email_status == EmailStatus.SUBSCRIBED


def test_keep_me_subscribed_later_is_a_new_engagement(client, message, frozen_now):
    url = page(preferences_url(message))
    client.post(url, {"action": "stay"})

    frozen_now.shift(timedelta(days=3))
    client.post(url, {"action": "stay"})

    assert Activity.objects.filter(kind=ActivityKind.STAY).count() == 2
    assert reloaded(message.contact).last_click_at == NOW + timedelta(days=3)


def test_keep_me_subscribed_brings_back_a_cleaned_contact_but_not_an_unsubscribed_one(
    client, message
):
    other = MessageFactory(contact=ContactFactory(email_status=EmailStatus.UNSUBSCRIBED))
    Contact.objects.filter(pk=message.contact_id).update(email_status=EmailStatus.CLEANED)

    client.post(page(preferences_url(message)), {"action": "stay"})
    client.post(page(preferences_url(other)), {"action": "stay"})

    assert reloaded(message.contact).email_status == EmailStatus.SUBSCRIBED
    assert reloaded(other.contact).email_status == EmailStatus.UNSUBSCRIBED


def test_stay_on_the_unsubscribe_page_records_the_same_engagement(client, message):
    response = client.post(page(unsubscribe_url(message)), {"action": "stay"})

    assert response.status_code == 200
    assert Activity.objects.get(kind=ActivityKind.STAY).contact_id == message.contact_id
    assert reloaded(message.contact).last_click_at == NOW
    assert reloaded(message.contact).email_status == EmailStatus.SUBSCRIBED


def test_unsubscribe_page_links_to_the_preference_page(client, message):
    response = client.get(page(unsubscribe_url(message)))

    assert "/p/" in response.content.decode()


# --- Bad links -------------------------------------------------------------------------------


def forged_links(message: Message) -> list[str]:
    signed = page(preferences_url(message)).removeprefix("/p/").rstrip("/")
    value, _, signature = signed.rpartition(".")
    other = ContactFactory()
    return [
        f"/p/{value}/",  # no signature
        f"/p/{signed[:-2]}/",  # altered signature
        f"/p/{other.pk}{value[value.index('.') :]}.{signature}/",  # another contact
        "/p/" + open_url(message).rsplit("/", 1)[1].removesuffix(".gif") + "/",  # open link
        "/p/" + page(unsubscribe_url(message)).removeprefix("/u/"),  # unsubscribe link
        "/p/not-a-token/",
    ]


def test_forged_or_altered_links_show_a_clear_page_and_change_nothing(client, message):
    for path in forged_links(message):
        got = client.get(path)
        posted = client.post(path, {"action": "unsubscribe_all"})

        assert got.status_code == posted.status_code == 404, path
        assert "This link is not valid" in got.content.decode()

    assert reloaded(message.contact).email_status == EmailStatus.SUBSCRIBED
    assert not Activity.objects.exists()


def test_an_expired_link_says_so_and_changes_nothing(client, message, frozen_now, settings):
    settings.RELANCE_PREFERENCES_TOKEN_DAYS = 30
    url = page(preferences_url(message))

    frozen_now.shift(timedelta(days=31))
    got = client.get(url)
    posted = client.post(url, {"action": "unsubscribe_all"})
    stayed = client.post(url, {"action": "stay"})

    assert got.status_code == posted.status_code == stayed.status_code == 410
    html = got.content.decode()
    assert "This link has expired" in html
    assert "ann@example.com" not in html and "<form" not in html
    assert reloaded(message.contact).email_status == EmailStatus.SUBSCRIBED
    assert not Activity.objects.exists()


def test_a_link_still_works_just_before_it_expires(client, message, frozen_now):
    url = page(preferences_url(message))

    frozen_now.shift(timedelta(days=59, hours=23))

    assert client.get(url).status_code == 200


def test_a_link_signed_with_another_key_is_not_valid(client, message, settings):
    url = page(preferences_url(message))

    settings.SECRET_KEY = "another-secret-key-" + "x" * 40

    assert client.get(url).status_code == 404


def test_a_link_signed_with_the_previous_key_still_works(client, message, settings):
    url = page(preferences_url(message))
    old_key = settings.SECRET_KEY

    settings.SECRET_KEY = "the-new-secret-key-" + "x" * 40
    settings.SECRET_KEY_FALLBACKS = [old_key]

    assert client.get(url).status_code == 200


def test_a_link_of_an_erased_contact_leads_nowhere(client, message):
    url = page(preferences_url(message))
    contact_erase(message.contact, by_user=None)

    assert client.get(url).status_code == 404
    assert client.post(url, {"action": "stay"}).status_code == 404
    assert client.post(page(unsubscribe_url(message)), {"action": "stay"}).status_code == 404
    assert not Activity.objects.filter(kind=ActivityKind.STAY).exists()


def test_a_link_whose_message_is_gone_still_manages_the_contact(client, message):
    url = page(preferences_url(message))
    message.delete()

    response = client.post(url, {"action": "unsubscribe_all"})

    assert response.status_code == 302
    assert reloaded(message.contact).email_status == EmailStatus.UNSUBSCRIBED
    assert Activity.objects.get(kind=ActivityKind.UNSUBSCRIBE).campaign == ""


def test_signed_tokens_are_timestamp_signer_tokens(message):
    signed = preferences_signed(contact_id=message.contact_id, message_token=message.token)

    signer = TimestampSigner(salt="campaigns.preferences", sep=".")
    assert signer.unsign(signed, max_age=10) == f"{message.contact_id}.{message.token}"
    assert signed == signer.sign(f"{message.contact_id}.{message.token}")
