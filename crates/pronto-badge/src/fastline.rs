//! A scanner for the common shape of a line, in front of the exact reader of [`crate::jsonl`].
//!
//! It recognises a flat JSON object whose keys have no escapes, whose known fields (`type`,
//! `conversation`, `at`, `author`, `status`, `until`) are strings without escapes, and whose
//! other fields are strings (escapes allowed), plain numbers, `true`, `false` or `null`, on a
//! line that is valid UTF-8. For such a line it finds exactly the fields serde_json would; for
//! anything else (nested values, escapes where they would need decoding, a doubtful number,
//! invalid UTF-8, a duplicate key, a syntax error...) it gives up, and the caller reads the
//! line with the exact reader, so that results and error messages are the exact reader's. It
//! is deliberately stricter than JSON: giving up is always correct, accepting is only allowed
//! when certain.

use crate::event::{Author, Fact, Status};
use crate::jsonl::{Field, Fields, LineEvent};
use crate::time::parse_instant;
use std::borrow::Cow;

/// How many distinct unknown keys a line may have before the scanner gives up (it checks them
/// for duplicates).
const MAX_OTHER_KEYS: usize = 8;

/// The fields of `line` (without LF, trailing CR already removed) into `fields` (empty), or
/// `None` to leave the line to the exact reader (`fields` may then hold some).
///
/// The line is a `str`: every string's raw bytes are text, and a string without escapes is its
/// own decoded value. (A line that is not UTF-8 goes to the exact reader as it is.)
pub(crate) fn scan<'a>(line: &'a str, fields: &mut Fields<'a>) -> Option<()> {
    let mut s = Scanner {
        text: line,
        b: line.as_bytes(),
        i: 0,
    };
    let mut seen_known = 0u8;
    let mut others: [&[u8]; MAX_OTHER_KEYS] = [&[]; MAX_OTHER_KEYS];
    let mut other_count = 0;

    if s.b.starts_with(TYPE_FIRST) {
        // The usual layout: `type` first, then the fields its type needs in the usual order,
        // without spaces. Matched as literals while they last; then on as usual.
        s.i = TYPE_FIRST.len();
        let kind = s.plain_string()?;
        fields.kind = Field::Text(Cow::Borrowed(kind));
        seen_known = 1 << TYPE;
        match kind {
            "message" => {
                let _ = s.usual(
                    b",\"conversation\":\"",
                    CONVERSATION,
                    fields,
                    &mut seen_known,
                )? && s.usual(b",\"at\":\"", AT, fields, &mut seen_known)?
                    && s.usual(b",\"author\":\"", AUTHOR, fields, &mut seen_known)?;
            }
            "status" => {
                let _ = s.usual(
                    b",\"conversation\":\"",
                    CONVERSATION,
                    fields,
                    &mut seen_known,
                )? && s.usual(b",\"at\":\"", AT, fields, &mut seen_known)?
                    && s.usual(b",\"status\":\"", STATUS, fields, &mut seen_known)?;
            }
            "availability" => {
                let _ = s.usual(b",\"at\":\"", AT, fields, &mut seen_known)?
                    && s.usual(b",\"status\":\"", STATUS, fields, &mut seen_known)?
                    && s.usual(b",\"until\":\"", UNTIL, fields, &mut seen_known)?;
            }
            _ => {}
        }
        s.skip_ws();
        match s.next()? {
            b',' => s.skip_ws(),
            b'}' => return s.at_end(),
            _ => return None,
        }
    } else {
        s.skip_ws();
        s.expect(b'{')?;
        s.skip_ws();
        if s.peek()? == b'}' {
            // `{}` is an error anyway ("missing field"): the exact reader says so.
            return None;
        }
    }
    loop {
        s.expect(b'"')?;
        let key = s.plain_string()?.as_bytes();
        s.skip_ws();
        s.expect(b':')?;
        s.skip_ws();
        let slot = match key {
            b"type" => Some(TYPE),
            b"conversation" => Some(CONVERSATION),
            b"at" => Some(AT),
            b"author" => Some(AUTHOR),
            b"status" => Some(STATUS),
            b"until" => Some(UNTIL),
            _ => None,
        };
        match slot {
            Some(slot) => {
                if seen_known & (1 << slot) != 0 {
                    return None;
                }
                seen_known |= 1 << slot;
                s.expect(b'"')?;
                *field(fields, slot) = Field::Text(Cow::Borrowed(s.plain_string()?));
            }
            None => {
                if other_count == MAX_OTHER_KEYS || others[..other_count].contains(&key) {
                    return None;
                }
                others[other_count] = key;
                other_count += 1;
                s.skip_simple_value()?;
            }
        }
        s.skip_ws();
        match s.next()? {
            b',' => s.skip_ws(),
            b'}' => return s.at_end(),
            _ => return None,
        }
    }
}

/// The known fields, by slot.
const TYPE: u8 = 0;
const CONVERSATION: u8 = 1;
const AT: u8 = 2;
const AUTHOR: u8 = 3;
const STATUS: u8 = 4;
const UNTIL: u8 = 5;

fn field<'f, 'a>(fields: &'f mut Fields<'a>, slot: u8) -> &'f mut Field<'a> {
    match slot {
        TYPE => &mut fields.kind,
        CONVERSATION => &mut fields.conversation,
        AT => &mut fields.at,
        AUTHOR => &mut fields.author,
        STATUS => &mut fields.status,
        _ => &mut fields.until,
    }
}

/// A message or status line of the usual layout (`type`, then the fields it needs in the
/// usual order, without spaces, then only other fields), read straight to its event; `None`
/// for anything else, [`scan`] then reads it. The event is the one `take_event` would give:
/// a message needs its conversation, a valid time and a known author, a status a known status.
pub(crate) fn scan_usual(line: &str) -> Option<LineEvent<'_>> {
    let mut s = Scanner {
        text: line,
        b: line.as_bytes(),
        i: 0,
    };
    if !s.b.starts_with(TYPE_FIRST) {
        return None;
    }
    s.i = TYPE_FIRST.len();
    let message = match s.plain_string()? {
        "message" => true,
        "status" => false,
        _ => return None,
    };
    s.literal(b",\"conversation\":\"")?;
    let conversation = s.plain_string()?;
    s.literal(b",\"at\":\"")?;
    let at = s.plain_string()?;
    if message {
        s.literal(b",\"author\":\"")?;
    } else {
        s.literal(b",\"status\":\"")?;
    }
    let value = s.plain_string()?;
    // Other fields only (a known one, even one the event ignores, is left to `scan`).
    let mut others: [&[u8]; MAX_OTHER_KEYS] = [&[]; MAX_OTHER_KEYS];
    let mut other_count = 0;
    loop {
        s.skip_ws();
        match s.next()? {
            b'}' => break,
            b',' => s.skip_ws(),
            _ => return None,
        }
        s.expect(b'"')?;
        let key = s.plain_string()?.as_bytes();
        if matches!(
            key,
            b"type" | b"conversation" | b"at" | b"author" | b"status" | b"until"
        ) || other_count == MAX_OTHER_KEYS
            || others[..other_count].contains(&key)
        {
            return None;
        }
        others[other_count] = key;
        other_count += 1;
        s.skip_ws();
        s.expect(b':')?;
        s.skip_ws();
        s.skip_simple_value()?;
    }
    s.at_end()?;
    let fact = if message {
        Fact::Message(match value {
            "customer" => Author::Customer,
            "agent" => Author::Agent,
            "automation" => Author::Automation,
            _ => return None,
        })
    } else {
        Fact::Status(match value {
            "open" => Status::Open,
            "done" => Status::Done,
            "spam" => Status::Spam,
            _ => return None,
        })
    };
    Some(LineEvent::Conversation {
        at: parse_instant(at)?,
        conversation: Cow::Borrowed(conversation),
        fact,
    })
}

/// How a line of the usual layout starts.
const TYPE_FIRST: &[u8; 9] = b"{\"type\":\"";

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// The high bit of each byte of `x` that is `"`, `\\` or a control character; above the lowest
/// such byte there may be false ones (borrows), but the lowest is exact.
#[inline]
fn specials(x: u64) -> u64 {
    let quote = x ^ (ONES * u64::from(b'"'));
    let backslash = x ^ (ONES * u64::from(b'\\'));
    let quote = quote.wrapping_sub(ONES) & !quote;
    let backslash = backslash.wrapping_sub(ONES) & !backslash;
    let control = x.wrapping_sub(ONES * 0x20) & !x;
    (quote | backslash | control) & HIGHS
}

struct Scanner<'a> {
    text: &'a str,
    b: &'a [u8],
    i: usize,
}

impl<'a> Scanner<'a> {
    #[inline]
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    #[inline]
    fn next(&mut self) -> Option<u8> {
        let c = self.peek()?;
        self.i += 1;
        Some(c)
    }

    #[inline]
    fn expect(&mut self, c: u8) -> Option<()> {
        (self.next()? == c).then_some(())
    }

    /// JSON's whitespace. (A line has no LF; a CR inside it is whitespace to serde_json too.)
    #[inline]
    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\r' | b'\n') = self.peek() {
            self.i += 1;
        }
    }

    /// Moves to the next `"`, `\\` or control character in a string, and returns it.
    #[inline]
    fn skip_to_special(&mut self) -> Option<u8> {
        while let Some(chunk) = self.b.get(self.i..self.i + 8) {
            let mut word = [0; 8];
            word.copy_from_slice(chunk);
            let found = specials(u64::from_le_bytes(word));
            if found != 0 {
                self.i += (found.trailing_zeros() / 8) as usize;
                return Some(self.b[self.i]);
            }
            self.i += 8;
        }
        while let Some(c) = self.peek() {
            if c == b'"' || c == b'\\' || c < 0x20 {
                return Some(c);
            }
            self.i += 1;
        }
        None
    }

    /// The rest of a string whose opening quote was read, if it has no escape and no control
    /// character: its raw text is then its decoded text.
    #[inline]
    fn plain_string(&mut self) -> Option<&'a str> {
        let start = self.i;
        if self.skip_to_special()? != b'"' {
            return None;
        }
        self.i += 1;
        self.text.get(start..self.i - 1)
    }

    /// The rest of a string whose opening quote was read, escapes allowed (only well-formed
    /// ones, and no `\u` escape of a surrogate).
    fn escaped_string(&mut self) -> Option<()> {
        loop {
            match self.skip_to_special()? {
                b'"' => {
                    self.i += 1;
                    return Some(());
                }
                b'\\' => {
                    self.i += 1;
                    match self.next()? {
                        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => {}
                        b'u' => {
                            let hex = self.b.get(self.i..self.i + 4)?;
                            self.i += 4;
                            let mut code = 0u32;
                            for &h in hex {
                                code = code * 16 + char::from(h).to_digit(16)?;
                            }
                            if (0xD800..0xE000).contains(&code) {
                                return None;
                            }
                        }
                        _ => return None,
                    }
                }
                _ => return None,
            }
        }
    }

    /// A value of an ignored field: a string, a plain number (no exponent, at most 30 bytes),
    /// `true`, `false` or `null`. Anything else (arrays, objects...) is left to the exact reader.
    fn skip_simple_value(&mut self) -> Option<()> {
        match self.peek()? {
            b'"' => {
                self.i += 1;
                self.escaped_string()
            }
            b'-' | b'0'..=b'9' => self.skip_number(),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            _ => None,
        }
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?`, not followed by an exponent.
    fn skip_number(&mut self) -> Option<()> {
        let start = self.i;
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        match self.next()? {
            b'0' => {}
            b'1'..=b'9' => self.digits(),
            _ => return None,
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            if !self.peek()?.is_ascii_digit() {
                return None;
            }
            self.digits();
        }
        if matches!(self.peek(), Some(b'e' | b'E' | b'0'..=b'9')) || self.i - start > 30 {
            return None;
        }
        Some(())
    }

    /// If `literal` (a key with what surrounds it) comes next, reads it and the string value
    /// after it into `slot`: `Some(true)`; `Some(false)` if it does not come next; `None` to
    /// give up.
    #[inline]
    fn usual<const N: usize>(
        &mut self,
        literal: &[u8; N],
        slot: u8,
        fields: &mut Fields<'a>,
        seen_known: &mut u8,
    ) -> Option<bool> {
        if self.b.get(self.i..self.i + N) != Some(literal) {
            return Some(false);
        }
        self.i += N;
        *field(fields, slot) = Field::Text(Cow::Borrowed(self.plain_string()?));
        *seen_known |= 1 << slot;
        Some(true)
    }

    /// `literal` next, read.
    #[inline]
    fn literal<const N: usize>(&mut self, literal: &[u8; N]) -> Option<()> {
        if self.b.get(self.i..self.i + N) != Some(literal) {
            return None;
        }
        self.i += N;
        Some(())
    }

    /// Whitespace, then the end of the line.
    fn at_end(&mut self) -> Option<()> {
        self.skip_ws();
        (self.i == self.b.len()).then_some(())
    }

    fn digits(&mut self) {
        while let Some(b'0'..=b'9') = self.peek() {
            self.i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jsonl::{parse_line, parse_line_fast};
    use proptest::prelude::*;
    use proptest::strategy::ValueTree;

    /// The fast path must agree with the exact one: same event, or same error message.
    fn agree(line: &[u8]) {
        assert_eq!(
            parse_line_fast(line),
            parse_line(line),
            "line {:?}",
            String::from_utf8_lossy(line)
        );
    }

    fn accepted(line: &str) -> bool {
        scan(line, &mut Fields::default()).is_some()
    }

    #[test]
    fn reads_the_usual_lines_straight_to_their_events() {
        for line in [
            r#"{"type":"message","conversation":"c1","at":"2026-11-01T10:00:00Z","author":"customer"}"#,
            r#"{"type":"message","conversation":"t_1","at":"2026-11-01T10:00:00.5Z","author":"agent","mid":"m_1","text":"caf\u00e9 \"ok\" 😀"}"#,
            r#"{"type":"status","conversation":"c1","at":"2026-11-01T10:00:00+01:00","status":"spam","mid":7} "#,
        ] {
            let event = scan_usual(line).expect(line);
            assert_eq!(Ok(Some(event)), parse_line(line.as_bytes()));
        }
        for line in [
            r#"{"type":"message","conversation":"c1","at":"2026-11-01T10:00:00Z","author":"bot"}"#,
            r#"{"type":"message","conversation":"c1","at":"2026-11-01 10:00:00Z","author":"agent"}"#,
            r#"{"type":"message","conversation":"c1","at":"2026-11-01T10:00:00Z","author":"agent","status":"x"}"#,
            r#"{"type":"message","conversation":"c1","at":"2026-11-01T10:00:00Z","author":"agent","x":1,"x":2}"#,
            r#"{"type":"status","conversation":"c1","at":"2026-11-01T10:00:00Z","status":"away"}"#,
            r#"{"type":"availability","at":"2026-11-01T10:00:00Z","status":"away"}"#,
            r#"{"type": "message","conversation":"c1","at":"2026-11-01T10:00:00Z","author":"agent"}"#,
        ] {
            assert_eq!(scan_usual(line), None, "{line}");
            agree(line.as_bytes());
        }
    }

    #[test]
    fn takes_the_common_shapes() {
        for line in [
            r#"{"type":"message","conversation":"c1","at":"2026-11-01T10:00:00Z","author":"customer"}"#,
            r#"{"type":"message","conversation":"t_1","at":"2026-11-01T10:00:00.5Z","author":"agent","mid":"m_1","text":"caf\u00e9 \"ok\" \n здравствуйте 😀"}"#,
            r#" { "at" : "2026-11-01T10:00:00+01:00" , "author":"automation","conversation":"é","type":"message","mid":-12.50,"x":true,"y":false,"z":null } "#,
            r#"{"type":"status","conversation":"c1","at":"2026-11-01T10:00:00Z","status":"done"}"#,
            r#"{"type":"availability","at":"2026-11-01T19:00:00Z","status":"away","until":"2026-11-02T08:00:00Z"}"#,
            "{\"type\":\"availability\",\t\"at\":\"2026-11-01T19:00:00Z\",\r\"status\":\"available\"}",
        ] {
            assert!(accepted(line), "{line}");
            agree(line.as_bytes());
        }
    }

    #[test]
    fn leaves_the_unusual_to_the_exact_reader() {
        for line in [
            "",
            "   ",
            "{}",
            r#"{"typ\u0065":"message"}"#,
            r#"{"type":"m\u0065ssage","conversation":"c1","at":"2026-11-01T10:00:00Z","author":"agent"}"#,
            r#"{"type":"message","text":{"a":1}}"#,
            r#"{"type":"message","text":[1]}"#,
            r#"{"type":"message","type":"message"}"#,
            r#"{"type":"message","conversation":"c1","at":"2026-11-01T10:00:00Z","author":"agent","author":"agent"}"#,
            r#"{"type":"status","conversation":"c1","at":"2026-11-01T10:00:00Z","status":"done","type":"status"}"#,
            r#"{"type":"availability","at":"2026-11-01T10:00:00Z","status":"away","until":"2026-11-01T11:00:00Z","at":"x"}"#,
            r#"{"type":"message","conversation":"c1","at":"2026-11-01T10:00:00Z","author":"agent"} ,"#,
            r#"{"type":"message","conversation":"c1","at":"2026-11-01T10:00:00Z","author":"agent""#,
            r#"{"type":"message","conversation":"c\u0031","at":"2026-11-01T10:00:00Z","author":"agent"}"#,
            r#"{"mid":1,"mid":2}"#,
            r#"{"type":"message","mid":1e5}"#,
            r#"{"type":"message","mid":01}"#,
            r#"{"type":"message","mid":"\ud83d\ude00"}"#,
            r#"{"type":1}"#,
            r#"{"type":"message",}"#,
            r#"{"type":"message"} x"#,
            "{\"type\":\"mess\x01age\"}",
            "[1]",
        ] {
            assert!(!accepted(line), "{line}");
            agree(line.as_bytes());
        }
        // Invalid UTF-8 in a known value, in a key and in an ignored value.
        for line in [
            &b"{\"type\":\"message\",\"conversation\":\"c\xff\"}"[..],
            b"{\"ty\xc3\":\"message\"}",
            b"{\"type\":\"message\",\"text\":\"\xed\xa0\x80\"}",
        ] {
            assert!(std::str::from_utf8(line).is_err());
            agree(line);
        }
    }

    /// Pieces of lines: keys (known, unknown, escaped, duplicated) and values of every kind.
    fn key() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("type".to_owned()),
            Just("conversation".to_owned()),
            Just("at".to_owned()),
            Just("author".to_owned()),
            Just("status".to_owned()),
            Just("until".to_owned()),
            Just("mid".to_owned()),
            Just("text".to_owned()),
            Just("typ\\u0065".to_owned()),
            Just("a\\u0074".to_owned()),
            Just("\\u0061t".to_owned()),
            Just("é".to_owned()),
            Just("".to_owned()),
            "[a-z]{1,3}",
        ]
    }

    fn value() -> impl Strategy<Value = String> {
        let text = prop_oneof![
            Just("message"),
            Just("status"),
            Just("availability"),
            Just("note"),
            Just("customer"),
            Just("agent"),
            Just("automation"),
            Just("bot"),
            Just("open"),
            Just("done"),
            Just("spam"),
            Just("away"),
            Just("available"),
            Just("c1"),
            Just("c\\u0031"),
            Just("m\\u0065ssage"),
            Just("\\\"q\\\""),
            Just("\\ud83d\\ude00"),
            Just("\\ud83d"),
            Just("\\x"),
            Just("\\u12"),
            Just("здравствуйте 😀"),
            Just("2026-11-01T10:00:00Z"),
            Just("2026-11-01T10:00:00.25Z"),
            Just("2026-11-01T11:00:00+01:00"),
            Just("2026-11-02T08:00:00Z"),
            Just("2026-11-01T09:00:00Z"),
            Just("2026-11-01 10:00:00Z"),
            Just("2026-11-01T10:00:00.1234Z"),
            Just("2026-11-01T1\\u0030:00:00Z"),
        ];
        prop_oneof![
            4 => text.prop_map(|t| format!("\"{t}\"")),
            1 => "[a-zA-Z0-9 ]{0,8}".prop_map(|t| format!("\"{t}\"")),
            1 => prop_oneof![
                Just("0"), Just("-0"), Just("12"), Just("-3.25"), Just("1e5"), Just("01"),
                Just("1."), Just("-"), Just(".5"), Just("1E-2"), Just("12345678901234567890123"),
                Just("true"), Just("false"), Just("null"), Just("nul"), Just("tru"),
                Just("[]"), Just("[1,\"a\",{\"b\":null}]"), Just("{}"), Just("{\"a\":[1,2]}"),
                Just("{\"type\":\"x\"}"), Just("[1,]"),
            ]
            .prop_map(str::to_owned),
        ]
    }

    fn whitespace() -> impl Strategy<Value = String> {
        prop_oneof![
            8 => Just(String::new()),
            1 => Just(" ".to_owned()),
            1 => "[ \t\r]{1,3}",
        ]
    }

    /// A line built of pairs, then perhaps damaged.
    fn line() -> impl Strategy<Value = Vec<u8>> {
        let pair = (key(), value(), whitespace(), whitespace(), whitespace());
        let object = (
            proptest::collection::vec(pair, 0..8),
            whitespace(),
            whitespace(),
        )
            .prop_map(|(pairs, before, after)| {
                let body: Vec<String> = pairs
                    .into_iter()
                    .map(|(k, v, w1, w2, w3)| format!("{w1}\"{k}\"{w2}:{w3}{v}"))
                    .collect();
                format!("{before}{{{}}}{after}", body.join(",")).into_bytes()
            });
        let damage = prop_oneof![
            6 => Just(None),
            1 => (any::<prop::sample::Index>(), Just(0u8)).prop_map(Some), // truncate
            1 => (any::<prop::sample::Index>(), any::<u8>()).prop_map(Some), // insert a byte
            1 => (any::<prop::sample::Index>(), 0x80u8..=0xffu8).prop_map(Some), // bad UTF-8
        ];
        (object, damage, any::<bool>()).prop_map(|(mut bytes, damage, cr)| {
            match damage {
                None => {}
                Some((at, 0)) => bytes.truncate(at.index(bytes.len() + 1)),
                Some((at, byte)) => bytes.insert(at.index(bytes.len() + 1), byte),
            }
            if cr {
                bytes.push(b'\r');
            }
            bytes
        })
    }

    /// Lines with the fields an event needs, in any order, with values drawn from the pool
    /// (so most are events, some errors), extra fields and whitespace, sometimes damaged.
    fn event_line() -> impl Strategy<Value = Vec<u8>> {
        let kind = prop_oneof![
            Just(("message", &["conversation", "at", "author"][..])),
            Just(("status", &["conversation", "at", "status"][..])),
            Just(("availability", &["at", "status"][..])),
            Just(("availability", &["at", "status", "until"][..])),
        ];
        let extra = proptest::collection::vec((0u8..4, key(), value()), 0..3);
        let values = proptest::collection::vec((0u8..8, value()), 4);
        (
            kind,
            values,
            extra,
            any::<prop::sample::Index>(),
            whitespace(),
            line(),
        )
            .prop_map(|((kind, needed), values, extra, shuffle, ws, noise)| {
                let mut pairs: Vec<String> = vec![format!("\"type\":{ws}\"{kind}\"")];
                for (name, (pick, value)) in needed.iter().zip(values) {
                    let valid: &[&str] = match (*name, kind) {
                        ("conversation", _) => &["c1", "c2", "é", "c\\u0031"],
                        ("at", _) => &["2026-11-01T10:00:00Z", "2026-11-01T10:00:00.5+01:00"],
                        ("until", _) => &["2026-11-02T08:00:00Z", "2026-11-01T10:00:00Z"],
                        ("author", _) => &["customer", "agent", "automation"],
                        ("status", "status") => &["open", "done", "spam"],
                        _ => &["away", "available"],
                    };
                    let value = if pick < 6 {
                        format!("\"{}\"", valid[usize::from(pick) % valid.len()])
                    } else {
                        value
                    };
                    pairs.push(format!("\"{name}\":{value}"));
                }
                pairs.extend(extra.into_iter().map(|(unknown, k, v)| {
                    // Mostly ignored fields, sometimes a known key again or an escaped one.
                    let k = if unknown > 0 { format!("x{k}") } else { k };
                    format!("\"{k}\"{ws}:{v}")
                }));
                let rotate = shuffle.index(pairs.len());
                pairs.rotate_left(rotate);
                let mut bytes = format!("{{{}}}", pairs.join(",")).into_bytes();
                // Now and then, damage it the way `line()` damaged its own.
                if noise.len() % 7 == 0 {
                    let cut = noise.len().min(bytes.len());
                    bytes.truncate(bytes.len() - cut / 2);
                }
                bytes
            })
    }

    /// Lines of the usual layout with values of every kind in its places and any tail.
    fn usual_line() -> impl Strategy<Value = Vec<u8>> {
        let kind = prop_oneof![
            Just("message"),
            Just("status"),
            Just("availability"),
            Just("x")
        ];
        let third = prop_oneof![Just("author"), Just("status"), Just("until"), Just("mid")];
        let text = |pool: &'static [&'static str]| {
            prop_oneof![
                4 => proptest::sample::select(pool).prop_map(|t| format!("\"{t}\"")),
                1 => value(),
            ]
        };
        let tail = proptest::collection::vec((0u8..4, key(), value()), 0..3);
        (
            kind,
            text(&["c1", "t_1", "é", "c\\u0031", ""]),
            text(&["2026-11-01T10:00:00Z", "2026-11-01T10:00:00.25+01:00", "2026-02-30T10:00:00Z"]),
            third,
            text(&["customer", "agent", "automation", "open", "done", "spam", "bot"]),
            tail,
            line(),
        )
            .prop_map(|(kind, conversation, at, third, value, tail, noise)| {
                let mut line = format!(
                    "{{\"type\":\"{kind}\",\"conversation\":{conversation},\"at\":{at},\"{third}\":{value}"
                );
                for (unknown, k, v) in tail {
                    let k = if unknown > 0 { format!("x{k}") } else { k };
                    line.push_str(&format!(",\"{k}\":{v}"));
                }
                line.push('}');
                let mut bytes = line.into_bytes();
                if noise.len() % 5 == 0 {
                    bytes.truncate(bytes.len().saturating_sub(noise.len() % 9));
                }
                bytes
            })
    }

    /// Realistic, valid lines: the fast path must take them (or the speed is lost).
    fn valid_line() -> impl Strategy<Value = String> {
        let conversation = "[a-z0-9_]{1,20}";
        let at = (0i64..4_000_000_000_000, 0u8..4).prop_map(|(ms, style)| {
            let text = crate::time::format_instant(ms - ms % 1000);
            match style {
                0 => text,
                1 => text.replace('Z', ".5Z"),
                2 => text.replace('Z', ".125Z"),
                _ => text.replace('Z', "+00:00"),
            }
        });
        let author = prop_oneof![Just("customer"), Just("agent"), Just("automation")];
        let extra = prop_oneof![
            Just(String::new()),
            "[a-z0-9]{1,12}".prop_map(|m| format!(",\"mid\":\"{m}\"")),
            (0u64..u64::MAX).prop_map(|m| format!(",\"mid\":{m}")),
            "[ -~]{0,30}".prop_map(|t| format!(",\"text\":{}", serde_json::to_string(&t).unwrap())),
            "\\PC{0,10}".prop_map(|t| format!(",\"text\":{}", serde_json::to_string(&t).unwrap())),
        ];
        (conversation, at, author, extra).prop_map(|(c, at, author, extra)| {
            format!(
                "{{\"type\":\"message\",\"conversation\":\"{c}\",\"at\":\"{at}\",\"author\":\"{author}\"{extra}}}"
            )
        })
    }

    /// The generator of event-like lines must give events, errors and lines the fast path
    /// takes, or the agreement test would test little.
    #[test]
    fn event_like_lines_are_of_every_kind() {
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        let (mut events, mut errors, mut fast) = (0, 0, 0);
        for _ in 0..2000 {
            let line = event_line().new_tree(&mut runner).unwrap().current();
            match parse_line(&line) {
                Ok(Some(_)) => events += 1,
                Ok(None) => {}
                Err(_) => errors += 1,
            }
            let text = std::str::from_utf8(&line).unwrap_or("");
            if scan(text, &mut Fields::default()).is_some() {
                fast += 1;
            }
        }
        assert!(
            events > 200 && errors > 200 && fast > 200,
            "{events} {errors} {fast}"
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]

        #[test]
        fn finds_the_first_special_byte_of_a_word(bytes in proptest::array::uniform8(prop_oneof![
            any::<u8>(), Just(b'"'), Just(b'\\'), 0u8..0x20, 0x20u8..0x7f,
        ])) {
            let found = specials(u64::from_le_bytes(bytes));
            let first = bytes.iter().position(|&c| c == b'"' || c == b'\\' || c < 0x20);
            prop_assert_eq!(
                (found != 0).then(|| found.trailing_zeros() as usize / 8),
                first
            );
        }

        #[test]
        fn fast_and_exact_agree_on_random_lines(line in line()) {
            agree(&line);
        }

        #[test]
        fn fast_and_exact_agree_on_event_like_lines(line in event_line()) {
            agree(&line);
        }

        #[test]
        fn fast_and_exact_agree_on_usual_lines(line in usual_line()) {
            agree(&line);
        }

        #[test]
        fn fast_and_exact_agree_on_random_bytes(line in proptest::collection::vec(any::<u8>(), 0..40)) {
            agree(&line);
        }

        #[test]
        fn the_fast_path_takes_realistic_lines(line in valid_line()) {
            prop_assert!(accepted(&line), "{}", line);
            agree(line.as_bytes());
        }
    }
}
