import time

from django.core.management.base import BaseCommand, CommandParser

from scenarios.engine import scenarios_tick

INTERVAL_SECONDS = 60


class Command(BaseCommand):
    help = (
        "Advance the scenarios' due enrollments: one tick with --once, else a tick every "
        "minute until interrupted (the django-q2 schedule does the same in production)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="Run one tick and stop.")
        parser.add_argument(
            "--batch-size", type=int, default=1000, help="Enrollments claimed per transaction."
        )

    def handle(self, *args, once: bool, batch_size: int, **options) -> None:
        try:
            while True:
                result = scenarios_tick(batch_size=batch_size)
                self.stdout.write(str(result))
                if once:
                    return
                time.sleep(INTERVAL_SECONDS)
        except KeyboardInterrupt:
            self.stdout.write("stopped")
