"""What a scenario did: live counts per block, and results per A/B branch with a confidence
interval, against the control group and the reactivation goal. Set-based: a few aggregate
queries whatever the number of enrollments."""

import math
from dataclasses import dataclass, field

from django.db.models import Count, F, Q

from scenarios.models import Enrollment, EnrollmentStep, Scenario
from scenarios.outcomes import CONTROL, EXIT_STEP, LET_GO_OUTCOMES, UNSUBSCRIBED

ALL = "all"
Z_95 = 1.959963984540054


@dataclass
class BlockCounts:
    waiting: int = 0
    passed: int = 0
    # Result -> count: the branch taken, or the outcome of an end block.
    branches: dict[str, int] = field(default_factory=dict)


def scenario_block_counts(scenario: Scenario) -> dict[int, BlockCounts]:
    """Per block id: enrollments standing at it now, enrollments that passed it (ran it and
    moved on; an exit while standing there is no pass), and per branch taken."""
    block_ids = list(scenario.blocks.values_list("pk", flat=True))
    counts = {pk: BlockCounts() for pk in block_ids}
    waiting = (
        Enrollment.objects.filter(scenario=scenario, state__in=Enrollment.OPEN_STATES)
        .values("block_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for row in waiting:
        if row["block_id"] in counts:
            counts[row["block_id"]].waiting = row["n"]
    passed = (
        EnrollmentStep.objects.filter(block_id__in=block_ids)
        .exclude(kind=EXIT_STEP)
        .values("block_id", "result")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for row in passed:
        block = counts[row["block_id"]]
        block.passed += row["n"]
        if row["result"]:
            block.branches[row["result"]] = block.branches.get(row["result"], 0) + row["n"]
    return counts


@dataclass(frozen=True)
class Interval:
    low: float
    high: float


def wilson_interval(successes: int, total: int, z: float = Z_95) -> Interval | None:
    """The Wilson score interval of a proportion (95 % by default); None without trials."""
    if total <= 0:
        return None
    p = successes / total
    denominator = 1 + z * z / total
    centre = (p + z * z / (2 * total)) / denominator
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denominator
    return Interval(max(0.0, centre - half), min(1.0, centre + half))


def difference_interval(p1: float, i1: Interval, p2: float, i2: Interval) -> Interval:
    """Newcombe's interval for p1 - p2, built from each proportion's Wilson interval."""
    d = p1 - p2
    return Interval(
        d - math.sqrt((p1 - i1.low) ** 2 + (i2.high - p2) ** 2),
        d + math.sqrt((i1.high - p1) ** 2 + (p2 - i2.low) ** 2),
    )


@dataclass
class BranchResult:
    branch: str
    entered: int = 0
    in_progress: int = 0
    reactivated: int = 0
    unsubscribed: int = 0
    let_go: int = 0
    rate: float | None = None
    interval: Interval | None = None
    # Against the control group, in proportion points (None without a control group).
    vs_control: float | None = None
    vs_control_interval: Interval | None = None


@dataclass
class ScenarioResults:
    rows: list[BranchResult]
    goal_percent: int
    # The whole scenario's rate against the goal.
    rate: float | None
    goal_met: bool


def scenario_results(scenario: Scenario) -> ScenarioResults:
    """Per branch (control included) and for all: entered, in progress, reactivated (a human
    open, a click or a purchase after entering), unsubscribed, let go; the reactivation rate with
    its 95 % Wilson interval and the difference against the control group."""
    after_entry = (
        Q(contact__last_open_at__gt=F("entered_at"))
        | Q(contact__last_click_at__gt=F("entered_at"))
        | Q(contact__last_purchase_at__gt=F("entered_at"))
    )
    aggregates = {
        "entered": Count("pk"),
        "in_progress": Count("pk", filter=Q(state__in=Enrollment.OPEN_STATES)),
        "reactivated": Count("pk", filter=after_entry),
        "unsubscribed": Count("pk", filter=Q(outcome=UNSUBSCRIBED)),
        "let_go": Count("pk", filter=Q(outcome__in=LET_GO_OUTCOMES)),
    }
    enrollments = Enrollment.objects.filter(scenario=scenario)
    per_branch = enrollments.values("branch").annotate(**aggregates).order_by("branch")
    rows = [BranchResult(branch=row.pop("branch") or "", **row) for row in per_branch]
    total = BranchResult(branch=ALL, **enrollments.aggregate(**aggregates))
    rows = [row for row in rows if row.branch] + [total]
    for row in rows:
        if row.entered:
            row.rate = row.reactivated / row.entered
            row.interval = wilson_interval(row.reactivated, row.entered)
    control = next((row for row in rows if row.branch == CONTROL and row.rate is not None), None)
    if control is not None:
        for row in rows:
            if row is control or row.rate is None:
                continue
            row.vs_control = row.rate - control.rate
            row.vs_control_interval = difference_interval(
                row.rate, row.interval, control.rate, control.interval
            )
    goal = scenario.goal_percent
    return ScenarioResults(
        rows=rows,
        goal_percent=goal,
        rate=total.rate,
        goal_met=total.rate is not None and total.rate * 100 >= goal,
    )
