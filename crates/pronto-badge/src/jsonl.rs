//! The contract's JSON Lines: one event per line, fully decoded, strictly checked.
//!
//! This is the exact reading, on `serde_json`; a faster reader must agree with it line by line.
//! [`parse_line_fast`] is one: the scanner of [`crate::fastline`] in front of [`parse_line`],
//! which it leaves every line it is not sure of.

use crate::event::{
    Author, Availability, AvailabilityEvent, ConversationEvent, ConversationId, Event, Fact, Log,
    Status,
};
use crate::time::{Millis, parse_instant};
use rustc_hash::FxHashMap;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use std::borrow::Cow;
use std::fmt;
use std::mem::take;

/// A refused log: the lowest-numbered bad line and what is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct LineError {
    pub line: u64,
    pub reason: String,
}

/// One line's event, its conversation still named as in the source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LineEvent<'a> {
    Conversation {
        at: Millis,
        conversation: Cow<'a, str>,
        fact: Fact,
    },
    Availability {
        at: Millis,
        availability: Availability,
    },
}

impl LineEvent<'_> {
    pub fn at(&self) -> Millis {
        match self {
            LineEvent::Conversation { at, .. } | LineEvent::Availability { at, .. } => *at,
        }
    }
}

/// Whether a line holds nothing but whitespace (and is skipped): any Unicode whitespace, as
/// `str::trim` sees it, not only JSON's.
pub fn is_blank(line: &[u8]) -> bool {
    match line
        .iter()
        .find(|c| !matches!(c, b' ' | b'\t' | b'\r' | b'\n'))
    {
        None => true,
        // A JSON line starts with `{`: only a line starting with a non-ASCII byte needs decoding.
        Some(&first) if first < 0x80 => false,
        Some(_) => std::str::from_utf8(line).is_ok_and(|text| text.trim().is_empty()),
    }
}

/// Reads one line (without its LF; a trailing CR is removed here). `Ok(None)` for a blank line.
pub fn parse_line(line: &[u8]) -> Result<Option<LineEvent<'_>>, String> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if is_blank(line) {
        return Ok(None);
    }
    let mut deserializer = serde_json::Deserializer::from_slice(line);
    let mut fields = deserializer
        .deserialize_any(LineVisitor)
        .map_err(describe_json_error)?;
    deserializer.end().map_err(describe_json_error)?;
    fields.take_event().map(Some)
}

/// Reads one line as [`parse_line`] does, with the same result and the same error messages, but
/// faster on the common shape of a line (see [`crate::fastline`]).
pub fn parse_line_fast(line: &[u8]) -> Result<Option<LineEvent<'_>>, String> {
    match std::str::from_utf8(line) {
        Ok(text) => parse_text_line_fast(text),
        Err(_) => parse_line(line),
    }
}

/// [`parse_line_fast`] for a line already known to be UTF-8 (e.g. a whole block of lines was
/// checked at once, which is faster than line by line).
pub fn parse_text_line_fast(line: &str) -> Result<Option<LineEvent<'_>>, String> {
    let stripped = line.strip_suffix('\r').unwrap_or(line);
    if let Some(event) = crate::fastline::scan_usual(stripped) {
        return Ok(Some(event));
    }
    let mut fields = Fields::default();
    if crate::fastline::scan(stripped, &mut fields).is_some()
        && let Ok(event) = fields.take_event()
    {
        return Ok(Some(event));
    }
    // Blank lines, errors and every unusual line: the exact reader decides and explains.
    parse_line(line.as_bytes())
}

fn describe_json_error(error: serde_json::Error) -> String {
    let message = error.to_string();
    if message.starts_with(NOT_AN_OBJECT) || message.starts_with("duplicate key") {
        return message
            .split(" at line ")
            .next()
            .unwrap_or(&message)
            .to_owned();
    }
    // serde_json says "at line 1 column N"; within one line, the column is what helps.
    format!(
        "not JSON: {} (column {})",
        strip_position(&message),
        error.column()
    )
}

fn strip_position(message: &str) -> &str {
    message.split(" at line ").next().unwrap_or(message)
}

const NOT_AN_OBJECT: &str = "not a JSON object";

/// A required field as found: absent, null, a string, or some other JSON value.
#[derive(Debug, Default)]
pub(crate) enum Field<'a> {
    #[default]
    Absent,
    Null,
    Text(Cow<'a, str>),
    Other(&'static str),
}

#[derive(Debug, Default)]
pub(crate) struct Fields<'a> {
    pub(crate) kind: Field<'a>,
    pub(crate) conversation: Field<'a>,
    pub(crate) at: Field<'a>,
    pub(crate) author: Field<'a>,
    pub(crate) status: Field<'a>,
    pub(crate) until: Field<'a>,
}

impl<'a> Fields<'a> {
    pub(crate) fn take_event(&mut self) -> Result<LineEvent<'a>, String> {
        let kind = required("type", take(&mut self.kind))?;
        match kind.as_ref() {
            "message" => {
                let conversation = required("conversation", take(&mut self.conversation))?;
                let at = instant("at", required("at", take(&mut self.at))?)?;
                let author = match required("author", take(&mut self.author))?.as_ref() {
                    "customer" => Author::Customer,
                    "agent" => Author::Agent,
                    "automation" => Author::Automation,
                    other => return Err(format!("unknown author {other:?}")),
                };
                Ok(LineEvent::Conversation {
                    at,
                    conversation,
                    fact: Fact::Message(author),
                })
            }
            "status" => {
                let conversation = required("conversation", take(&mut self.conversation))?;
                let at = instant("at", required("at", take(&mut self.at))?)?;
                let status = match required("status", take(&mut self.status))?.as_ref() {
                    "open" => Status::Open,
                    "done" => Status::Done,
                    "spam" => Status::Spam,
                    other => return Err(format!("unknown status {other:?}")),
                };
                Ok(LineEvent::Conversation {
                    at,
                    conversation,
                    fact: Fact::Status(status),
                })
            }
            "availability" => {
                let at = instant("at", required("at", take(&mut self.at))?)?;
                let availability = match required("status", take(&mut self.status))?.as_ref() {
                    "away" => Availability::Away {
                        // `"until": null` carries no until, as if absent.
                        until: match take(&mut self.until) {
                            Field::Absent | Field::Null => None,
                            until => {
                                let until = instant("until", required("until", until)?)?;
                                if until <= at {
                                    return Err("\"until\" is not after \"at\"".to_owned());
                                }
                                Some(until)
                            }
                        },
                    },
                    "available" => {
                        if !matches!(take(&mut self.until), Field::Absent | Field::Null) {
                            return Err("\"until\" on an available event".to_owned());
                        }
                        Availability::Available
                    }
                    other => return Err(format!("unknown availability status {other:?}")),
                };
                Ok(LineEvent::Availability { at, availability })
            }
            other => Err(format!("unknown type {other:?}")),
        }
    }
}

fn required<'a>(name: &str, field: Field<'a>) -> Result<Cow<'a, str>, String> {
    match field {
        Field::Text(text) => Ok(text),
        Field::Absent => Err(format!("missing field {name:?}")),
        Field::Null => Err(format!("field {name:?} is null")),
        Field::Other(kind) => Err(format!("field {name:?} is {kind}, not a string")),
    }
}

fn instant(name: &str, text: Cow<'_, str>) -> Result<Millis, String> {
    parse_instant(&text).ok_or_else(|| format!("bad time {text:?} in {name:?}"))
}

struct LineVisitor;

impl<'de> Visitor<'de> for LineVisitor {
    type Value = Fields<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut fields = Fields::default();
        let mut seen: Vec<Cow<'de, str>> = Vec::new();
        while let Some(key) = map.next_key_seed(TextSeed)? {
            if seen.contains(&key) {
                return Err(de::Error::custom(format_args!("duplicate key {key:?}")));
            }
            let slot = match key.as_ref() {
                "type" => Some(&mut fields.kind),
                "conversation" => Some(&mut fields.conversation),
                "at" => Some(&mut fields.at),
                "author" => Some(&mut fields.author),
                "status" => Some(&mut fields.status),
                "until" => Some(&mut fields.until),
                _ => None,
            };
            match slot {
                Some(slot) => *slot = map.next_value_seed(FieldSeed)?,
                None => map.next_value_seed(StrictValue)?,
            }
            seen.push(key);
        }
        Ok(fields)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
        Err(de::Error::custom(NOT_AN_OBJECT))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Err(E::custom(NOT_AN_OBJECT))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Err(E::custom(NOT_AN_OBJECT))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Err(E::custom(NOT_AN_OBJECT))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Err(E::custom(NOT_AN_OBJECT))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Err(E::custom(NOT_AN_OBJECT))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Err(E::custom(NOT_AN_OBJECT))
    }
}

/// A key or string value, borrowed from the line when it has no escapes.
struct TextSeed;

impl<'de> DeserializeSeed<'de> for TextSeed {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(TextVisitor)
    }
}

struct TextVisitor;

impl<'de> Visitor<'de> for TextVisitor {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_borrowed_str<E: de::Error>(self, text: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(text))
    }
    fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(text.to_owned()))
    }
    fn visit_string<E: de::Error>(self, text: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(text))
    }
}

struct FieldSeed;

impl<'de> DeserializeSeed<'de> for FieldSeed {
    type Value = Field<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(FieldVisitor)
    }
}

struct FieldVisitor;

impl<'de> Visitor<'de> for FieldVisitor {
    type Value = Field<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_borrowed_str<E: de::Error>(self, text: &'de str) -> Result<Self::Value, E> {
        Ok(Field::Text(Cow::Borrowed(text)))
    }
    fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
        Ok(Field::Text(Cow::Owned(text.to_owned())))
    }
    fn visit_string<E: de::Error>(self, text: String) -> Result<Self::Value, E> {
        Ok(Field::Text(Cow::Owned(text)))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Field::Null)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Field::Other("a boolean"))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Field::Other("a number"))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Field::Other("a number"))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Field::Other("a number"))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        StrictVisitor.visit_seq(seq)?;
        Ok(Field::Other("an array"))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        StrictVisitor.visit_map(map)?;
        Ok(Field::Other("an object"))
    }
}

/// Any JSON value, ignored but fully decoded: every string must decode (a lone surrogate
/// escape does not) and no object, however deep, may repeat a key. (serde's `IgnoredAny`
/// checks neither.)
struct StrictValue;

impl<'de> DeserializeSeed<'de> for StrictValue {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(StrictVisitor)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(StrictValue)?.is_some() {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen: Vec<Cow<'de, str>> = Vec::new();
        while let Some(key) = map.next_key_seed(TextSeed)? {
            if seen.contains(&key) {
                return Err(de::Error::custom(format_args!("duplicate key {key:?}")));
            }
            map.next_value_seed(StrictValue)?;
            seen.push(key);
        }
        Ok(())
    }
}

/// Builds a [`Log`], giving each conversation name a dense id in order of first use.
#[derive(Debug, Default)]
pub struct LogBuilder {
    log: Log,
    ids: FxHashMap<String, ConversationId>,
}

impl LogBuilder {
    pub fn conversation_id(&mut self, name: &str) -> ConversationId {
        if let Some(id) = self.ids.get(name) {
            return *id;
        }
        let id = ConversationId(self.log.conversation_names.len() as u32);
        self.log.conversation_names.push(name.to_owned());
        self.ids.insert(name.to_owned(), id);
        id
    }

    /// Adds one line's event; `seq` is its line number.
    pub fn add(&mut self, event: LineEvent<'_>, seq: u64) {
        let event = match event {
            LineEvent::Conversation {
                at,
                conversation,
                fact,
            } => {
                let conversation = self.conversation_id(&conversation);
                Event::Conversation(ConversationEvent {
                    at,
                    seq,
                    conversation,
                    fact,
                })
            }
            LineEvent::Availability { at, availability } => {
                Event::Availability(AvailabilityEvent {
                    at,
                    seq,
                    availability,
                })
            }
        };
        self.log.push(event);
    }

    pub fn finish(self) -> Log {
        self.log
    }
}

/// Reads a whole log held in memory: a UTF-8 BOM at the start is skipped, lines split on LF,
/// numbered from 1. Refuses the log at its lowest-numbered bad line.
pub fn parse_log(text: &[u8]) -> Result<Log, LineError> {
    let text = text.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(text);
    let mut builder = LogBuilder::default();
    for (index, line) in text.split(|&c| c == b'\n').enumerate() {
        let number = index as u64 + 1;
        match parse_line(line) {
            Ok(Some(event)) => builder.add(event, number),
            Ok(None) => {}
            Err(reason) => {
                return Err(LineError {
                    line: number,
                    reason,
                });
            }
        }
    }
    Ok(builder.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(line: &str) -> String {
        parse_line(line.as_bytes()).expect_err(line)
    }

    #[test]
    fn reads_each_kind_of_event() {
        let message = r#"{"type":"message","conversation":"c1","at":"2026-11-01T10:00:00Z","author":"customer"}"#;
        assert_eq!(
            parse_line(message.as_bytes()).unwrap(),
            Some(LineEvent::Conversation {
                at: parse_instant("2026-11-01T10:00:00Z").unwrap(),
                conversation: "c1".into(),
                fact: Fact::Message(Author::Customer),
            })
        );
        let away = r#"{"type":"availability","at":"2026-11-01T19:00:00Z","status":"away","until":"2026-11-02T08:00:00+01:00"}"#;
        assert_eq!(
            parse_line(away.as_bytes()).unwrap(),
            Some(LineEvent::Availability {
                at: parse_instant("2026-11-01T19:00:00Z").unwrap(),
                availability: Availability::Away {
                    until: parse_instant("2026-11-02T07:00:00Z"),
                },
            })
        );
    }

    #[test]
    fn decodes_escapes_and_ignores_other_fields() {
        let line = r#"{"typ\u0065":"status","conversation":"c\u0031","at":"2026-11-01T10:00:00Z","status":"done","text":{"a":[1,2,{"b":null}]},"mid":7}"#;
        match parse_line(line.as_bytes()).unwrap() {
            Some(LineEvent::Conversation {
                conversation, fact, ..
            }) => {
                assert_eq!(conversation, "c1");
                assert_eq!(fact, Fact::Status(Status::Done));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn checks_ignored_values_fully_and_reads_a_null_until_as_none() {
        let base =
            r#"{"type":"status","conversation":"c1","at":"2026-11-01T10:00:00Z","status":"done""#;
        assert_eq!(
            parse_line(format!(r#"{base},"meta":{{"a":1,"b":[{{"k":1,"k":2}}]}}}}"#).as_bytes()),
            Err("duplicate key \"k\"".to_owned())
        );
        let lone_line = format!(r#"{base},"text":"\ud800"}}"#);
        let lone = parse_line(lone_line.as_bytes());
        assert!(
            lone.clone().is_err_and(|e| e.starts_with("not JSON")),
            "{lone:?}"
        );
        assert!(
            parse_line(
                format!(r#"{base},"text":"\ud83d\ude00","meta":{{"a":{{"a":1}}}}}}"#).as_bytes()
            )
            .is_ok()
        );
        let away =
            r#"{"type":"availability","at":"2026-11-01T10:00:00Z","status":"away","until":null}"#;
        assert_eq!(
            parse_line(away.as_bytes()).unwrap(),
            Some(LineEvent::Availability {
                at: parse_instant("2026-11-01T10:00:00Z").unwrap(),
                availability: Availability::Away { until: None },
            })
        );
        let available = r#"{"type":"availability","at":"2026-11-01T10:00:00Z","status":"available","until":null}"#;
        assert!(parse_line(available.as_bytes()).is_ok());
    }

    #[test]
    fn unicode_whitespace_lines_are_blank() {
        assert!(is_blank(" \t\r".as_bytes()));
        assert!(is_blank("\u{a0}\u{3000} ".as_bytes()));
        assert!(!is_blank(" {}".as_bytes()));
        assert!(!is_blank(b"\xff"));
        assert_eq!(parse_line("\u{a0}".as_bytes()), Ok(None));
    }

    #[test]
    fn names_what_is_wrong() {
        assert!(reason("{").starts_with("not JSON"));
        assert!(reason(r#"{"type":"message"} x"#).starts_with("not JSON"));
        assert_eq!(reason("[1]"), "not a JSON object");
        assert_eq!(reason("\"message\""), "not a JSON object");
        assert_eq!(
            reason(r#"{"type":"message","type":"status"}"#),
            "duplicate key \"type\""
        );
        assert_eq!(
            reason(r#"{"at":"x","a\u0074":"y"}"#),
            "duplicate key \"at\""
        );
        assert_eq!(reason(r#"{"conversation":"c1"}"#), "missing field \"type\"");
        assert_eq!(
            reason(
                r#"{"type":"message","conversation":"c1","at":"2026-11-01T10:00:00Z","author":"bot"}"#
            ),
            "unknown author \"bot\""
        );
        assert_eq!(
            reason(
                r#"{"type":"message","conversation":null,"at":"2026-11-01T10:00:00Z","author":"agent"}"#
            ),
            "field \"conversation\" is null"
        );
        assert_eq!(
            reason(
                r#"{"type":"message","conversation":1,"at":"2026-11-01T10:00:00Z","author":"agent"}"#
            ),
            "field \"conversation\" is a number, not a string"
        );
        assert_eq!(
            reason(
                r#"{"type":"message","conversation":"c","at":"2026-11-01 10:00:00Z","author":"agent"}"#
            ),
            "bad time \"2026-11-01 10:00:00Z\" in \"at\""
        );
        assert_eq!(reason(r#"{"type":"note"}"#), "unknown type \"note\"");
        assert_eq!(
            reason(
                r#"{"type":"availability","at":"2026-11-01T10:00:00Z","status":"available","until":"2026-11-01T11:00:00Z"}"#
            ),
            "\"until\" on an available event"
        );
        assert_eq!(
            reason(
                r#"{"type":"availability","at":"2026-11-01T10:00:00Z","status":"away","until":"2026-11-01T10:00:00Z"}"#
            ),
            "\"until\" is not after \"at\""
        );
    }

    #[test]
    fn numbers_lines_and_skips_bom_crlf_and_blank_lines() {
        let text = "\u{feff}{\"type\":\"availability\",\"at\":\"2026-11-01T10:00:00Z\",\"status\":\"away\"}\r\n  \r\n\n{\"type\":\"message\"}\n";
        assert_eq!(
            parse_log(text.as_bytes()),
            Err(LineError {
                line: 4,
                reason: "missing field \"conversation\"".into()
            })
        );
    }
}
