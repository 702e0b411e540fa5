"""Benchmark: building the demo base on PostgreSQL (1,000,000 contacts, ~30,000,000 events).

    .venv/bin/python benchmarks/seed_demo.py [--contacts 1000000] [--seed 1] [--rebuild-rollups]

Drops and creates the database `relance_bench`, migrates it, runs
`seed_demo --contacts N --seed S` there and prints its wall time, the row counts and the table
sizes. With --rebuild-rollups it then times `rebuild_rollups` on that base too. Finally it runs
VACUUM (ANALYZE) (timed apart), so that the base is in the steady state a real one would be
in; the database is left in place for the other benchmarks (admin_pages.py).
"""

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
DB_NAME = "relance_bench"
SERVER = "postgres://postgres@127.0.0.1:5432"
TABLES = [
    "contacts_contact",
    "contacts_activity",
    "contacts_listmembership",
    "contacts_contact_tags",
]


def timed(command: list[str], env: dict) -> float:
    """Run a manage.py command, its output passed through; returns its wall time."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "manage.py", *command], env=env, cwd=ROOT, check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rebuild-rollups", action="store_true")
    args = parser.parse_args()

    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as server:
        server.execute(f"DROP DATABASE IF EXISTS {DB_NAME}")
        server.execute(f"CREATE DATABASE {DB_NAME}")
    env = {**os.environ, "DATABASE_URL": f"{SERVER}/{DB_NAME}", "LOG_LEVEL": "WARNING"}
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], env=env, cwd=ROOT, check=True)

    seeding = timed(["seed_demo", "--contacts", str(args.contacts), "--seed", str(args.seed)], env)
    rebuilding = timed(["rebuild_rollups", "-v0"], env) if args.rebuild_rollups else None

    with psycopg.connect(f"{SERVER}/{DB_NAME}", autocommit=True) as db:
        counts = {
            table: db.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in TABLES
        }
        start = time.perf_counter()
        for table in TABLES:
            db.execute(f"VACUUM (ANALYZE) {table}")
        vacuum = time.perf_counter() - start
        sizes = {
            table: db.execute(
                "SELECT pg_size_pretty(pg_relation_size(%s)), pg_size_pretty(pg_indexes_size(%s)),"
                " pg_size_pretty(pg_total_relation_size(%s))",
                [table, table, table],
            ).fetchone()
            for table in TABLES
        }
        (database,) = db.execute(f"SELECT pg_size_pretty(pg_database_size('{DB_NAME}'))").fetchone()

    contacts, events = counts["contacts_contact"], counts["contacts_activity"]
    print()
    print(
        f"seed_demo --contacts {args.contacts:,}: {seeding:.1f} s wall "
        f"({contacts:,} contacts, {events:,} events, {events / seeding:,.0f} events/s)"
    )
    if rebuilding is not None:
        print(f"rebuild_rollups: {rebuilding:.1f} s wall ({contacts / rebuilding:,.0f} contacts/s)")
    print(f"VACUUM (ANALYZE) afterwards: {vacuum:.1f} s")
    print(f"{'table':<26}{'rows':>14}{'heap':>10}{'indexes':>10}{'total':>10}")
    for table in TABLES:
        heap, indexes, total = sizes[table]
        print(f"{table:<26}{counts[table]:>14,}{heap:>10}{indexes:>10}{total:>10}")
    print(f"database {DB_NAME}: {database}")


if __name__ == "__main__":
    main()
