"""Results per branch with Wilson intervals, live counts per block, and the diagram."""

from datetime import timedelta

import pytest
from django.utils import timezone

from scenarios.diagram import scenario_diagram
from scenarios.models import Enrollment, EnrollmentStep
from scenarios.reports import (
    BlockCounts,
    scenario_block_counts,
    scenario_results,
    wilson_interval,
)
from tests.factories import ContactFactory
from tests.scenarios.factories_admin import end, entry, scenario_from, scenario_with, wait

pytestmark = pytest.mark.django_db


def test_wilson_interval_on_known_numbers():
    interval = wilson_interval(20, 100)

    assert interval.low == pytest.approx(0.1334, abs=1e-4)
    assert interval.high == pytest.approx(0.2888, abs=1e-4)
    assert wilson_interval(0, 10).low == 0
    assert wilson_interval(0, 10).high == pytest.approx(0.2775, abs=1e-4)
    assert wilson_interval(0, 0) is None


def _enrol(scenario, branch, *, reactivated=False, **fields):
    entered = timezone.now() - timedelta(days=10)
    contact = ContactFactory(
        last_click_at=entered + timedelta(days=1) if reactivated else None,
        # An open before entering does not count.
        last_open_at=entered - timedelta(days=1),
    )
    return Enrollment.objects.create(
        scenario=scenario, contact=contact, branch=branch, entered_at=entered, **fields
    )


def test_results_per_branch_against_control_and_goal():
    scenario = scenario_with([entry(), wait(), end()], goal_percent=20)
    for index in range(10):
        _enrol(scenario, "a", reactivated=index < 4, state="completed", outcome="reactivated")
    for index in range(10):
        _enrol(
            scenario,
            "b",
            reactivated=index < 2,
            state="waiting" if index < 5 else "completed",
            outcome="" if index < 5 else "let go",
        )
    for index in range(5):
        _enrol(
            scenario, "control", reactivated=index < 1, state="completed", outcome="unsubscribed"
        )

    results = scenario_results(scenario)

    rows = {row.branch: row for row in results.rows}
    assert [row.branch for row in results.rows] == ["a", "b", "control", "all"]
    assert (rows["a"].entered, rows["a"].reactivated, rows["a"].rate) == (10, 4, 0.4)
    assert (rows["b"].in_progress, rows["b"].let_go) == (5, 5)
    assert rows["control"].unsubscribed == 5
    assert rows["control"].rate == 0.2
    assert rows["a"].vs_control == pytest.approx(0.2)
    assert rows["control"].vs_control is None
    interval = wilson_interval(4, 10)
    assert (rows["a"].interval.low, rows["a"].interval.high) == (interval.low, interval.high)
    assert (rows["all"].entered, rows["all"].reactivated) == (25, 7)
    assert results.rate == pytest.approx(7 / 25)
    assert results.goal_percent == 20
    assert results.goal_met


def test_results_without_enrollments():
    results = scenario_results(scenario_with([entry(), wait(), end()]))

    assert [row.branch for row in results.rows] == ["all"]
    assert results.rate is None
    assert not results.goal_met


def test_block_counts_waiting_passed_and_per_branch():
    scenario = scenario_from("inactivity")
    split = scenario.blocks.get(key="split")
    click = scenario.blocks.get(key="click")
    for branch in ["a", "a", "b"]:
        enrollment = _enrol(scenario, branch, state="completed")
        EnrollmentStep.objects.create(
            enrollment=enrollment, step=1, block=split, kind="split", result=branch
        )
    _enrol(scenario, "b", state="waiting", block=click)
    # One that left while waiting there (it unsubscribed): an exit, not a pass.
    left = _enrol(scenario, "b", state="exited", block=click)
    EnrollmentStep.objects.create(
        enrollment=left, step=1, block=click, kind="exit", result="unsubscribed"
    )

    counts = scenario_block_counts(scenario)

    assert (counts[split.pk].passed, counts[split.pk].branches) == (3, {"a": 2, "b": 1})
    assert (counts[click.pk].waiting, counts[click.pk].passed) == (1, 0)


def test_diagram_draws_every_block_with_escaped_names():
    scenario = scenario_from("inactivity")
    scenario.blocks.filter(key="generic").update(name="<script>alert(1)</script>")

    svg = scenario_diagram(scenario)

    assert svg.startswith("<svg")
    for key in scenario.blocks.values_list("key", flat=True):
        assert f'data-key="{key}"' in svg
    assert "<script>" not in svg
    assert "&lt;script&gt;" in svg
    assert ">clicked (0)<" in svg and ">timeout (0)<" in svg


def test_diagram_counts_the_enrollments_down_each_branch():
    scenario = scenario_from("inactivity")
    split = scenario.blocks.get(kind="split")
    counts = {split.pk: BlockCounts(passed=5, branches={"a": 3, "b": 2})}

    svg = scenario_diagram(scenario, counts)

    assert ">a (3)<" in svg and ">b (2)<" in svg
    assert "passed 5" in svg
