"""The "Inactivity by lead source" report: numbers, order, chart, trend, never-evaluated state."""

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.urls import NoReverseMatch, reverse

from segments.models import Segment, SegmentEvaluation
from segments.reports import (
    SourceInactivity,
    inactivity_by_source,
    inactivity_report,
    segment_size_trend,
)
from tests.factories import (
    ContactFactory,
    LeadSourceFactory,
    SegmentFactory,
    SegmentMembershipFactory,
)

pytestmark = pytest.mark.django_db
PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 3, 14, 9, 30, tzinfo=PARIS)
HOUR = timedelta(hours=1)
REPORT_URL = "admin:segments_leadsourceinactivity_changelist"


@pytest.fixture(autouse=True)
def frozen_now():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def inactive() -> Segment:
    """The built-in segment, as the data migration installs it, evaluated an hour ago."""
    segment = Segment.objects.get(slug="inactive")
    segment.last_evaluated_at = NOW - HOUR
    segment.save()
    return segment


def contacts_of(source, count: int, *, inactive_segment: Segment | None = None, inactive: int = 0):
    contacts = [ContactFactory(lead_source=source) for _ in range(count)]
    for contact in contacts[:inactive]:
        SegmentMembershipFactory(segment=inactive_segment, contact=contact)
    return contacts


@pytest.fixture
def base(inactive):
    """Fair: 1 of 4 inactive; Ads: 2 of 2; no source: 1 of 3; Web: 0 of 1."""
    fair, ads, web = (LeadSourceFactory(name=name) for name in ("Fair", "Ads", "Web"))
    LeadSourceFactory(name="Unused")  # no contact: not listed
    fair_contacts = contacts_of(fair, 4, inactive_segment=inactive, inactive=1)
    contacts_of(ads, 2, inactive_segment=inactive, inactive=2)
    contacts_of(None, 3, inactive_segment=inactive, inactive=1)
    web_contact = contacts_of(web, 1)[0]
    # Neither counts: a stay that ended, and a stay in another segment; an earlier stay of a
    # current member does not count it twice.
    SegmentMembershipFactory(segment=inactive, contact=fair_contacts[1], exited_at=NOW - HOUR)
    SegmentMembershipFactory(
        segment=inactive,
        contact=fair_contacts[0],
        entered_at=NOW - 90 * HOUR,
        exited_at=NOW - 80 * HOUR,
    )
    SegmentMembershipFactory(segment=SegmentFactory(), contact=web_contact)
    return {"fair": fair, "ads": ads, "web": web}


def row_texts(html: str) -> list[list[str]]:
    body = html.split('id="inactivity-by-source"', 1)[1].split("</tbody>", 1)[0]
    return [
        [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row)]
        for row in re.findall(r'<tr class="source">(.*?)</tr>', body, re.S)
    ]


# The numbers -----------------------------------------------------------------------------------


def test_rows_count_contacts_and_current_members_by_source_worst_share_first(base, inactive):
    rows = inactivity_by_source(segment=inactive)

    assert [(row.name, row.contacts, row.inactive) for row in rows] == [
        ("Ads", 2, 2),
        ("", 3, 1),
        ("Fair", 4, 1),
        ("Web", 1, 0),
    ]
    assert rows[0].source_id == base["ads"].pk
    assert rows[1].source_id is None
    assert [round(row.share, 3) for row in rows] == [1.0, 0.333, 0.25, 0.0]


def test_rows_come_from_one_query_when_there_are_many_sources(inactive, django_assert_num_queries):
    for index in range(6):
        contacts_of(LeadSourceFactory(), 2, inactive_segment=inactive, inactive=index % 3)

    with django_assert_num_queries(1):
        rows = inactivity_by_source(segment=inactive)

    assert len(rows) == 6


def test_ties_are_ordered_by_more_inactive_contacts_when_shares_are_equal(inactive):
    contacts_of(LeadSourceFactory(name="Small"), 2, inactive_segment=inactive, inactive=1)
    contacts_of(LeadSourceFactory(name="Big"), 10, inactive_segment=inactive, inactive=5)

    rows = inactivity_by_source(segment=inactive)

    assert [row.name for row in rows] == ["Big", "Small"]


def test_total_adds_every_source_when_report_is_built(base):
    report = inactivity_report()

    assert (report.total.contacts, report.total.inactive) == (10, 4)
    assert report.total.share == pytest.approx(0.4)


def test_share_is_zero_when_a_row_has_no_contact():
    assert SourceInactivity(source_id=None, name="", contacts=0, inactive=0).share == 0.0


# The page --------------------------------------------------------------------------------------


def test_page_shows_rows_worst_first_with_no_source_row_when_segment_was_evaluated(
    staff_client, base
):
    response = staff_client.get(reverse(REPORT_URL))

    assert response.status_code == 200
    html = response.content.decode()
    assert row_texts(html) == [
        ["Ads", "2", "2", "100.0 %"],
        ["(no source)", "3", "1", "33.3 %"],
        ["Fair", "4", "1", "25.0 %"],
        ["Web", "1", "0", "0.0 %"],
    ]
    assert "Unused" not in html
    assert 'id="report-evaluated"' in html
    assert 'id="report-never-evaluated"' not in html


def test_chart_draws_one_bar_per_source_scaled_to_its_share(staff_client, base):
    html = staff_client.get(reverse(REPORT_URL)).content.decode()

    chart = html.split('<svg id="inactivity-chart"', 1)[1].split("</svg>", 1)[0]
    widths = re.findall(r'<rect class="bar"[^>]* width="([\d.]+)"', chart)
    assert widths == ["420.0", "140.0", "105.0", "0.0"]
    assert "<script" not in html.split('id="content-main"', 1)[1].split('id="footer"', 1)[0]
    assert "cdn" not in html.lower()


def test_source_name_is_escaped_when_it_holds_html(staff_client, inactive):
    evil = '<img src=x onerror="alert(1)">'
    contacts_of(LeadSourceFactory(name=evil), 1, inactive_segment=inactive, inactive=1)

    html = staff_client.get(reverse(REPORT_URL)).content.decode()

    assert evil not in html
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in html
    chart = html.split('<svg id="inactivity-chart"', 1)[1].split("</svg>", 1)[0]
    assert "&lt;img" in chart


def test_page_says_never_evaluated_and_offers_evaluation_when_segment_never_ran(staff_client):
    segment = Segment.objects.get(slug="inactive")
    ContactFactory()

    html = staff_client.get(reverse(REPORT_URL)).content.decode()

    assert 'id="report-never-evaluated"' in html
    assert "has never been evaluated" in html
    assert "python manage.py evaluate_segments inactive" in html
    try:
        segment_url = reverse("admin:segments_segment_change", args=[segment.pk])
    except NoReverseMatch:  # the segment admin is not there
        segment_url = None
    if segment_url:
        assert segment_url in html
    assert 'id="inactivity-by-source"' not in html


def test_page_says_segment_is_missing_when_it_was_deleted(staff_client):
    Segment.objects.filter(slug="inactive").delete()

    response = staff_client.get(reverse(REPORT_URL))

    assert response.status_code == 200
    assert 'id="report-no-segment"' in response.content.decode()


# The trend -------------------------------------------------------------------------------------


def evaluation(segment: Segment, hours_ago: int, members: int, **fields) -> SegmentEvaluation:
    return SegmentEvaluation.objects.create(
        segment=segment,
        started_at=NOW - hours_ago * HOUR,
        duration=timedelta(seconds=1),
        status=fields.pop("status", SegmentEvaluation.Status.DONE),
        members=members,
        **fields,
    )


def test_trend_lists_latest_completed_evaluations_oldest_first(inactive):
    for hours_ago in range(40, 0, -1):
        evaluation(inactive, hours_ago * 12, members=1000 + hours_ago)
    evaluation(inactive, 1, members=0, status=SegmentEvaluation.Status.FAILED, error="boom")
    evaluation(SegmentFactory(), 2, members=5)

    trend = segment_size_trend(segment=inactive)

    assert len(trend) == 30
    assert [point.members for point in trend] == [1000 + h for h in range(30, 0, -1)]
    assert all(point.segment_id == inactive.pk for point in trend)


def test_page_draws_the_trend_and_its_table_when_segment_has_evaluations(staff_client, inactive):
    evaluation(inactive, 36, members=100, entered=100)
    evaluation(inactive, 24, members=150, entered=60, exited=10)
    evaluation(inactive, 12, members=50, exited=100)

    html = staff_client.get(reverse(REPORT_URL)).content.decode()

    chart = html.split('<svg id="inactive-trend"', 1)[1].split("</svg>", 1)[0]
    points = re.search(r'<polyline class="line" points="([^"]+)"', chart).group(1).split()
    # Three points left to right; the highest value at the top margin, y grows downwards.
    assert points == ["24.0,61.3", "320.0,24.0", "616.0,98.7"]
    table = html.split('id="inactive-trend-table"', 1)[1].split("</table>", 1)[0]
    members = re.findall(r'<td class="number">(\d+)</td>\s*<td class="number">\d+</td>', table)
    assert members == ["50", "150", "100"]  # newest first in the table


def test_page_says_no_evaluation_yet_when_trend_is_empty(staff_client, inactive):
    html = staff_client.get(reverse(REPORT_URL)).content.decode()

    assert "No completed evaluation yet." in html


# Access ----------------------------------------------------------------------------------------


def test_report_is_listed_and_read_only_when_staff_may_view_it(client, django_user_model, base):
    user = django_user_model.objects.create_user("viewer", "v@example.com", "pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_leadsourceinactivity"))
    client.force_login(user)

    index = client.get(reverse("admin:index")).content.decode()
    report = client.get(reverse(REPORT_URL))

    assert "Inactivity by lead source" in index
    assert report.status_code == 200
    for name in ("add", "change", "delete", "history"):
        with pytest.raises(NoReverseMatch):
            reverse(
                f"admin:segments_leadsourceinactivity_{name}", args=[] if name == "add" else [1]
            )


def test_report_is_refused_when_staff_lacks_the_permission(client, django_user_model, base):
    user = django_user_model.objects.create_user("other", "o@example.com", "pw", is_staff=True)
    client.force_login(user)

    assert client.get(reverse(REPORT_URL)).status_code == 403
