"""The engagement policy in the admin (a singleton), and the history on the contact page."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from contacts.models import Contact, EngagementChange, EngagementLevel, EngagementPolicy
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db
POLICY_URL = reverse("admin:contacts_engagementpolicy_change", args=[1])


def policy_form(**changes) -> dict:
    data = {
        "recent_days": 7,
        "engaged_days": 21,
        "disengaged_days": 30,
        "score_recent": 10,
        "score_engaged": 10,
        "score_disengaged": -5,
        "score_inactive": -10,
        "score_never": 0,
    }
    return {**data, **changes}


def test_policy_list_leads_to_the_one_policy_when_staff_opens_it(staff_client):
    response = staff_client.get(reverse("admin:contacts_engagementpolicy_changelist"))

    assert response.status_code == 302
    assert response.url == POLICY_URL
    assert EngagementPolicy.objects.count() == 1


def test_policy_page_shows_the_defaults_when_nobody_edited_it(staff_client):
    EngagementPolicy.load()

    page = staff_client.get(POLICY_URL).content.decode()

    assert 'name="recent_days" value="7"' in page
    assert 'name="engaged_days" value="21"' in page
    assert 'name="disengaged_days" value="30"' in page
    assert 'name="score_disengaged" value="-5"' in page


def test_policy_is_saved_with_who_and_when_when_staff_edits_it(staff_client):
    EngagementPolicy.load()

    response = staff_client.post(
        POLICY_URL, policy_form(recent_days=3, engaged_days=14, score_inactive=-20)
    )

    assert response.status_code == 302
    policy = EngagementPolicy.load()
    assert (policy.recent_days, policy.engaged_days, policy.score_inactive) == (3, 14, -20)
    assert policy.updated_by == staff_client.user
    assert policy.updated_at is not None


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"engaged_days": 7}, "engaged_days"),
        ({"engaged_days": 5}, "engaged_days"),
        ({"disengaged_days": 21}, "disengaged_days"),
        ({"recent_days": 0}, "recent_days"),
        ({"score_inactive": -5000}, "score_inactive"),
    ],
)
def test_policy_is_refused_with_a_message_when_values_are_invalid(staff_client, changes, field):
    EngagementPolicy.load()

    response = staff_client.post(POLICY_URL, policy_form(**changes))

    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    assert EngagementPolicy.load().engaged_days == 21
    assert EngagementPolicy.load().recent_days == 7


def test_policy_cannot_be_added_or_deleted_when_it_exists(staff_client):
    EngagementPolicy.load()

    add = staff_client.get(reverse("admin:contacts_engagementpolicy_add"))
    delete = staff_client.post(
        reverse("admin:contacts_engagementpolicy_delete", args=[1]), {"post": "yes"}
    )

    assert add.status_code == 403
    assert delete.status_code == 403
    assert EngagementPolicy.objects.count() == 1


def test_policy_list_is_refused_when_user_has_no_permission(client, django_user_model):
    user = django_user_model.objects.create_user("clerk", password="pw-clerk-1", is_staff=True)
    client.force_login(user)

    response = client.get(reverse("admin:contacts_engagementpolicy_changelist"))

    assert response.status_code == 403
    assert not EngagementPolicy.objects.exists()


def contact_page(staff_client, contact: Contact):
    return staff_client.get(reverse("admin:contacts_contact_change", args=[contact.pk]))


def add_change(contact: Contact, minutes_ago: int, **fields) -> EngagementChange:
    values = {
        "from_level": EngagementLevel.ENGAGED,
        "to_level": EngagementLevel.DISENGAGED,
        "score_delta": -5,
        **fields,
    }
    return EngagementChange.objects.create(
        contact=contact, changed_at=timezone.now() - timedelta(minutes=minutes_ago), **values
    )


def test_contact_page_lists_level_changes_newest_first_when_there_are_some(staff_client):
    contact = ContactFactory()
    add_change(contact, 60, from_level="never", to_level="recent", score_delta=10)
    add_change(contact, 30, from_level="recent", to_level="engaged", score_delta=0)
    add_change(contact, 10, from_level="engaged", to_level="inactive", score_delta=-10)
    add_change(ContactFactory(), 5)  # someone else's

    response = contact_page(staff_client, contact)

    history = response.context["engagement_history"]
    assert [(c.from_level, c.to_level) for c in history] == [
        ("engaged", "inactive"),
        ("recent", "engaged"),
        ("never", "recent"),
    ]
    section = response.content.decode().split('id="engagement-history"')[1]
    assert "Never engaged" in section and "Recent activity" in section
    assert "+10" in section and "-10" in section


def test_contact_page_says_so_when_the_level_never_changed(staff_client):
    page = contact_page(staff_client, ContactFactory()).content.decode()

    assert "The engagement level has not changed yet." in page


def test_contact_page_shows_fifty_changes_when_contact_has_more(staff_client):
    contact = ContactFactory()
    for minutes in range(55):
        add_change(contact, minutes)

    history = contact_page(staff_client, contact).context["engagement_history"]

    assert len(history) == 50
    assert history[0].changed_at == max(c.changed_at for c in history)


def test_contact_page_shows_the_level_read_only_when_the_job_owns_it(staff_client):
    contact = ContactFactory(engagement_level=EngagementLevel.DISENGAGED)

    response = contact_page(staff_client, contact)

    assert "engagement_level" not in response.context["adminform"].form.fields
    assert "Disengaged" in response.content.decode()


def test_contact_page_escapes_history_values_when_they_hold_html(staff_client):
    contact = ContactFactory()
    # Not a level the job writes, but whatever is stored must be shown as text.
    add_change(contact, 1, from_level="<b>odd</b>")

    page = contact_page(staff_client, contact).content.decode()

    assert "<b>odd</b>" not in page
    assert "&lt;b&gt;odd&lt;/b&gt;" in page
