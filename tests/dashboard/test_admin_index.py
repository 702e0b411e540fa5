"""The admin's index page as a dashboard: which panels each user sees, what they show, the
"no data yet" states, escaping, caching and the number of queries."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.urls import reverse

from campaigns.models import Campaign
from contacts.models import EngagementLevel
from dashboard.models import BaseSnapshot
from scenarios.models import Enrollment, Scenario
from segments.models import Segment
from tests.dashboard.conftest import NOW
from tests.factories import (
    CampaignFactory,
    ContactFactory,
    LeadSourceFactory,
    SegmentMembershipFactory,
)
from tests.scenarios.factories import ScenarioFactory

pytestmark = pytest.mark.django_db
INDEX = reverse("admin:index")
PANELS = ["engagement", "inactive-segment", "sources", "scenarios", "campaigns"]


def panels_shown(html: str) -> list[str]:
    return re.findall(r'<section class="module dashboard-panel" id="panel-([\w-]+)"', html)


def panel_html(html: str, key: str) -> str:
    return html.split(f'id="panel-{key}"', 1)[1].split("</section>", 1)[0]


def index(client, **headers) -> str:
    response = client.get(INDEX, **headers)
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def inactive_segment() -> Segment:
    segment = Segment.objects.get(slug="inactive")
    segment.last_evaluated_at = NOW - timedelta(hours=1)
    segment.save()
    return segment


@pytest.fixture
def history():
    """Three days of snapshots, the middle one before the inactive segment was evaluated."""
    for days_ago, size in ((2, 40), (1, None), (0, 50)):
        BaseSnapshot.objects.create(
            day=NOW.date() - timedelta(days=days_ago),
            recent=10,
            engaged=20,
            disengaged=0,
            inactive=60,
            never=10,
            total=100,
            inactive_segment_size=size,
        )


def staff_with(django_user_model, *codenames: str):
    user = django_user_model.objects.create_user(
        "viewer", "viewer@example.com", "pw", is_staff=True
    )
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return user


def enrol(scenario: Scenario, count: int, *, reactivated: int = 0, open_: int = 0) -> None:
    entered = NOW - timedelta(days=10)
    for number in range(count):
        contact = ContactFactory(
            last_click_at=entered + timedelta(days=1) if number < reactivated else None
        )
        Enrollment.objects.create(
            scenario=scenario,
            contact=contact,
            entered_at=entered,
            state=Enrollment.State.ACTIVE if number < open_ else Enrollment.State.COMPLETED,
        )


# Permissions --------------------------------------------------------------------------------


def test_shows_every_panel_in_order_above_the_app_list_when_superuser(staff_client, frozen_now):
    html = index(staff_client)

    assert panels_shown(html) == PANELS
    assert html.index('id="dashboard"') < html.index('id="app-list"')
    assert 'href="/admin/contacts/contact/"' in html.split('id="app-list"', 1)[1]


@pytest.mark.parametrize(
    ("codename", "panel"),
    [
        ("view_contact", "engagement"),
        ("view_segment", "inactive-segment"),
        ("view_leadsourceinactivity", "sources"),
        ("view_scenario", "scenarios"),
        ("view_campaign", "campaigns"),
    ],
)
def test_shows_only_the_panel_of_the_model_staff_may_view(
    client, django_user_model, frozen_now, codename, panel
):
    client.force_login(staff_with(django_user_model, codename))

    assert panels_shown(index(client)) == [panel]


def test_shows_no_dashboard_but_the_page_when_staff_may_view_nothing(
    client, django_user_model, frozen_now
):
    client.force_login(staff_with(django_user_model))

    html = index(client)

    assert 'id="dashboard"' not in html
    assert "dashboard-chart" not in html


def test_sends_anonymous_visitors_to_the_login_page(client):
    response = client.get(INDEX)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


# No data yet ---------------------------------------------------------------------------------


def test_says_no_data_yet_in_each_panel_when_the_base_is_new(staff_client, frozen_now):
    html = index(staff_client)

    for key in PANELS:
        assert "No data yet" in panel_html(html, key), key
    assert "dashboard-chart" not in html


def test_says_no_data_yet_for_the_segment_when_no_day_knows_its_size(staff_client, frozen_now):
    BaseSnapshot.objects.create(day=NOW.date(), never=3, total=3, inactive_segment_size=None)

    html = index(staff_client)

    assert 'id="engagement-chart"' in html
    assert "No data yet" in panel_html(html, "inactive-segment")


# Contents ------------------------------------------------------------------------------------


def test_draws_the_snapshots_of_the_last_90_days(staff_client, frozen_now, history):
    BaseSnapshot.objects.create(day=NOW.date() - timedelta(days=90), total=1, never=1)
    BaseSnapshot.objects.create(day=NOW.date() + timedelta(days=1), total=1, never=1)

    html = index(staff_client)

    engagement = panel_html(html, "engagement")
    # Three days, four non-zero levels each: 12 rectangles; a table row per day.
    assert engagement.count('<rect class="bar"') == 12
    assert len(re.findall(r"<tr>\s*<th scope=\"row\">", engagement)) == 3
    segment = panel_html(html, "inactive-segment")
    assert segment.count('<circle class="point"') == 2 * 2  # size and share, day 2 unknown
    assert "50 contacts in the inactive segment, 50.0 % of the base" in segment


def test_lists_lead_sources_worst_first_with_their_share(
    staff_client, frozen_now, inactive_segment
):
    fair, ads = LeadSourceFactory(name="Fair"), LeadSourceFactory(name="Ads")
    for number in range(4):
        contact = ContactFactory(lead_source=fair)
        if number == 0:
            SegmentMembershipFactory(segment=inactive_segment, contact=contact)
    for _ in range(2):
        SegmentMembershipFactory(segment=inactive_segment, contact=ContactFactory(lead_source=ads))

    sources = panel_html(index(staff_client), "sources")

    labels = re.findall(r'class="row-label">([^<]*)<', sources)
    assert labels == ["Ads", "Fair"]
    assert "100.0 % (2)" in sources
    assert "25.0 % (1)" in sources
    assert reverse("admin:segments_leadsourceinactivity_changelist") in sources


def test_escapes_a_lead_source_named_like_a_script(staff_client, frozen_now, inactive_segment):
    source = LeadSourceFactory(name="<script>alert('x')</script>")
    SegmentMembershipFactory(segment=inactive_segment, contact=ContactFactory(lead_source=source))

    html = index(staff_client)

    assert "<script>alert(" not in html
    assert "&lt;script&gt;alert(" in panel_html(html, "sources")


def test_shows_each_scenarios_funnel_against_its_goal(staff_client, frozen_now):
    below = ScenarioFactory(name="Below", goal_percent=20, activated_at=NOW)
    enrol(below, 10, reactivated=1, open_=6)
    met = ScenarioFactory(name="Met", goal_percent=20, activated_at=NOW - timedelta(days=1))
    enrol(met, 5, reactivated=2)
    ScenarioFactory(name="Draft", status=Scenario.Status.DRAFT)

    scenarios = panel_html(index(staff_client), "scenarios")

    assert re.findall(r'<h3><a href="[^"]*">([^<]*)</a>', scenarios) == ["Below", "Met"]
    funnel = scenarios.split(f'id="scenario-funnel-{below.pk}"', 1)[1].split("</svg>", 1)[0]
    assert funnel.count('<rect class="bar') == 3
    assert "6 (60.0 %)" in funnel
    assert "1 (10.0 %)" in funnel
    assert '<line class="reference"' in funnel
    assert "Goal: 20 %" in funnel
    assert '<rect class="bar alert"' in funnel  # 10 % reactivated, under the 20 % goal
    assert "Below the goal." in scenarios
    assert "Goal reached." in scenarios  # "Met": 2 of 5


def test_lists_the_latest_regular_campaigns_against_their_cap(staff_client, frozen_now):
    for days_ago, active, inactive in ((3, 1000, 50), (1, 400, 40)):
        CampaignFactory(
            name=f"News {days_ago}",
            prepared_at=NOW - timedelta(days=days_ago),
            active_count=active,
            inactive_count=inactive,
            inactive_share_percent=Decimal("5.00"),
        )
    CampaignFactory(name="Draft", prepared_at=None)
    CampaignFactory(name="Scenario send", kind=Campaign.Kind.SCENARIO, prepared_at=NOW)

    campaigns = panel_html(index(staff_client), "campaigns")

    assert re.findall(r'class="row-label">([^<]*)<', campaigns) == ["News 1", "News 3"]
    assert campaigns.count('<line class="marker"') == 2
    assert "10.0 % (cap 5.0 %)" in campaigns
    assert "5.0 % (cap 5.0 %)" in campaigns
    assert campaigns.count('<rect class="bar alert"') == 1
    assert campaigns.count('class="dashboard-over"') == 1


def test_speaks_french_when_the_browser_asks_for_it(staff_client, frozen_now, history):
    html = index(staff_client, HTTP_ACCEPT_LANGUAGE="fr")

    assert '<html lang="fr"' in html
    engagement = panel_html(html, "engagement")
    for label in ("Activité récente", "Engagé", "Désengagé", "Inactif", "Jamais engagé"):
        assert f"{label}</text>" in engagement
    assert "14 mars 2026" in engagement
    assert "50,0 %" in panel_html(html, "inactive-segment")


# Performance ---------------------------------------------------------------------------------


def test_reuses_the_lead_source_counts_until_the_next_evaluation(
    staff_client, frozen_now, inactive_segment
):
    source = LeadSourceFactory(name="Fair")
    SegmentMembershipFactory(segment=inactive_segment, contact=ContactFactory(lead_source=source))
    index(staff_client)
    ContactFactory(lead_source=source)

    cached = panel_html(index(staff_client), "sources")
    inactive_segment.last_evaluated_at = NOW
    inactive_segment.save()
    fresh = panel_html(index(staff_client), "sources")

    assert "100.0 % (1)" in cached
    assert "50.0 % (1)" in fresh


def test_reads_a_bounded_number_of_queries_whatever_the_data(
    staff_client, frozen_now, history, inactive_segment, django_assert_max_num_queries
):
    for number in range(3):
        scenario = ScenarioFactory(name=f"Scenario {number}", activated_at=NOW)
        enrol(scenario, 3, reactivated=1)
        CampaignFactory(prepared_at=NOW, active_count=100, inactive_count=number)
    SegmentMembershipFactory(
        segment=inactive_segment, contact=ContactFactory(engagement_level=EngagementLevel.INACTIVE)
    )
    index(staff_client)  # fills the cache

    # Session, user, admin log, snapshots, segment, scenario list, campaign list...
    with django_assert_max_num_queries(12):
        index(staff_client)


def test_the_lead_source_counts_outlive_the_short_cache(staff_client, frozen_now, inactive_segment):
    # The other live numbers are kept for minutes; these for as long as the evaluation holds.
    source = LeadSourceFactory(name="Fair")
    SegmentMembershipFactory(segment=inactive_segment, contact=ContactFactory(lead_source=source))
    index(staff_client)
    ContactFactory(lead_source=source)

    with time_machine.travel(NOW + timedelta(hours=2), tick=False):
        later = panel_html(index(staff_client), "sources")

    assert "100.0 % (1)" in later
