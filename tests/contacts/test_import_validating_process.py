"""Large imports validate the file in a second process: same outcome, failures surface, no hang."""

import csv
import io
import multiprocessing
import signal
import subprocess
import time
from contextlib import contextmanager
from datetime import datetime
from io import StringIO
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command

from contacts.importing import ImportOptions, ValidatorError, contacts_import
from contacts.importing.validator import ValidatorProcess
from contacts.models import Contact, ContactList
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db
PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture
def validating_process(monkeypatch):
    """Every import below goes through the second process, in small chunks; the processes
    it starts are recorded."""
    monkeypatch.setattr("contacts.importing.contacts.VALIDATOR_PROCESS_MIN_BYTES", 0)
    monkeypatch.setattr("contacts.importing.contacts.CHUNK_SIZE", 2)
    started: list[subprocess.Popen] = []

    class RecordedPopen(subprocess.Popen):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            started.append(self)

    monkeypatch.setattr("contacts.importing.validator.subprocess.Popen", RecordedPopen)
    return started


@contextmanager
def deadline(seconds: int):
    """Fail instead of hanging the suite."""

    def expire(*_: object) -> None:
        raise TimeoutError(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "in.csv"
    path.write_bytes(text.encode("utf-8"))
    return path


def test_gives_the_same_outcome_as_in_process_when_the_file_is_large(tmp_path, validating_process):
    ContactFactory(email="old@example.com", first_name="Old", last_name="Timer")
    path = write(
        tmp_path,
        "\ufeffAdresse e-mail;Prénom;Nom;Téléphone;Date d'inscription;Source;Code client\r\n"
        "Jean.Dupont@Example.com;Jean;Dupont;06 12 34 56 78;31/12/2023;Salon;C1\r\n"
        'marie@example.fr;Marie;"Curie; née\r\nSkłodowska";;2024-01-05;;C\\2\r\n'
        "not-an-email;X;Y;;;;\r\n"
        'tab@example.org;"Ta\tb";Back\\slash;;;;\r\n'
        "old@example.com;Older;;;;Web;\r\n"
        "zed@example.org;Zed;;12;;;\r\n"
        "JEAN.DUPONT@example.com;;Dupond;;;;C1b\r\n"
        "OLD@example.com;;Timer-2;;;;\r\n",
    )
    rejects = tmp_path / "rejects.csv"
    out = StringIO()

    with deadline(60):
        call_command(
            "import_contacts",
            str(path),
            "--update-existing",
            "--list",
            "Gros fichier",
            "--rejects",
            str(rejects),
            stdout=out,
            stderr=StringIO(),
        )

    assert len(validating_process) == 1
    assert out.getvalue().strip().splitlines()[-2:] == [
        "2 duplicate rows merged",
        "created 3, updated 1, unchanged 0, rejected 2",
    ]
    jean = Contact.objects.get(email="jean.dupont@example.com")
    assert (jean.first_name, jean.last_name, jean.phone) == ("Jean", "Dupond", "+33612345678")
    assert jean.created_at == datetime(2023, 12, 31, tzinfo=PARIS)
    assert (jean.lead_source.name, jean.attributes) == ("Salon", {"Code client": "C1b"})
    marie = Contact.objects.get(email="marie@example.fr")
    assert (marie.last_name, marie.attributes) == (
        "Curie; née\r\nSkłodowska",
        {"Code client": "C\\2"},
    )
    tab = Contact.objects.get(email="tab@example.org")
    assert (tab.first_name, tab.last_name) == ("Ta\tb", "Back\\slash")
    old = Contact.objects.get(email="old@example.com")
    assert (old.first_name, old.last_name, old.lead_source.name) == ("Older", "Timer-2", "Web")
    members = ContactList.objects.get(name="Gros fichier").contacts.count()
    assert members == Contact.objects.count() == 4
    with rejects.open(encoding="utf-8", newline="") as f:
        reasons = {int(row[0]): row[1] for row in list(csv.reader(f))[1:]}
    assert set(reasons) == {5, 8}
    assert "invalid e-mail address 'not-an-email'" in reasons[5]
    assert "invalid phone number '12'" in reasons[8] and "Téléphone" in reasons[8]


def test_reads_a_stream_that_is_not_a_file_on_disk(validating_process):
    stream = io.BytesIO(b"email,first_name\na@example.com,Ann\nb@example.com,Bob\nbad,X\n")

    with deadline(60):
        result = contacts_import(stream=stream, options=ImportOptions())

    assert (result.created, result.rejected, result.rows) == (2, 1, 3)
    assert len(validating_process) == 1


def test_dry_run_counts_but_saves_nothing_through_the_second_process(tmp_path, validating_process):
    path = write(tmp_path, "email,source\na@example.com,Nouveau\nb@example.com,\nbad,\n")
    out = StringIO()

    with deadline(60):
        call_command("import_contacts", str(path), "--dry-run", stdout=out, stderr=StringIO())

    assert "created 2, updated 0, unchanged 0, rejected 1" in out.getvalue()
    assert not Contact.objects.exists()
    assert len(validating_process) == 1


def test_reports_the_error_when_the_validating_process_fails(
    tmp_path, validating_process, monkeypatch
):
    monkeypatch.setattr(
        "contacts.importing.validator._BOOTSTRAP",
        "import sys\nsys.stdin.buffer.read()\nraise RuntimeError('the disk is on fire')\n",
    )
    path = write(tmp_path, "email\na@example.com\n")

    # (The import command turns this error into a CommandError with the same message.)
    with deadline(60), path.open("rb") as stream, pytest.raises(ValidatorError) as failure:
        contacts_import(stream=stream, options=ImportOptions())

    assert "exited with code 1: RuntimeError: the disk is on fire" in str(failure.value)
    assert not Contact.objects.exists()


def test_stops_with_an_error_instead_of_hanging_when_the_validating_process_dies(
    tmp_path, validating_process
):
    lines = [f"c{n}@example.com,Name{n}" for n in range(20000)]
    path = write(tmp_path, "email,first_name\n" + "\n".join(lines) + "\n")
    killed = []

    def kill_the_child(result) -> None:
        if not killed:
            validating_process[0].kill()
            killed.append(result.rows)

    with (
        deadline(60),
        pytest.raises(ValidatorError, match="killed by signal 9"),
        path.open("rb") as stream,
    ):
        contacts_import(stream=stream, options=ImportOptions(), progress=kill_the_child)

    # The chunks merged before stay, as after any crash; running the file again completes it.
    assert 0 < Contact.objects.count() < 20000


def test_stops_the_validating_process_when_the_import_fails(tmp_path, validating_process):
    lines = [f"c{n}@example.com" for n in range(20000)]
    path = write(tmp_path, "email\n" + "\n".join(lines) + "\n")

    def fail(result) -> None:
        raise RuntimeError("the import was interrupted")

    with (
        deadline(60),
        pytest.raises(RuntimeError, match="interrupted"),
        path.open("rb") as stream,
    ):
        contacts_import(stream=stream, options=ImportOptions(), progress=fail)

    assert validating_process[0].poll() is not None


def test_the_validating_process_waits_while_chunks_wait_to_be_written(tmp_path, validating_process):
    lines = [f"c{n}@example.com,Name{n}" for n in range(20000)]
    path = write(tmp_path, "email,first_name\n" + "\n".join(lines) + "\n")

    with (
        deadline(60),
        path.open("rb") as stream,
        ValidatorProcess(
            stream, encoding="utf-8", size=0, chunk_size=2, region="FR", copy=True
        ) as process,
    ):
        chunks = iter(process)
        first = next(chunks)
        time.sleep(2)
        # 10,000 chunks to write: had it not waited, it would be done by now.
        assert validating_process[0].poll() is None
        assert first.count + sum(chunk.count for chunk in chunks) == 20000


def _validate_in_a_daemon(path: str, results) -> None:
    with open(path, "rb") as stream:
        process = ValidatorProcess(
            stream, encoding="utf-8", size=0, chunk_size=2, region="FR", copy=True
        )
        with process:
            results.put(sum(chunk.count for chunk in process))


def test_runs_from_a_daemonic_process_as_django_q2_workers_are(tmp_path):
    # multiprocessing refuses children to daemonic processes; the validator is no such child.
    path = write(tmp_path, "email\na@example.com\nb@example.com\nc@example.com\n")
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    daemon = context.Process(target=_validate_in_a_daemon, args=(str(path), results), daemon=True)

    with deadline(60):
        daemon.start()
        counted = results.get(timeout=50)
        daemon.join(timeout=10)

    assert (counted, daemon.exitcode) == (3, 0)
