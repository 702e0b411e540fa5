"""Benchmark: importing contacts from CSV on PostgreSQL.

    .venv/bin/python benchmarks/import_contacts.py [--rows 1000000] [--compare-rows 100000]
        [--list NAME] [--repeat N]

Creates a fresh database `relance_bench_import`, generates a CSV of --rows contacts (French
headers, semicolons, day-first dates, phones, an extra column, 1 % bad rows, 1 % duplicates),
then measures with `import_contacts`:
  1. the import into an empty base,
  2. the same import again with --update-existing on a file where 10 % of rows changed,
and, for comparison, --compare-rows rows through django-import-export's plain resource path
(`ModelResource.import_data`). Prints rows/s, the peak memory (RSS: the largest of the command
and its validating process, over the runs so far) and the load average before each run;
--repeat N times both imports N times (emptying the table in between) and sums up the best and
the median, as other work on the machine makes single figures noisy.
"""

import argparse
import csv
import os
import random
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DB_NAME = "relance_bench_import"
DB_URL = f"postgres://postgres@127.0.0.1:5432/{DB_NAME}"
FIRST = ["Jean", "Marie", "Luc", "Sophie", "Camille", "Hugo", "Léa", "Chloé", "Louis", "Inès"]
LAST = ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Petit", "Durand", "Leroy", "Moreau"]
SOURCES = ["Site web", "Jeu concours", "Boutique", "Partenaire", "Salon"]


def generate(path: Path, rows: int, *, changed_share: float = 0.0, seed: int = 7) -> None:
    rng = random.Random(seed)
    # Its own generator, so that both files share every other value.
    changer = random.Random(seed + 1)
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, delimiter=";")
        writer.writerow(
            ["Adresse e-mail", "Prénom", "Nom", "Téléphone", "Date d'inscription", "Source",
             "Points de fidélité", "Code client"]
        )  # fmt: skip
        for n in range(rows):
            email = f"Contact{n}@Example.com"
            first = rng.choice(FIRST)
            last = rng.choice(LAST)
            if changer.random() < changed_share:
                last = last + "-Modifié"
            digits = f"{n:08d}"[-8:]
            phone = f"06 {digits[0:2]} {digits[2:4]} {digits[4:6]} {digits[6:8]}"
            if n % 3 == 0:
                phone = ""
            day = f"{1 + n % 28:02d}/{1 + n % 12:02d}/{2020 + n % 5}"
            if n % 100 == 42:
                email = f"not-an-email-{n}"
            if n % 100 == 77 and n > 0:
                email = f"contact{n - 1}@example.com"
            writer.writerow([email, first, last, phone, day, rng.choice(SOURCES), n % 500, f"C{n}"])


def run(cmd: list[str], env: dict) -> tuple[float, str, int]:
    """Run a child process; returns wall seconds, its output and its peak RSS in MiB."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, check=True)
    elapsed = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return elapsed, done.stdout.strip(), max(peak, before) // 1024


IMPORT_EXPORT_SNIPPET = """
import sys, tablib, time
from import_export import resources
from contacts.models import Contact
class Plain(resources.ModelResource):
    class Meta:
        model = Contact
        fields = ("email", "first_name", "last_name", "phone")
        import_id_fields = ("email",)
        use_bulk = False
data = tablib.Dataset(headers=["email", "first_name", "last_name", "phone"])
with open(sys.argv[1], encoding="utf-8") as f:
    next(f)
    for line in f:
        email, first, last, phone = line.rstrip("\\n").split(";")[:4]
        data.append([email.lower(), first, last, phone])
start = time.perf_counter()
result = Plain().import_data(data, dry_run=False)
print(f"{len(data)} rows in {time.perf_counter() - start:.1f}s, errors={result.has_errors()}")
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--compare-rows", type=int, default=100_000)
    parser.add_argument("--list", help="also add every contact to this list (--list NAME)")
    parser.add_argument(
        "--repeat", type=int, default=1, help="time both imports this many times (best, median)"
    )
    parser.add_argument("--workdir", type=Path, default=ROOT / "benchmarks" / "out")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)

    env = {**os.environ, "DATABASE_URL": DB_URL, "DJANGO_SETTINGS_MODULE": "config.settings"}
    psql = ["psql", "-h", "127.0.0.1", "-U", "postgres", "-q", "-c"]
    subprocess.run([*psql, f"DROP DATABASE IF EXISTS {DB_NAME}"], check=True)
    subprocess.run([*psql, f"CREATE DATABASE {DB_NAME}"], check=True)
    python = sys.executable
    subprocess.run([python, "manage.py", "migrate", "-v0"], env=env, cwd=ROOT, check=True)

    first = args.workdir / "contacts.csv"
    second = args.workdir / "contacts-changed.csv"
    t = time.perf_counter()
    generate(first, args.rows)
    generate(second, args.rows, changed_share=0.10)
    print(f"generated 2 x {args.rows} rows in {time.perf_counter() - t:.1f}s "
          f"({first.stat().st_size / 1e6:.0f} MB each)")  # fmt: skip

    command = [python, "manage.py", "import_contacts", "-v0"]
    list_args = ["--list", args.list] if args.list else []
    timings: dict[str, list[float]] = {"empty": [], "update": []}
    imports = (
        ("empty", "import into empty base", [str(first), *list_args]),
        (
            "update",
            "re-import, 10% changed, --update-existing",
            [str(second), "--update-existing"],
        ),
    )
    for repeat in range(args.repeat):
        if repeat:
            quiet = {**os.environ, "PGOPTIONS": "-c client_min_messages=warning"}
            truncate = "TRUNCATE contacts_contact CASCADE"
            subprocess.run([*psql, truncate, DB_NAME], env=quiet, check=True)
        for name, label, run_args in imports:
            load = os.getloadavg()[0]
            seconds, out, rss = run([*command, *run_args], env)
            timings[name].append(seconds)
            print(
                f"{label}: {args.rows} rows in {seconds:.1f}s = {args.rows / seconds:,.0f} rows/s,"
                f" peak RSS {rss} MiB, load {load:.2f} -> {out}"
            )
    if args.repeat > 1:
        for name, runs in timings.items():
            best, median = min(runs), statistics.median(runs)
            print(
                f"{name}: best {best:.1f}s = {args.rows / best:,.0f} rows/s, median {median:.1f}s"
                f" = {args.rows / median:,.0f} rows/s ({len(runs)} runs)"
            )

    if not args.compare_rows:
        return
    subprocess.run([*psql, "TRUNCATE contacts_contact CASCADE", DB_NAME], check=True)
    small = args.workdir / "contacts-small.csv"
    generate(small, args.compare_rows, seed=11)
    seconds, out, _ = run([python, "-c", _django(IMPORT_EXPORT_SNIPPET), str(small)], env)
    print(f"django-import-export plain resource: {args.compare_rows} rows in {seconds:.1f}s = "
          f"{args.compare_rows / seconds:,.0f} rows/s ({out})")  # fmt: skip


def _django(snippet: str) -> str:
    return "import django; django.setup()\n" + snippet


if __name__ == "__main__":
    main()
