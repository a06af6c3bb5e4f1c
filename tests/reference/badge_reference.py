#!/usr/bin/env python3
"""Independent reference implementation of Pronto's responsiveness metric.

Written only from the contract `shared/docs/responsiveness.md` (no Rust code
was read), standard library only, Python 3.11.  It exists to cross-check the
Rust badge engine on many random logs (see gen_logs.py and README.md).

    python3 badge_reference.py FILE [--at TIME] [--window-days N]
                               [--min-rate R] [--max-time-seconds S]

prints the JSON of `pronto badge FILE --json` WITHOUT the `forecast` key
(the forecast is not part of the exactness check) and exits 0.  A refused log
prints `line N: <reason>` on stderr (N = lowest-numbered bad line) and exits 2;
a bad argument, a missing/unreadable file, or an empty log without --at also
exit 2.

Comments cite the contract: "Lines", "Times", "Errors", "Order" are the
paragraphs of the "Input" section; R1..R9 are "The rules" 1..9; "Output" is
the section "Output of `pronto badge FILE --json`".

All instants are integer milliseconds since 1970-01-01T00:00:00Z ("Times":
all arithmetic is in integer milliseconds).
"""

from __future__ import annotations

import argparse
import bisect
import json
import re
import sys
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Optional

# --------------------------------------------------------------------------
# Constants of the contract
# --------------------------------------------------------------------------

MS_PER_SECOND = 1_000
MS_PER_MINUTE = 60 * MS_PER_SECOND
MS_PER_HOUR = 60 * MS_PER_MINUTE
MS_PER_DAY = 24 * MS_PER_HOUR

SILENCE_MS = 24 * MS_PER_HOUR       # R2: a start needs >= 24 h of silence
AWAY_RESET_MS = 12 * MS_PER_HOUR    # R4 away: a manual Away resets after 12 h
REPLY_WINDOW_MS = 24 * MS_PER_HOUR  # R5: the reply window (default 24 h)
LAST_N = 10                         # R6: fallback "last 10 settled starts"
DEFAULT_WINDOW_DAYS = 30            # R6: (L - 30 days, L]
DEFAULT_MIN_RATE = "0.9"            # R9: response rate >= 0.90
DEFAULT_MAX_TIME_SECONDS = "900"    # R9: response time <= 900 s

EXIT_OK = 0
EXIT_REFUSED = 2                    # Output: "2 refused (bad line, bad
                                    # argument, missing or unreadable file,
                                    # empty log without --at)"

# --------------------------------------------------------------------------
# Times ("Times")
# --------------------------------------------------------------------------

# `YYYY-MM-DDTHH:MM:SS`, optionally `.` and 1-3 fraction digits, then `Z` or
# `+HH:MM` / `-HH:MM`; upper-case T and Z.  [0-9] rather than \d because \d
# would also accept non-ASCII digits.  Matched with fullmatch (a `$` would let
# a trailing newline through).
TIME_RE = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})"
    r"T([0-9]{2}):([0-9]{2}):([0-9]{2})"
    r"(?:\.([0-9]{1,3}))?"
    r"(?:(Z)|([+-])([0-9]{2}):([0-9]{2}))"
)


def is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def days_in_month(year: int, month: int) -> int:
    if month == 2:
        return 29 if is_leap(year) else 28
    return 30 if month in (4, 6, 9, 11) else 31


def days_from_civil(y: int, m: int, d: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
    algorithm; Python's // is floor division so negative years work)."""
    y -= 1 if m <= 2 else 0
    era = y // 400
    yoe = y - era * 400
    mp = m - 3 if m > 2 else m + 9
    doy = (153 * mp + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def civil_from_days(z: int) -> tuple[int, int, int]:
    """Inverse of days_from_civil."""
    z += 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    return (y + (1 if m <= 2 else 0), m, d)


def parse_time(text: str) -> Optional[int]:
    """Instant in ms of a contract time string, or None for a bad time.

    Field ranges are checked: month 01-12, day valid for that month and year
    (leap years included, so Feb 29 only in leap years, never Feb 30), hour
    00-23, minute 00-59, second 00-59 (no leap second 60), offset hours 00-23
    and minutes 00-59 (so at most +/-23:59).  `-00:00` is accepted as UTC.
    The fraction is 1-3 digits: ".5" = 500 ms, ".05" = 50 ms, ".005" = 5 ms.
    """
    m = TIME_RE.fullmatch(text)
    if m is None:
        return None
    year, month, day = int(m[1]), int(m[2]), int(m[3])
    hour, minute, second = int(m[4]), int(m[5]), int(m[6])
    if not (1 <= month <= 12):
        return None
    if not (1 <= day <= days_in_month(year, month)):
        return None
    if hour > 23 or minute > 59 or second > 59:
        return None
    frac = m[7]
    millis = int(frac.ljust(3, "0")) if frac is not None else 0
    if m[8] == "Z":
        offset_ms = 0
    else:
        oh, om = int(m[10]), int(m[11])
        if oh > 23 or om > 59:
            return None
        offset_ms = (oh * 60 + om) * MS_PER_MINUTE
        if m[9] == "-":
            offset_ms = -offset_ms
    local_ms = (days_from_civil(year, month, day) * MS_PER_DAY
                + hour * MS_PER_HOUR + minute * MS_PER_MINUTE
                + second * MS_PER_SECOND + millis)
    # local = UTC + offset, so UTC = local - offset.
    return local_ms - offset_ms


def format_instant(ms: int) -> str:
    """Output: "Instants are printed in UTC with `Z`, with milliseconds only
    when not zero" (2026-11-24T12:00:00Z, 2026-11-24T12:00:00.250Z)."""
    days, rem = divmod(ms, MS_PER_DAY)
    y, mo, d = civil_from_days(days)
    hh, rem = divmod(rem, MS_PER_HOUR)
    mi, rem = divmod(rem, MS_PER_MINUTE)
    ss, millis = divmod(rem, MS_PER_SECOND)
    text = f"{y:04d}-{mo:02d}-{d:02d}T{hh:02d}:{mi:02d}:{ss:02d}"
    if millis:
        text += f".{millis:03d}"
    return text + "Z"


# --------------------------------------------------------------------------
# Reading the log ("Lines", "Errors")
# --------------------------------------------------------------------------

class LogRefused(Exception):
    """A bad line: the whole log is refused ("Errors")."""

    def __init__(self, line: int, reason: str):
        super().__init__(f"line {line}: {reason}")
        self.line = line
        self.reason = reason


class BadLine(Exception):
    """Raised while decoding one line; turned into LogRefused by the caller."""


UTF8_BOM = b"\xef\xbb\xbf"

# "whitespace-only lines are skipped": read as the Unicode White_Space
# property (what e.g. Rust's str::trim uses).  See README "Ambiguities".
UNICODE_WHITESPACE = frozenset(
    "\u0009\u000a\u000b\u000c\u000d\u0020\u0085\u00a0\u1680"
    "\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)

EVENT_TYPES = ("message", "status", "availability")
AUTHORS = ("customer", "agent", "automation")
CONVERSATION_STATUSES = ("open", "done", "spam")
AVAILABILITY_STATUSES = ("away", "available")


@dataclass
class Event:
    line: int                      # physical line number, from 1
    type: str                      # message | status | availability
    at: int                        # instant, ms
    conversation: Optional[str] = None   # message, status
    author: Optional[str] = None         # message
    status: Optional[str] = None         # status, availability
    until: Optional[int] = None          # availability away, optional

    @property
    def key(self) -> tuple[int, int]:
        """"Order": events are totally ordered by (instant, line number)."""
        return (self.at, self.line)


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict:
    """"Errors": a duplicate key refuses the line.  Keys are compared fully
    decoded ("a" and "\\u0061" are the same key).  json calls this hook for
    every object of the line, nested ones included: see README
    "Ambiguities" (duplicate keys inside an ignored field's value)."""
    obj: dict = {}
    for k, v in pairs:
        if k in obj:
            raise BadLine(f"duplicate key {k!r}")
        obj[k] = v
    return obj


def _reject_constant(name: str) -> Any:
    # Python's json accepts NaN / Infinity / -Infinity, which are not JSON.
    raise BadLine(f"not JSON ({name} is not a JSON value)")


def _has_lone_surrogate(value: Any) -> bool:
    """A "\\ud800"-style escape cannot be "fully decoded" into Unicode text;
    Python's json lets it through, so it is checked here (keys included)."""
    if isinstance(value, str):
        return any(0xD800 <= ord(c) <= 0xDFFF for c in value)
    if isinstance(value, list):
        return any(_has_lone_surrogate(v) for v in value)
    if isinstance(value, dict):
        return any(_has_lone_surrogate(k) or _has_lone_surrogate(v)
                   for k, v in value.items())
    return False


def _required_string(obj: dict, key: str) -> str:
    """"Lines": the fields its type needs are required strings ("Errors": a
    missing/null/non-string required field refuses the line)."""
    if key not in obj:
        raise BadLine(f"missing field {key!r}")
    value = obj[key]
    if value is None:
        raise BadLine(f"null field {key!r}")
    if not isinstance(value, str):
        raise BadLine(f"field {key!r} is not a string")
    return value


def _required_time(obj: dict, key: str) -> int:
    text = _required_string(obj, key)
    ms = parse_time(text)
    if ms is None:
        raise BadLine(f"bad time in {key!r}: {text!r}")
    return ms


def decode_line(text: str, line: int) -> Event:
    """One non-blank line -> one Event, or BadLine."""
    try:
        obj = json.loads(text, object_pairs_hook=_reject_duplicates,
                         parse_constant=_reject_constant)
    except BadLine:
        raise
    except (ValueError, RecursionError) as exc:
        raise BadLine(f"not JSON ({exc})") from None
    if not isinstance(obj, dict):
        raise BadLine("not a JSON object")
    if _has_lone_surrogate(obj):
        raise BadLine("not JSON (lone surrogate escape)")

    etype = _required_string(obj, "type")
    if etype == "message":
        conversation = _required_string(obj, "conversation")
        at = _required_time(obj, "at")
        author = _required_string(obj, "author")
        if author not in AUTHORS:
            raise BadLine(f"unknown author {author!r}")
        return Event(line, etype, at, conversation=conversation, author=author)
    if etype == "status":
        conversation = _required_string(obj, "conversation")
        at = _required_time(obj, "at")
        status = _required_string(obj, "status")
        if status not in CONVERSATION_STATUSES:
            raise BadLine(f"unknown status {status!r}")
        return Event(line, etype, at, conversation=conversation, status=status)
    if etype == "availability":
        at = _required_time(obj, "at")
        status = _required_string(obj, "status")
        if status not in AVAILABILITY_STATUSES:
            raise BadLine(f"unknown status {status!r}")
        # `until` is optional: absent or null = no until (see README
        # "Ambiguities"); when present it must be a string with a good time.
        until = None
        raw_until = obj.get("until")
        if raw_until is not None:
            if not isinstance(raw_until, str):
                raise BadLine("field 'until' is not a string")
            until = parse_time(raw_until)
            if until is None:
                raise BadLine(f"bad time in 'until': {raw_until!r}")
            # "Errors": an `until` on an `available` event ...
            if status == "available":
                raise BadLine("'until' on an 'available' event")
            # ... or not after its `at`.
            if until <= at:
                raise BadLine("'until' is not after 'at'")
        return Event(line, etype, at, status=status, until=until)
    raise BadLine(f"unknown type {etype!r}")


def read_log(data: bytes) -> list[Event]:
    """"Lines": split on LF; a trailing CR is removed; a UTF-8 BOM at the
    start of the file and whitespace-only lines are skipped; lines are
    numbered from 1, counting every physical line.  "Errors": the error names
    the lowest-numbered bad line, so the first bad line met wins."""
    events: list[Event] = []
    for index, raw in enumerate(data.split(b"\n")):
        line = index + 1
        if index == 0 and raw.startswith(UTF8_BOM):
            raw = raw[len(UTF8_BOM):]
        if raw.endswith(b"\r"):
            raw = raw[:-1]          # one trailing CR only
        try:
            text = raw.decode("utf-8")   # strict: invalid UTF-8 is a bad line
        except UnicodeDecodeError:
            raise LogRefused(line, "not JSON (invalid UTF-8)") from None
        if all(c in UNICODE_WHITESPACE for c in text):
            continue                # blank or whitespace-only: skipped
        try:
            events.append(decode_line(text, line))
        except BadLine as exc:
            raise LogRefused(line, str(exc)) from None
    return events


# --------------------------------------------------------------------------
# The rules
# --------------------------------------------------------------------------

@dataclass
class Start:
    conversation: str
    event: Event                       # the customer message
    next_key: Optional[tuple[int, int]]  # key of the next start (segment end)
    response: Optional[Event] = None   # R3
    latest_status_in_segment: Optional[str] = None  # R4 done
    category: str = ""                 # spam | done | away | pending | settled

    @property
    def at(self) -> int:
        return self.event.at

    @property
    def key(self) -> tuple[int, int]:
        return self.event.key

    @property
    def response_ms(self) -> Optional[int]:
        # R3: response's instant minus the start's instant.
        return None if self.response is None else self.response.at - self.at


@dataclass
class Settings:
    window_days: int = DEFAULT_WINDOW_DAYS
    min_rate: Fraction = Fraction(DEFAULT_MIN_RATE)
    max_time_seconds: Fraction = Fraction(DEFAULT_MAX_TIME_SECONDS)


@dataclass
class Result:
    evaluated_at: int
    settings: Settings
    starts: list[Start] = field(default_factory=list)
    window: list[Start] = field(default_factory=list)
    basis: str = ""


def find_starts(conversation: str, items: list[Event]) -> list[Start]:
    """R2 + R3 + the "within its segment" part of R4 for one conversation.

    `items` are the conversation's non-automation messages and status events
    at or before the evaluation time, sorted by (instant, line)."""
    # R2: a customer message is a start when no customer/agent message came
    # before it in the conversation, or when the one just before it (either
    # side) is at least 24 hours older.
    start_items: list[Event] = []
    previous: Optional[Event] = None
    for ev in items:
        if ev.type != "message":
            continue
        if ev.author == "customer":
            if previous is None or ev.at - previous.at >= SILENCE_MS:
                start_items.append(ev)
        previous = ev   # customer or agent; automation never reaches here (R1)

    starts: list[Start] = []
    for i, ev in enumerate(start_items):
        next_key = start_items[i + 1].key if i + 1 < len(start_items) else None
        starts.append(Start(conversation, ev, next_key))

    # R2: a start's segment runs from it up to the next start of the same
    # conversation (the last one to the evaluation time, i.e. to the end of
    # `items`).  R3: the response is the first agent message after the start
    # in its segment.  R4 done: the latest status event within the segment.
    # Events strictly before the first start (even at its instant, on an
    # earlier line) belong to no segment: "A status event before a
    # conversation's first start counts for spam, not for done".
    for st in starts:
        for ev in items:
            if ev.key <= st.key:
                continue
            if st.next_key is not None and ev.key >= st.next_key:
                break
            if ev.type == "message":
                if ev.author == "agent" and st.response is None:
                    st.response = ev
            else:  # status
                st.latest_status_in_segment = ev.status
    return starts


def compute(events: list[Event], evaluated_at: int, settings: Settings) -> Result:
    result = Result(evaluated_at, settings)

    # "Only events at or before the evaluation time exist."  R1: automation
    # messages are ignored by every rule.  "Order": sort by (instant, line).
    alive = sorted((e for e in events if e.at <= evaluated_at
                    and not (e.type == "message" and e.author == "automation")),
                   key=lambda e: e.key)

    by_conversation: dict[str, list[Event]] = {}
    availability: list[Event] = []
    for ev in alive:
        if ev.type == "availability":
            availability.append(ev)
        else:
            by_conversation.setdefault(ev.conversation, []).append(ev)
    availability_keys = [ev.key for ev in availability]

    all_starts: list[Start] = []
    for conversation, items in by_conversation.items():
        starts = find_starts(conversation, items)

        # R4 spam: the conversation's latest status event (at or before the
        # evaluation time, anywhere in the conversation, before the first
        # start included) is `spam`.  It excludes every start of it.
        statuses = [ev.status for ev in items if ev.type == "status"]
        is_spam = bool(statuses) and statuses[-1] == "spam"

        for st in starts:
            # R4: "Spam wins over done, done over away".
            if is_spam:
                st.category = "spam"
            elif st.response is None and st.latest_status_in_segment == "done":
                # R4 done: no response (at the evaluation time) and the latest
                # status event within its segment is `done`, whenever it came.
                st.category = "done"
            elif is_away_at(st, availability, availability_keys):
                st.category = "away"
            elif (st.response is None
                  and evaluated_at - st.at < REPLY_WINDOW_MS):
                # R5: not excluded, no response, less than 24 h old at the
                # evaluation time -> pending.  Exactly 24 h old is settled.
                st.category = "pending"
            else:
                # R5: answered, or unanswered for (at least) 24 hours.
                st.category = "settled"
        all_starts.extend(starts)

    all_starts.sort(key=lambda s: s.key)
    result.starts = all_starts

    # R6: L = instant of the latest non-excluded start (pending included).
    counted = [s for s in all_starts if s.category in ("pending", "settled")]
    settled = [s for s in all_starts if s.category == "settled"]
    window: list[Start] = []
    basis = f"last_{LAST_N}"
    if counted:
        latest = max(s.at for s in counted)
        lower = latest - settings.window_days * MS_PER_DAY
        # R6: the settled starts in (L - 30 days, L].
        window = [s for s in settled if lower < s.at <= latest]
        basis = f"{settings.window_days}_days"
    if len(window) < LAST_N:
        # R6: fewer than 10 -> the last 10 settled starts in event order
        # (all of them if fewer); `last_10` also when none is settled.
        window = settled[-LAST_N:]
        basis = f"last_{LAST_N}"
    result.window = window
    result.basis = basis
    return result


def is_away_at(st: Start, availability: list[Event],
               availability_keys: list[tuple[int, int]]) -> bool:
    """R4 away: the last availability event before the start (in (instant,
    line) order, so one at the same instant on an earlier line counts) is
    `away` at instant a, and the start's instant is earlier than its `until`
    if it has one, else than a + 12 hours.  A later `away` therefore restarts
    the clock and a later `available` ends it."""
    i = bisect.bisect_left(availability_keys, st.key)  # events with key < start
    if i == 0:
        return False
    last = availability[i - 1]
    if last.status != "away":
        return False
    end = last.until if last.until is not None else last.at + AWAY_RESET_MS
    return st.at < end


# --------------------------------------------------------------------------
# Figures (R7, R8, R9) and output
# --------------------------------------------------------------------------

def render(result: Result) -> dict:
    window = result.window
    settings = result.settings
    starts_n = len(window)
    answered_times = sorted(s.response_ms for s in window if s.response is not None)
    answered_n = len(answered_times)

    # R7: response rate = answered / starts in the window (null when empty).
    response_rate = answered_n / starts_n if starts_n else None

    # R8: mean of the fastest k = n - floor(n / 10) response times:
    # their sum in ms / k / 1000, in seconds (null when nothing answered).
    k = answered_n - answered_n // 10
    sum_ms = sum(answered_times[:k])
    response_time = sum_ms / k / 1000 if answered_n else None

    # R9: badge = rate >= min rate and time <= max time, tested exactly
    # (answered / starts >= min rate; sum_ms <= max_ms * k).  No settled start
    # or nothing answered: no badge.
    badge = False
    if starts_n and answered_n:
        max_ms = settings.max_time_seconds * 1000
        badge = (Fraction(answered_n, starts_n) >= settings.min_rate
                 and sum_ms <= max_ms * k)

    def count(category: str) -> int:
        # Output: pending and excluded count all starts up to the evaluation
        # time.
        return sum(1 for s in result.starts if s.category == category)

    max_time = settings.max_time_seconds
    max_time_out: Any = (int(max_time) if max_time.denominator == 1
                         else float(max_time))
    return {
        "evaluated_at": format_instant(result.evaluated_at),
        "badge": badge,
        "response_rate": response_rate,
        "response_time_seconds": response_time,
        "window": {
            "basis": result.basis,
            # Output: instants of the earliest and latest start in the window
            # (window is in event order), null when empty.
            "from": format_instant(window[0].at) if window else None,
            "to": format_instant(window[-1].at) if window else None,
            "starts": starts_n,
            "answered": answered_n,
        },
        "pending": count("pending"),
        "excluded": {"spam": count("spam"), "done": count("done"),
                     "away": count("away")},
        "thresholds": {"min_rate": float(settings.min_rate),
                       "max_time_seconds": max_time_out},
    }


# --------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------

DECIMAL_RE = re.compile(r"[0-9]+(?:\.[0-9]+)?|\.[0-9]+")


class ArgError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # exit code 2 with our own wording
        raise ArgError(message)


def _decimal(text: str) -> Fraction:
    if not DECIMAL_RE.fullmatch(text):
        raise argparse.ArgumentTypeError(f"not a non-negative decimal: {text!r}")
    return Fraction(text)


def _positive_int(text: str) -> int:
    if not re.fullmatch(r"[0-9]+", text) or int(text) < 1:
        raise argparse.ArgumentTypeError(f"not a positive integer: {text!r}")
    return int(text)


def _time_arg(text: str) -> int:
    ms = parse_time(text)
    if ms is None:
        raise argparse.ArgumentTypeError(f"bad time: {text!r}")
    return ms


def main(argv: list[str]) -> int:
    parser = _Parser(description=__doc__.splitlines()[0])
    parser.add_argument("file")
    parser.add_argument("--at", type=_time_arg, default=None,
                        help="evaluation time (same grammar as the log)")
    parser.add_argument("--window-days", type=_positive_int,
                        default=DEFAULT_WINDOW_DAYS)
    parser.add_argument("--min-rate", type=_decimal,
                        default=Fraction(DEFAULT_MIN_RATE))
    parser.add_argument("--max-time-seconds", type=_decimal,
                        default=Fraction(DEFAULT_MAX_TIME_SECONDS))
    try:
        args = parser.parse_args(argv)
    except ArgError as exc:
        print(f"bad argument: {exc}", file=sys.stderr)
        return EXIT_REFUSED

    try:
        with open(args.file, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        print(f"cannot read {args.file}: {exc}", file=sys.stderr)
        return EXIT_REFUSED

    try:
        events = read_log(data)
    except LogRefused as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_REFUSED

    if args.at is not None:
        evaluated_at = args.at
    elif events:
        # "The evaluation time ... defaults to the greatest `at` among all
        # lines" (every type, automation included; `until` is not an `at`).
        evaluated_at = max(e.at for e in events)
    else:
        print("empty log: no events and no --at", file=sys.stderr)
        return EXIT_REFUSED

    settings = Settings(args.window_days, args.min_rate, args.max_time_seconds)
    output = render(compute(events, evaluated_at, settings))
    json.dump(output, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
