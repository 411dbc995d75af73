"""Calls release the GIL while they wait, and rosters work across threads."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import roster

from samples import CALL_2025, PDF, TODAY, caseworker, nomination, protection_officer, thai_request


class Heartbeat:
    """A Python thread that counts while it can get the interpreter."""

    def __init__(self) -> None:
        self.beats = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.beats += 1
            time.sleep(0.005)

    def __enter__(self) -> Heartbeat:  # noqa: PYI034 - a final test helper
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def in_thread(call: Any, *args: Any) -> tuple[threading.Thread, dict[str, Any]]:
    """Starts ``call(*args)`` in a thread; the dict receives its outcome."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = call(*args)
        except BaseException as err:  # handed to the test, which asserts on it
            outcome["error"] = err

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


class WriteLock:
    """Another process holding the database's write lock until released.

    The lock must come from another process: SQLite's locks are POSIX
    advisory locks, which do not exclude each other within one process
    when two copies of SQLite (Python's and the roster's) hold them.
    """

    SCRIPT = (
        "import sqlite3, sys\n"
        "db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=0)\n"
        "db.execute('BEGIN IMMEDIATE')\n"
        "print('locked', flush=True)\n"
        "sys.stdin.readline()\n"
        "db.execute('COMMIT')\n"
    )

    def __init__(self, path: Path) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-c", self.SCRIPT, str(path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._process.stdout is not None
        assert self._process.stdout.readline().strip() == "locked"

    def release(self) -> None:
        if self._process.poll() is None:
            self._process.communicate("\n", timeout=10)


def test_python_runs_while_a_call_waits_for_the_database(tmp_path: Path) -> None:
    path = tmp_path / "roster.db"
    r = roster.Roster.open_sqlite(path, TODAY)
    r.open_call(CALL_2025)
    lock = WriteLock(path)
    with Heartbeat() as heart:
        worker, outcome = in_thread(r.nominate, nomination("PHL", caseworker()))
        time.sleep(0.3)
        # The nomination waits for the write lock. Were it holding the GIL,
        # this thread could not have run until it gave up.
        assert worker.is_alive()
        before = heart.beats
        time.sleep(0.3)
        assert heart.beats > before + 10
        lock.release()
        worker.join(timeout=10)
    assert not worker.is_alive()
    assert outcome.get("value", {}).get("outcome") == "created", outcome


def test_a_database_locked_too_long_is_a_transient_error(tmp_path: Path) -> None:
    path = tmp_path / "roster.db"
    r = roster.Roster.open_sqlite(path, TODAY)
    r.open_call(CALL_2025)
    lock = WriteLock(path)
    try:
        started = time.monotonic()
        try:
            r.nominate(nomination("PHL", caseworker()))
        except roster.DatabaseError as err:
            error = err
        else:
            raise AssertionError("the nomination went through a held write lock")
        assert time.monotonic() - started < 30
    finally:
        lock.release()
    assert error.transient is True
    assert "maria" not in str(error).lower()
    # Once the lock is gone, the same call succeeds.
    assert r.nominate(nomination("PHL", caseworker()))["outcome"] == "created"


def test_threads_share_one_roster(tmp_path: Path) -> None:
    r = roster.Roster.open_sqlite(tmp_path / "roster.db", TODAY)
    r.open_call(CALL_2025)
    for nominator, profile in [("PHL", caseworker()), ("VNM", protection_officer())]:
        expert_id = r.nominate(nomination(nominator, profile))["expert"]
        r.screen(expert_id)
        r.invite(expert_id)
        cv = r.upload_cv(expert_id, "cv.pdf", PDF)
        r.register(expert_id, {"profile": profile, "cv_document": cv["id"]})
        r.include(expert_id)

    def match(i: int) -> list[int]:
        shortlist = r.match_request(thai_request(id=f"THA-2025-{i:02d}"))
        return [e["expert"] for e in shortlist["ranked"]]

    with Heartbeat() as heart, ThreadPoolExecutor(max_workers=4) as pool:
        rankings = list(pool.map(match, range(20), timeout=60))
    assert heart.beats > 0
    assert all(ranking == rankings[0] for ranking in rankings)
    assert len(rankings[0]) == 2
