"""Business rules of segments. Admin, tasks and commands call these."""

from segments.services.cleaning import (
    CleaningCriterion,
    CleaningKind,
    cleaning_candidates,
    cleaning_preview,
    cleaning_reason,
    cleaning_request,
    cleaning_revert_refusal,
    cleaning_revert_request,
    cleaning_revert_run,
    cleaning_run,
)
from segments.services.evaluation import (
    EvaluationChange,
    EvaluationResult,
    SegmentBusy,
    evaluation_lock_expiry,
    segment_evaluate,
    segment_evaluation_dry_run,
    segment_members,
    segment_schedule,
    segments_due,
)

__all__ = [
    "CleaningCriterion",
    "CleaningKind",
    "cleaning_candidates",
    "cleaning_preview",
    "cleaning_reason",
    "cleaning_request",
    "cleaning_revert_refusal",
    "cleaning_revert_request",
    "cleaning_revert_run",
    "cleaning_run",
    "EvaluationChange",
    "EvaluationResult",
    "SegmentBusy",
    "evaluation_lock_expiry",
    "segment_evaluate",
    "segment_evaluation_dry_run",
    "segment_members",
    "segment_schedule",
    "segments_due",
]
