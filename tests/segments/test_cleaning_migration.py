"""The migration that moved cleanings to workers: cleanings recorded before it stay done."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from segments.models import Cleaning

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = ("segments", "0002_builtin_segments")
AFTER = ("segments", "0003_cleaning_in_worker")
CLEANED_AT = datetime(2026, 1, 5, 10, 0, tzinfo=ZoneInfo("UTC"))
REVERTED_AT = CLEANED_AT + timedelta(days=2)


@pytest.fixture
def migrated_back():
    """The segments app migrated back to before workers ran cleanings; the latest schema after."""
    executor = MigrationExecutor(connection)
    executor.migrate([BEFORE])
    yield executor.loader.project_state([BEFORE]).apps
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


def test_cleanings_recorded_before_workers_are_done_and_keep_their_revert(migrated_back):
    old_cleaning = migrated_back.get_model("segments", "Cleaning")
    kept = old_cleaning.objects.create(
        criterion="Never opened in the last 90 days", contact_count=3, created_at=CLEANED_AT
    )
    reverted = old_cleaning.objects.create(
        criterion="Never clicked in the last 30 days",
        contact_count=2,
        created_at=CLEANED_AT,
        reverted_at=REVERTED_AT,
        restored_count=2,
    )

    MigrationExecutor(connection).migrate([AFTER])

    kept, reverted = Cleaning.objects.get(pk=kept.pk), Cleaning.objects.get(pk=reverted.pk)
    for cleaning in (kept, reverted):
        assert cleaning.status == Cleaning.Status.DONE
        assert cleaning.started_at == cleaning.finished_at == CLEANED_AT
        assert cleaning.error == ""
    assert (kept.contact_count, kept.revert_status) == (3, Cleaning.RevertStatus.NONE)
    assert kept.can_be_reverted
    assert reverted.revert_status == Cleaning.RevertStatus.DONE
    assert reverted.revert_requested_at == reverted.reverted_at == REVERTED_AT
    assert reverted.restored_count == 2
    assert not reverted.can_be_reverted
