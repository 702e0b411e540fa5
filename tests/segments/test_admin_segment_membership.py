"""Segment memberships in the admin: read-only stays, filtered, searched, never counted."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from contacts.admin.pagination import EstimatedCountPaginator
from segments.models import SegmentMembership
from tests.factories import ContactFactory, SegmentFactory, SegmentMembershipFactory

pytestmark = pytest.mark.django_db

URL = reverse("admin:segments_segmentmembership_changelist")


def listed(response) -> list[tuple[str, str, bool]]:
    return [
        (m.contact.email, m.segment.slug, m.exited_at is None)
        for m in response.context["cl"].result_list
    ]


@pytest.fixture
def stays():
    now = timezone.now()
    vip, lapsed = SegmentFactory(slug="vip"), SegmentFactory(slug="lapsed")
    ann, bob = ContactFactory(email="ann@example.com"), ContactFactory(email="bob@example.com")
    SegmentMembershipFactory(
        segment=vip, contact=ann, entered_at=now - timedelta(days=9), exited_at=now
    )
    SegmentMembershipFactory(segment=vip, contact=bob, entered_at=now - timedelta(days=5))
    SegmentMembershipFactory(segment=lapsed, contact=ann, entered_at=now)
    return {"vip": vip, "lapsed": lapsed}


def test_membership_list_shows_stays_newest_first(staff_client, stays):
    response = staff_client.get(URL)

    assert response.status_code == 200
    assert listed(response) == [
        ("ann@example.com", "lapsed", True),
        ("bob@example.com", "vip", True),
        ("ann@example.com", "vip", False),
    ]
    assert isinstance(response.context["cl"].paginator, EstimatedCountPaginator)
    assert response.context["cl"].show_full_result_count is False


def test_membership_list_filters_by_segment_and_open_or_closed(staff_client, stays):
    vip = stays["vip"].pk

    members = staff_client.get(URL, {"segment__id__exact": vip, "stay": "open"})
    past = staff_client.get(URL, {"segment__id__exact": vip, "stay": "closed"})

    assert listed(members) == [("bob@example.com", "vip", True)]
    assert listed(past) == [("ann@example.com", "vip", False)]


def test_membership_list_finds_stays_by_the_beginning_of_an_email(staff_client, stays):
    response = staff_client.get(URL, {"q": "  ANN@ "})

    assert {email for email, _slug, _open in listed(response)} == {"ann@example.com"}


def test_membership_list_query_count_stays_flat_when_stays_grow(
    staff_client, stays, django_assert_max_num_queries
):
    with CaptureQueriesContext(connection) as few:
        staff_client.get(URL)
    for _ in range(20):
        SegmentMembershipFactory(segment=SegmentFactory())

    with django_assert_max_num_queries(len(few)):
        response = staff_client.get(URL)

    assert len(listed(response)) == 23


def test_memberships_cannot_be_added_changed_or_deleted(staff_client, stays):
    membership = SegmentMembership.objects.filter(exited_at__isnull=True).first()

    add = staff_client.get(reverse("admin:segments_segmentmembership_add"))
    change = staff_client.post(
        reverse("admin:segments_segmentmembership_change", args=[membership.pk]),
        {"exited_at_0": "2020-01-01", "exited_at_1": "00:00"},
    )
    delete = staff_client.post(
        reverse("admin:segments_segmentmembership_delete", args=[membership.pk]), {"post": "yes"}
    )
    view = staff_client.get(
        reverse("admin:segments_segmentmembership_change", args=[membership.pk])
    )

    assert add.status_code == 403
    assert change.status_code == 403
    assert delete.status_code == 403
    assert view.status_code == 200 and 'name="exited_at_0"' not in view.content.decode()
    membership.refresh_from_db()
    assert membership.exited_at is None
    assert SegmentMembership.objects.count() == 3


def test_membership_page_escapes_the_contact_email(staff_client):
    membership = SegmentMembershipFactory(contact=ContactFactory(email="<b>x</b>@example.com"))

    page = staff_client.get(
        reverse("admin:segments_segmentmembership_change", args=[membership.pk])
    ).content.decode()
    listing = staff_client.get(URL).content.decode()

    assert "&lt;b&gt;x&lt;/b&gt;@example.com" in page
    assert "<b>x</b>" not in page and "<b>x</b>" not in listing
