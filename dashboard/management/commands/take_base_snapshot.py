from django.core.management.base import BaseCommand

from dashboard.services import base_snapshot_take


class Command(BaseCommand):
    help = (
        "Count the contact base now (per engagement level, and the inactive segment) as "
        "today's dashboard snapshot, what the daily job does at 04:00. Running it again the "
        "same day replaces that day's counts."
    )

    def handle(self, *args, **options) -> None:
        snapshot = base_snapshot_take()
        size = snapshot.inactive_segment_size
        self.stdout.write(
            f"{snapshot.day}: {snapshot.total} contacts (recent {snapshot.recent}, engaged "
            f"{snapshot.engaged}, disengaged {snapshot.disengaged}, inactive {snapshot.inactive}, "
            f"never {snapshot.never}); inactive segment "
            f"{'not evaluated yet' if size is None else size}"
        )
