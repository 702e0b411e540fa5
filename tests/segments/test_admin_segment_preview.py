"""The rule editor's live preview: count, sample and split by lead source, before saving."""

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from contacts.models import EmailStatus
from tests.factories import ContactFactory, LeadSourceFactory, SegmentFactory

pytestmark = pytest.mark.django_db

URL = reverse("admin:segments_segment_preview")
NOW = datetime(2025, 6, 15, 10, 0, tzinfo=ZoneInfo("UTC"))

SLEEPING = {
    "match": "all",
    "conditions": [
        {"field": "email_status", "operator": "is", "value": ["subscribed"]},
        {"field": "last_open_at", "operator": "not_within", "value": 6, "unit": "months"},
    ],
}


def preview(client, rule, **extra):
    text = rule if isinstance(rule, str) else json.dumps(rule)
    return client.post(URL, {"rule": text, **extra})


@pytest.fixture
def sleeping_contacts() -> dict[str, object]:
    """Six subscribed contacts with no open for 6 months (3 Fair, 2 Web, 1 without source),
    and three who do not match."""
    fair, web = LeadSourceFactory(name="Fair"), LeadSourceFactory(name="Web")
    long_ago = NOW - timedelta(days=400)
    made = {}
    for index, (source, last_open) in enumerate(
        [(fair, None), (fair, long_ago), (fair, None), (web, None), (web, long_ago), (None, None)]
    ):
        made[f"match{index}"] = ContactFactory(
            email=f"match{index}@example.com",
            first_name="Ann",
            last_name=f"Match{index}",
            lead_source=source,
            email_status=EmailStatus.SUBSCRIBED,
            last_open_at=last_open,
        )
    ContactFactory(email="opened@example.com", lead_source=fair, last_open_at=NOW)
    ContactFactory(
        email="edge@example.com", lead_source=fair, last_open_at=NOW - timedelta(days=150)
    )
    ContactFactory(email="gone@example.com", email_status=EmailStatus.UNSUBSCRIBED)
    return made


@time_machine.travel(NOW, tick=False)
def test_preview_counts_samples_and_splits_by_source_when_the_rule_is_valid(
    staff_client, sleeping_contacts
):
    response = preview(staff_client, SLEEPING)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    data = response.json()
    assert data["count"] == 6
    assert data["by_source"] == [
        {"source": "Fair", "count": 3},
        {"source": "Web", "count": 2},
        {"source": "", "count": 1},
    ]
    assert [row["email"] for row in data["sample"]] == [
        f"match{index}@example.com" for index in range(5, -1, -1)
    ]
    newest = sleeping_contacts["match5"]
    assert data["sample"][0] == {
        "id": newest.pk,
        "email": "match5@example.com",
        "name": "Ann Match5",
        "source": "",
        "status": "Subscribed",
        "url": reverse("admin:contacts_contact_change", args=[newest.pk]),
    }


@time_machine.travel(NOW, tick=False)
def test_preview_accepts_the_rule_as_typed_and_nested_groups(staff_client, sleeping_contacts):
    rule = {
        "match": "all",
        "conditions": [
            {"field": "email_status", "operator": "is", "value": "subscribed"},
            {
                "match": "any",
                "conditions": [
                    {
                        "field": "last_open_at",
                        "operator": "more_than",
                        "value": "6",
                        "unit": "months",
                    },
                    {
                        "field": "lead_source",
                        "operator": "is_not",
                        "value": [sleeping_contacts["match0"].lead_source_id],
                    },
                ],
            },
        ],
    }

    data = preview(staff_client, rule).json()

    # Opened over 6 months ago (match1, match4), or not from Fair (match3, match5).
    assert data["count"] == 4


def test_preview_of_an_empty_rule_counts_every_contact(staff_client):
    ContactFactory.create_batch(3)

    data = preview(staff_client, {"match": "all", "conditions": []}).json()

    assert data["count"] == 3
    assert data["by_source"] == [{"source": "", "count": 3}]


def test_preview_sample_stops_at_ten_contacts(staff_client):
    ContactFactory.create_batch(12)

    data = preview(staff_client, {"match": "all", "conditions": []}).json()

    assert data["count"] == 12
    assert len(data["sample"]) == 10


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        (
            {"match": "all", "conditions": [{"field": "shoe_size", "operator": "is"}]},
            "Condition 1: unknown field “shoe_size”.",
        ),
        (
            {"match": "all", "conditions": [{"field": "score", "operator": "gt", "value": "a"}]},
            "Condition 1: the value must be a whole number.",
        ),
        ([], "The rule must be a group of conditions."),
        ("{not json", "The rule is not valid JSON."),
        ("", "The rule is not valid JSON."),
    ],
)
def test_preview_answers_400_with_the_messages_when_the_rule_is_invalid(
    staff_client, rule, message
):
    response = preview(staff_client, rule)

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert message in response.json()["errors"]


def test_preview_lists_every_mistake_of_the_rule(staff_client):
    rule = {
        "match": "all",
        "conditions": [
            {"field": "shoe_size", "operator": "is"},
            {"match": "maybe", "conditions": [{"field": "opens", "operator": "at_least"}]},
        ],
    }

    errors = preview(staff_client, rule).json()["errors"]

    assert len(errors) == 3
    assert errors[0].startswith("Condition 1:")
    assert errors[1].startswith("Condition 2:")
    assert errors[2].startswith("Condition 2.1:")


def test_preview_refuses_a_segment_using_itself_when_told_which_segment_is_edited(staff_client):
    segment = SegmentFactory()
    rule = {
        "match": "all",
        "conditions": [{"field": "segment", "operator": "is", "value": [segment.pk]}],
    }

    edited = preview(staff_client, rule, segment=str(segment.pk))
    other = preview(staff_client, rule)

    assert edited.status_code == 400
    assert edited.json()["errors"] == [
        "Rule: a segment cannot use itself, directly or through other segments."
    ]
    assert other.status_code == 200


def test_preview_refuses_get(staff_client):
    response = staff_client.get(URL, {"rule": json.dumps(SLEEPING)})

    assert response.status_code == 405
    assert response["Allow"] == "POST"


def test_preview_refuses_staff_without_permission_to_view_segments(client, django_user_model):
    user = django_user_model.objects.create_user("intern", password="pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_contact"))
    client.force_login(user)

    response = preview(client, SLEEPING)

    assert response.status_code == 403
    assert "errors" in response.json()


def test_preview_allows_staff_who_may_only_view_segments(client, django_user_model):
    user = django_user_model.objects.create_user("analyst", password="pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_segment"))
    client.force_login(user)

    response = preview(client, {"match": "all", "conditions": []})

    assert response.status_code == 200


def test_preview_sends_anonymous_visitors_to_the_login_page(client):
    response = preview(client, SLEEPING)

    assert response.status_code == 302
    assert reverse("admin:login") in response.url


def test_preview_refuses_a_post_without_csrf_token(django_user_model):
    user = django_user_model.objects.create_superuser("csrf", "csrf@example.com", "pw")
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)

    response = preview(client, SLEEPING)

    assert response.status_code == 403


def test_preview_returns_html_in_names_as_plain_text_for_the_editor_to_insert_as_text(
    staff_client,
):
    ContactFactory(
        email="<b>bold</b>@example.com",
        first_name="<img src=x onerror=alert(1)>",
        last_name="",
        lead_source=LeadSourceFactory(name="<script>alert(2)</script>"),
    )

    response = preview(staff_client, {"match": "all", "conditions": []})

    # JSON, not HTML: the strings arrive as typed, and the editor sets them with textContent.
    assert response["Content-Type"] == "application/json"
    data = response.json()
    assert data["sample"][0]["email"] == "<b>bold</b>@example.com"
    assert data["sample"][0]["name"] == "<img src=x onerror=alert(1)>"
    assert data["by_source"] == [{"source": "<script>alert(2)</script>", "count": 1}]
