from django.core.management.base import BaseCommand
from django.db import DEFAULT_DB_ALIAS

from staff.roles import permissions_create, roles_sync


class Command(BaseCommand):
    help = (
        "Create the Marketer, Manager and Administrator groups if missing and set their "
        "permissions to the rules of staff/roles.py (new models included). Idempotent; also "
        "runs after every migrate."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="Show what would change, change nothing."
        )
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)

    def handle(self, *args, dry_run: bool, database: str, **options) -> None:
        if not dry_run:
            permissions_create(using=database)
        for result in roles_sync(using=database, dry_run=dry_run):
            if not result.changed:
                self.stdout.write(f"{result.name}: up to date.")
                continue
            verb = "would get" if dry_run else "got"
            if result.created:
                self.stdout.write(f"{result.name}: group {'to create' if dry_run else 'created'}.")
            for label in result.added:
                self.stdout.write(f"{result.name}: {verb} {label}")
            for label in result.removed:
                self.stdout.write(f"{result.name}: {'would lose' if dry_run else 'lost'} {label}")
        if not dry_run:
            self.stdout.write(self.style.SUCCESS("Roles synced."))
