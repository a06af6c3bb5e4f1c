#!/usr/bin/env python3
"""Random event logs that stress the responsiveness contract.

    python3 gen_logs.py --seed S --out DIR --count N [--bad-lines P] [--ambiguous P]

writes DIR/log-0001.jsonl ... DIR/log-NNNN.jsonl and, beside each, DIR/log-0001.at
holding an evaluation time to pass as `--at` (an empty file: no --at).  The
output depends only on the arguments (each log has its own random stream seeded
from "S/index"), so a failing log can be regenerated from its seed.

By default every log is VALID under the contract (so both implementations must
compute it, exit 0).  What it stresses (rule numbers of
shared/docs/responsiveness.md):
  * few conversations with many messages, times drawn from a small set of
    "anchor" instants linked by exact gaps (0, 1 ms, 12 h, 24 h +/- 1 ms, 30 d
    +/- 1 ms ...), so ties (Order), exact 24 h silences (R2), exact 24 h ages
    (R5), exact 12 h away resets and `until` instants (R4), exact L - 30 days
    boundaries (R6) and 9/10/11/19/20/21-start cases (R6, R8) are frequent;
  * status events (open/done/spam) before the first start, at the start's
    instant (before or after it in the file), inside segments, long after (R4);
  * availability away with and without `until`, available, repeated away (R4);
  * automation messages everywhere, including last in the log (R1, evaluation
    time);
  * unsorted lines, millisecond fractions with 1-3 digits, non-UTC offsets,
    `\\uXXXX` escapes in values and keys ("c\\u0031" = "c1"), extra ignored
    fields (also ones named like another type's fields, e.g. a `status` on a
    message), CRLF endings, a BOM, blank and whitespace-only lines (Lines,
    Times).
Options:
  --bad-lines P   with probability P per log, insert 1-3 lines that the
                  contract clearly refuses (bad JSON, bad times, unknown
                  values, duplicate keys, bad `until`...): expect exit 2 and
                  the lowest bad line number.  Default 0.
  --ambiguous P   with probability P per log, add constructs whose reading the
                  contract leaves open (see README.md, "Ambiguities"): `until`
                  null, duplicate keys inside an ignored nested object, a
                  line of Unicode (non-ASCII) whitespace, a lone surrogate
                  escape or a huge number in an ignored field.  Default 0.
"""

from __future__ import annotations

import argparse
import json
import os
import random

MS_S = 1_000
MS_MIN = 60 * MS_S
MS_H = 60 * MS_MIN
MS_D = 24 * MS_H

# Bases: cover a leap day, a year end and ordinary dates.
BASES = [
    (2026, 11, 1, 0), (2026, 10, 20, 9), (2027, 12, 30, 22),
    (2028, 2, 27, 12), (2024, 2, 28, 23), (2026, 3, 28, 6),
]

# Gaps between consecutive messages of one conversation (R2 silence, R3).
DENSE_GAPS = [0, 0, 1, MS_S, 30 * MS_S, 2 * MS_MIN, 450 * MS_S, 15 * MS_MIN,
              15 * MS_MIN + 1, MS_H, 6 * MS_H, 12 * MS_H, 12 * MS_H,
              MS_D - 1, MS_D, MS_D, MS_D, MS_D + 1, 25 * MS_H, 2 * MS_D]
LONG_GAPS = DENSE_GAPS + [3 * MS_D, 5 * MS_D, 10 * MS_D, 29 * MS_D,
                          30 * MS_D - 1, 30 * MS_D, 30 * MS_D, 30 * MS_D + 1]
# Deltas used to derive anchors from anchors (and events from anchors).
ANCHOR_DELTAS = [0, 1, MS_S, MS_MIN, 15 * MS_MIN, MS_H, 12 * MS_H, 12 * MS_H,
                 MS_D - 1, MS_D, MS_D, MS_D + 1, 2 * MS_D, 7 * MS_D,
                 30 * MS_D - 1, 30 * MS_D, 30 * MS_D, 30 * MS_D + 1]
# Response delays (R3, R8, R9): 0, around 900 s, around 24 h.
RESPONSE_GAPS = [0, 1, MS_S, 60 * MS_S, 60 * MS_S, 450 * MS_S, 900 * MS_S,
                 900 * MS_S, 900 * MS_S + 1, MS_H, 2 * MS_H, MS_D - 1, MS_D,
                 2 * MS_D]
# Quick replies, around the 900 s limit.
FAST_GAPS = [0, 1, 30 * MS_S, 60 * MS_S, 300 * MS_S, 450 * MS_S, 899 * MS_S,
             900 * MS_S, 900 * MS_S, 900 * MS_S + 1, 1200 * MS_S]

OFFSETS = ["+00:00", "-00:00", "+01:00", "+02:00", "+05:30", "-03:30",
           "-08:00", "+09:45", "+14:00", "+23:59", "-23:59", "-12:00"]


# --------------------------------------------------------------------------
# Time formatting (the inverse of the contract's grammar)
# --------------------------------------------------------------------------

def days_from_civil(y: int, m: int, d: int) -> int:
    y -= 1 if m <= 2 else 0
    era = y // 400
    yoe = y - era * 400
    mp = m - 3 if m > 2 else m + 9
    doy = (153 * mp + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def civil_from_days(z: int) -> tuple[int, int, int]:
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


def fmt_time(rng: random.Random, ms: int, plain: bool = False) -> str:
    """A random but valid spelling of instant `ms`: Z or an offset, and a
    1-3 digit fraction when needed (sometimes a zero fraction)."""
    offset = "Z" if plain or rng.random() < 0.7 else rng.choice(OFFSETS)
    off_ms = 0
    if offset != "Z":
        sign = 1 if offset[0] == "+" else -1
        off_ms = sign * (int(offset[1:3]) * MS_H + int(offset[4:6]) * MS_MIN)
    local = ms + off_ms
    days, rem = divmod(local, MS_D)
    y, mo, d = civil_from_days(days)
    hh, rem = divmod(rem, MS_H)
    mi, rem = divmod(rem, MS_MIN)
    ss, millis = divmod(rem, MS_S)
    text = f"{y:04d}-{mo:02d}-{d:02d}T{hh:02d}:{mi:02d}:{ss:02d}"
    digits = f"{millis:03d}"
    if millis == 0:
        if not plain and rng.random() < 0.1:
            text += "." + "0" * rng.randint(1, 3)
    else:
        shortest = digits.rstrip("0")
        text += "." + digits[:rng.randint(len(shortest), 3)]
    return text + offset


# --------------------------------------------------------------------------
# JSON spelling with escapes
# --------------------------------------------------------------------------

def json_string(rng: random.Random, s: str, escape_rate: float) -> str:
    """Encode `s` as a JSON string literal, escaping some characters as
    \\uXXXX (surrogate pairs above U+FFFF) so that it decodes to `s`."""
    out = ['"']
    for ch in s:
        cp = ord(ch)
        if ch == '"' or ch == "\\" or cp < 0x20 or rng.random() < escape_rate:
            if cp > 0xFFFF:
                cp -= 0x10000
                hi, lo = 0xD800 + (cp >> 10), 0xDC00 + (cp & 0x3FF)
                out.append(f"\\u{hi:04x}\\u{lo:04X}")
            elif ch == '"' and rng.random() < 0.5:
                out.append('\\"')
            elif ch == "\\" and rng.random() < 0.5:
                out.append("\\\\")
            else:
                out.append(f"\\u{cp:04x}" if rng.random() < 0.5 else f"\\u{cp:04X}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def json_value(rng: random.Random, v) -> str:
    if isinstance(v, str):
        return json_string(rng, v, 0.05)
    return json.dumps(v, ensure_ascii=rng.random() < 0.5)


def random_extra(rng: random.Random):
    """A value for an ignored field."""
    return rng.choice([
        None, True, False, 0, -1, 12345678901234567890, 3.25, -2.5e-7, "",
        "hello \"quoted\" \\ back", "ü ç 😀 \u2028 tab\tend", [1, [2, None], {}],
        {"nested": {"x": [1, 2, 3], "type": "message"}, "at": "not a time"},
    ])


# --------------------------------------------------------------------------
# Events
# --------------------------------------------------------------------------

class Gen:
    def __init__(self, rng: random.Random):
        self.rng = rng
        y, m, d, h = rng.choice(BASES)
        self.base = days_from_civil(y, m, d) * MS_D + h * MS_H
        self.long = rng.random() < 0.5
        self.gaps = LONG_GAPS if self.long else DENSE_GAPS
        # How well the inbox is served: the chance that a customer message
        # gets a quick agent reply (so that badges are held often enough
        # for the R9 thresholds to be tested from both sides).
        self.serve = rng.choice([0.0, 0.5, 0.8, 0.95, 1.0])
        self.anchors = [self.base]
        for _ in range(rng.randint(3, 12)):
            a = rng.choice(self.anchors) + rng.choice(ANCHOR_DELTAS) * rng.choice([1, 1, -1])
            if not self.long and abs(a - self.base) > 4 * MS_D:
                a = self.base + rng.choice(DENSE_GAPS)
            self.anchors.append(a)
        self.events: list[dict] = []
        n_conv = rng.choice([1, 1, 2, 2, 3, 3, 4, 5, 8])
        self.conversations = [self.conv_name(i) for i in range(n_conv)]

    def conv_name(self, i: int) -> str:
        r = self.rng.random()
        if r < 0.8:
            return f"c{i + 1}"
        if r < 0.9:
            return f"ç{i + 1}"
        return f"c😀{i + 1}"

    def anchor_time(self) -> int:
        rng = self.rng
        t = rng.choice(self.anchors)
        if rng.random() < 0.3:
            t += rng.choice(ANCHOR_DELTAS)
        if rng.random() < 0.05:
            t += rng.randint(0, 999)    # arbitrary millisecond fractions
        return t

    def add(self, **ev):
        self.events.append(ev)

    def message(self, conv: str, at: int, author: str):
        self.add(type="message", conversation=conv, at=at, author=author)

    # -- scenarios ---------------------------------------------------------

    def chatty(self, conv: str):
        """One conversation with many messages: silences of exactly 24 h,
        responses at the same instant, automation in between (R1-R3)."""
        rng = self.rng
        t = self.anchor_time()
        for _ in range(rng.randint(3, 30)):
            r = rng.random()
            author = "customer" if r < 0.5 else "agent" if r < 0.8 else "automation"
            self.message(conv, t, author)
            if author == "customer" and rng.random() < self.serve:
                t += rng.choice(FAST_GAPS)
                self.message(conv, t, "agent")
            if rng.random() < 0.15:
                t = self.anchor_time()          # jump onto another anchor
            else:
                t += rng.choice(self.gaps)

    def many_starts(self):
        """9-11 or 19-21 starts around an anchor L0, some exactly 30 days
        before it, most answered (R6, R8, R9)."""
        rng = self.rng
        n = rng.choice([8, 9, 10, 10, 11, 12, 19, 20, 21])
        top = self.anchor_time()
        spacing = rng.choice([MS_D, 2 * MS_D, 3 * MS_D, 12 * MS_H, 30 * MS_D // 9])
        convs = self.conversations + [self.conv_name(len(self.conversations) + i)
                                      for i in range(rng.randint(0, n))]
        for i in range(n):
            r = rng.random()
            if r < 0.15:
                t = top - 30 * MS_D + rng.choice([-1, 0, 0, 1])
            elif r < 0.25:
                t = top - 40 * MS_D
            else:
                t = top - i * spacing
            conv = rng.choice(convs)
            self.message(conv, t, "customer")
            if rng.random() < 0.1:
                self.message(conv, t + rng.choice([0, 1, MS_S]), "automation")
            if rng.random() < max(self.serve, 0.6):
                gaps = FAST_GAPS if rng.random() < self.serve else RESPONSE_GAPS
                self.message(conv, t + rng.choice(gaps), "agent")

    def statuses(self):
        """Status events before, at, within and long after segments (R4)."""
        rng = self.rng
        msgs = [e for e in self.events if e["type"] == "message"]
        for _ in range(rng.randint(0, 6)):
            if msgs and rng.random() < 0.8:
                ref = rng.choice(msgs)
                conv = ref["conversation"]
                t = ref["at"] + rng.choice([0, 0, -1, 1, MS_MIN, -MS_H, MS_D,
                                            5 * MS_D, -MS_D])
            else:
                conv = rng.choice(self.conversations)
                t = self.anchor_time()
            status = rng.choices(["done", "open", "spam"], [45, 35, 20])[0]
            self.add(type="status", conversation=conv, at=t, status=status)

    def availability(self):
        """Away (with/without until), available, repeated away (R4)."""
        rng = self.rng
        custs = [e for e in self.events
                 if e["type"] == "message" and e["author"] == "customer"]
        for _ in range(rng.randint(0, 5)):
            if custs and rng.random() < 0.8:
                ref = rng.choice(custs)["at"]
                t = ref - rng.choice([0, 0, 1, MS_H, 12 * MS_H, 12 * MS_H,
                                      12 * MS_H - 1, 12 * MS_H + 1, 3 * MS_H])
            else:
                ref = None
                t = self.anchor_time()
            if rng.random() < 0.3:
                self.add(type="availability", at=t, status="available")
                continue
            until = None
            if rng.random() < 0.4:
                cands = [t + 1, t + 12 * MS_H, t + 14 * MS_H, t + 6 * MS_H]
                if ref is not None:
                    cands += [ref, ref, ref + 1]
                cands = [u for u in cands if u > t]
                until = rng.choice(cands)
            self.add(type="availability", at=t, status="away", until=until)

    def build(self) -> list[dict]:
        rng = self.rng
        for conv in self.conversations:
            self.chatty(conv)
        if rng.random() < 0.5:
            self.many_starts()
        self.statuses()
        self.availability()
        if rng.random() < 0.3:      # an automation message last (sets eval time)
            last = max(e["at"] for e in self.events)
            self.message(rng.choice(self.conversations),
                         last + rng.choice([0, 1, MS_D, MS_D - 1, 12 * MS_H]),
                         "automation")
        return self.events


# --------------------------------------------------------------------------
# Lines
# --------------------------------------------------------------------------

def event_line(rng: random.Random, ev: dict, ambiguous: bool) -> str:
    fields: list[tuple[str, str]] = [("type", json_string(rng, ev["type"], 0.05))]
    if ev["type"] != "availability":
        fields.append(("conversation", json_string(rng, ev["conversation"], 0.15)))
    fields.append(("at", json_string(rng, fmt_time(rng, ev["at"]), 0.02)))
    if ev["type"] == "message":
        fields.append(("author", json_string(rng, ev["author"], 0.05)))
    else:
        fields.append(("status", json_string(rng, ev["status"], 0.05)))
    if ev.get("until") is not None:
        fields.append(("until", json_string(rng, fmt_time(rng, ev["until"]), 0.02)))
    elif ambiguous and ev["type"] == "availability" and rng.random() < 0.5:
        fields.append(("until", "null"))            # ambiguous: null until
    # Ignored fields, sometimes named like another type's field.
    extra_names = ["id", "text", "meta", "channel", "x"]
    if ev["type"] == "message":
        extra_names += ["status", "until"]
    elif ev["type"] == "availability":
        extra_names += ["conversation", "author"]
    else:
        extra_names += ["author", "until"]
    for name in rng.sample(extra_names, rng.choice([0, 0, 0, 1, 1, 2, 3])):
        fields.append((name, json_value(rng, random_extra(rng))))
    if ambiguous and rng.random() < 0.2:
        fields.append(("meta2", rng.choice(['{"k":1,"k":2}', '"\\ud800"', "1e400"])))
    if rng.random() < 0.3:
        rng.shuffle(fields)
    parts = []
    for key, value in fields:
        key_text = json_string(rng, key, 0.03)
        sep = rng.choice([":", ":", ": ", " : "])
        parts.append(f"{key_text}{sep}{value}")
    joiner = rng.choice([",", ",", ", "])
    return "{" + joiner.join(parts) + "}"


BAD_TIMES = [
    "2026-02-30T10:00:00Z", "2027-02-29T10:00:00Z", "2026-04-31T10:00:00Z",
    "2026-13-01T10:00:00Z", "2026-00-10T10:00:00Z", "2026-11-00T10:00:00Z",
    "2026-11-01T24:00:00Z", "2026-11-01T10:60:00Z", "2026-11-01T10:00:60Z",
    "2026-11-01t10:00:00Z", "2026-11-01T10:00:00z", "2026-11-01 10:00:00Z",
    "2026-11-01T10:00Z", "2026-11-01T10:00:00", "2026-11-01T10:00:00.Z",
    "2026-11-01T10:00:00.1234Z", "2026-11-01T10:00:00+24:00",
    "2026-11-01T10:00:00+05:60", "2026-11-01T10:00:00+0500",
    "2026-11-01T10:00:00+05", "2026-11-01T10:00:00UTC", "26-11-01T10:00:00Z",
    "2026-11-01T10:00:00Z ", " 2026-11-01T10:00:00Z", "2026-1-01T10:00:00Z",
    "2026-11-01T10:00:00,5Z", "+2026-11-01T10:00:00Z", "2026-11-01T10:00:00.5+1:00",
    "2026-11-01T10:00:00Z\n", "２026-11-01T10:00:00Z",
]


def bad_line(rng: random.Random) -> str:
    ok_at = '"2026-11-01T10:00:00Z"'
    t = json.dumps(rng.choice(BAD_TIMES))
    return rng.choice([
        "not json", "{", '{"type":"message"', "[1,2,3]", '"a string"', "42", "null",
        '{"type":"message","conversation":"c1","at":' + ok_at + ',"author":"customer"} x',
        '{"type":"message","conversation":"c1","at":' + ok_at + '}',
        '{"type":"message","conversation":null,"at":' + ok_at + ',"author":"agent"}',
        '{"type":"message","conversation":1,"at":' + ok_at + ',"author":"agent"}',
        '{"type":"message","conversation":"c1","at":' + ok_at + ',"author":"bot"}',
        '{"type":"message","conversation":"c1","at":' + ok_at + ',"author":"Agent"}',
        '{"type":"Message","conversation":"c1","at":' + ok_at + ',"author":"agent"}',
        '{"type":"note","conversation":"c1","at":' + ok_at + '}',
        '{"conversation":"c1","at":' + ok_at + ',"author":"agent"}',
        '{"type":"status","conversation":"c1","at":' + ok_at + ',"status":"closed"}',
        '{"type":"status","conversation":"c1","at":' + ok_at + '}',
        '{"type":"availability","at":' + ok_at + ',"status":"busy"}',
        '{"type":"availability","at":' + ok_at + ',"status":"available","until":"2026-11-02T10:00:00Z"}',
        '{"type":"availability","at":' + ok_at + ',"status":"away","until":' + ok_at + '}',
        '{"type":"availability","at":' + ok_at + ',"status":"away","until":"2026-11-01T09:59:59.999Z"}',
        '{"type":"availability","at":' + ok_at + ',"status":"away","until":"2026-11-01T11:00:00+01:00"}',
        '{"type":"availability","at":' + ok_at + ',"status":"away","until":5}',
        '{"type":"availability","at":' + ok_at + ',"status":"away","until":' + t + '}',
        '{"type":"message","conversation":"c1","at":' + t + ',"author":"agent"}',
        '{"type":"status","conversation":"c1","at":' + t + ',"status":"done"}',
        '{"type":"message","conversation":"c1","at":' + ok_at + ',"author":"agent","author":"agent"}',
        '{"type":"message","conversation":"c1","\\u0061t":' + ok_at + ',"at":' + ok_at + ',"author":"agent"}',
        '{"type":"message","conversation":"c1","at":' + ok_at + ',"author":"agent","id":1,"id":2}',
        '{"type":"message","conversation":"c1","at":' + ok_at + ',"author":"agent","x":NaN}',
        '{"type":"message","conversation":"c1","at":' + ok_at + ",'author':\"agent\"}",
        '\ufeff{"type":"message","conversation":"c1","at":' + ok_at + ',"author":"agent"}',
    ])


def render_log(rng: random.Random, events: list[dict], bad: bool,
               ambiguous: bool) -> bytes:
    # Order: mostly sorted by instant (ties in random order), sometimes
    # shuffled a little or completely.
    events = list(events)
    rng.shuffle(events)
    mode = rng.random()
    if mode < 0.5:
        events.sort(key=lambda e: e["at"])
    elif mode < 0.8:
        events.sort(key=lambda e: e["at"])
        for _ in range(max(1, len(events) // 5)):
            i = rng.randrange(len(events))
            j = min(len(events) - 1, i + rng.randint(1, 3))
            events[i], events[j] = events[j], events[i]
    lines = [event_line(rng, ev, ambiguous) for ev in events]
    # Blank and whitespace-only lines (skipped but counted).
    for _ in range(rng.choice([0, 0, 0, 1, 2])):
        lines.insert(rng.randint(0, len(lines)), rng.choice(["", " ", "\t", "  \t "]))
    if ambiguous and rng.random() < 0.5:
        lines.insert(rng.randint(0, len(lines)), rng.choice(["\u00a0", "\u3000", " \u2003 "]))
    if bad:
        for _ in range(rng.randint(1, 3)):
            lines.insert(rng.randint(0, len(lines)), bad_line(rng))
    crlf = rng.random()
    out = []
    for text in lines:
        end = "\r\n" if crlf < 0.1 or (crlf < 0.2 and rng.random() < 0.5) else "\n"
        out.append(text + end)
    data = "".join(out)
    if rng.random() < 0.1:
        data = data.rstrip("\r\n")          # no final newline
    raw = data.encode("utf-8")
    if rng.random() < 0.1:
        raw = b"\xef\xbb\xbf" + raw          # BOM at the start of the file
    return raw


def choose_at(rng: random.Random, events: list[dict]) -> str:
    """The --at for a log: none, before all, after all, on an event, or on
    a 24 h / 30 day boundary from a customer message."""
    times = [e["at"] for e in events]
    custs = [e["at"] for e in events
             if e["type"] == "message" and e["author"] == "customer"]
    # Customer messages with no agent message of their conversation in the
    # next 24 h: likely unanswered starts, to put --at exactly 24 h after (R5).
    agents = {}
    for e in events:
        if e["type"] == "message" and e["author"] == "agent":
            agents.setdefault(e["conversation"], []).append(e["at"])
    waiting = [e["at"] for e in events
               if e["type"] == "message" and e["author"] == "customer"
               and not any(e["at"] <= a <= e["at"] + MS_D
                           for a in agents.get(e["conversation"], []))]
    r = rng.random()
    if r < 0.35:
        return ""
    if r < 0.45:
        t = min(times) - rng.choice([1, MS_S, MS_D, 40 * MS_D])
    elif r < 0.55:
        t = max(times) + rng.choice([0, 1, 12 * MS_H, MS_D, 30 * MS_D])
    elif r < 0.7:
        t = rng.choice(times)
    elif r < 0.85 and custs:
        t = rng.choice(waiting or custs) + rng.choice([MS_D - 1, MS_D, MS_D, MS_D + 1])
    elif r < 0.95 and custs:
        t = rng.choice(custs) + rng.choice([30 * MS_D, 30 * MS_D - 1, 12 * MS_H])
    else:
        t = rng.randint(min(times), max(times))
    return fmt_time(rng, t)


def main():
    p = argparse.ArgumentParser(description="random logs for the badge reference")
    p.add_argument("--seed", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--bad-lines", type=float, default=0.0)
    p.add_argument("--ambiguous", type=float, default=0.0)
    args = p.parse_args()
    os.makedirs(args.out, exist_ok=True)
    for i in range(1, args.count + 1):
        rng = random.Random(f"{args.seed}/{i}")
        events = Gen(rng).build()
        bad = rng.random() < args.bad_lines
        ambiguous = rng.random() < args.ambiguous
        raw = render_log(rng, events, bad, ambiguous)
        at = choose_at(rng, events)
        name = os.path.join(args.out, f"log-{i:04d}")
        with open(name + ".jsonl", "wb") as fh:
            fh.write(raw)
        with open(name + ".at", "w") as fh:
            fh.write(at + ("\n" if at else ""))


if __name__ == "__main__":
    main()
