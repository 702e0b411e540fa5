"""The dashboard on the admin's index, in a real browser, on a demo base: every chart drawn,
in English and in French, and a screenshot that shows the charts' colours."""

import importlib
import struct
import zlib
from datetime import timedelta
from io import StringIO
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from playwright.sync_api import expect

from campaigns.models import Campaign
from contacts.models import Contact
from dashboard.panels import LEVEL_COLOURS
from scenarios.models import Enrollment
from segments.models import Segment
from segments.services import segment_evaluate
from tests.browser.conftest import TIMEOUT_MS, admin_log_in
from tests.factories import CampaignFactory
from tests.scenarios.factories import ScenarioFactory

pytestmark = pytest.mark.browser
CHARTS = [
    "#engagement-chart",
    "#inactive-size-chart",
    "#inactive-share-chart",
    "#sources-chart",
    "#campaigns-chart",
]
FRENCH_MONTHS = ("janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.")
FRENCH_MONTHS += ("oct.", "nov.", "déc.")


@pytest.fixture
def demo_dashboard(transactional_db):
    """A small demo base with four weeks of history, a running scenario and a sent campaign.

    A live-server test's database is emptied between tests, data migrations included: the
    built-in segments are installed again."""
    cache.clear()
    importlib.import_module("segments.migrations.0002_builtin_segments").install(
        apps, SimpleNamespace(connection=connection)
    )
    call_command("seed_demo", "--contacts", "150", "--seed", "2", stdout=StringIO())
    inactive = Segment.objects.get(slug="inactive")
    segment_evaluate(segment_id=inactive.pk)
    call_command("seed_demo_dashboard", "--weeks", "4", stdout=StringIO())
    now = timezone.now()
    scenario = ScenarioFactory(name="Nous vous regrettons", activated_at=now)
    members = Contact.objects.filter(
        segment_memberships__segment=inactive, segment_memberships__exited_at=None
    )[:20]
    Enrollment.objects.bulk_create(
        Enrollment(
            scenario=scenario,
            contact=contact,
            entered_at=now - timedelta(days=5),
            state=Enrollment.State.ACTIVE if number % 2 else Enrollment.State.COMPLETED,
        )
        for number, contact in enumerate(members)
    )
    Contact.objects.filter(pk__in=[contact.pk for contact in members[:3]]).update(last_click_at=now)
    CampaignFactory(
        name="Soldes d'hiver",
        status=Campaign.Status.SENT,
        prepared_at=now - timedelta(days=1),
        active_count=1000,
        inactive_count=45,
    )
    yield scenario
    cache.clear()


def png_pixels(data: bytes) -> tuple[int, int, list[bytes]]:
    """Width, height and pixels (RGB bytes) of an 8-bit RGB or RGBA, non-interlaced PNG, as
    Chromium writes them: enough to check a screenshot without an imaging library."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    position, idat, header = 8, b"", None
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        body = data[position + 8 : position + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        position += 12 + length
    width, height, depth, colour_type, _, _, interlace = header
    assert (depth, interlace) == (8, 0) and colour_type in (2, 6), header
    channels = 3 if colour_type == 2 else 4
    stride = width * channels
    raw = zlib.decompress(idat)
    previous = bytearray(stride)
    pixels = []
    for row in range(height):
        start = row * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up = previous[i]
            up_left = previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - up_left
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - up_left)
                nearest = left if pa <= pb and pa <= pc else up if pb <= pc else up_left
                line[i] = (line[i] + nearest) & 0xFF
        pixels.extend(bytes(line[i : i + 3]) for i in range(0, stride, channels))
        previous = line
    return width, height, pixels


def open_dashboard(page, base_url: str) -> None:
    admin_log_in(page, base_url, "marketing", "a-long-test-password")
    page.goto(f"{base_url}/admin/")
    expect(page.locator("#dashboard")).to_be_visible()


def assert_charts_drawn(page, funnel_id: str) -> None:
    for selector in [*CHARTS, funnel_id]:
        chart = page.locator(selector)
        expect(chart).to_be_visible()
        box = chart.bounding_box()
        assert box["width"] > 200 and box["height"] > 20, (selector, box)
    assert page.locator("#engagement-chart rect.bar").count() >= 4 * 29
    assert page.locator("#inactive-size-chart circle.point").count() == 29


def test_dashboard_draws_every_chart_and_a_colourful_screenshot(
    page, live_server, staff_user, demo_dashboard, tmp_path: Path
):
    open_dashboard(page, live_server.url)

    assert_charts_drawn(page, f"#scenario-funnel-{demo_dashboard.pk}")
    expect(page.locator("#panel-engagement h2")).to_have_text("Contacts by engagement level")
    expect(page.locator("#engagement-chart")).to_contain_text("Recent activity")
    expect(page.locator("#panel-scenarios")).to_contain_text("Nous vous regrettons")
    expect(page.locator("#campaigns-chart")).to_contain_text("4.5 % (cap 5.0 %)")
    # The numbers behind a chart are one click away, for screen readers and spreadsheets.
    page.locator("#panel-sources summary").click()
    expect(page.locator("#panel-sources table")).to_be_visible()
    # The admin's model list is still on the page.
    expect(page.locator("#app-list #contacts-contact a")).to_have_text("Contacts")

    whole = tmp_path / "dashboard.png"
    page.screenshot(path=str(whole), full_page=True)
    width, height = struct.unpack(">II", whole.read_bytes()[16:24])
    assert (width, height) >= (1400, 900) and whole.stat().st_size > 50_000
    chart = tmp_path / "engagement.png"
    page.locator("#engagement-chart").screenshot(path=str(chart))
    _, _, pixels = png_pixels(chart.read_bytes())
    colours = set(pixels)
    assert len(colours) > 20
    for level, colour in LEVEL_COLOURS.items():
        if level != "disengaged":  # a thin layer, not always a whole pixel high
            assert bytes.fromhex(colour[1:]) in colours, level


def test_dashboard_speaks_french_when_the_browser_asks_for_it(
    browser, live_server, staff_user, demo_dashboard
):
    context = browser.new_context(locale="fr-FR", viewport={"width": 1400, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    try:
        open_dashboard(page, live_server.url)

        assert page.locator("html").get_attribute("lang") == "fr"
        assert_charts_drawn(page, f"#scenario-funnel-{demo_dashboard.pk}")
        legend = page.locator("#engagement-chart text.legend").all_text_contents()
        assert legend == ["Activité récente", "Engagé", "Désengagé", "Inactif", "Jamais engagé"]
        expect(page.locator("#panel-sources h2")).to_have_text(
            "Inactivité par source d'acquisition"
        )
        funnel = page.locator(f"#scenario-funnel-{demo_dashboard.pk} text.row-label")
        assert funnel.all_text_contents() == ["Entrés", "En cours", "Réactivés"]
        expect(page.locator("#campaigns-chart")).to_contain_text("4,5 %")
        dates = page.locator("#engagement-chart text.x-label").all_text_contents()
        assert dates and all(date.split(" ", 1)[1] in FRENCH_MONTHS for date in dates), dates
    finally:
        context.close()
