"""pytest plugin loaded by scripts/interop.sh (``-p zkgo_interop_plugin``).

It does two things and touches nothing of kazoo:

* writes one line per test, ``<outcome> <nodeid>``, to $INTEROP_OUTCOMES after each test and
  at the end of the session (outcome: passed, failed, error, skipped, xfailed, xpassed). A test counts as
  ``passed`` only if setup, call and teardown all succeeded.
* bounds every test with a wall-clock limit of $INTEROP_TEST_TIMEOUT seconds (default 120;
  pytest-timeout is not packaged for Debian 12). On expiry it dumps every thread's stack to
  stderr and raises TestTimeout in the main thread, which pytest records as a failure of
  whichever phase (setup/call/teardown) was running; the next test then runs normally.
"""
import faulthandler
import os
import signal
import sys

import pytest

_outcomes = {}
_RANK = {"passed": 0, "skipped": 1, "xfailed": 1, "xpassed": 1, "failed": 2, "error": 3}


class TestTimeout(Exception):
    """Raised in the main thread when a test outlives INTEROP_TEST_TIMEOUT."""

    __test__ = False  # not a test class


def _on_alarm(signum, frame):
    sys.stderr.write("\n=== interop: test exceeded %ss; thread dump follows ===\n"
                     % os.environ.get("INTEROP_TEST_TIMEOUT", "120"))
    faulthandler.dump_traceback(file=sys.stderr, all_threads=True)
    raise TestTimeout("test exceeded INTEROP_TEST_TIMEOUT=%ss"
                      % os.environ.get("INTEROP_TEST_TIMEOUT", "120"))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    limit = float(os.environ.get("INTEROP_TEST_TIMEOUT", "120"))
    old = signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, limit)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def _set(nodeid, outcome):
    prev = _outcomes.get(nodeid)
    if prev is None or _RANK[outcome] >= _RANK[prev]:
        _outcomes[nodeid] = outcome


def pytest_runtest_logreport(report):
    xfail = hasattr(report, "wasxfail")
    if report.failed:
        _set(report.nodeid, "failed" if report.when == "call" else "error")
    elif report.skipped:
        _set(report.nodeid, "xfailed" if xfail else "skipped")
    elif report.when == "call":
        _set(report.nodeid, "xpassed" if xfail else "passed")
    if report.when == "teardown":
        _write()  # after every test, so a run killed midway still leaves its outcomes


def _write():
    path = os.environ.get("INTEROP_OUTCOMES")
    if not path:
        return
    with open(path + ".tmp", "w") as f:
        for nodeid in sorted(_outcomes):
            f.write("%s %s\n" % (_outcomes[nodeid], nodeid))
    os.replace(path + ".tmp", path)


def pytest_collectreport(report):
    if report.failed:
        _set(report.nodeid or "<collection>", "error")


def pytest_sessionfinish(session, exitstatus):
    _write()
