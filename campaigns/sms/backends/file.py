"""Writes the SMS of each connection to a new file in settings.RELANCE_SMS_FILE_PATH, as
Django's file-based e-mail backend does."""

import datetime
import os
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from campaigns.sms.backends.console import SmsBackend as ConsoleSmsBackend


class SmsBackend(ConsoleSmsBackend):
    id_prefix = "file"

    def __init__(self, *args, file_path: str | os.PathLike | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.stream = None
        self._fname: Path | None = None
        path = file_path or getattr(settings, "RELANCE_SMS_FILE_PATH", None)
        if not path:
            raise ImproperlyConfigured("RELANCE_SMS_FILE_PATH is not set")
        self.file_path = Path(path).resolve()
        try:
            self.file_path.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise ImproperlyConfigured(
                f"could not create the SMS folder {self.file_path}: {error}"
            ) from error
        if not self.file_path.is_dir() or not os.access(self.file_path, os.W_OK):
            raise ImproperlyConfigured(f"the SMS folder {self.file_path} is not writable")

    def _get_filename(self) -> Path:
        """One file per connection, named after the time it was first written to."""
        if self._fname is None:
            timestamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
            self._fname = self.file_path / f"{timestamp}-{abs(id(self))}.log"
        return self._fname

    def open(self) -> bool:
        if self.stream is None:
            self.stream = open(self._get_filename(), "a", encoding="utf-8")  # noqa: SIM115
            return True
        return False

    def close(self) -> None:
        try:
            if self.stream is not None:
                self.stream.close()
        finally:
            self.stream = None
