"""Message templates, entities, grouping rules and the Grouper (jibe_alerts.grouping)."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from jibe_alerts import _masking
from jibe_alerts.grouping import (
    MAX_MESSAGE_CHARS,
    MAX_TEMPLATE_CHARS,
    Grouper,
    Grouping,
    GroupingRule,
    MaskedValue,
    entities_of,
    grouping_key,
    message_template,
    parameterize,
)

JIBE_TEMPLATES = [
    (
        "Provider ReSync Found (Started Completed '2020-07-01 18:22:39 UTC') - Sales GovCloud",
        "Provider ReSync Found (Started Completed <str>) - Sales GovCloud",
    ),
    (
        "Provider ReSync Found (Started Completed '2020-06-23 16:00:31 UTC') - Eng Cloud",
        "Provider ReSync Found (Started Completed <str>) - Eng Cloud",
    ),
    ("Start Folder Monitor 'Shared Media' - [AWSLogs]", "Start Folder Monitor <str> - [AWSLogs]"),
    (
        "Providers Sync Delayed: ['Eng Cloud - 4 days, ReSync Running']",
        "Providers Sync Delayed: <list>",
    ),
    (
        "Providers Sync Delayed: ['Sales GovCloud - 4 hours, Real-Time Refresh On']",
        "Providers Sync Delayed: <list>",
    ),
    ("Providers No Longer Sync Delayed: ['Eng Cloud']", "Providers No Longer Sync Delayed: <list>"),
    (
        "Providers Still Sync Delayed: ['Sales GovCloud - 1 days, Real-Time Refresh On']",
        "Providers Still Sync Delayed: <list>",
    ),
    (
        "Bucket removed S3 Cloud/sc-bucketing (Folder Id: 323257338, Jibe Sync: False)",
        "Bucket removed S3 <path> (Folder Id: <num>, Jibe Sync: False)",
    ),
    ("Found New Provider - 'Shared Media'", "Found New Provider - <str>"),
    ("New bucket - Shared Media/sharedmedia123_logs", "New bucket - Shared <path>"),
    ("New bucket - Shared Media/media_assets_123", "New bucket - Shared <path>"),
    ("Stop Folder Monitor 'Eng Cloud' - [AWSLogs]", "Stop Folder Monitor <str> - [AWSLogs]"),
    (
        "syncOnProviderEvent: PutObject:not_found - my-big-bucket/2020-07-28-19-53-04.zip. "
        "2 attempts left.",
        "syncOnProviderEvent: PutObject:not_found - <path>. <num> attempts left.",
    ),
]

OTHER_SYSTEM_TEMPLATES = [
    # nginx access and error logs
    (
        '192.168.1.10 - - [10/Oct/2023:13:55:36 +0000] "GET /api/v1/users/123 HTTP/1.1" 200 612 '
        '"-" "Mozilla/5.0 (X11; Linux x86_64)"',
        "<ip> - - [<datetime>] <str> <num> <num> <str> <str>",
    ),
    (
        "2023/10/10 13:55:36 [error] 1234#1234: *5678 connect() failed (111: Connection refused) "
        'while connecting to upstream, client: 10.0.0.1, server: example.com, request: "GET / '
        'HTTP/1.1", upstream: "http://127.0.0.1:8080/", host: "example.com"',
        "<datetime> [error] <num>#<num>: *<num> connect() failed (<num>: Connection refused) "
        "while connecting to upstream, client: <ip>, server: example.com, request: <str>, "
        "upstream: <str>, host: <str>",
    ),
    (
        "2023/10/10 13:55:36 [warn] 77#77: *1 an upstream response is buffered to a temporary "
        "file /var/cache/nginx/proxy_temp/1/00/0000000001 while reading upstream",
        "<datetime> [warn] <num>#<num>: *<num> an upstream response is buffered to a temporary "
        "file <path> while reading upstream",
    ),
    # PostgreSQL
    (
        "2020-07-28 19:53:04.123 UTC [4567] ERROR:  duplicate key value violates unique "
        'constraint "users_pkey"',
        "<datetime> [<num>] ERROR: duplicate key value violates unique constraint <str>",
    ),
    (
        "2020-07-28 19:53:04.123 UTC [4567] DETAIL:  Key (id)=(42) already exists.",
        "<datetime> [<num>] DETAIL: Key (id)=(<num>) already exists.",
    ),
    (
        "LOG:  checkpoint complete: wrote 1204 buffers (7.3%); 0 WAL file(s) added, 1 removed",
        "LOG: checkpoint complete: wrote <num> buffers (<num>); <num> WAL file(s) added, "
        "<num> removed",
    ),
    (
        "LOG:  duration: 1532.221 ms  statement: SELECT * FROM orders WHERE id = 991",
        "LOG: duration: <duration> statement: SELECT * FROM orders WHERE id = <num>",
    ),
    (
        'FATAL:  password authentication failed for user "app"',
        "FATAL: password authentication failed for user <str>",
    ),
    # Redis
    (
        "1:M 28 Jul 2020 19:53:04.123 * Background saving started by pid 7788",
        "<num>:M <datetime> * Background saving started by pid <num>",
    ),
    (
        "Error 111 connecting to redis-master.cache.svc.cluster.local:6379. Connection refused.",
        "Error <num> connecting to <host>. Connection refused.",
    ),
    (
        "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist "
        "to disk.",
        "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist "
        "to disk.",
    ),
    # Kubernetes events
    (
        'Back-off restarting failed container api in pod "api-7d9f8b6c5-xk2pq"',
        "Back-off restarting failed container api in pod <str>",
    ),
    (
        "Successfully assigned default/nginx-7c5b4d6f9-xz2kq to node-1",
        "Successfully assigned <path> to node-<num>",
    ),
    (
        "Readiness probe failed: Get http://10.244.1.17:8080/healthz: dial tcp 10.244.1.17:8080: "
        "connect: connection refused",
        "Readiness probe failed: Get <url>: dial tcp <ip>: connect: connection refused",
    ),
    (
        "0/3 nodes are available: 3 Insufficient cpu.",
        "<num>/<num> nodes are available: <num> Insufficient cpu.",
    ),
    # Java
    (
        'Exception in thread "main" java.lang.NullPointerException: Cannot invoke '
        '"String.length()" because "s" is null',
        "Exception in thread <str> java.lang.NullPointerException: Cannot invoke <str> because "
        "<str> is null",
    ),
    ("\tat com.example.Foo.bar(Foo.java:42)", "at com.example.Foo.bar(Foo.java:<num>)"),
    (
        "Caused by: java.net.SocketTimeoutException: Read timed out after 30000ms",
        "Caused by: java.net.SocketTimeoutException: Read timed out after <duration>",
    ),
    # Go
    (
        "panic: runtime error: index out of range [5] with length 3",
        "panic: runtime error: index out of range [<num>] with length <num>",
    ),
    ("goroutine 17 [running]:", "goroutine <num> [running]:"),
    ("/usr/local/go/src/runtime/panic.go:212 +0x55", "<path> +<hex>"),
    # syslog and systemd
    (
        "Jul 29 00:00:11 web-1 sshd[1234]: Failed password for invalid user admin from "
        "203.0.113.5 port 52211 ssh2",
        "<datetime> web-<num> sshd[<num>]: Failed password for invalid user admin from <ip> "
        "port <num> ssh2",
    ),
    ("Started Session 42 of user deploy.", "Started Session <num> of user deploy."),
    (
        "nginx.service: Main process exited, code=exited, status=1/FAILURE",
        "nginx.service: Main process exited, code=exited, status=<num>/FAILURE",
    ),
    # HTTP clients
    (
        "Request to https://api.example.com/v2/items?id=5&x=y failed with 503 after 250ms",
        "Request to <url> failed with <num> after <duration>",
    ),
    (
        "HTTPSConnectionPool(host='hooks.slack.com', port=443): Max retries exceeded with url: "
        "/services/T000/B000",
        "HTTPSConnectionPool(host=<str>, port=<num>): Max retries exceeded with url: <path>",
    ),
    # AWS
    (
        "An error occurred (AccessDenied) when calling the PutObject operation: Access Denied",
        "An error occurred (AccessDenied) when calling the PutObject operation: Access Denied",
    ),
    (
        "User arn:aws:iam::123456789012:user/deploy is not authorized to perform: s3:GetObject",
        "User <arn> is not authorized to perform: s3:GetObject",
    ),
    (
        "An error occurred (ThrottlingException) when calling the PutMetricData operation "
        "(reached max retries: 4): Rate exceeded",
        "An error occurred (ThrottlingException) when calling the PutMetricData operation "
        "(reached max retries: <num>): Rate exceeded",
    ),
    # JSON-ish text: keys stay, values go
    (
        '{"level":"error","ts":1595965984.123,"msg":"request failed","user":"bob@example.com",'
        '"latency_ms":12}',
        '{"level":<str>,"ts":<num>,"msg":<str>,"user":<str>,"latency_ms":<num>}',
    ),
    (
        'Response body: {"error": "not_found", "code": 404, "ids": [1, 2, 3]}',
        'Response body: {"error": <str>, "code": <num>, "ids": <list>}',
    ),
    ("{'user': 'ana', 'id': 7}", "{'user': <str>, 'id': <num>}"),
    # Application lines with every kind of value
    ("Task DoTask-02 took 1h30m to run", "Task DoTask-<num> took <duration> to run"),
    (
        "Request 123e4567-e89b-12d3-a456-426614174000 took 250ms",
        "Request <uuid> took <duration>",
    ),
    (
        "Deployed commit a94a8fe5ccb19ba61c4c0873d391e987982fbbd3 to production",
        "Deployed commit <hex> to production",
    ),
    ("Worker 7 heartbeat missed for 45 seconds", "Worker <num> heartbeat missed for <duration>"),
    ("Disk usage at 91% on /dev/sda1", "Disk usage at <num> on <path>"),
    (
        "Uploaded 12MB to s3://backups/db/2020-07-28.sql.gz in 3.5s",
        "Uploaded <num> to <url> in <duration>",
    ),
    (
        "Connection pool exhausted (size=20), waiting",
        "Connection pool exhausted (size=<num>), waiting",
    ),
    ("Cache miss for key user:42:profile", "Cache miss for key user:<num>:profile"),
    (
        "Retrying in 0.5 seconds (attempt 3 of 5)",
        "Retrying in <duration> (attempt <num> of <num>)",
    ),
    (
        "Peer fe80::1%eth0 unreachable, falling back to 2001:db8::1 and [2001:db8::2]:8443",
        "Peer <ip> unreachable, falling back to <ip> and <ip>",
    ),
    ("Listening on 0.0.0.0:9090", "Listening on <ip>"),
    (
        "Sent email to alice@example.com with subject 'Your invoice #1234'",
        "Sent email to <email> with subject <str>",
    ),
    (
        "Could not open file C:\\Users\\bob\\AppData\\report.xlsx",
        "Could not open file <path>",
    ),
    ("Job finished at Tue, 28 Jul 2020 19:53:04 +0000", "Job finished at <datetime>"),
    ("Job started at 2020-07-28T19:53:04.123456+02:00", "Job started at <datetime>"),
    (
        "Certificate expires on Jul 28, 2020 (in 30 days)",
        "Certificate expires on <date> (in <duration>)",
    ),
    ("Backup of 2020-07-28 done at 03:00:01", "Backup of <date> done at <time>"),
    ("Cron ran at 3:00:01 and 23:59:59.5", "Cron ran at <time> and <time>"),
    ("Temperature -5.5 below threshold +3", "Temperature <num> below threshold <num>"),
    ("Pointer 0xc000123456 freed twice", "Pointer <hex> freed twice"),
    # Python exceptions
    (
        "ValueError: invalid literal for int() with base 10: 'abc'",
        "ValueError: invalid literal for int() with base <num>: <str>",
    ),
    ("KeyError: 'user_id'", "KeyError: <str>"),
    ('File "/app/worker.py", line 42, in run', "File <str>, line <num>, in run"),
    ("Processed batch ['a.csv', 'b.csv'] in 1.2s", "Processed batch <list> in <duration>"),
    ("Retry queue: (17, 18, 19)", "Retry queue: <list>"),
]

SAME_GROUP = [
    (
        "Providers Sync Delayed: ['Eng Cloud - 4 days, ReSync Running']",
        "Providers Sync Delayed: ['Sales GovCloud - 4 hours, Real-Time Refresh On']",
    ),
    (
        "Providers Still Sync Delayed: ['Sales GovCloud - 1 days, Real-Time Refresh On']",
        "Providers Still Sync Delayed: ['Eng Cloud - 4 days, ReSync Running', "
        "'Sales GovCloud - 2 hours, Real-Time Refresh On']",
    ),
    ("Found New Provider - 'Shared Media'", "Found New Provider - 'Eng Cloud'"),
    (
        "Start Folder Monitor 'Shared Media' - [AWSLogs]",
        "Start Folder Monitor 'Eng Cloud' - [AWSLogs]",
    ),
    ("New bucket - Shared Media/sharedmedia123_logs", "New bucket - Shared Media/media_assets_123"),
    (
        "Provider ReSync Found (Started Completed '2020-07-01 18:22:39 UTC') - Eng Cloud",
        "Provider ReSync Found (Started Completed '2020-06-23 16:00:31 UTC') - Eng Cloud",
    ),
    (
        "syncOnProviderEvent: PutObject:not_found - my-big-bucket/2020-07-28-19-53-04.zip. "
        "2 attempts left.",
        "syncOnProviderEvent: PutObject:not_found - other-bucket/logs/2021-01-02.gz. "
        "1 attempts left.",
    ),
    (
        '10.0.0.1 - - [10/Oct/2023:13:55:36 +0000] "GET / HTTP/1.1" 200 12 "-" "curl/8.0"',
        '172.16.0.9 - - [01/Jan/2024:00:00:01 -0700] "POST /login HTTP/2.0" 401 0 "-" "-"',
    ),
    (
        "Jul 29 00:00:11 web-1 sshd[1234]: Failed password for root from 203.0.113.5 port 52211",
        "Aug  1 23:59:59 web-2 sshd[99]: Failed password for root from 198.51.100.7 port 40000",
    ),
    ("\tat com.example.Foo.bar(Foo.java:42)", "at com.example.Foo.bar(Foo.java:118)"),
    (
        "Request 123e4567-e89b-12d3-a456-426614174000 took 250ms",
        "Request 00000000-0000-4000-8000-000000000000 took 1.5s",
    ),
    ("Uploaded 12MB to s3://a/b.gz in 3.5s", "Uploaded 1.5GiB to s3://c/d/e.gz in 1h2m"),
    ("Worker 7 heartbeat missed for 45 seconds", "Worker 12 heartbeat missed for 2 minutes"),
    ("Disk usage at 91% on /dev/sda1", "Disk usage at 99.5% on /var/lib/docker"),
    ("Task DoTask-02 failed", "Task DoTask-17 failed"),
    ("Connecting to db-1.internal:5432", "Connecting to db-2.internal:6432"),
    ("Email to a@example.com bounced", "Email to bob.smith+x@mail.example.org bounced"),
]

DIFFERENT_GROUPS = [
    ("Providers Sync Delayed: ['Eng Cloud']", "Providers Still Sync Delayed: ['Eng Cloud']"),
    (
        "Providers Still Sync Delayed: ['Eng Cloud']",
        "Providers No Longer Sync Delayed: ['Eng Cloud']",
    ),
    ("Start Folder Monitor 'Eng Cloud' - [AWSLogs]", "Stop Folder Monitor 'Eng Cloud' - [AWSLogs]"),
    (
        "Start Folder Monitor 'Eng Cloud' - [AWSLogs]",
        "Start Folder Monitor 'Eng Cloud' - [CloudTrail]",
    ),
    (
        "New bucket - Shared Media/x_1",
        "Bucket removed S3 Shared/x_1 (Folder Id: 1, Jibe Sync: False)",
    ),
    (
        "connect() failed (111: Connection refused)",
        "connect() failed (104: Connection reset by peer)",
    ),
    ('ERROR:  duplicate key value violates "a"', 'DETAIL:  duplicate key value violates "a"'),
    ("S3 upload failed", "S4 upload failed"),
    ("UTF8 decode error at 5", "UTF16 decode error at 5"),
    ("Disk usage at 91% on /dev/sda1", "Memory usage at 91% on /dev/sda1"),
    ("Sync took 5 seconds", "Sync took 5 attempts"),
]

# Text that could trip a scanner: lone surrogates, NULs, controls, emoji, odd Unicode.
NASTY = [
    "",
    " ",
    "\x00",
    "\ud800",
    "\udfff lone surrogate 12",
    "abc\x00def 12\x01\x02\x1b[31m red \x1b[0m",
    "emoji 🔥 x3 🔥 at 12:30:45",
    "tab\tand\nnewline\r\n and \u2028 separators 5",
    "'" * 7,
    "\\",
    "\\'",
    "[[[",
    ")))",
    "<num>",
    "<>",
    "Größe 5 × 3 — ½ ٣٤ 12",
    "\U0010ffff\U0001f600",
]

LOG_TOKENS = [
    *"ab1 0.:/-'\"[](),@x_{}\\eF9+~%=<>?&#*JZ\té",
    "Jul",
    "Tue",
    "2020",
    "12:30:45",
    "0x1f",
    "http://",
    "deadbeef12",
    "::",
    "ms",
    " days",
    "UTC",
    " +0000",
    "a@b.co",
    "arn:aws:s3:::",
    "localhost:80",
    "fe80::1",
    "10.0.0.1",
    "2020-07-01",
    "123e4567-e89b-12d3-a456-426614174000",
    "C:\\x",
    "../",
    "1h30m",
    "'Eng Cloud - 4 days, x'",
    "['a', 'b']",
    "(1, 2)",
    "-02",
]
log_like = st.lists(st.sampled_from(LOG_TOKENS), max_size=40).map("".join)
any_text = st.text(st.characters(exclude_categories=()))

ADVERSARIAL = [
    "'" * 50_000,
    '"' * 50_000,
    "[" * 50_000,
    "(" * 50_000,
    "a/" * 50_000,
    "/a" * 50_000,
    "1." * 50_000,
    "1:" * 50_000,
    "a@" * 50_000,
    "\\" * 50_000,
    "0x" * 50_000,
    "1-" * 50_000,
    "a" * 100_000,
    "1" * 100_000,
    " 'a" * 30_000,
    "[a, " * 25_000,
    "(a, " * 25_000,
    "a." * 50_000,
    "::" * 50_000,
    "Jul 29 " * 15_000,
]


def _elapsed(fn: Callable[[str], object], text: str) -> float:
    """Return the seconds *fn* takes on *text* (best of three, so a stray pause does not count)."""
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        fn(text)
        best = min(best, time.perf_counter() - start)
    return best


class TestMessageTemplate:
    """message_template: the masked shape of one message."""

    @pytest.mark.parametrize(("line", "template"), JIBE_TEMPLATES)
    def test_jibe_lines(self, line: str, template: str) -> None:
        """Every line from the Jibe design doc gets the expected template."""
        assert message_template(line) == template

    @pytest.mark.parametrize(("line", "template"), OTHER_SYSTEM_TEMPLATES)
    def test_other_systems(self, line: str, template: str) -> None:
        """Lines from nginx, postgres, redis, k8s, Java, Go, syslog, AWS, JSON get the template."""
        assert message_template(line) == template

    @pytest.mark.parametrize(("first", "second"), SAME_GROUP)
    def test_same_shape_shares_a_template(self, first: str, second: str) -> None:
        """Messages that differ only in their values share a template."""
        assert message_template(first) == message_template(second)

    @pytest.mark.parametrize(("first", "second"), DIFFERENT_GROUPS)
    def test_different_wording_keeps_templates_apart(self, first: str, second: str) -> None:
        """Messages with different wording get different templates."""
        assert message_template(first) != message_template(second)

    @pytest.mark.parametrize(
        ("line", "template"),
        [
            ("S3 UTF8 ipv6 x86_64 sharedmedia123_logs v2 sha256", None),
            ("DoTask-02 node-1 UTF-8", "DoTask-<num> node-<num> UTF-<num>"),
            ("12abc 3rd 404NotFound file.2", None),
            ("deadbeef cafe12 DEADBEEF01 0xFF", "deadbeef cafe12 <hex> <hex>"),
        ],
    )
    def test_digits_inside_words(self, line: str, template: str | None) -> None:
        """Digits glued to letters stay; a trailing -NN suffix and hex with digits are masked."""
        assert message_template(line) == (line if template is None else template)

    def test_whitespace_is_collapsed(self) -> None:
        """Runs of spaces, tabs and newlines become one space, and the ends are trimmed."""
        assert message_template("  a\t\tb \n\n c  ") == "a b c"

    def test_only_the_first_characters_count(self) -> None:
        """Two messages that agree on their first MAX_MESSAGE_CHARS characters agree."""
        head = "Sync failed: " + "x" * MAX_MESSAGE_CHARS
        assert message_template(head + " 1") == message_template(head + " tail differs")

    def test_a_long_template_is_capped_and_stable(self) -> None:
        """A template that grows past the limit is cut at a placeholder and is its own template."""
        template = message_template("1 " * 600)
        assert len(template) <= MAX_TEMPLATE_CHARS
        assert template.endswith("<num>")
        assert message_template(template) == template

    @pytest.mark.parametrize("text", NASTY)
    def test_nasty_text_never_raises(self, text: str) -> None:
        """Surrogates, NULs, control characters and emoji give a str and no exception."""
        assert isinstance(message_template(text), str)

    def test_nothing_to_mask(self) -> None:
        """A line without digits, quotes, brackets, slashes or @ comes back as it was."""
        line = "upstream prematurely closed connection while reading response header"
        assert message_template(line) == line
        assert parameterize(line).values == ()

    def test_placeholders_in_the_input_are_kept(self) -> None:
        """Text that already holds placeholders is left alone."""
        assert message_template("took <num> ms for <str>") == "took <num> ms for <str>"


class TestMessageTemplateProperties:
    """message_template: properties over generated text."""

    @settings(max_examples=300, deadline=None)
    @given(any_text)
    def test_never_raises_on_any_text(self, text: str) -> None:
        """Any str, surrogates included, gives a template no longer than the limit."""
        template = message_template(text)
        assert len(template) <= MAX_TEMPLATE_CHARS

    @settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.one_of(log_like, any_text))
    @example("''2020")  # each of these once broke the property
    @example("' '' '")
    @example("' 'a''")
    @example("[''1]")
    @example("'http://\\'")
    @example('(""a,)')
    @example("arn:aws:s3:::'Eng Cloud - 4 days, x'")
    @example("'arn:aws:s3:::\\'")
    @example("1.0x1f")
    @example("[a, [b, [c]]]")
    def test_a_template_is_its_own_template(self, text: str) -> None:
        """Masking a template again changes nothing."""
        template = message_template(text)
        assert message_template(template) == template

    @settings(max_examples=300, deadline=None)
    @given(st.one_of(log_like, any_text))
    def test_parameterize_agrees_with_message_template(self, text: str) -> None:
        """parameterize(t).template is message_template(t)."""
        assert parameterize(text).template == message_template(text)

    @settings(max_examples=300, deadline=None)
    @given(log_like.filter(lambda t: "<" not in t))
    def test_values_put_back_give_the_message(self, text: str) -> None:
        """Putting the masked values back into their placeholders rebuilds the message."""
        p = parameterize(text)
        pieces = re.split(r"<[a-z]+>", p.template)
        assert len(pieces) == len(p.values) + 1
        rebuilt = pieces[0] + "".join(
            v.text + rest for v, rest in zip(p.values, pieces[1:], strict=True)
        )
        assert rebuilt == " ".join(text.split())
        assert [f"<{v.kind}>" for v in p.values] == re.findall(r"<[a-z]+>", p.template)

    @settings(max_examples=300, deadline=None)
    @given(st.text(st.characters(exclude_categories=(), exclude_characters="0123456789'\"[(/\\@")))
    def test_the_quick_check_skips_only_lines_without_values(self, text: str) -> None:
        """The full regex finds nothing in text the pre-check skips (it is only a shortcut)."""
        masker = _masking._masker_for(tuple(True for _ in _masking._TRIGGERS))
        collapsed = " " + " ".join(text.split())
        assert masker.pattern.search(collapsed) is None

    @settings(max_examples=300, deadline=None)
    @given(st.one_of(log_like, any_text))
    @example("localhost:80")  # once left out for lacking a "."
    def test_leaving_out_alternatives_is_only_a_shortcut(self, text: str) -> None:
        """The regex picked for a line's trigger substrings masks exactly like the full one."""
        masker = _masking._masker_for(tuple(True for _ in _masking._TRIGGERS))
        collapsed = " ".join(text[:MAX_MESSAGE_CHARS].split())
        full = masker.pattern.sub(masker.replace, " " + collapsed)[1:]
        assert _masking.template_uncached(text) == _masking._cap(full)

    def test_keys_are_the_same_in_another_process(self) -> None:
        """Another interpreter, with another hash seed, computes the same templates and keys."""
        texts = [line for line, _ in JIBE_TEMPLATES + OTHER_SYSTEM_TEMPLATES] + NASTY[:4]
        here = [
            [message_template(t), grouping_key("jibe.provider", message_template(t))] for t in texts
        ]
        script = (
            "import json, sys\n"
            "from jibe_alerts.grouping import grouping_key, message_template\n"
            "texts = json.loads(sys.stdin.read())\n"
            "print(json.dumps([[message_template(t), "
            "grouping_key('jibe.provider', message_template(t))] for t in texts]))\n"
        )
        env = {**os.environ, "PYTHONHASHSEED": "4242"}
        done = subprocess.run(
            [sys.executable, "-c", script],
            input=json.dumps(texts),
            capture_output=True,
            text=True,
            env=env,
            check=True,
            timeout=60,
        )
        assert json.loads(done.stdout) == here

    @pytest.mark.parametrize("text", ADVERSARIAL, ids=lambda t: repr(t[:6]))
    def test_adversarial_input_is_fast(self, text: str) -> None:
        """100 kB of repeated quotes, brackets, slashes or digits takes well under 50 ms."""
        assert _elapsed(_masking.template_uncached, text) < 0.05
        assert _elapsed(_masking.parameterize_uncached, text) < 0.05

    def test_a_typical_long_message_is_fast(self) -> None:
        """A 100 kB message of ordinary log text is masked in well under 50 ms."""
        text = "Sync of 'Eng Cloud' took 4 days at 2020-07-01 18:22:39 UTC from 10.0.0.1; " * 1400
        assert len(text) > 100_000
        assert _elapsed(_masking.template_uncached, text) < 0.05


class TestParameterize:
    """parameterize: the template together with the masked values."""

    def test_values_in_order(self) -> None:
        """Each masked value is reported with its kind and its exact text, in order."""
        p = parameterize(
            "Bucket removed S3 Cloud/sc-bucketing (Folder Id: 323257338, Jibe Sync: False)"
        )
        assert p.template == "Bucket removed S3 <path> (Folder Id: <num>, Jibe Sync: False)"
        assert p.values == (
            MaskedValue("path", "Cloud/sc-bucketing"),
            MaskedValue("num", "323257338"),
        )

    def test_quoted_and_listed_values_keep_their_delimiters(self) -> None:
        """A <str> value keeps its quotes and a <list> value its brackets."""
        p = parameterize("Found 'Eng Cloud' in ['a', 'b'] after 4 hours")
        assert p.values == (
            MaskedValue("str", "'Eng Cloud'"),
            MaskedValue("list", "['a', 'b']"),
            MaskedValue("duration", "4 hours"),
        )

    def test_dict_keys_are_not_values(self) -> None:
        """Keys of JSON objects and dicts are structure and are not reported as values."""
        p = parameterize('{"user": "ana", "id": 7}')
        assert [v.text for v in p.values] == ['"ana"', "7"]

    def test_values_cut_with_the_template(self) -> None:
        """When the template is capped, only values whose placeholder survived are kept."""
        p = parameterize("1 " * 600)
        assert len(p.values) == p.template.count("<num>")


class TestEntitiesOf:
    """entities_of: the values that name things."""

    def test_python_list_items(self) -> None:
        """The items of a Python list repr are entities, commas inside items included."""
        p = parameterize(
            "Providers Still Sync Delayed: ['Sales GovCloud - 1 days, Real-Time Refresh On', "
            "'Eng Cloud - 4 days, ReSync Running']"
        )
        assert entities_of(p) == [
            "Sales GovCloud - 1 days, Real-Time Refresh On",
            "Eng Cloud - 4 days, ReSync Running",
        ]

    def test_json_and_unquoted_lists(self) -> None:
        """JSON arrays and bare comma lists are split into items; numbers and null are dropped."""
        p = parameterize('Targets: ["web-1", "web-2", null, 3] and [AWSLogs, CloudTrail]')
        assert entities_of(p) == ["web-1", "web-2", "AWSLogs", "CloudTrail"]

    def test_unparsable_list_falls_back_to_splitting(self) -> None:
        """A list that is no Python literal is still split on its commas and quotes."""
        p = parameterize(r"Folders: ['C:\logs', 'D:\data', other]")
        assert entities_of(p) == ["C:\\logs", "D:\\data", "other"]

    def test_things_but_not_measurements(self) -> None:
        """Quoted names, paths, URLs, emails, IPs and hosts count; numbers, dates, hex do not."""
        p = parameterize(
            "User 'ana' (ana@example.com) from 10.0.0.1 uploaded /tmp/x.csv to https://h.io/u "
            "via db-1.internal:5432 at 2020-07-01 18:22:39 UTC, 12MB in 3.5s, sha 0xdeadbeef"
        )
        assert entities_of(p) == [
            "ana",
            "ana@example.com",
            "10.0.0.1",
            "/tmp/x.csv",
            "https://h.io/u",
            "db-1.internal:5432",
        ]

    def test_quoted_measurements_are_not_entities(self) -> None:
        """A quoted date or number is not a name."""
        p = parameterize("Provider ReSync Found (Started Completed '2020-07-01 18:22:39 UTC')")
        assert entities_of(p) == []

    def test_duplicates_are_dropped(self) -> None:
        """An entity named twice is listed once, where it first appears."""
        p = parameterize("'Eng Cloud' and ['Eng Cloud', 'Sales'] and 'Sales'")
        assert entities_of(p) == ["Eng Cloud", "Sales"]

    def test_windows_paths_keep_their_backslashes(self) -> None:
        """Only escaped quotes and backslashes are unescaped, so C:\\Users stays as written."""
        p = parameterize(r"Could not open 'C:\Users\bob' or ['D:\data', 'it\'s']")
        assert entities_of(p) == ["C:\\Users\\bob", "D:\\data", "it's"]

    def test_escaped_quotes_are_unescaped(self) -> None:
        """Backslash-escaped characters inside a quoted value come out unescaped."""
        p = parameterize(r'Name "say \"hi\"" rejected')
        assert entities_of(p) == ['say "hi"']


class TestGroupingRule:
    """GroupingRule: user overrides built from JSON."""

    def test_from_config_builds_a_rule(self) -> None:
        """All four fields are read, regexes compiled, loggers kept in order."""
        rule = GroupingRule.from_config(
            {"match": "^Sync", "key": "Sync", "entity": "(?P<entity>x)", "loggers": ["a", "b"]}
        )
        assert rule.match.pattern == "^Sync"
        assert rule.key == "Sync"
        assert rule.entity is not None
        assert rule.entity.pattern == "(?P<entity>x)"
        assert rule.loggers == ("a", "b")

    def test_from_config_minimal(self) -> None:
        """Only match is required; the rest defaults to computed template and entities."""
        rule = GroupingRule.from_config({"match": "x"})
        assert (rule.key, rule.entity, rule.loggers) == (None, None, ())

    @pytest.mark.parametrize(
        ("config", "message"),
        [
            ({"match": "(unclosed"}, r"^match: invalid regular expression '\(unclosed'"),
            ({"match": "x", "entity": "[bad"}, r"^entity: invalid regular expression '\[bad'"),
            ({"match": "x", "entity": "(?P<name>x)"}, r"^entity: .*\(\?P<entity>\.\.\.\)"),
            ({"match": "x", "colour": "red"}, r"unknown field\(s\) colour; expected match, key"),
            ({"key": "x"}, r"^match: required"),
            ({"match": 5}, r"^match: expected a regular expression string, got 5"),
            ({"match": "x", "key": 3}, r"^key: expected a non-empty string, got 3"),
            ({"match": "x", "key": ""}, r"^key: expected a non-empty string"),
            ({"match": "x", "loggers": "jibe"}, r"^loggers: .* write \['jibe'\]"),
            ({"match": "x", "loggers": ["ok", 3]}, r"^loggers: expected a list of non-empty"),
        ],
    )
    def test_from_config_errors_name_the_field(
        self, config: dict[str, object], message: str
    ) -> None:
        """A bad rule raises ValueError whose message names the offending field."""
        with pytest.raises(ValueError, match=message):
            GroupingRule.from_config(config)

    def test_from_config_rejects_a_non_object(self) -> None:
        """A rule that is not a JSON object is rejected with its type in the message."""
        with pytest.raises(ValueError, match="expected an object, got list"):
            GroupingRule.from_config(["match", "x"])  # type: ignore[arg-type]

    def test_constructor_checks_the_entity_group(self) -> None:
        """Building a rule directly also requires the entity group."""
        with pytest.raises(ValueError, match="entity"):
            GroupingRule(re.compile("x"), entity=re.compile("(x)"))

    @pytest.mark.parametrize(
        ("logger", "applies"),
        [
            ("jibe.provider", True),
            ("jibe.provider.sync", True),
            ("jibe.providers", False),
            ("jibe", False),
            ("other", False),
        ],
    )
    def test_logger_scoping(self, logger: str, applies: bool) -> None:
        """A rule covers its loggers and their children, not siblings sharing a prefix."""
        rule = GroupingRule.from_config({"match": "x", "loggers": ["jibe.provider"]})
        assert rule.applies_to(logger) is applies

    def test_no_loggers_means_every_logger(self) -> None:
        """A rule without loggers covers every logger, the root included."""
        rule = GroupingRule.from_config({"match": "x"})
        assert rule.applies_to("root") and rule.applies_to("any.thing")


DELAY_RULE = {
    "match": "^Providers (Still )?Sync Delayed",
    "key": "Providers Sync Delayed",
    "entity": "'(?P<entity>[^'\\]]+?) - ",
}


class TestGrouper:
    """Grouper.group: key, template and entities of a record."""

    def test_masked_message(self) -> None:
        """Without rules or args the template is the masked message and the key its digest."""
        grouping = Grouper().group(
            "jibe.provider",
            "Found New Provider - 'Shared Media'",
            (),
            "Found New Provider - 'Shared Media'",
        )
        assert grouping == Grouping(
            key=grouping_key("jibe.provider", "Found New Provider - <str>"),
            template="Found New Provider - <str>",
            entities=("Shared Media",),
        )

    def test_key_is_the_documented_digest(self) -> None:
        """The key is blake2b(logger NUL template), 10 bytes, hex; stable across releases."""
        expected = hashlib.blake2b(b"jibe\x00Found <str>", digest_size=10).hexdigest()
        assert grouping_key("jibe", "Found <str>") == expected
        assert grouping_key("jibe", "Found <str>") == "424516ff43a4e7383093"

    def test_key_survives_surrogates(self) -> None:
        """A lone surrogate in logger or template is escaped, not an error."""
        assert len(grouping_key("a\ud800", "b\udfff")) == 20

    def test_same_template_different_logger(self) -> None:
        """The same message under two loggers lands in two groups."""
        grouper = Grouper()
        first = grouper.group("a", "x 1", (), "x 1")
        second = grouper.group("b", "x 2", (), "x 2")
        assert first.template == second.template
        assert first.key != second.key

    def test_args_keep_the_format_string(self) -> None:
        """With args, msg is the template unmasked and the string args are the entities."""
        grouping = Grouper().group(
            "jibe.provider",
            "Provider %s synced %d files from %s",
            ("Eng Cloud", 12, "/mnt/x"),
            "Provider Eng Cloud synced 12 files from /mnt/x",
        )
        assert grouping.template == "Provider %s synced %d files from %s"
        assert grouping.entities == ("Eng Cloud", "/mnt/x")

    def test_mapping_args(self) -> None:
        """A mapping of args (logging's single-dict form) gives its string values as entities."""
        grouping = Grouper().group(
            "app", "%(user)s failed %(n)d", {"user": "ana", "n": 3}, "ana failed 3"
        )
        assert grouping.template == "%(user)s failed %(n)d"
        assert grouping.entities == ("ana",)

    def test_args_without_strings_use_the_message(self) -> None:
        """When no arg is a string, entities come from the formatted message."""
        grouping = Grouper().group("app", "Delayed: %s", (["Eng Cloud"],), "Delayed: ['Eng Cloud']")
        assert grouping.template == "Delayed: %s"
        assert grouping.entities == ("Eng Cloud",)

    def test_rule_with_key_and_entities(self) -> None:
        """A rule's key replaces the template and its entity regex collects every match."""
        grouper = Grouper([GroupingRule.from_config(DELAY_RULE)])
        message = (
            "Providers Still Sync Delayed: ['Sales GovCloud - 1 days, Real-Time Refresh On', "
            "'Eng Cloud - 4 days, ReSync Running']"
        )
        grouping = grouper.group("jibe.provider", message, (), message)
        assert grouping.template == "Providers Sync Delayed"
        assert grouping.entities == ("Sales GovCloud", "Eng Cloud")
        other = "Providers Sync Delayed: ['Eng Cloud - 4 days, ReSync Running']"
        assert grouper.group("jibe.provider", other, (), other).key == grouping.key

    def test_rule_without_key_or_entity_uses_the_computed_ones(self) -> None:
        """A rule that only matches keeps the masked template and the computed entities."""
        grouper = Grouper([GroupingRule.from_config({"match": "Found"})])
        grouping = grouper.group("app", "Found 'x'", (), "Found 'x'")
        assert (grouping.template, grouping.entities) == ("Found <str>", ("x",))

    def test_rule_wins_over_args(self) -> None:
        """A matching rule decides even for a record logged with args."""
        grouper = Grouper([GroupingRule.from_config({"match": "^Sync", "key": "Sync"})])
        grouping = grouper.group("app", "Sync %s", ("x",), "Sync x")
        assert grouping.template == "Sync"

    def test_rule_logger_scoping(self) -> None:
        """A rule scoped to jibe.provider covers its children only."""
        rule = GroupingRule.from_config({"match": "Sync", "key": "K", "loggers": ["jibe.provider"]})
        grouper = Grouper([rule])
        assert grouper.group("jibe.provider.sync", "Sync 1", (), "Sync 1").template == "K"
        assert grouper.group("jibe.web", "Sync 1", (), "Sync 1").template == "Sync <num>"

    def test_first_matching_rule_wins(self) -> None:
        """Rules are tried in order and the first that matches decides."""
        rules = [
            GroupingRule.from_config({"match": "Sync", "key": "first"}),
            GroupingRule.from_config({"match": "Sync", "key": "second"}),
        ]
        assert Grouper(rules).group("a", "Sync", (), "Sync").template == "first"

    def test_entities_are_capped(self) -> None:
        """At most max_entities_per_record entities are kept, each cut to a readable length."""
        items = ", ".join(f"'item {i} " + "x" * 300 + "'" for i in range(30))
        message = f"Delayed: [{items}]"
        grouping = Grouper(max_entities_per_record=3).group("a", message, (), message)
        assert len(grouping.entities) == 3
        assert all(len(e) == 200 and e.endswith("\u2026") for e in grouping.entities)

    def test_negative_cap_is_rejected(self) -> None:
        """A negative max_entities_per_record is a ValueError."""
        with pytest.raises(ValueError, match="max_entities_per_record"):
            Grouper(max_entities_per_record=-1)

    def test_repeated_messages_give_equal_results(self) -> None:
        """The cache returns the same grouping for the same message, and a fresh one agrees."""
        grouper = Grouper(cache_size=2)
        messages = [f"Sync {i} of 'P{i % 3}'" for i in range(10)] * 3
        results = [grouper.group("a", m, (), m) for m in messages]
        fresh = [Grouper().group("a", m, (), m) for m in messages]
        assert results == fresh


class TestMaskingInternals:
    """Hand-unrolled fast paths agree with the definitions they speed up."""

    @given(st.text(alphabet=st.sampled_from(list(" :/.@\\ab1\t\n\u00a0\x1c")), max_size=40))
    def test_fast_paths_agree(self, text: str) -> None:
        """Trigger detection and whitespace collapsing equal their plain forms."""
        from jibe_alerts import _masking  # noqa: PLC0415

        assert _masking._triggers_in(text) == tuple(t in text for t in _masking._TRIGGERS)
        assert _masking._collapse(text) == " ".join(text.split())
