"""For the PostgreSQL concurrency tests: release a transaction held open in another thread as
soon as this thread's statement is waiting for its row lock."""

import threading

from django.db import connections


def waiting_for_a_lock() -> bool:
    """Whether some session of the test database waits for a lock."""
    with connections["default"].cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks JOIN pg_stat_activity USING (pid)"
            " WHERE NOT granted AND datname = current_database()"
        )
        return cursor.fetchone()[0] > 0


def release_once_blocked(release: threading.Event) -> threading.Thread:
    """A started watcher thread that sets `release` once a session waits for a lock (or after
    10 s, so that a test that never blocks fails on its assertions rather than hanging)."""

    def watch() -> None:
        for _ in range(200):
            if waiting_for_a_lock():
                break
            threading.Event().wait(0.05)
        release.set()
        connections.close_all()

    watcher = threading.Thread(target=watch)
    watcher.start()
    return watcher
