"""A real django-q2 cluster, fed through the Redis broker, runs a product task to the end.

Runs only when RELANCE_TEST_REDIS_URL names a Redis database that the test may empty (CI uses
db 15); then an unreachable Redis is a failure, not a skip. Everything happens in subprocesses
with the production settings (config.settings: the test settings run tasks inline and would
bypass the broker) against a SQLite file of the test's own.
"""

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from django_q.models import Task

from contacts.models import Contact

REDIS_URL = os.environ.get("RELANCE_TEST_REDIS_URL", "")
ROOT = Path(__file__).resolve().parent.parent
DEADLINE_SECONDS = 60

pytestmark = [
    pytest.mark.redis,
    pytest.mark.skipif(not REDIS_URL, reason="set RELANCE_TEST_REDIS_URL to run it"),
]

# Runs in `manage.py shell`: a contact whose open was logged without its rollup being updated
# (as a raw load would leave it), then the rebuild task handed to the broker.
ENQUEUE = """
from datetime import UTC, datetime

from django_q.tasks import async_task

from contacts.models import Activity, ActivityKind, Contact
from contacts.services import activity_natural_key

contact = Contact.objects.create(email="worker@example.com")
opened = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
Activity.objects.create(
    contact=contact,
    kind=ActivityKind.OPEN,
    occurred_at=opened,
    natural_key=activity_natural_key(contact_id=contact.pk, kind="open", occurred_at=opened),
)
assert Contact.objects.get(pk=contact.pk).last_open_at is None
print("TASK", async_task("contacts.tasks.rollups_rebuild", task_name="redis-worker-test"))
"""


@pytest.fixture
def redis_db():
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=5)
    try:
        client.ping()
    except redis.RedisError as error:
        pytest.fail(f"Redis at {REDIS_URL} is unreachable: {error}")
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


@pytest.fixture
def product_env(tmp_path, redis_db) -> dict[str, str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "RELANCE_VAR_DIR": str(tmp_path / "var"),
        "REDIS_URL": REDIS_URL,
        "Q_WORKERS": "1",
        "PYTHONUNBUFFERED": "1",
    }
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=120,
    )
    return env


@pytest.fixture
def cluster(product_env, tmp_path):
    log_path = tmp_path / "qcluster.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "qcluster"],
            cwd=ROOT,
            env=product_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    process.log_path = log_path
    try:
        yield process
    finally:
        _stop(process)


def _stop(process: subprocess.Popen) -> None:
    """A graceful stop first (the cluster drains its workers), then the whole group killed."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=20)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # leftover workers, if any
    process.wait(timeout=10)


def _log_tail(process) -> str:
    return process.log_path.read_text(errors="replace")[-3000:]


def _task_success(db: sqlite3.Connection, task_id: str) -> bool | None:
    row = db.execute(
        f"SELECT success FROM {Task._meta.db_table} WHERE id = ?", [task_id]
    ).fetchone()
    return None if row is None else bool(row[0])


def test_task_completes_through_redis_broker_when_a_cluster_runs(cluster, product_env, tmp_path):
    enqueued = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", ENQUEUE],
        cwd=ROOT,
        env=product_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert enqueued.returncode == 0, enqueued.stderr
    task_id = enqueued.stdout.split("TASK", 1)[1].strip()

    db = sqlite3.connect(tmp_path / "db.sqlite3", timeout=30)
    try:
        deadline = time.monotonic() + DEADLINE_SECONDS
        success = None
        while success is None and time.monotonic() < deadline:
            assert cluster.poll() is None, f"qcluster exited early:\n{_log_tail(cluster)}"
            time.sleep(0.5)
            success = _task_success(db, task_id)
        assert success is True, f"task {task_id} result: {success}\n{_log_tail(cluster)}"
        (last_open_at,) = db.execute(
            f"SELECT last_open_at FROM {Contact._meta.db_table} WHERE email = ?",
            ["worker@example.com"],
        ).fetchone()
    finally:
        db.close()
    # SQLite stores the aware datetime in UTC as text.
    assert str(last_open_at).startswith("2025-03-01 12:00:00")
