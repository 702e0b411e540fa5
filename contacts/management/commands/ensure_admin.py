"""Make sure a superuser exists with a known password, and print how to log in.

`make run` calls it so that a fresh demo always has a working login. The password is
RELANCE_ADMIN_PASSWORD when set; otherwise one is generated on the first run and kept in
VAR_DIR/admin-password.txt, so every later run prints (and restores) the same one.
"""

import os
import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

PASSWORD_ENV = "RELANCE_ADMIN_PASSWORD"
PASSWORD_FILE_NAME = "admin-password.txt"


def _stored_password(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return ""


def _store_password(path: Path, password: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # Readable by its owner only: it is a login to the whole back-office.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        file.write(password + "\n")


class Command(BaseCommand):
    help = (
        "Create the superuser (default 'admin') or reset its password to the one from "
        f"{PASSWORD_ENV} or VAR_DIR/{PASSWORD_FILE_NAME} (generated once), then print the login."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", default="admin", help="default: admin")
        parser.add_argument("--email", default="admin@localhost", help="used when creating")
        parser.add_argument(
            "--url",
            default="http://127.0.0.1:8000/admin/",
            help="the admin address to print (default: http://127.0.0.1:8000/admin/)",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="say what would change, change nothing"
        )

    def handle(
        self, *args: object, username: str, email: str, url: str, dry_run: bool, **options: object
    ) -> None:
        password_file = Path(settings.VAR_DIR) / PASSWORD_FILE_NAME
        password = os.environ.get(PASSWORD_ENV, "")
        if password:
            origin = f"from {PASSWORD_ENV}"
        else:
            password = _stored_password(password_file)
            origin = f"kept in {password_file}"
        generate = not password
        if generate:
            password = secrets.token_urlsafe(12)

        if dry_run:
            self._report_dry_run(username, password_file, generate)
            return

        if generate:
            _store_password(password_file, password)
        outcome = self._ensure_superuser(username=username, email=email, password=password)
        self.stdout.write(self.style.SUCCESS(f"Superuser {username!r} {outcome}."))
        self.stdout.write(f"Log in at {url}")
        self.stdout.write(f"  user name: {username}")
        self.stdout.write(f"  password:  {password}   ({origin})")

    @transaction.atomic
    def _ensure_superuser(self, *, username: str, email: str, password: str) -> str:
        """Create the user, or bring it back to an active superuser with this password."""
        user_model = get_user_model()
        user = (
            user_model._default_manager.select_for_update()
            .filter(**{user_model.USERNAME_FIELD: username})
            .first()
        )
        if user is None:
            user_model._default_manager.create_superuser(
                **{user_model.USERNAME_FIELD: username, "email": email, "password": password}
            )
            return "created"
        changes = []
        if not (user.is_active and user.is_staff and user.is_superuser):
            user.is_active = user.is_staff = user.is_superuser = True
            changes.append("made an active superuser")
        if not user.check_password(password):
            user.set_password(password)
            changes.append("password reset")
        if not changes:
            return "already set up"
        user.save()
        return ", ".join(changes)

    def _report_dry_run(self, username: str, password_file: Path, generate: bool) -> None:
        user_model = get_user_model()
        exists = user_model._default_manager.filter(
            **{user_model.USERNAME_FIELD: username}
        ).exists()
        action = "update (if needed)" if exists else "create"
        self.stdout.write(f"Dry run: would {action} superuser {username!r}.")
        if generate:
            self.stdout.write(f"Dry run: would generate a password, kept in {password_file}.")
