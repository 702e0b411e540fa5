"""django-q2 entry points for segments. Thin: they take ids and call services."""

import logging

from django.utils import timezone
from django_q.tasks import async_task

from segments import services
from segments.models import Segment

logger = logging.getLogger(__name__)


def segments_evaluate_due() -> int:
    """Queue an evaluation for each active segment whose interval has elapsed; returns how many.

    Each due segment is claimed by moving its `next_evaluation_at` on (a conditional update),
    so a tick that runs again before the evaluation starts does not queue it twice.
    """
    now = timezone.now()
    queued = 0
    due = services.segments_due(now=now).only(
        "pk", "next_evaluation_at", "evaluation_interval_hours"
    )
    for segment in due:
        claimed = Segment.objects.filter(
            pk=segment.pk, next_evaluation_at=segment.next_evaluation_at
        ).update(next_evaluation_at=now + segment.evaluation_interval)
        if claimed:
            async_task(
                "segments.tasks.segment_evaluate", segment.pk, task_name=f"segment-{segment.pk}"
            )
            queued += 1
    return queued


def segment_evaluate(segment_id: int) -> None:
    """Evaluate one segment; a segment another worker is evaluating is left to it."""
    try:
        services.segment_evaluate(segment_id=segment_id)
    except services.SegmentBusy:
        logger.info("segment %s is being evaluated by another worker", segment_id)
    except Segment.DoesNotExist:
        logger.info("segment %s was deleted before its evaluation", segment_id)


def cleaning_run(cleaning_id: int) -> None:
    """Run a requested list cleaning; one already run or running elsewhere is left alone."""
    if services.cleaning_run(cleaning_id=cleaning_id) is None:
        logger.info("cleaning %s was not pending", cleaning_id)


def cleaning_revert_run(cleaning_id: int) -> None:
    """Undo a list cleaning whose revert was requested; one already run is left alone."""
    if services.cleaning_revert_run(cleaning_id=cleaning_id) is None:
        logger.info("revert of cleaning %s was not pending", cleaning_id)
