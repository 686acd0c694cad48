"""Running work in real concurrent transactions, for the tests marked ``postgres``."""

from __future__ import annotations

import threading
from collections.abc import Callable

from django.db import connection

# Long enough for hundreds of queued check-ins on a small machine; a thread still
# running after it is stuck (a lock never released), and the test says so.
THREAD_TIMEOUT_SECONDS = 120


def run_in_threads(*jobs: Callable[[], object]) -> list[object]:
    """Run each job in its own thread, hence its own database connection, all released
    at once by a barrier. Returns, in the jobs' order, what each returned or the
    exception it raised (nothing is lost in a thread)."""
    barrier = threading.Barrier(len(jobs))
    outcomes: list[object] = [None] * len(jobs)

    def run(index: int, job: Callable[[], object]) -> None:
        try:
            barrier.wait()
            outcomes[index] = job()
        except BaseException as error:  # handed to the test, which asserts on it
            outcomes[index] = error
        finally:
            connection.close()

    threads = [
        threading.Thread(target=run, args=(index, job), daemon=True)
        for index, job in enumerate(jobs)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(THREAD_TIMEOUT_SECONDS)
    stuck = sum(thread.is_alive() for thread in threads)
    assert not stuck, f"{stuck} of {len(threads)} threads still running: a lock is never released"
    return outcomes


def raised(outcomes: list[object]) -> list[BaseException]:
    """The exceptions among ``run_in_threads``' outcomes."""
    return [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
