"""Signal receivers: how scenarios hear about segment entries (connected in `apps.ready`)."""

from scenarios.enrollment import segment_entrants_enroll


def on_segment_entered(sender, *, segment, entered_at, **kwargs) -> None:
    # Runs inside the evaluation's transaction: the enrollments commit with the memberships.
    segment_entrants_enroll(segment=segment, entered_at=entered_at)
