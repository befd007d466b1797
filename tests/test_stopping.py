"""How a stop reaches a run: the parts, each on its own (the whole, through real `iom run`
processes, is in test_cli.py).

A stop signal must end a run before its publication or leave the new publication whole, and say
which. Dagster raises an interrupt in the running step; Python drops it when the handler happens
to run inside a garbage-collection callback. These tests pin the defences: the stop marks the run
canceling, a dropped interrupt is delivered again, and a stop during the publication's swap is
noted, not acted on, so the swap and its record complete.
"""

from __future__ import annotations

import os
import signal
import sys
import time
import types
import uuid

import pytest

import dagster as dg
from iom_pipeline.cli import (
    SignalRecorder,
    Stopped,
    identity_of,
    stop_message,
    stop_reports_what_was_replaced,
    stops_end_the_run,
)
from iom_pipeline.defs.shared import WarehouseResource
from iom_pipeline.publish import stop_signals_held


@pytest.fixture
def recorded_signals():
    """SIGINT and SIGTERM recorded instead of acted on, for the test's length."""
    received: list[int] = []
    previous = {s: signal.signal(s, lambda signum, frame: received.append(signum)) for s in (signal.SIGINT, signal.SIGTERM)}
    yield received
    for s, handler in previous.items():
        signal.signal(s, handler)


def wait_for(condition, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


def test_a_stop_during_the_swap_is_noted_and_the_swap_completes(recorded_signals):
    """With other threads running, as in every run (the kernel may hand a signal to any of
    them): the stop reaches no handler of the run while the block runs, nor after it."""
    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    with SignalRecorder():
        with stop_signals_held() as noted:
            os.kill(os.getpid(), signal.SIGTERM)
            assert wait_for(lambda: noted == [signal.SIGTERM], 2.0)
            reached_the_run = list(recorded_signals)
        time.sleep(0.05)
    assert reached_the_run == [] and recorded_signals == []
    assert {s: signal.getsignal(s) for s in handlers} == handlers  # put back


def test_the_recorder_acts_on_a_stop_as_it_arrives(recorded_signals):
    called = []
    with SignalRecorder() as signals, signals.on_stop(lambda: called.append(time.monotonic())):
        assert signals.stop_signal() is None
        os.kill(os.getpid(), signal.SIGINT)
        assert wait_for(lambda: called), "the stop's callback was not called"
        assert signals.stop_signal() == signal.SIGINT
    assert len(called) == 1


def started_run(instance: dg.DagsterInstance) -> str:
    run_id = str(uuid.uuid4())
    instance.add_run(dg.DagsterRun(job_name="survey_year_job", run_id=run_id, status=dg.DagsterRunStatus.STARTED))
    return run_id


def test_a_stop_marks_the_executing_run_canceling(recorded_signals):
    with dg.DagsterInstance.ephemeral() as instance, SignalRecorder() as signals:
        run_id = started_run(instance)
        with stops_end_the_run(signals, instance, run_id):
            os.kill(os.getpid(), signal.SIGTERM)
            assert wait_for(lambda: instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.CANCELING)
        other = started_run(instance)
        os.kill(os.getpid(), signal.SIGTERM)  # after the run: nothing is marked
        time.sleep(0.2)
        assert instance.get_run_by_id(other).status == dg.DagsterRunStatus.STARTED


def test_a_dropped_interrupt_is_delivered_again(recorded_signals):
    """What Python does with an exception raised inside a garbage-collection callback: it hands
    it to sys.unraisablehook and goes on. The run's stop must not be lost with it."""
    dropped = types.SimpleNamespace(exc_type=dg.DagsterExecutionInterruptedError,
                                    exc_value=dg.DagsterExecutionInterruptedError(), exc_traceback=None,
                                    err_msg="Exception ignored in", object=None)
    with dg.DagsterInstance.ephemeral() as instance, SignalRecorder() as signals:
        os.kill(os.getpid(), signal.SIGTERM)
        assert wait_for(lambda: recorded_signals == [signal.SIGTERM])
        with stops_end_the_run(signals, instance, started_run(instance)):
            sys.unraisablehook(dropped)
            assert wait_for(lambda: len(recorded_signals) == 2), "the dropped interrupt was not delivered again"
        assert recorded_signals == [signal.SIGTERM, signal.SIGTERM]  # the signal that stopped the run


def test_other_unraisable_errors_still_reach_the_usual_hook(recorded_signals, monkeypatch):
    seen = []
    monkeypatch.setattr(sys, "unraisablehook", seen.append)
    other = types.SimpleNamespace(exc_type=ValueError, exc_value=ValueError("x"), exc_traceback=None,
                                  err_msg=None, object=None)
    with dg.DagsterInstance.ephemeral() as instance, SignalRecorder() as signals:
        with stops_end_the_run(signals, instance, started_run(instance)):
            sys.unraisablehook(other)
        time.sleep(0.2)
    assert seen == [other]
    assert recorded_signals == []
    assert sys.unraisablehook == seen.append  # put back


def test_a_step_interrupted_after_the_runs_teardown_keeps_its_own_error(tmp_path):
    """Dagster may close an interrupted step's generator only after the run's resources are torn
    down: the rollback on the way out must not replace the interrupt with an AttributeError."""
    resource = WarehouseResource(database=str(tmp_path / "w.duckdb"))

    def step():
        with resource.get_connection() as con:
            con.execute("begin transaction")
            yield

    interrupted = step()
    next(interrupted)
    resource.teardown_after_execution(None)
    with pytest.raises(KeyboardInterrupt):
        interrupted.throw(KeyboardInterrupt())


def test_a_stop_is_named_by_its_signal_and_says_what_the_run_had_replaced(tmp_path, recorded_signals):
    """Dagster leaves SIGTERM with SIGINT's handler when a run ends, so a SIGTERM after it comes
    as a KeyboardInterrupt: it is still reported as SIGTERM, SIGTERM's handler is put back, and
    what the run had already swapped in is named."""
    year_dir = tmp_path / "2013"
    year_dir.mkdir()
    snapshot = tmp_path / "iom_marts.duckdb"
    snapshot.write_text("previous")

    def state(year):
        return {f"publication/{year}": identity_of(year_dir), "the BI snapshot": identity_of(snapshot)}

    sigterm_handler = signal.getsignal(signal.SIGTERM)
    with SignalRecorder() as signals:
        before = state(2013)
        with pytest.raises(Stopped) as stopped:
            with stop_reports_what_was_replaced(signals, 2013, before, state):
                signal.signal(signal.SIGTERM, signal.default_int_handler)  # as a Dagster run leaves it
                staged = tmp_path / "staged"
                staged.mkdir()
                os.replace(staged, year_dir)  # the year's files swapped in; the snapshot not yet
                os.kill(os.getpid(), signal.SIGTERM)
                assert wait_for(lambda: signals.stop_signal() == signal.SIGTERM)
                raise KeyboardInterrupt
    assert signal.getsignal(signal.SIGTERM) is sigterm_handler
    stop = stopped.value
    assert (stop.signum, stop.replaced) == (signal.SIGTERM, ["publication/2013"])
    assert stop_message("iom run", stop.signum, stop, pull=False) == (
        "iom run: stopped by SIGTERM during the publication of 2013: publication/2013 is this run's, "
        "the BI snapshot the previous one; the next run brings them together")
    stop.replaced = list(stop.kept)
    assert stop_message("iom run", stop.signum, stop, pull=False).startswith(
        "iom run: stopped by SIGTERM after 2013 was published: its new publication is in place, whole")
    stop.replaced = []
    assert stop_message("iom run", stop.signum, stop, pull=False) == (
        "iom run: stopped by SIGTERM; the previous publication is untouched")
