"""A scenario's blocks in the admin: each edited on its own page with its kind's settings form,
its campaign and its branches; added and removed; what may change while the scenario runs."""

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.urls import reverse

from campaigns.models import Campaign
from contacts.models import Tag
from scenarios.blocks import REGISTRY
from scenarios.models import Block, Scenario, ScenarioTemplate
from scenarios.services import block_add
from tests.factories import ContactFactory
from tests.scenarios.factories_admin import (
    end,
    entry,
    scenario_campaign,
    scenario_from,
    scenario_with,
    wait,
)

pytestmark = pytest.mark.django_db


def _url(block: Block) -> str:
    return reverse("admin:scenarios_scenario_block", args=[block.scenario_id, block.pk])


def _messages(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def _form_data(page_context) -> dict:
    """What the browser would send back for the page's two forms, unchanged."""
    data = {}
    for form in (page_context["form"], page_context["settings_form"]):
        for bound in form:
            value = bound.value()
            if value is None or bound.field.disabled:
                continue
            if isinstance(value, list | tuple):
                data[bound.html_name] = [str(item) for item in value]
            else:
                data[bound.html_name] = value
    return data


def _post(client, block, **changes):
    page = client.get(_url(block))
    return client.post(_url(block), _form_data(page.context) | changes)


TEMPLATE_SLUGS = [
    "inactivity",
    "we-miss-you",
    "loyalty-expiry",
    "progressive-sunset",
    "win-back-discount",
]


@pytest.mark.parametrize("slug", TEMPLATE_SLUGS)
def test_every_block_of_every_template_saves_back_unchanged(staff_client, slug):
    ScenarioTemplate.objects.filter(slug=slug).update(is_enabled=True)
    scenario = scenario_from(slug)
    before = {
        block.key: (block.config, block.next, block.campaign_id) for block in scenario.blocks.all()
    }

    for block in scenario.blocks.all():
        response = _post(staff_client, block)
        assert response.status_code == 302, (block.key, response.context["settings_form"].errors)

    after = {
        block.key: (block.config, block.next, block.campaign_id) for block in scenario.blocks.all()
    }
    assert after == before


def test_templates_use_every_block_kind():
    # So the round trip above goes through each kind's settings form.
    used = set()
    for template in ScenarioTemplate.objects.filter(slug__in=TEMPLATE_SLUGS):
        used |= {spec["kind"] for spec in template.graph["blocks"]}
    assert used == set(REGISTRY)


def test_settings_are_saved_from_the_kinds_form(staff_client):
    scenario = scenario_from("inactivity")
    click = scenario.blocks.get(kind="wait_for_click")
    hours = scenario.blocks.filter(kind="wait_until").first()

    response = _post(staff_client, click, **{"settings-timeout_days": "10"})
    assert response.status_code == 302
    response = _post(
        staff_client,
        hours,
        **{"settings-start": "09:30", "settings-end": "11:00", "settings-weekdays": ["1", "3"]},
    )
    assert response.status_code == 302

    click.refresh_from_db()
    hours.refresh_from_db()
    assert click.config["timeout_days"] == 10
    assert hours.config == {"start": "09:30", "end": "11:00", "weekdays": [1, 3]}


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"settings-days": "soon"}, "Enter a whole number."),
        ({"settings-days": "0", "settings-hours": "0", "settings-minutes": "0"}, "a duration"),
    ],
)
def test_bad_settings_are_refused_with_a_message(staff_client, changes, expected):
    scenario = scenario_with([entry(), wait(), end()])
    block = scenario.blocks.get(key="wait")

    response = _post(staff_client, block, **changes)

    assert response.status_code == 200
    assert expected in response.content.decode()
    block.refresh_from_db()
    assert block.config == {"days": 1}


def test_split_weights_are_typed_as_text(staff_client):
    scenario = scenario_from("inactivity")
    split = scenario.blocks.get(kind="split")

    bad = _post(staff_client, split, **{"settings-weights": "a 50 b 50"})
    assert bad.status_code == 200
    assert "name: weight" in bad.content.decode()

    good = _post(
        staff_client, split, **{"settings-weights": "a: 70, b: 30", "settings-control_percent": 10}
    )
    assert good.status_code == 302
    split.refresh_from_db()
    assert split.config == {"weights": {"a": 70, "b": 30}, "control_percent": 10}
    # A control group adds a branch, which now leads nowhere: the page says so.
    assert "control" in split.next and split.next["control"] == ""


def test_branches_are_chosen_among_the_scenarios_blocks(staff_client):
    scenario = scenario_with([entry(), wait(), end(), end("end-2")])
    block = scenario.blocks.get(key="wait")

    response = _post(staff_client, block, **{"next__next": "end-2"})
    assert response.status_code == 302
    block.refresh_from_db()
    assert block.next == {"next": "end-2"}

    response = _post(staff_client, block, **{"next__next": "elsewhere"})
    assert response.status_code == 200
    block.refresh_from_db()
    assert block.next == {"next": "end-2"}


def test_campaign_choices_are_this_scenarios_own(staff_client):
    scenario = scenario_from("inactivity", name="Mine")
    other = scenario_from("inactivity", name="Theirs")
    send = scenario.blocks.get(kind="send_email")
    theirs = other.blocks.get(kind="send_email").campaign
    spare = scenario_campaign(name="Spare")
    scenario_campaign(name="An SMS", channel=Campaign.Channel.SMS)

    page = staff_client.get(_url(send))
    choices = {c.pk for c in page.context["form"].fields["campaign"].queryset}
    assert choices == {send.campaign_id, spare.pk}

    response = _post(staff_client, send, campaign=str(theirs.pk))
    assert response.status_code == 200
    send.refresh_from_db()
    assert send.campaign_id != theirs.pk


def test_settings_change_while_active_but_paths_do_not(staff_client):
    scenario = scenario_with([entry(), wait(), end(), end("end-2")], status=Scenario.Status.ACTIVE)
    block = scenario.blocks.get(key="wait")

    page = staff_client.get(_url(block))
    assert page.context["form"].fields["next__next"].disabled
    assert "pause it to reconnect blocks" in page.content.decode()
    response = staff_client.post(
        _url(block),
        _form_data(page.context) | {"settings-days": "3", "next__next": "end-2"},
    )

    assert response.status_code == 302
    block.refresh_from_db()
    assert block.config["days"] == 3
    assert block.next == {"next": "end"}


def test_a_new_branch_while_active_is_refused(staff_client):
    scenario = scenario_from("inactivity")
    Scenario.objects.filter(pk=scenario.pk).update(status=Scenario.Status.ACTIVE)
    split = scenario.blocks.get(kind="split")

    response = _post(staff_client, split, **{"settings-weights": "a: 40, b: 40, c: 20"})

    assert response.status_code == 200
    assert "Pause the scenario before adding branches" in response.content.decode()
    split.refresh_from_db()
    assert set(split.config["weights"]) == {"a", "b"}


def test_tag_block_creates_its_new_tag(staff_client):
    scenario = scenario_with(
        [entry("tag"), {"key": "tag", "kind": "tag", "config": {}, "next": {"next": "end"}}, end()]
    )
    block = scenario.blocks.get(key="tag")

    response = _post(staff_client, block, **{"settings-tag": "réactivé", "settings-action": "add"})

    assert response.status_code == 302
    assert Tag.objects.filter(name="réactivé").exists()


def test_adding_a_send_block_gives_it_a_draft_campaign(staff_client):
    scenario = scenario_with([entry(), wait(), end()])

    response = staff_client.post(
        reverse("admin:scenarios_scenario_block_add", args=[scenario.pk]),
        {"kind": "send_sms", "name": "Rappel SMS"},
    )

    block = scenario.blocks.get(kind="send_sms")
    assert response.status_code == 302
    assert response["Location"] == _url(block)
    assert block.next == {}
    assert block.campaign.kind == Campaign.Kind.SCENARIO
    assert block.campaign.channel == Campaign.Channel.SMS
    assert block.campaign.status == Campaign.Status.DRAFT
    assert block.key == "send-sms"
    # Until it is connected and written, activation says what is missing.
    page = staff_client.get(reverse("admin:scenarios_scenario_change", args=[scenario.pk]))
    assert "Rappel SMS" in page.content.decode()
    assert page.context["problems"]


def test_blocks_are_neither_added_nor_removed_while_active(staff_client):
    scenario = scenario_with([entry(), wait(), end()], status=Scenario.Status.ACTIVE)
    block = scenario.blocks.get(key="wait")

    added = staff_client.post(
        reverse("admin:scenarios_scenario_block_add", args=[scenario.pk]),
        {"kind": "wait", "name": "More"},
    )
    removed = staff_client.post(
        reverse("admin:scenarios_scenario_block_delete", args=[scenario.pk, block.pk]),
        follow=True,
    )

    assert added.status_code == 200
    assert "Pause the scenario" in added.content.decode()
    assert any("Pause the scenario" in message for message in _messages(removed))
    assert scenario.blocks.count() == 3


def test_removing_a_block_exits_the_enrollments_standing_at_it(staff_client):
    scenario = scenario_with([entry(), wait(), end()], status=Scenario.Status.PAUSED)
    block = scenario.blocks.get(key="wait")
    enrollment = scenario.enrollments.create(contact=ContactFactory(), block=block, state="waiting")
    url = reverse("admin:scenarios_scenario_block_delete", args=[scenario.pk, block.pk])

    confirm = staff_client.get(url).content.decode()
    response = staff_client.post(url)

    assert "1 enrollment stands at this block" in confirm
    assert "entry" in confirm  # the block leading to it, to reconnect
    assert response.status_code == 302
    enrollment.refresh_from_db()
    assert (enrollment.state, enrollment.outcome) == ("exited", "block removed")
    assert not scenario.blocks.filter(key="wait").exists()


def test_a_viewer_sees_the_block_but_cannot_change_it(client, django_user_model):
    scenario = scenario_with([entry(), wait(), end()])
    block = scenario.blocks.get(key="wait")
    user = django_user_model.objects.create_user("viewer", password="pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_scenario"))
    client.force_login(user)

    page = client.get(_url(block))
    posted = client.post(_url(block), {"settings-days": "5", "name": "x", "position": 1})
    added = client.post(
        reverse("admin:scenarios_scenario_block_add", args=[scenario.pk]), {"kind": "wait"}
    )
    removed = client.post(
        reverse("admin:scenarios_scenario_block_delete", args=[scenario.pk, block.pk])
    )

    assert page.status_code == 200
    assert page.context["settings_form"].fields["days"].disabled
    assert (posted.status_code, added.status_code, removed.status_code) == (403, 403, 403)
    block.refresh_from_db()
    assert block.config == {"days": 1}
    assert scenario.blocks.count() == 3


def test_a_block_of_another_scenario_is_not_found(staff_client):
    scenario = scenario_with([entry(), wait(), end()])
    other = scenario_with([entry(), wait(), end()])
    block = other.blocks.get(key="wait")

    response = staff_client.get(
        reverse("admin:scenarios_scenario_block", args=[scenario.pk, block.pk])
    )

    assert response.status_code == 404


def test_block_add_service_keys_are_unique():
    scenario = scenario_with([entry(), wait(), end()])

    first = block_add(scenario=scenario, kind="wait")
    second = block_add(scenario=scenario, kind="wait")

    assert (first.key, second.key) == ("wait-2", "wait-3")
    assert second.position > first.position
