import time

from django.core.management.base import BaseCommand, CommandError, CommandParser

from contacts.demo import DemoSeedError, demo_base_seed


class Command(BaseCommand):
    help = (
        "Fill an empty contact base with realistic demo contacts and two years of history "
        "(campaigns, opens, clicks, purchases, visits, SMS). The same --seed gives the same "
        "base. Uses COPY and set-based SQL on PostgreSQL."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--contacts", type=int, required=True, help="how many contacts")
        parser.add_argument("--seed", type=int, default=1, help="the same seed, the same base")
        parser.add_argument(
            "--flush",
            action="store_true",
            help="first delete EVERY contact and its history (lists, tags and sources stay)",
        )
        parser.add_argument(
            "--method",
            choices=["auto", "python", "sql"],
            default="auto",
            help="sql (PostgreSQL only, the default there) or python (bulk_create, any base)",
        )

    def handle(self, *, contacts: int, seed: int, flush: bool, method: str, **options) -> None:
        started = time.perf_counter()
        verbose = options["verbosity"] >= 1

        def progress(message: str) -> None:
            if verbose:
                self.stdout.write(f"[{time.perf_counter() - started:6.1f} s] {message}")

        try:
            result = demo_base_seed(
                contacts=contacts, seed=seed, flush=flush, method=method, progress=progress
            )
        except DemoSeedError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"seeded {result.contacts} contacts, {result.events} events "
            f"in {time.perf_counter() - started:.1f} s"
        )
