"""Validating a large file in a second process, while this one writes the chunks before.

Reading, validating and formatting a row takes ~11 µs of Python; the database server needs
~13-15 µs more for it (COPY into the staging table, the insert with its indexes, the lead
source's foreign key). On two cores the two halves overlap only if the Python half has a core
of its own (a thread would share the GIL with the code driving the database), hence a second
process:

- a fresh interpreter (`sys.executable`, like multiprocessing's "spawn"), started with
  `subprocess`: of this process's state it inherits only the environment and the file (every
  other descriptor is closed), so the database connection cannot leak into it, and it starts
  from a daemonic django-q2 worker, which multiprocessing would refuse;
- the child receives its settings on stdin, reads the file through an inherited descriptor
  (or a temporary copy when the stream is not a file on disk), and writes pickled chunks to
  its stdout (on PostgreSQL with their rows ready for COPY);
- the pipe is the bounded queue: the child blocks once a chunk waits unread, so at most about
  two chunks are in memory whatever the file's size;
- the child never touches a database. If it fails, its traceback (on stderr, kept in a
  temporary file) surfaces here as ValidatorError; if it dies, the pipe ends and the same
  happens. If this process dies, the child's next write fails and it exits.
"""

import gc
import logging
import os
import pickle
import shutil
import stat
import struct
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack
from typing import BinaryIO

from django.conf import settings
from django.utils import translation

from contacts.importing.chunks import Chunk
from contacts.privacy import ErasedAddresses

logger = logging.getLogger(__name__)

_HEADER = struct.Struct(">Q")
# The child's first steps, before anything of the project can be imported: its chunks go to
# the real stdout, anything else printed goes to stderr; then Django is set up as here.
_BOOTSTRAP = (
    "# Relance: validating a contact import\n"
    "import os, pickle, sys\n"
    "out = os.fdopen(os.dup(1), 'wb')\n"
    "os.dup2(2, 1)\n"
    "config = pickle.load(sys.stdin.buffer)\n"
    "sys.path[:] = config['sys_path']\n"
    "os.environ['DJANGO_SETTINGS_MODULE'] = config['settings']\n"
    "import django\n"
    "django.setup(set_prefix=False)\n"
    "from contacts.importing.validator import child_main\n"
    "child_main(config, out)\n"
)


class ValidatorError(RuntimeError):
    """The validating process failed or died; the message carries its last words."""


class ValidatorProcess:
    """Runs `ChunkReader` over a file in a child process; iterate to get its chunks.

    Use as a context manager: leaving it (normally or through an exception) stops the child.
    """

    def __init__(
        self,
        stream: BinaryIO,
        *,
        encoding: str,
        size: int,
        chunk_size: int,
        region: str,
        copy: bool,
        erased: ErasedAddresses | None = None,
    ) -> None:
        self._stream = stream
        self._config = {
            "encoding": encoding,
            "size": size,
            "chunk_size": chunk_size,
            "region": region,
            # Plain sets: the child reads its settings before Django (and our models) is set up.
            "erased": (erased.emails, erased.phones) if erased is not None else None,
            "copy": copy,
            "settings": settings.SETTINGS_MODULE,
            "time_zone": settings.TIME_ZONE,
            "language": translation.get_language(),
            "sys_path": list(sys.path),
        }
        self._exit = ExitStack()
        self._process: subprocess.Popen | None = None
        self._finished = False

    def __enter__(self) -> "ValidatorProcess":
        try:
            fileno = self._file_descriptor()
            self._stderr = self._exit.enter_context(tempfile.TemporaryFile())
            self._process = subprocess.Popen(
                [sys.executable, "-c", _BOOTSTRAP],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self._stderr,
                pass_fds=(fileno,),
            )
            self._exit.callback(self._stop)
            try:
                self._process.stdin.write(pickle.dumps({**self._config, "fileno": fileno}))
                self._process.stdin.close()
            except BrokenPipeError:
                pass  # It died at once: reading its chunks will say how.
        except BaseException:
            self._exit.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._exit.close()

    def _file_descriptor(self) -> int:
        """The stream's own descriptor when it is a file on disk, else a temporary copy's."""
        try:
            fileno = self._stream.fileno()
            if stat.S_ISREG(os.fstat(fileno).st_mode):
                return fileno
        except (AttributeError, OSError, ValueError):
            pass
        copy = self._exit.enter_context(tempfile.TemporaryFile())  # noqa: SIM115
        self._stream.seek(0)
        shutil.copyfileobj(self._stream, copy, 1 << 20)
        copy.flush()
        return copy.fileno()

    def _stop(self) -> None:
        process = self._process
        if not self._finished:
            process.kill()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        process.stdout.close()

    def __iter__(self) -> Iterator[Chunk]:
        out = self._process.stdout
        while True:
            header = out.read(_HEADER.size)
            if len(header) < _HEADER.size:
                raise self._failure()
            size = _HEADER.unpack(header)[0]
            payload = out.read(size)
            if len(payload) < size:
                raise self._failure()
            chunk = pickle.loads(payload)
            if chunk is None:
                self._finished = True
                return
            yield chunk

    def _failure(self) -> ValidatorError:
        """The pipe ended before the last chunk: say how the child ended, and why."""
        code = self._process.wait()
        self._stderr.seek(0)
        output = self._stderr.read().decode("utf-8", "replace").strip()
        if output:
            logger.error("the import's validating process failed:\n%s", output)
        last_line = output.splitlines()[-1] if output else ""
        how = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
        return ValidatorError(
            f"the import's validating process {how}" + (f": {last_line}" if last_line else "")
        )


def child_main(config: dict, out: BinaryIO) -> None:
    """The child, once Django is set up: validate the file and write its chunks to `out`."""
    # What the parent may have changed at run time (tests do) without the settings module.
    settings.TIME_ZONE = config["time_zone"]
    if config["language"]:
        translation.activate(config["language"])
    else:
        translation.deactivate_all()

    from contacts.importing.chunks import ChunkReader
    from contacts.importing.columns import map_headers
    from contacts.importing.reading import CsvReader
    from contacts.importing.rows import ContactRowBuilder

    # The loop makes millions of small objects, and cycles only with rejects: the cyclic
    # collector need not rescan what Django set up, nor run every 700 allocations.
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
    with open(config["fileno"], "rb") as raw:
        reader = CsvReader(raw, encoding=config["encoding"], size=config["size"])
        erased = config.get("erased")
        builder = ContactRowBuilder(
            map_headers(reader.headers),
            region=config["region"],
            erased=ErasedAddresses(*erased) if erased is not None else None,
        )
        chunks = ChunkReader(reader, builder, chunk_size=config["chunk_size"], copy=config["copy"])
        for chunk in chunks:
            _send(out, chunk)
        _send(out, None)
    out.close()


def _send(out: BinaryIO, chunk: Chunk | None) -> None:
    payload = pickle.dumps(chunk, protocol=pickle.HIGHEST_PROTOCOL)
    out.write(_HEADER.pack(len(payload)))
    out.write(payload)
    out.flush()
