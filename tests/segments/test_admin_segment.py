"""The segment admin: list, add and change with the rule editor, evaluate now, built-ins."""

import json
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from contacts.models import EmailStatus
from segments.models import Segment, SegmentEvaluation, SegmentMembership
from tests.factories import (
    ContactFactory,
    LeadSourceFactory,
    SegmentFactory,
    TagFactory,
)

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:segments_segment_changelist")
ADD = reverse("admin:segments_segment_add")

SUBSCRIBED_NOT_OPENED = {
    "match": "all",
    "conditions": [
        {"field": "email_status", "operator": "is", "value": "subscribed"},
        {"field": "last_open_at", "operator": "not_within", "value": "6", "unit": "months"},
    ],
}


def change_url(segment: Segment) -> str:
    return reverse("admin:segments_segment_change", args=[segment.pk])


def form_data(**overrides) -> dict:
    data = {
        "name": "Sleeping subscribers",
        "slug": "sleeping-subscribers",
        "description": "",
        "rule": json.dumps(SUBSCRIBED_NOT_OPENED),
        "is_active": "on",
        "evaluation_interval_hours": "12",
    }
    data.update(overrides)
    return {name: value for name, value in data.items() if value is not None}


def rule_errors(response) -> list[str]:
    return list(response.context["adminform"].form.errors.get("rule", []))


# The list --------------------------------------------------------------------------------------


def test_changelist_shows_builtin_segments_with_their_evaluation_columns(staff_client):
    inactive = Segment.objects.get(slug="inactive")
    Segment.objects.filter(pk=inactive.pk).update(
        member_count=12345, last_evaluation_duration=timedelta(seconds=1.5)
    )

    response = staff_client.get(CHANGELIST)

    page = response.content.decode()
    assert response.status_code == 200
    assert {segment.slug for segment in response.context["cl"].result_list} >= {
        "inactive",
        "lapsed-buyers",
        "loyalty-expiring",
    }
    assert "12,345" in page and "1.50 s" in page
    members = reverse("admin:segments_segmentmembership_changelist")
    assert f"{members}?segment__id__exact={inactive.pk}&amp;stay=open" in page


def test_changelist_finds_segments_by_name_or_slug_and_filters_builtins(staff_client):
    SegmentFactory(name="VIP buyers", slug="vip", is_active=False)

    by_name = staff_client.get(CHANGELIST, {"q": "VIP"}).context["cl"].result_list
    by_slug = staff_client.get(CHANGELIST, {"q": "lapsed"}).context["cl"].result_list
    custom = staff_client.get(CHANGELIST, {"is_builtin__exact": "0"}).context["cl"].result_list
    inactive = staff_client.get(CHANGELIST, {"is_active__exact": "0"}).context["cl"].result_list

    assert [s.slug for s in by_name] == ["vip"]
    assert [s.slug for s in by_slug] == ["lapsed-buyers"]
    assert [s.slug for s in custom] == ["vip"]
    assert [s.slug for s in inactive] == ["vip"]


# Adding and changing ---------------------------------------------------------------------------


def test_add_saves_the_canonical_rule_and_makes_an_active_segment_due_now(staff_client):
    moment = timezone.now().replace(microsecond=0)

    with time_machine.travel(moment, tick=False):
        response = staff_client.post(ADD, form_data())

    assert response.status_code == 302
    segment = Segment.objects.get(slug="sleeping-subscribers")
    assert segment.rule == {
        "match": "all",
        "conditions": [
            {"field": "email_status", "operator": "is", "value": ["subscribed"]},
            {"field": "last_open_at", "operator": "not_within", "value": 6, "unit": "months"},
        ],
    }
    assert segment.next_evaluation_at == moment
    assert not segment.is_builtin


def test_add_leaves_an_inactive_segment_unscheduled(staff_client):
    staff_client.post(ADD, form_data(is_active=None))

    segment = Segment.objects.get(slug="sleeping-subscribers")
    assert segment.is_active is False
    assert segment.next_evaluation_at is None


def test_add_page_offers_the_editor_with_the_catalogue_and_the_preview_url(staff_client):
    TagFactory(name="vip-2024")
    LeadSourceFactory(name="Trade fair")

    response = staff_client.get(ADD)

    page = response.content.decode()
    assert response.status_code == 200
    assert "segments/rule_editor.js" in page and "segments/rule_editor.css" in page
    assert 'id="id_rule_catalogue"' in page
    assert reverse("admin:segments_segment_preview") in page
    catalogue = response.context["adminform"].form.fields["rule"].widget.catalogue
    fields = {field["name"]: field for field in catalogue["fields"]}
    assert [name for _pk, name in fields["tag"]["choices"]] == ["vip-2024"]
    assert [name for _pk, name in fields["lead_source"]["choices"]] == ["Trade fair"]
    assert fields["opens"]["machine_events"] is True
    assert {"add_condition", "add_group", "preview"} <= set(catalogue["labels"])


def test_change_page_offers_other_segments_but_not_the_one_edited(staff_client):
    segment = SegmentFactory(name="Mine")
    other = SegmentFactory(name="Other")

    response = staff_client.get(change_url(segment))

    catalogue = response.context["adminform"].form.fields["rule"].widget.catalogue
    segments = dict(next(f for f in catalogue["fields"] if f["name"] == "segment")["choices"])
    assert other.pk in segments
    assert segment.pk not in segments


def test_change_page_escapes_names_in_the_catalogue_when_a_tag_holds_html(staff_client):
    TagFactory(name="</script><script>alert(1)</script>")

    page = staff_client.get(ADD).content.decode()

    assert "<script>alert(1)" not in page
    assert "\\u003C/script\\u003E\\u003Cscript\\u003Ealert(1)" in page


def test_change_saves_edits_and_schedules_from_the_last_evaluation(staff_client):
    last = timezone.now().replace(microsecond=0) - timedelta(hours=2)
    segment = SegmentFactory(
        name="Old", slug="old", is_active=True, last_evaluated_at=last, next_evaluation_at=last
    )

    response = staff_client.post(
        change_url(segment), form_data(name="Renamed", slug="old", evaluation_interval_hours="24")
    )

    assert response.status_code == 302
    segment.refresh_from_db()
    assert segment.name == "Renamed"
    assert segment.evaluation_interval_hours == 24
    assert segment.next_evaluation_at == last + timedelta(hours=24)


def test_change_keeps_what_a_worker_wrote_while_the_form_was_open(staff_client):
    segment = SegmentFactory(slug="busy", member_count=3)
    started = timezone.now() - timedelta(minutes=1)
    # A worker takes the lock and updates the count after the page was loaded.
    Segment.objects.filter(pk=segment.pk).update(evaluation_started_at=started, member_count=40)

    staff_client.post(change_url(segment), form_data(name="Busy", slug="busy"))

    segment.refresh_from_db()
    assert segment.name == "Busy"
    assert segment.member_count == 40
    assert segment.evaluation_started_at == started


def test_deactivating_a_segment_stops_its_schedule(staff_client):
    segment = SegmentFactory(slug="stop", is_active=True, next_evaluation_at=timezone.now())

    staff_client.post(change_url(segment), form_data(slug="stop", is_active=None))

    segment.refresh_from_db()
    assert segment.is_active is False
    assert segment.next_evaluation_at is None


# Invalid rules ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        (
            {"match": "all", "conditions": [{"field": "shoe_size", "operator": "is"}]},
            "Condition 1: unknown field “shoe_size”.",
        ),
        (
            {
                "match": "all",
                "conditions": [
                    {"field": "last_open_at", "operator": "more_than", "value": "six", "unit": "x"}
                ],
            },
            "Condition 1: the number of days, weeks or months must be a whole number.",
        ),
        (
            {"match": "all", "conditions": [{"field": "score", "operator": "gt", "value": 1.5}]},
            "Condition 1: the value must be a whole number.",
        ),
        (
            {
                "match": "all",
                "conditions": [{"match": "any", "conditions": []}],
            },
            "Condition 1: this group is empty: add a condition or remove the group.",
        ),
        ({"conditions": []}, "The rule must be a group of conditions."),
    ],
)
def test_add_refuses_an_invalid_rule_with_its_message_on_the_rule_field(
    staff_client, rule, message
):
    response = staff_client.post(ADD, form_data(rule=json.dumps(rule)))

    assert response.status_code == 200
    assert message in rule_errors(response)
    assert not Segment.objects.filter(slug="sleeping-subscribers").exists()


def test_add_refuses_text_that_is_not_json(staff_client):
    response = staff_client.post(ADD, form_data(rule="{not json"))

    assert response.status_code == 200
    assert rule_errors(response) == ["Enter a valid JSON."]
    # The text comes back as typed, for the user to correct.
    assert "{not json" in response.content.decode()
    assert not Segment.objects.filter(slug="sleeping-subscribers").exists()


def test_change_refuses_a_segment_using_itself_through_another_segment(staff_client):
    first = SegmentFactory(slug="first")
    second = SegmentFactory(
        slug="second",
        rule={
            "match": "all",
            "conditions": [{"field": "segment", "operator": "is", "value": [first.pk]}],
        },
    )
    uses_second = {
        "match": "any",
        "conditions": [{"field": "segment", "operator": "is_not", "value": [second.pk]}],
    }

    response = staff_client.post(
        change_url(first), form_data(name="First", slug="first", rule=json.dumps(uses_second))
    )

    assert response.status_code == 200
    assert "Rule: a segment cannot use itself, directly or through other segments." in (
        rule_errors(response)
    )
    first.refresh_from_db()
    assert first.rule == {"match": "all", "conditions": []}


def test_change_refuses_a_rule_naming_a_deleted_tag(staff_client):
    segment = SegmentFactory(slug="tagged")
    tag = TagFactory()
    rule = {"match": "all", "conditions": [{"field": "tag", "operator": "is", "value": [tag.pk]}]}
    tag.delete()

    response = staff_client.post(
        change_url(segment), form_data(slug="tagged", rule=json.dumps(rule))
    )

    assert f"Rule: the tag #{rule['conditions'][0]['value'][0]} does not exist (any more)." in (
        rule_errors(response)
    )


# Built-in segments -----------------------------------------------------------------------------


def test_builtin_segment_can_be_edited_but_keeps_its_slug(staff_client):
    inactive = Segment.objects.get(slug="inactive")
    rule = json.dumps(inactive.rule)

    response = staff_client.post(
        change_url(inactive),
        form_data(name="Inactive (6 months)", slug="renamed", rule=rule),
    )

    assert response.status_code == 302
    inactive.refresh_from_db()
    assert inactive.name == "Inactive (6 months)"
    assert inactive.slug == "inactive"


def test_builtin_segment_cannot_be_deleted(staff_client):
    inactive = Segment.objects.get(slug="inactive")

    page = staff_client.get(change_url(inactive)).content.decode()
    delete_page = staff_client.post(
        reverse("admin:segments_segment_delete", args=[inactive.pk]), {"post": "yes"}
    )
    bulk = staff_client.post(
        CHANGELIST,
        {"action": "delete_selected", "_selected_action": [inactive.pk], "post": "yes"},
    )

    assert reverse("admin:segments_segment_delete", args=[inactive.pk]) not in page
    assert delete_page.status_code == 403
    assert bulk.status_code == 403
    assert Segment.objects.filter(slug="inactive").exists()


def test_custom_segment_can_be_deleted(staff_client):
    segment = SegmentFactory(slug="temporary")

    response = staff_client.post(
        reverse("admin:segments_segment_delete", args=[segment.pk]), {"post": "yes"}
    )

    assert response.status_code == 302
    assert not Segment.objects.filter(slug="temporary").exists()


@pytest.mark.parametrize(
    "slug",
    [
        "inactive",
        "lapsed-buyers",
        "never-opened",
        "never-clicked",
        "engaged",
        "recent-activity",
        "disengaged",
        "inactive-30d",
        "loyalty-expiring",
    ],
)
def test_builtin_segment_saves_unchanged_when_staff_submits_its_page(staff_client, slug):
    segment = Segment.objects.get(slug=slug)
    form = staff_client.get(change_url(segment)).context["adminform"].form

    response = staff_client.post(
        change_url(segment),
        form_data(
            name=segment.name,
            slug=None,
            description=segment.description,
            rule=form["rule"].value(),
        ),
    )

    assert response.status_code == 302
    rule = segment.rule
    segment.refresh_from_db()
    assert segment.rule == rule


# Evaluate now ----------------------------------------------------------------------------------


def test_evaluate_now_action_queues_the_evaluations_and_reports_them(
    staff_client, django_capture_on_commit_callbacks
):
    ContactFactory(email="sub@example.com", email_status=EmailStatus.SUBSCRIBED)
    ContactFactory(email="gone@example.com", email_status=EmailStatus.UNSUBSCRIBED)
    subscribed = SegmentFactory(
        slug="subscribed",
        rule={
            "match": "all",
            "conditions": [{"field": "email_status", "operator": "is", "value": ["subscribed"]}],
        },
    )
    everyone = SegmentFactory(slug="everyone")

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = staff_client.post(
            CHANGELIST,
            {"action": "evaluate_now", "_selected_action": [subscribed.pk, everyone.pk]},
            follow=True,
        )

    assert len(callbacks) == 2
    assert "2 segments queued for evaluation" in response.content.decode()
    subscribed.refresh_from_db()
    everyone.refresh_from_db()
    assert subscribed.member_count == 1 and everyone.member_count == 2
    assert set(
        SegmentMembership.objects.filter(segment=subscribed).values_list(
            "contact__email", flat=True
        )
    ) == {"sub@example.com"}


def test_evaluate_now_button_queues_one_evaluation_and_returns_to_the_page(
    staff_client, django_capture_on_commit_callbacks
):
    ContactFactory()
    segment = SegmentFactory(slug="all-of-them")
    url = reverse("admin:segments_segment_evaluate", args=[segment.pk])

    assert url in staff_client.get(change_url(segment)).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(url)

    assert response.status_code == 302 and response.url == change_url(segment)
    evaluation = SegmentEvaluation.objects.get(segment=segment)
    assert evaluation.status == SegmentEvaluation.Status.DONE
    assert evaluation.entered == 1


def test_evaluate_now_button_refuses_a_get(staff_client):
    segment = SegmentFactory()

    response = staff_client.get(reverse("admin:segments_segment_evaluate", args=[segment.pk]))

    assert response.status_code == 405
    assert not SegmentEvaluation.objects.exists()


def test_evaluate_now_is_refused_to_staff_who_may_only_view_segments(
    client, django_user_model, django_capture_on_commit_callbacks
):
    viewer = django_user_model.objects.create_user("viewer", password="pw", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_segment"))
    client.force_login(viewer)
    segment = SegmentFactory()

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        button = client.post(reverse("admin:segments_segment_evaluate", args=[segment.pk]))
        page = client.get(change_url(segment)).content.decode()

    assert button.status_code == 403
    assert callbacks == []
    assert "Evaluate now" not in page


# Evaluation history ----------------------------------------------------------------------------


def test_change_page_lists_the_latest_twenty_evaluations_newest_first(staff_client):
    segment = SegmentFactory()
    start = timezone.now() - timedelta(days=30)
    for day in range(25):
        SegmentEvaluation.objects.create(
            segment=segment,
            started_at=start + timedelta(days=day),
            duration=timedelta(seconds=2),
            status=SegmentEvaluation.Status.DONE,
            entered=day,
            members=day,
        )
    SegmentEvaluation.objects.create(
        segment=segment,
        started_at=timezone.now(),
        duration=timedelta(seconds=1),
        status=SegmentEvaluation.Status.FAILED,
        error="Rule: the tag #9 does not exist <any more>.",
    )

    response = staff_client.get(change_url(segment))

    history = response.context["segment_evaluations"]
    assert len(history) == 20
    assert history[0][0].status == SegmentEvaluation.Status.FAILED
    assert [evaluation.entered for evaluation, _duration in history[1:4]] == [24, 23, 22]
    page = response.content.decode()
    assert "the tag #9 does not exist &lt;any more&gt;." in page
    assert 'id="segment-evaluations"' in page


def test_add_page_has_no_history_nor_evaluate_button(staff_client):
    page = staff_client.get(ADD).content.decode()

    assert 'id="segment-evaluations"' not in page
    assert "Evaluate now" not in page


def test_add_page_starts_from_an_empty_rule_without_evaluation_fields(staff_client):
    response = staff_client.get(ADD)

    form = response.context["adminform"].form
    assert json.loads(form["rule"].value()) == {"match": "all", "conditions": []}
    page = response.content.decode()
    assert "Last evaluated" not in page and "Built in" not in page
