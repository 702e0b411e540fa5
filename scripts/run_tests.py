"""Run pytest, and fail when it ran no test at all.

pytest exits 0 when every collected test was skipped and 5 when it collected nothing; either
way nothing was checked, which must never pass for a green build. Arguments go to pytest.

    python scripts/run_tests.py [pytest arguments...]
"""

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Runs that only list or explain things are not expected to run a test.
NO_RUN_OPTIONS = {"--collect-only", "--co", "--help", "-h", "--version", "-V", "--fixtures"}


class RanCounter:
    """Counts tests whose body ran (passed or failed), and tests whose set-up errored."""

    def __init__(self) -> None:
        self.ran = 0

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when == "call" or (report.when == "setup" and report.failed):
            self.ran += 1


def main(args: list[str]) -> int:
    sys.path.insert(0, str(ROOT))
    counter = RanCounter()
    code = pytest.main(args, plugins=[counter])
    if NO_RUN_OPTIONS.intersection(args):
        return int(code)
    nothing_ran = code == pytest.ExitCode.OK and not counter.ran
    if code == pytest.ExitCode.NO_TESTS_COLLECTED or nothing_ran:
        print("run_tests: no test ran (none collected, or all skipped): failing.", file=sys.stderr)
        return 1
    return int(code)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
