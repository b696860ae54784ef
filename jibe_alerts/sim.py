"""A deterministic Jibe stand-in that logs the provider messages of the Jibe logging doc.

:class:`JibeSimulator` drives the loggers Jibe uses (``jibe.bucket``, ``jibe.provider``,
``jibe.provider.sync``, ``jibe.reports``, ``jibe.reports.ProviderReport``, ``jibe.syncevent``)
with the message shapes of the doc: sync delays that grow until they clear, resyncs, new
providers and buckets, removed buckets, folder monitors, PutObject retries, sync failures with
tracebacks, and now and then a burst of hundreds of records from a flapping provider. One tick
is one simulated minute. The simulator never configures logging; only :func:`main`
(``python -m jibe_alerts.sim``) does.
"""

from __future__ import annotations

import argparse
import logging
import random
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

__all__ = [
    "DEFAULT_PROVIDERS",
    "DEFAULT_START",
    "JibeSimulator",
    "Provider",
    "SimReport",
    "SimulatedProviderError",
    "main",
]

DEFAULT_START = datetime(2020, 7, 28, tzinfo=UTC).timestamp()
"""Simulated epoch of tick 0 when no ``start`` is given (the era of the doc's examples)."""

_LOGGERS = ("bucket", "provider", "provider.sync", "reports", "reports.ProviderReport", "syncevent")
_CHECK_EVERY = 30  # ticks between sync-delay checks (Jibe reports delays every half hour)
_REPORT_EVERY = 60  # ticks between ProviderReport runs
_FALL_BEHIND = 1 / 1500  # chance per provider per tick of starting a sync delay
_RECOVERY_CHANCES = (0.01, 0.05, 0.2)  # per check; picked once per delay so some linger
_PUT_ATTEMPTS = 3
_MAX_PROVIDERS = 12
_MAX_IDLE_TICKS = 7 * 24 * 60  # a simulated week with nothing logged means logging is off
_PROGRESS_CALLS = 20
_FAILURES = (
    "AccessDenied (403)",
    "NoSuchBucket (404)",
    "RequestTimeout (408)",
    "InternalError (500)",
    "SlowDown (503)",
)


@dataclass
class Provider:
    """A storage account Jibe syncs: display name, kind ("AWS GovCloud", "S3", "Azure"), buckets."""

    name: str
    kind: str
    buckets: list[str] = field(default_factory=list)


DEFAULT_PROVIDERS: tuple[Provider, ...] = (
    Provider("Sales GovCloud", "AWS GovCloud", ["sales-gov-archive", "my-big-bucket"]),
    Provider("Eng Cloud", "AWS", ["eng-artifacts", "eng-ci-logs", "eng-backups"]),
    Provider("Shared Media", "S3", ["sharedmedia123_logs", "media_assets_123"]),
    Provider("S3 Cloud", "S3", ["sc-bucketing", "sc-exports"]),
    Provider("Finance Archive", "Azure", ["fin-ledger-2019", "fin-ledger-2020"]),
    Provider("Marketing Assets", "S3", ["mkt-campaigns", "mkt-web-assets"]),
)

_LATE_PROVIDERS = (  # appear mid-run as "Found New Provider"
    Provider("Research Lab", "AWS", ["research-datasets", "research_lab_logs"]),
    Provider("Legal Hold", "Azure", ["legal-hold-2020"]),
    Provider("Support Uploads", "S3", ["support-uploads", "support_uploads_logs"]),
    Provider("Partner Exchange", "AWS GovCloud", ["partner-exchange-in", "partner-exchange-out"]),
    Provider("Design Studio", "S3", ["design-studio-assets"]),
    Provider("Data Warehouse", "Azure", ["dw-staging", "dw-exports"]),
)


class SimulatedProviderError(Exception):
    """Raised and caught inside the simulator so that crash records carry a real traceback."""


@dataclass
class SimReport:
    """What one :meth:`JibeSimulator.run` call logged: totals by logger, level and message kind."""

    records: int
    by_logger: dict[str, int]
    by_level: dict[str, int]
    by_template_hint: dict[str, int]
    ticks: int

    def summary(self) -> str:
        """Return a few human-readable lines describing the run."""

        def line(label: str, counts: dict[str, int]) -> str:
            parts = ", ".join(f"{key} {n}" for key, n in sorted(counts.items()))
            return f"  {label:<10}{parts}"

        return "\n".join([
            f"{self.records} records in {self.ticks} simulated minutes",
            line("loggers:", self.by_logger),
            line("levels:", self.by_level),
            line("kinds:", self.by_template_hint),
        ])


@dataclass
class _SyncState:
    """One provider's place in the state machine."""

    provider: Provider
    lag: int = 0  # minutes behind; 0 means in sync
    resync: bool = False  # a full ReSync is running (otherwise Real-Time Refresh is on)
    recovery: float = 0.0
    reported: bool = False  # listed in a sync-delay warning and not yet cleared
    monitoring: bool = True

    def describe(self) -> str:
        hours = self.lag // 60
        age = f"{hours} hours" if hours < 24 else f"{hours // 24} days"
        mode = "ReSync Running" if self.resync else "Real-Time Refresh On"
        return f"{self.provider.name} - {age}, {mode}"


@dataclass
class _PutRetry:
    bucket: str
    key: str
    attempts_left: int
    task: str


class JibeSimulator:
    """Log what a busy Jibe install logs, one simulated minute per :meth:`step`.

    Everything is decided by ``random.Random(seed)``: the same seed and providers give the same
    records in the same order. Records are logged with ``extra={"jibe_task": "DoTask-NN"}``. A
    record counts as emitted only if its logger is enabled for its level, so the counts match
    what a handler without its own level or filters receives.
    """

    def __init__(
        self,
        *,
        providers: Sequence[Provider] = DEFAULT_PROVIDERS,
        seed: int = 7,
        start: float | None = None,
        logger_prefix: str = "jibe",
    ) -> None:
        self._rng = random.Random(seed)
        self._start = DEFAULT_START if start is None else start
        self._states = [_SyncState(Provider(p.name, p.kind, list(p.buckets))) for p in providers]
        known = {p.name for p in providers}
        self._late = [p for p in _LATE_PROVIDERS if p.name not in known]
        self._loggers = {name: logging.getLogger(f"{logger_prefix}.{name}") for name in _LOGGERS}
        self._retries: list[_PutRetry] = []
        self._tick = 0
        self._emitted = 0
        self._by_logger: Counter[str] = Counter()
        self._by_level: Counter[str] = Counter()
        self._by_kind: Counter[str] = Counter()
        self._events: tuple[tuple[float, Callable[[], None]], ...] = (
            (0.25, self._bucket_synced),
            (0.2, self._put_not_found),
            (0.004, self._new_bucket),
            (0.002, self._remove_bucket),
            (0.001, self._new_provider),
            (0.005, self._toggle_random_monitor),
            (0.002, self._resync_found),
            (0.004, self._sync_failed),
            (0.002, self._sync_crashed),
            (0.003, self._flap),
        )

    @property
    def now(self) -> float:
        """Simulated epoch seconds of the tick being logged (between steps: the next one)."""
        return self._start + self._tick * 60

    @property
    def ticks(self) -> int:
        """How many ticks have run so far."""
        return self._tick

    def step(self) -> int:
        """Advance one simulated minute, log that minute's records and return how many."""
        before = self._emitted
        if self._tick == 0:
            self._start_up()
        self._fall_behind()
        if self._tick % _CHECK_EVERY == 0:
            self._check_sync()
        if self._tick % _REPORT_EVERY == 0:
            self._run_reports()
        self._advance_retries()
        for chance, event in self._events:
            if self._rng.random() < chance:
                event()
        self._tick += 1
        return self._emitted - before

    def run(
        self,
        *,
        records: int | None = None,
        ticks: int | None = None,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> SimReport:
        """Step until at least ``records`` records are emitted or ``ticks`` ticks have run.

        ``on_progress(done, target)`` is called at most 20 times, in records when ``records`` is
        given and in ticks otherwise. The report counts this call's records only. Raises
        ``ValueError`` without a bound or with a negative one, and ``RuntimeError`` if
        ``records`` is the only bound and a simulated week passes with no record reaching
        logging (logging disabled or the loggers' level above ERROR).
        """
        if records is None and ticks is None:
            raise ValueError("run() needs records=N, ticks=N or both")
        if (records is not None and records < 0) or (ticks is not None and ticks < 0):
            raise ValueError(f"records and ticks must be >= 0, got {records=} {ticks=}")
        first_tick, first_emitted = self._tick, self._emitted
        counts_before = (self._by_logger.copy(), self._by_level.copy(), self._by_kind.copy())
        progress = _Progress(records if records is not None else ticks or 0, on_progress)
        idle = 0
        while True:
            done_records, done_ticks = self._emitted - first_emitted, self._tick - first_tick
            progress.update(done_records if records is not None else done_ticks)
            if (records is not None and done_records >= records) or (
                ticks is not None and done_ticks >= ticks
            ):
                break
            idle = idle + 1 if self.step() == 0 else 0
            if ticks is None and idle >= _MAX_IDLE_TICKS:
                raise RuntimeError(
                    f"no record reached logging in {idle} simulated minutes; is logging "
                    "disabled, or are the jibe loggers set above ERROR?"
                )
        progress.finish(done_records if records is not None else done_ticks)
        by_logger, by_level, by_kind = counts_before
        return SimReport(
            records=done_records,
            by_logger=dict(self._by_logger - by_logger),
            by_level=dict(self._by_level - by_level),
            by_template_hint=dict(self._by_kind - by_kind),
            ticks=done_ticks,
        )

    # -- emitting ---------------------------------------------------------------------------

    def _emit(
        self,
        kind: str,
        where: str,
        level: int,
        msg: str,
        *args: object,
        task: str,
        exc_info: bool = False,
    ) -> None:
        logger = self._loggers[where]
        if not logger.isEnabledFor(level):
            return
        # exc_info None (not False) as in a plain logger.info(); stacklevel=2 so that funcName
        # names the event (``_check_sync``), not this helper.
        logger.log(
            level, msg, *args, exc_info=exc_info or None, extra={"jibe_task": task}, stacklevel=2
        )
        self._emitted += 1
        self._by_logger[logger.name] += 1
        self._by_level[logging.getLevelName(level)] += 1
        self._by_kind[kind] += 1

    def _utc(self, seconds_ago: int = 0) -> str:
        return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(self.now - seconds_ago))

    def _monitor(self, state: _SyncState, *, level: int, task: str = "DoTask-09") -> None:
        kind, verb = ("monitor_stop", "Stop") if state.monitoring else ("monitor_start", "Start")
        state.monitoring = not state.monitoring
        folder = "insights-logs" if state.provider.kind == "Azure" else "AWSLogs"
        self._emit(
            kind, "provider", level, f"{verb} Folder Monitor '{state.provider.name}' - [{folder}]",
            task=task,
        )

    # -- the sync-delay state machine -------------------------------------------------------

    def _start_up(self) -> None:
        for state in self._states:
            self._emit(
                "resync_found", "provider.sync", logging.INFO,
                "Provider ReSync Found (Started Completed '%s') - %s",
                self._utc(self._rng.randint(3600, 30 * 86400)), state.provider.name,
                task="MainThread",
            )
            state.monitoring = False
            self._monitor(state, level=logging.INFO, task="MainThread")
            if self._rng.random() < 0.3:
                self._begin_delay(state)

    def _begin_delay(self, state: _SyncState) -> None:
        state.resync = self._rng.random() < 0.4
        hours = self._rng.randint(24, 120) if state.resync else self._rng.randint(2, 8)
        state.lag = hours * 60 + self._rng.randint(0, 59)
        state.recovery = self._rng.choice(_RECOVERY_CHANCES)

    def _fall_behind(self) -> None:
        for state in self._states:
            if state.lag:
                state.lag += 1
            elif not state.reported and self._rng.random() < _FALL_BEHIND:
                self._begin_delay(state)

    def _check_sync(self) -> None:
        for state in self._states:
            if state.reported and self._rng.random() < state.recovery:
                state.lag = 0
                if state.resync:
                    self._emit(
                        "resync_found", "provider.sync", logging.INFO,
                        "Provider ReSync Found (Started Completed '%s') - %s",
                        self._utc(self._rng.randint(60, 1800)), state.provider.name,
                        task="DoTask-27",
                    )
        fresh = [s for s in self._states if s.lag and not s.reported]
        cleared = [s for s in self._states if s.reported and not s.lag]
        still = [s for s in self._states if s.lag and s.reported]
        sync = logging.WARNING
        if fresh:
            self._emit(
                "sync_delayed", "provider.sync", sync, "Providers Sync Delayed: %s",
                [s.describe() for s in fresh], task="DoTask-02",
            )
        if cleared:
            self._emit(
                "no_longer_delayed", "provider.sync", sync, "Providers No Longer Sync Delayed: %s",
                [s.provider.name for s in cleared], task="DoTask-27",
            )
        if still:
            self._emit(
                "still_delayed", "provider.sync", sync, "Providers Still Sync Delayed: %s",
                [s.describe() for s in still], task="DoTask-27",
            )
        for state in fresh:
            state.reported = True
        for state in cleared:
            state.reported = False

    def _run_reports(self) -> None:
        self._emit("report_run", "reports", logging.INFO, "Running report %s", "ProviderReport",
                   task="DoTask-40")
        self._emit(
            "provider_report", "reports.ProviderReport", logging.INFO,
            "ProviderReport complete: %d providers, %d buckets, %d sync delayed",
            len(self._states), sum(len(s.provider.buckets) for s in self._states),
            sum(1 for s in self._states if s.lag), task="DoTask-40",
        )

    # -- PutObject retries ------------------------------------------------------------------

    def _put_not_found(self) -> None:
        picked = self._pick_bucket()
        if picked is None:
            return
        key = time.strftime("%Y-%m-%d-%H-%M-%S", time.gmtime(self.now - self._rng.randint(0, 7200)))
        task = f"DoTask-{self._rng.randint(1, 12):02d}-Sync_1"
        retry = _PutRetry(picked[1], f"{key}.zip", _PUT_ATTEMPTS, task)
        self._retries.append(retry)
        self._log_retry(retry)

    def _advance_retries(self) -> None:
        waiting = self._retries
        self._retries = []
        for retry in waiting:
            retry.attempts_left -= 1
            if retry.attempts_left:
                self._retries.append(retry)
                self._log_retry(retry)
            elif self._rng.random() < 0.05:
                self._emit(
                    "put_gave_up", "syncevent", logging.ERROR,
                    "syncOnProviderEvent: PutObject:not_found - %s/%s. No attempts left.",
                    retry.bucket, retry.key, task=retry.task,
                )

    def _log_retry(self, retry: _PutRetry) -> None:
        self._emit(
            "put_retry", "syncevent", logging.INFO,
            "syncOnProviderEvent: %s:%s - %s/%s. %d attempts left.",
            "PutObject", "not_found", retry.bucket, retry.key, retry.attempts_left,
            task=retry.task,
        )

    # -- occasional events ------------------------------------------------------------------

    def _pick_bucket(self) -> tuple[_SyncState, str] | None:
        with_buckets = [s for s in self._states if s.provider.buckets]
        if not with_buckets:
            return None
        state = self._rng.choice(with_buckets)
        return state, self._rng.choice(state.provider.buckets)

    def _bucket_synced(self) -> None:
        picked = self._pick_bucket()
        if picked is not None:
            self._emit(
                "bucket_synced", "bucket", logging.INFO,
                "Bucket sync complete - %s/%s: %d objects, %d changed",
                picked[0].provider.name, picked[1], self._rng.randint(200, 250_000),
                self._rng.randint(0, 40), task=f"DoTask-{self._rng.randint(1, 12):02d}",
            )

    def _new_bucket(self) -> None:
        state = self._rng.choice(self._states)
        slug = state.provider.name.lower().replace(" ", "")
        suffix = self._rng.choice(("logs", "assets", "exports", "backup"))
        bucket = f"{slug}{self._rng.randint(100, 999)}_{suffix}"
        state.provider.buckets.append(bucket)
        self._emit("new_bucket", "provider", logging.WARNING,
                   f"New bucket - {state.provider.name}/{bucket}", task="DoTask-35")

    def _remove_bucket(self) -> None:
        candidates = [s for s in self._states if len(s.provider.buckets) > 1]
        if not candidates:
            return
        state = self._rng.choice(candidates)
        bucket = state.provider.buckets.pop(self._rng.randrange(len(state.provider.buckets)))
        folder_id = self._rng.randint(100_000_000, 999_999_999)
        jibe_sync = self._rng.random() < 0.2
        self._emit(
            "bucket_removed", "provider", logging.WARNING,
            f"Bucket removed {state.provider.name}/{bucket} "
            f"(Folder Id: {folder_id}, Jibe Sync: {jibe_sync})",
            task="DoTask-01",
        )

    def _new_provider(self) -> None:
        if not self._late or len(self._states) >= _MAX_PROVIDERS:
            return
        late = self._late.pop(0)
        state = _SyncState(Provider(late.name, late.kind, list(late.buckets)), monitoring=False)
        self._states.append(state)
        self._emit("new_provider", "provider", logging.WARNING,
                   f"Found New Provider - '{late.name}'", task="DoTask-35")
        for bucket in late.buckets:
            self._emit("new_bucket", "provider", logging.WARNING,
                       f"New bucket - {late.name}/{bucket}", task="DoTask-35")
        self._monitor(state, level=logging.WARNING)

    def _toggle_random_monitor(self) -> None:
        self._monitor(self._rng.choice(self._states), level=logging.WARNING)

    def _resync_found(self) -> None:
        state = self._rng.choice(self._states)
        self._emit(
            "resync_found", "provider.sync", logging.INFO,
            "Provider ReSync Found (Started Completed '%s') - %s",
            self._utc(self._rng.randint(60, 3 * 86400)), state.provider.name, task="DoTask-27",
        )

    def _sync_failed(self) -> None:
        state = self._rng.choice(self._states)
        self._emit(
            "sync_failed", "provider.sync", logging.ERROR, "Provider Sync Failed: '%s' - %s",
            state.provider.name, self._rng.choice(_FAILURES), task="DoTask-02",
        )

    def _sync_crashed(self) -> None:
        state = self._rng.choice(self._states)
        try:
            _list_objects(state.provider, self._rng.choice(_FAILURES))
        except SimulatedProviderError:
            self._emit(
                "sync_crashed", "provider", logging.ERROR,
                "Provider sync task crashed - '%s'", state.provider.name,
                task="DoTask-02", exc_info=True,
            )

    def _flap(self) -> None:
        """A provider whose folder monitor flaps: hundreds of Stop/Start records in one tick."""
        state = self._rng.choice(self._states)
        for _ in range(2 * self._rng.randint(60, 200)):  # even, so the monitor ends as it began
            self._monitor(state, level=logging.WARNING)


def _list_objects(provider: Provider, failure: str) -> None:
    _request(provider, "ListObjectsV2", failure)


def _request(provider: Provider, operation: str, failure: str) -> None:
    code, _, status = failure.partition(" ")
    raise SimulatedProviderError(
        f"An error occurred ({code}) when calling the {operation} operation on "
        f"{provider.kind} provider '{provider.name}': HTTP {status.strip('()')}"
    )


class _Progress:
    """Calls ``callback(done, target)`` each time another twentieth of ``target`` is done."""

    def __init__(self, target: int, callback: Callable[[int, int], None] | None) -> None:
        self._target, self._callback = target, callback
        self._next = 1
        self._last: int | None = None

    def update(self, done: int) -> None:
        if self._callback is None or self._target <= 0:
            return
        if done * _PROGRESS_CALLS >= self._next * self._target:
            self._callback(done, self._target)
            self._last = done
            self._next = done * _PROGRESS_CALLS // self._target + 1

    def finish(self, done: int) -> None:
        if self._callback is not None and done != self._last:
            self._callback(done, self._target)


def _count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    """Log a simulated Jibe run to stderr and print a summary; return the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m jibe_alerts.sim", description="Log what a busy Jibe install logs."
    )
    parser.add_argument("--records", type=_count, help="stop after this many records (5000)")
    parser.add_argument("--ticks", type=_count, help="stop after this many simulated minutes")
    parser.add_argument("--seed", type=int, default=7, help="random seed (7)")
    args = parser.parse_args(argv)
    records = 5000 if args.records is None and args.ticks is None else args.records
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s - %(name)s - %(levelname)s - %(message)s"
    )
    began = time.perf_counter()
    report = JibeSimulator(seed=args.seed).run(records=records, ticks=args.ticks)
    elapsed = time.perf_counter() - began
    print(f"jibe-alerts sim (seed {args.seed}, {elapsed:.2f}s)")
    print(report.summary())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
