"""The contact list in the admin: columns, filters, search, counting."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from contacts.admin.pagination import EstimatedCountPaginator
from contacts.models import EmailStatus, EngagementLevel, ListMembership, SmsStatus
from tests.factories import ContactFactory, ContactListFactory, LeadSourceFactory, TagFactory

pytestmark = pytest.mark.django_db

URL = reverse("admin:contacts_contact_changelist")


def listed(response) -> set[str]:
    return {contact.email for contact in response.context["cl"].result_list}


def test_changelist_shows_contact_columns_when_staff_opens_it(staff_client):
    source = LeadSourceFactory(name="Trade fair")
    ContactFactory(
        email="ann@example.com",
        first_name="Ann",
        last_name="Lee",
        lead_source=source,
        email_status=EmailStatus.BOUNCED,
        sms_status=SmsStatus.SUBSCRIBED,
        engagement_level=EngagementLevel.INACTIVE,
        score=42,
    )

    response = staff_client.get(URL)

    page = response.content.decode()
    assert response.status_code == 200
    for text in ("ann@example.com", "Ann Lee", "Trade fair", "Bounced", "Inactive", "42"):
        assert text in page


def test_changelist_query_count_stays_flat_when_contacts_grow(
    staff_client, django_assert_max_num_queries
):
    source = LeadSourceFactory()
    ContactFactory.create_batch(3, lead_source=source)
    with CaptureQueriesContext(connection) as few:
        staff_client.get(URL)
    ContactFactory.create_batch(40, lead_source=LeadSourceFactory())

    with django_assert_max_num_queries(len(few)):
        response = staff_client.get(URL)

    assert len(listed(response)) == 43


@pytest.mark.parametrize(
    ("param", "value", "field"),
    [
        ("email_status__exact", EmailStatus.UNSUBSCRIBED, "email_status"),
        ("sms_status__exact", SmsStatus.SUBSCRIBED, "sms_status"),
        ("engagement_level__exact", EngagementLevel.DISENGAGED, "engagement_level"),
    ],
)
def test_status_filters_keep_matching_contacts_when_applied(staff_client, param, value, field):
    ContactFactory(email="match@example.com", **{field: value})
    ContactFactory(email="other@example.com")

    response = staff_client.get(URL, {param: value})

    assert listed(response) == {"match@example.com"}


def test_lead_source_filter_keeps_its_contacts_when_applied(staff_client):
    fair = LeadSourceFactory(name="Fair")
    ContactFactory(email="fair@example.com", lead_source=fair)
    ContactFactory(email="web@example.com", lead_source=LeadSourceFactory(name="Web"))

    response = staff_client.get(URL, {"lead_source__id__exact": fair.pk})

    assert listed(response) == {"fair@example.com"}


def test_list_filter_keeps_members_once_when_applied(staff_client):
    newsletter, other = ContactListFactory(), ContactListFactory()
    member = ContactFactory(email="member@example.com")
    ListMembership.objects.create(contact=member, contact_list=newsletter)
    ListMembership.objects.create(contact=member, contact_list=other)
    ListMembership.objects.create(contact=ContactFactory(), contact_list=other)

    response = staff_client.get(URL, {"list": newsletter.pk})

    assert [c.email for c in response.context["cl"].result_list] == ["member@example.com"]


def test_tag_filter_keeps_tagged_contacts_when_applied(staff_client):
    vip = TagFactory(name="vip")
    ContactFactory(email="vip@example.com").tags.add(vip)
    ContactFactory(email="plain@example.com")

    response = staff_client.get(URL, {"tag": vip.pk})

    assert listed(response) == {"vip@example.com"}


def test_filter_shows_nothing_when_list_id_is_garbage(staff_client):
    ListMembership.objects.create(contact=ContactFactory(), contact_list=ContactListFactory())

    response = staff_client.get(URL, {"list": "abc"})

    assert response.status_code == 200
    assert listed(response) == set()


def test_search_finds_contact_by_email_prefix_when_term_is_mixed_case(staff_client):
    ContactFactory(email="jean.dupont@example.com")
    ContactFactory(email="marie@example.com")

    response = staff_client.get(URL, {"q": "  Jean.D "})

    assert listed(response) == {"jean.dupont@example.com"}


def test_search_finds_contact_by_full_email_when_term_has_at_sign(staff_client):
    ContactFactory(email="ann@example.com", first_name="Bob")
    ContactFactory(email="ann@example.org")

    response = staff_client.get(URL, {"q": "Ann@Example.com"})

    assert listed(response) == {"ann@example.com"}


def test_search_finds_contacts_by_name_start_when_term_is_a_name(staff_client):
    ContactFactory(email="a@example.com", first_name="Jean", last_name="Dupont")
    ContactFactory(email="b@example.com", first_name="Paul", last_name="DUPONTEL")
    ContactFactory(email="c@example.com", first_name="Dupond", last_name="Martin")
    ContactFactory(email="d@example.com", first_name="Luc", last_name="Martin-Dupont")

    response = staff_client.get(URL, {"q": "dupont"})

    assert listed(response) == {"a@example.com", "b@example.com"}


def test_search_finds_contact_by_first_and_last_name_when_both_are_typed(staff_client):
    ContactFactory(email="a@example.com", first_name="Jean", last_name="Dupont")
    ContactFactory(email="b@example.com", first_name="Paul", last_name="Dupont")
    ContactFactory(email="c@example.com", first_name="Marie", last_name="de la Tour")

    assert listed(staff_client.get(URL, {"q": "jean dup"})) == {"a@example.com"}
    assert listed(staff_client.get(URL, {"q": "Dupont Paul"})) == {"b@example.com"}
    assert listed(staff_client.get(URL, {"q": "marie de la tour"})) == {"c@example.com"}
    assert listed(staff_client.get(URL, {"q": "de la tour"})) == {"c@example.com"}


def test_email_search_matches_prefix_only_when_term_is_inside_an_address(staff_client):
    # A prefix match is what the e-mail index can serve; "contains" would scan the table.
    ContactFactory(email="jean@example.com")

    response = staff_client.get(URL, {"q": "example.com"})

    assert listed(response) == set()


def test_changelist_shows_capped_count_when_more_contacts_than_cap(staff_client, monkeypatch):
    monkeypatch.setattr(EstimatedCountPaginator, "cap", 5)
    ContactFactory.create_batch(7, email_status=EmailStatus.BOUNCED)

    response = staff_client.get(URL, {"email_status__exact": EmailStatus.BOUNCED})

    assert response.context["cl"].result_count == 5
    assert "5+" in response.content.decode()


def test_changelist_shows_exact_count_when_under_cap(staff_client):
    ContactFactory.create_batch(3)

    response = staff_client.get(URL)

    assert response.context["cl"].result_count == 3
    assert response.context["cl"].full_result_count is None


def test_changelist_escapes_user_data_when_name_holds_html(staff_client):
    ContactFactory(first_name="<script>alert('x')</script>", last_name="<b>bold</b>")

    page = staff_client.get(URL).content.decode()

    assert "<script>alert('x')</script>" not in page
    assert "<b>bold</b>" not in page
    assert "&lt;script&gt;" in page


def test_changelist_is_forbidden_when_user_is_not_staff(client, django_user_model):
    user = django_user_model.objects.create_user("someone", password="pw")
    client.force_login(user)

    response = client.get(URL)

    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]
