"""Tests for the Jibe simulator: determinism, message shapes, delays, bursts, counts and main()."""

from __future__ import annotations

import logging
import re
import statistics
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest

from jibe_alerts.sim import (
    DEFAULT_PROVIDERS,
    JibeSimulator,
    Provider,
    SimulatedProviderError,
    main,
)

SUFFIXES = ("bucket", "provider", "provider.sync", "reports", "reports.ProviderReport", "syncevent")
LONG_RUN_TICKS = 3000

_ENTRY = r"'[^']+ - \d+ (?:hours|days), (?:ReSync Running|Real-Time Refresh On)'"
_ENTRIES = rf"\[{_ENTRY}(?:, {_ENTRY})*\]"
_NAMES = r"\['[^']+'(?:, '[^']+')*\]"
_FILE = r"[\w.-]+/\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d\.zip"
# kind -> (logger suffix, levels, message regex); a record matches exactly one kind.
SHAPES: dict[str, tuple[str, str, str]] = {
    "resync_found": (
        "provider.sync", "INFO",
        r"Provider ReSync Found \(Started Completed '\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC'\) - .+",
    ),
    "monitor_start": ("provider", "INFO|WARNING", r"Start Folder Monitor '[^']+' - \[[\w-]+\]"),
    "monitor_stop": ("provider", "WARNING", r"Stop Folder Monitor '[^']+' - \[[\w-]+\]"),
    "sync_delayed": ("provider.sync", "WARNING", rf"Providers Sync Delayed: {_ENTRIES}"),
    "still_delayed": ("provider.sync", "WARNING", rf"Providers Still Sync Delayed: {_ENTRIES}"),
    "no_longer_delayed": (
        "provider.sync", "WARNING", rf"Providers No Longer Sync Delayed: {_NAMES}",
    ),
    "bucket_removed": (
        "provider", "WARNING",
        r"Bucket removed [^/]+/[\w.-]+ \(Folder Id: \d+, Jibe Sync: (?:True|False)\)",
    ),
    "new_provider": ("provider", "WARNING", r"Found New Provider - '[^']+'"),
    "new_bucket": ("provider", "WARNING", r"New bucket - [^/]+/[\w.-]+"),
    "put_retry": (
        "syncevent", "INFO",
        rf"syncOnProviderEvent: PutObject:not_found - {_FILE}\. \d attempts left\.",
    ),
    "put_gave_up": (
        "syncevent", "ERROR",
        rf"syncOnProviderEvent: PutObject:not_found - {_FILE}\. No attempts left\.",
    ),
    "sync_failed": ("provider.sync", "ERROR", r"Provider Sync Failed: '[^']+' - \w+ \(\d{3}\)"),
    "sync_crashed": ("provider", "ERROR", r"Provider sync task crashed - '[^']+'"),
    "bucket_synced": (
        "bucket", "INFO", r"Bucket sync complete - [^/]+/[\w.-]+: \d+ objects, \d+ changed",
    ),
    "report_run": ("reports", "INFO", r"Running report ProviderReport"),
    "provider_report": (
        "reports.ProviderReport", "INFO",
        r"ProviderReport complete: \d+ providers, \d+ buckets, \d+ sync delayed",
    ),
}

# The example lines of the Jibe logging doc (the truncated Sync Delayed line closed).
SEED_LINES = [
    ("resync_found", "provider.sync", "INFO",
     "Provider ReSync Found (Started Completed '2020-07-01 18:22:39 UTC') - Sales GovCloud"),
    ("monitor_start", "provider", "INFO", "Start Folder Monitor 'Shared Media' - [AWSLogs]"),
    ("sync_delayed", "provider.sync", "WARNING",
     "Providers Sync Delayed: ['Eng Cloud - 4 days, ReSync Running']"),
    ("sync_delayed", "provider.sync", "WARNING",
     "Providers Sync Delayed: ['Sales GovCloud - 4 hours, Real-Time Refresh On']"),
    ("no_longer_delayed", "provider.sync", "WARNING",
     "Providers No Longer Sync Delayed: ['Eng Cloud']"),
    ("still_delayed", "provider.sync", "WARNING",
     "Providers Still Sync Delayed: ['Sales GovCloud - 1 days, Real-Time Refresh On']"),
    ("bucket_removed", "provider", "WARNING",
     "Bucket removed S3 Cloud/sc-bucketing (Folder Id: 323257338, Jibe Sync: False)"),
    ("new_provider", "provider", "WARNING", "Found New Provider - 'Shared Media'"),
    ("new_bucket", "provider", "WARNING", "New bucket - Shared Media/sharedmedia123_logs"),
    ("monitor_start", "provider", "WARNING", "Start Folder Monitor 'Shared Media' - [AWSLogs]"),
    ("monitor_stop", "provider", "WARNING", "Stop Folder Monitor 'Eng Cloud' - [AWSLogs]"),
    ("put_retry", "syncevent", "INFO",
     "syncOnProviderEvent: PutObject:not_found - my-big-bucket/2020-07-28-19-53-04.zip. "
     "2 attempts left."),
]


class ListHandler(logging.Handler):
    """Keeps every record it is given."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def capture(prefix: str = "jibe", level: int = logging.DEBUG) -> Iterator[list[logging.LogRecord]]:
    """Collect what reaches the ``prefix`` logger, then restore the loggers as they were."""
    loggers = [logging.getLogger(prefix)] + [logging.getLogger(f"{prefix}.{s}") for s in SUFFIXES]
    saved = [(lg, lg.level, lg.propagate, lg.disabled) for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.NOTSET)
        lg.disabled = False
    top = loggers[0]
    top.setLevel(level)
    top.propagate = False
    handler = ListHandler()
    top.addHandler(handler)
    try:
        yield handler.records
    finally:
        top.removeHandler(handler)
        for lg, lvl, propagate, disabled in saved:
            lg.setLevel(lvl)
            lg.propagate, lg.disabled = propagate, disabled


@dataclass
class LongRun:
    """Records of a long seeded run, with the tick each record was logged in."""

    records: list[logging.LogRecord]
    per_tick: list[int]

    def ticks(self) -> list[int]:
        """The tick of each record, aligned with ``records``."""
        return [tick for tick, n in enumerate(self.per_tick) for _ in range(n)]


@pytest.fixture(scope="module")
def long_run() -> LongRun:
    """Three thousand simulated minutes of seed 7, stepped one tick at a time."""
    sim = JibeSimulator(seed=7)
    with capture() as records:
        per_tick = [sim.step() for _ in range(LONG_RUN_TICKS)]
    return LongRun(list(records), per_tick)


def shape_of(record: logging.LogRecord) -> list[str]:
    """The kinds whose logger, level and message regex match ``record``."""
    suffix = record.name.removeprefix("jibe.")
    return [
        kind for kind, (where, levels, pattern) in SHAPES.items()
        if where == suffix and re.fullmatch(levels, record.levelname)
        and re.fullmatch(pattern, record.getMessage())
    ]


def messages(records: list[logging.LogRecord]) -> list[tuple[str, str, str]]:
    """Logger, level and rendered message of each record."""
    return [(r.name, r.levelname, r.getMessage()) for r in records]


def hours(entry: str) -> tuple[str, int]:
    """Split ``'Eng Cloud - 4 days, ReSync Running'`` into the name and the delay in hours."""
    match = re.fullmatch(r"(.+) - (\d+) (hours|days), .+", entry)
    assert match, entry
    n = int(match[2])
    return match[1], n * 24 if match[3] == "days" else n


@dataclass
class Episode:
    """One provider's run of delay reports, from Sync Delayed to No Longer Sync Delayed."""

    name: str
    hours: list[int]
    cleared: bool = False


def delay_episodes(run: LongRun) -> list[Episode]:
    """Replay the delay warnings, checking each against the providers reported so far."""
    open_: dict[str, Episode] = {}
    done: list[Episode] = []
    opened_at: dict[str, int] = {}
    for record, tick in zip(run.records, run.ticks(), strict=True):
        items = record.args[0] if isinstance(record.args, tuple) and record.args else None
        if record.msg == "Providers Sync Delayed: %s":
            assert isinstance(items, list)
            for name, h in map(hours, items):
                assert name not in open_, f"{name} reported delayed twice"
                open_[name], opened_at[name] = Episode(name, [h]), tick
        elif record.msg == "Providers Still Sync Delayed: %s":
            assert isinstance(items, list)
            still = dict(map(hours, items))
            assert set(still) == {n for n in open_ if opened_at[n] != tick}
            for name, h in still.items():
                open_[name].hours.append(h)
        elif record.msg == "Providers No Longer Sync Delayed: %s":
            assert isinstance(items, list)
            for name in items:
                episode = open_.pop(name)
                episode.cleared = True
                done.append(episode)
    return done + list(open_.values())


class TestJibeSimulator:
    def test_same_seed_gives_same_records(self) -> None:
        """Two simulators with the same seed log the same messages in the same order."""
        with capture() as first:
            sim = JibeSimulator(seed=11)
            for _ in range(400):
                sim.step()
        with capture() as second:
            sim = JibeSimulator(seed=11)
            for _ in range(400):
                sim.step()
        assert len(first) > 100
        assert messages(first) == messages(second)

    def test_different_seed_gives_different_records(self) -> None:
        """Another seed logs a different sequence."""
        runs = []
        for seed in (7, 8):
            with capture() as records:
                sim = JibeSimulator(seed=seed)
                for _ in range(400):
                    sim.step()
            runs.append(messages(records))
        assert runs[0] != runs[1]

    def test_long_run_uses_all_six_loggers(self, long_run: LongRun) -> None:
        """Every Jibe logger from the doc receives records."""
        assert {r.name for r in long_run.records} == {f"jibe.{s}" for s in SUFFIXES}

    @pytest.mark.parametrize(("kind", "where", "level", "message"), SEED_LINES)
    def test_seed_doc_lines_fit_the_shapes(
        self, kind: str, where: str, level: str, message: str
    ) -> None:
        """Each example line of the Jibe logging doc matches the shape of its kind only."""
        record = logging.makeLogRecord(
            {"name": f"jibe.{where}", "levelname": level, "msg": message}
        )
        assert shape_of(record) == [kind]

    def test_every_record_has_one_seed_shape(self, long_run: LongRun) -> None:
        """Each simulated record matches exactly one shape, and every kind of the doc appears."""
        kinds: Counter[str] = Counter()
        for record in long_run.records:
            matched = shape_of(record)
            assert len(matched) == 1, (record.name, record.levelname, record.getMessage())
            kinds[matched[0]] += 1
        assert {kind for kind, *_ in SEED_LINES} <= set(kinds)

    def test_delays_grow_while_a_provider_stays_delayed(self, long_run: LongRun) -> None:
        """A provider's reported delay never shrinks within an episode and grows if it lingers."""
        episodes = delay_episodes(long_run)
        for episode in episodes:
            assert episode.hours == sorted(episode.hours), episode
        # Reports come every half hour, so six of them span 2.5 hours: "N hours" must move on.
        lingering = [e for e in episodes if len(e.hours) >= 6 and e.hours[0] < 24]
        assert lingering
        assert all(e.hours[-1] > e.hours[0] for e in lingering)
        assert any(e.hours[0] < 24 <= e.hours[-1] for e in episodes), "no '4 hours' -> '1 days'"

    def test_recovered_provider_is_reported_no_longer_delayed(self, long_run: LongRun) -> None:
        """Providers that catch up appear in a No Longer Sync Delayed list after their delay."""
        assert any(episode.cleared for episode in delay_episodes(long_run))

    def test_percent_style_records_keep_template_and_args(self, long_run: LongRun) -> None:
        """Delay lists and retries are logged with %s arguments, as real Jibe code does."""
        still = [r for r in long_run.records if "Still Sync Delayed" in r.getMessage()]
        assert still
        for record in still:
            assert record.msg == "Providers Still Sync Delayed: %s"
            assert isinstance(record.args, tuple)
            assert isinstance(record.args[0], list)
            assert all(isinstance(item, str) for item in record.args[0])
        retry = next(r for r in long_run.records if "attempts left" in r.getMessage())
        assert retry.msg == "syncOnProviderEvent: %s:%s - %s/%s. %d attempts left."
        new_provider = next(r for r in long_run.records if "Found New Provider" in r.getMessage())
        assert new_provider.args == ()

    def test_put_retries_count_down(self, long_run: LongRun) -> None:
        """Each failed PutObject logs 3, then 2, then 1 attempts left."""
        seen: dict[str, list[int]] = {}
        for record in long_run.records:
            match = re.search(r" - (\S+)\. (\d) attempts left\.$", record.getMessage())
            if match:
                seen.setdefault(match[1], []).append(int(match[2]))
        assert seen
        for countdown in seen.values():
            assert countdown == [3, 2, 1][: len(countdown)]
        assert [3, 2, 1] in seen.values()

    def test_some_ticks_burst(self, long_run: LongRun) -> None:
        """A flapping provider makes some minutes log hundreds of records; most log a few."""
        busiest, typical = max(long_run.per_tick), statistics.median(long_run.per_tick)
        assert busiest >= 100
        assert busiest >= 20 * max(typical, 1)

    def test_crash_records_carry_a_traceback(self, long_run: LongRun) -> None:
        """Crashed sync tasks are logged with exc_info of a raised SimulatedProviderError."""
        crashes = [r for r in long_run.records if "task crashed" in r.getMessage()]
        assert crashes
        for record in crashes:
            assert record.exc_info is not None
            assert record.exc_info[0] is SimulatedProviderError
        text = logging.Formatter().format(crashes[0])
        assert "Traceback (most recent call last)" in text
        assert all(r.exc_info is None for r in long_run.records if r not in crashes)

    def test_records_name_a_jibe_task(self, long_run: LongRun) -> None:
        """Every record carries a jibe_task such as DoTask-27 or MainThread."""
        for record in long_run.records:
            assert re.fullmatch(r"MainThread|DoTask-\d\d(?:-Sync_1)?", record.__dict__["jibe_task"])

    def test_counts_only_records_logging_creates(self) -> None:
        """With the loggers at WARNING, step() counts exactly the WARNING and ERROR records."""
        sim = JibeSimulator(seed=7)
        with capture(level=logging.WARNING) as records:
            counted = sum(sim.step() for _ in range(500))
        assert counted == len(records) > 0
        assert {r.levelname for r in records} <= {"WARNING", "ERROR"}

    def test_leaves_logging_configuration_alone(self) -> None:
        """Running adds no handlers and changes no levels anywhere in the logging tree."""
        root = logging.getLogger()
        before = (list(root.handlers), root.level)
        sim = JibeSimulator(seed=7, logger_prefix="simtest")
        with capture(prefix="simtest", level=logging.CRITICAL):
            for _ in range(50):
                sim.step()
        assert (list(root.handlers), root.level) == before
        for suffix in SUFFIXES:
            logger = logging.getLogger(f"simtest.{suffix}")
            assert (logger.handlers, logger.level) == ([], logging.NOTSET)

    def test_logger_prefix_names_the_loggers(self) -> None:
        """A custom prefix sends records to loggers under that prefix."""
        sim = JibeSimulator(seed=7, logger_prefix="acme.jibe")
        with capture(prefix="acme.jibe") as records:
            sim.step()
        assert records
        assert all(r.name.startswith("acme.jibe.") for r in records)

    def test_given_providers_are_not_changed(self) -> None:
        """New and removed buckets change the simulator's copy, not the caller's providers."""
        providers = [Provider(p.name, p.kind, list(p.buckets)) for p in DEFAULT_PROVIDERS]
        sim = JibeSimulator(providers=providers, seed=7)
        with capture():
            for _ in range(LONG_RUN_TICKS):
                sim.step()
        assert providers == list(DEFAULT_PROVIDERS)


class TestRun:
    def test_record_target_reached_and_counts_match_handler(self) -> None:
        """run(records=N) logs at least N records and its report matches what a handler saw."""
        sim = JibeSimulator(seed=7)
        with capture() as records:
            report = sim.run(records=2000)
        assert report.records == len(records) >= 2000
        assert report.by_logger == dict(Counter(r.name for r in records))
        assert report.by_level == dict(Counter(r.levelname for r in records))
        assert sum(report.by_template_hint.values()) == report.records
        assert report.ticks == sim.ticks

    def test_template_hints_name_the_message_kinds(self) -> None:
        """by_template_hint counts each message kind as the shapes of the doc classify it."""
        sim = JibeSimulator(seed=3)
        with capture() as records:
            report = sim.run(ticks=1500)
        kinds = Counter(shape_of(r)[0] for r in records)
        assert report.by_template_hint == dict(kinds)
        assert report.by_template_hint["still_delayed"] > 0

    def test_tick_bound(self) -> None:
        """run(ticks=N) runs exactly N simulated minutes."""
        sim = JibeSimulator(seed=7)
        with capture():
            report = sim.run(ticks=120)
        assert report.ticks == sim.ticks == 120

    def test_second_run_reports_only_its_own_records(self) -> None:
        """A report covers its own run, not what earlier runs logged."""
        sim = JibeSimulator(seed=7)
        with capture() as records:
            first = sim.run(ticks=200)
            second = sim.run(ticks=200)
        assert first.records + second.records == len(records)
        assert second.ticks == 200

    def test_progress_is_reported_at_most_twenty_times(self) -> None:
        """on_progress gets rising counts, at most 20 calls, the last with the final total."""
        calls: list[tuple[int, int]] = []
        sim = JibeSimulator(seed=7)
        with capture():
            report = sim.run(records=5000, on_progress=lambda d, t: calls.append((d, t)))
        assert 10 <= len(calls) <= 20
        assert [done for done, _ in calls] == sorted(done for done, _ in calls)
        assert {target for _, target in calls} == {5000}
        assert calls[-1][0] == report.records

    def test_progress_counts_ticks_without_a_record_target(self) -> None:
        """With only a tick bound, progress counts ticks."""
        calls: list[tuple[int, int]] = []
        with capture():
            JibeSimulator(seed=7).run(ticks=100, on_progress=lambda d, t: calls.append((d, t)))
        assert len(calls) == 20
        assert calls[-1] == (100, 100)

    def test_needs_a_bound(self) -> None:
        """run() without records or ticks, or with a negative one, is refused."""
        sim = JibeSimulator(seed=7)
        with pytest.raises(ValueError, match="records=N"):
            sim.run()
        with pytest.raises(ValueError, match=">= 0"):
            sim.run(records=-1)

    def test_record_target_with_logging_off_raises(self) -> None:
        """If no record can reach logging, run(records=N) stops with an explanation."""
        sim = JibeSimulator(seed=7, logger_prefix="simtest")
        with (
            capture(prefix="simtest", level=logging.CRITICAL),
            pytest.raises(RuntimeError, match="no record reached logging"),
        ):
            sim.run(records=10)


class TestMain:
    def test_logs_records_and_prints_a_summary(self, capsys: pytest.CaptureFixture[str]) -> None:
        """main() logs in the doc's format to stderr and prints counts to stdout."""
        logging.getLogger().handlers = []  # basicConfig does nothing while pytest's are attached
        assert main(["--records", "300", "--seed", "3"]) == 0
        out, err = capsys.readouterr()
        assert "records in" in out
        assert "jibe.provider.sync" in out
        first = err.splitlines()[0]
        stamp = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}"
        assert re.fullmatch(rf"{stamp} - jibe\.[\w.]+ - (INFO|WARNING|ERROR) - .+", first)
        assert len(err.splitlines()) >= 300

    def test_rejects_a_negative_record_count(self, capsys: pytest.CaptureFixture[str]) -> None:
        """A negative --records is a usage error that says why."""
        with pytest.raises(SystemExit) as exit_info:
            main(["--records", "-5"])
        assert exit_info.value.code == 2
        assert "must be >= 0" in capsys.readouterr().err
