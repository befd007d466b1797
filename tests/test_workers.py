"""The helper process of `iom run`: work left to it is finished before it is stopped (here if it
died), and what a failed run started is dropped."""

import os
import shutil
import signal
import time

import pytest

from iom_pipeline import workers

pytestmark = pytest.mark.slow


@pytest.fixture
def helper(monkeypatch):
    monkeypatch.setenv("IOM_WORKERS", "1")
    return workers.warm_helper


def test_work_left_to_the_helper_is_finished_before_it_stops(helper, tmp_path):
    source, target = tmp_path / "pages.html", tmp_path / "site" / "index.html"
    source.write_text("the Data Docs", encoding="utf-8")
    target.parent.mkdir()
    with helper():
        assert workers.prefetch(("run-1", 2013, "busy"), time.sleep, 1.5)
        assert workers.prefetch(("run-1", 2013, "docs"), shutil.copyfile, source, target)
        assert workers.finish_before_exit(("run-1", 2013, "docs"))
        assert not workers.finish_before_exit(("run-1", 2013, "never started"))
        assert not target.exists()  # still queued behind the busy work
    assert target.read_text(encoding="utf-8") == "the Data Docs"


def test_if_the_helper_dies_the_work_left_to_it_is_done_here(helper, tmp_path):
    source, target = tmp_path / "pages.html", tmp_path / "index.html"
    source.write_text("the Data Docs", encoding="utf-8")
    with helper():
        assert workers.prefetch(("run-1", 2013, "busy"), time.sleep, 30)
        assert workers.prefetch(("run-1", 2013, "docs"), shutil.copyfile, source, target)
        assert workers.finish_before_exit(("run-1", 2013, "docs"))
        os.kill(next(iter(workers._POOL._processes)), signal.SIGKILL)
        started = time.monotonic()
    assert target.read_text(encoding="utf-8") == "the Data Docs"
    assert time.monotonic() - started < 20  # the dead helper's busy work was not waited for


def test_what_a_failed_run_started_is_dropped(helper):
    with helper():
        for key in (("failed", 2013, "suite a"), ("failed", 2013, "suite b"), ("next", 2013, "suite a")):
            assert workers.prefetch(key, time.sleep, 0)
        assert workers.discard_run("failed") == 2
        assert not workers.prefetched(("failed", 2013, "suite a"))
        assert workers.prefetched(("next", 2013, "suite a"))


def test_stopping_the_helper_never_hangs_on_work_still_queued_for_it(tmp_path):
    """Work larger than a pipe's buffer, queued behind busy work when the run ends (a failed
    run's suite frames), must not keep `iom run` from exiting."""
    import subprocess
    import sys
    import textwrap

    script = tmp_path / "queued.py"
    script.write_text(textwrap.dedent(
        """
        import time
        from iom_pipeline import workers

        if __name__ == "__main__":
            with workers.warm_helper():
                workers.prefetch(("run", 2013, "busy"), time.sleep, 60)
                workers.prefetch(("run", 2013, "large"), len, b"x" * 5_000_000)
                time.sleep(1)
            print("stopped")
        """
    ), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120,
        env={**os.environ, "IOM_WORKERS": "1"},
    )
    assert done.returncode == 0 and done.stdout.strip() == "stopped", done.stderr
