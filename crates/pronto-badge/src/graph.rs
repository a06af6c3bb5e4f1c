//! The Graph API import: Meta's export of a Page's Messenger inbox to a [`Log`], by "The Graph
//! API import" of `shared/docs/responsiveness.md`.
//!
//! A document is the JSON of one response of
//! `GET /{page-id}/conversations?fields=messages{created_time,from,message}`, or a JSON array of
//! such responses:
//!
//! ```json
//! {"data": [{"messages": {"data": [{"created_time": "2026-11-02T09:21:40+0000",
//!                                   "from": {"name": "…", "email": "…@facebook.com", "id": "104857600123456"},
//!                                   "message": "…", "id": "m_…"}],
//!                         "paging": {"cursors": {"before": "…", "after": "…"}}},
//!            "id": "t_…"}],
//!  "paging": {"cursors": {"before": "…", "after": "…"}, "next": "https://graph.facebook.com/…"}}
//! ```
//!
//! Only `data[].id`, `data[].messages.data[].id`, `.created_time` and `.from.id` are read; every
//! other field (`updated_time`, `participants`, `paging`, `from.name`, `from.email`, `message`,
//! attachments...) is ignored, whatever its value. A conversation without `messages` has no
//! messages. Messages are listed newest first; a message from the page (`from.id` is the page
//! id) is `agent`, any other `customer`. The format has no automation, statuses or availability.
//!
//! Documents are added in the caller's order (a folder in file-name order). The order of the
//! events is the reverse of the listing, over all documents: within a conversation, messages at
//! the same second keep their chronological order, even when its older messages come in a later
//! document. A message id seen twice (overlapping pages) is kept once, at its first listing.
//!
//! Pure: it reads bytes, never the file system.

use crate::event::{Author, ConversationEvent, ConversationId, Fact, Log};
use crate::time::{Millis, parse_instant};
use rustc_hash::{FxHashMap, FxHashSet};
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::fmt;

/// A refused document: its name, where in it (a JSON path such as
/// `data[3].messages.data[0].created_time`, empty for the whole document) and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{document}: {}{reason}", location(.path))]
pub struct GraphError {
    pub document: String,
    pub path: String,
    pub reason: String,
}

fn location(path: &str) -> String {
    if path.is_empty() {
        String::new()
    } else {
        format!("{path}: ")
    }
}

/// What the documents added so far held, for the report.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GraphCounts {
    pub documents: u64,
    /// Distinct conversation ids.
    pub conversations: u64,
    /// Conversations listed with no message at all (an export without `fields=messages{...}`
    /// has only these).
    pub conversations_without_messages: u64,
    /// Messages kept, duplicates not counted.
    pub messages: u64,
    /// Of them, messages from the page (`agent`). None at all usually means a wrong page id.
    pub page_messages: u64,
    /// Messages whose id was already listed (overlapping pages), skipped.
    pub duplicates_skipped: u64,
}

/// Reads Graph API documents, one after the other, into one [`Log`].
#[derive(Debug)]
pub struct GraphImport {
    page_id: String,
    /// Every conversation listed, with its id in the log once it has a message.
    conversations: FxHashMap<String, Option<ConversationId>>,
    names: Vec<String>,
    message_ids: FxHashSet<String>,
    /// Kept messages in listing order (newest first within each conversation).
    listed: Vec<Listed>,
    counts: GraphCounts,
}

#[derive(Clone, Copy, Debug)]
struct Listed {
    conversation: ConversationId,
    at: Millis,
    author: Author,
}

impl GraphImport {
    /// An import for the page whose id is `page_id`: its messages are the `agent` ones.
    pub fn new(page_id: &str) -> Self {
        Self {
            page_id: page_id.to_owned(),
            conversations: FxHashMap::default(),
            names: Vec::new(),
            message_ids: FxHashSet::default(),
            listed: Vec::new(),
            counts: GraphCounts::default(),
        }
    }

    pub fn page_id(&self) -> &str {
        &self.page_id
    }

    /// Reads one document; `name` (a file name) is only used in errors. A refused document
    /// leaves the import as it was.
    pub fn add_document(&mut self, name: &str, bytes: &[u8]) -> Result<(), GraphError> {
        let staged = read_document(&self.page_id, bytes).map_err(|problem| GraphError {
            document: name.to_owned(),
            path: problem.path,
            reason: problem.reason,
        })?;
        self.commit(staged);
        Ok(())
    }

    fn commit(&mut self, staged: Vec<StagedConversation>) {
        self.counts.documents += 1;
        for conversation in staged {
            let slot = match self.conversations.get_mut(&conversation.id) {
                Some(slot) => slot,
                None => self
                    .conversations
                    .entry(conversation.id.clone())
                    .or_insert(None),
            };
            for message in conversation.messages {
                if !self.message_ids.insert(message.id) {
                    self.counts.duplicates_skipped += 1;
                    continue;
                }
                let id = *slot.get_or_insert_with(|| {
                    let id = ConversationId(self.names.len() as u32);
                    self.names.push(conversation.id.clone());
                    id
                });
                let author = if message.from_page {
                    self.counts.page_messages += 1;
                    Author::Agent
                } else {
                    Author::Customer
                };
                self.counts.messages += 1;
                self.listed.push(Listed {
                    conversation: id,
                    at: message.at,
                    author,
                });
            }
        }
    }

    pub fn counts(&self) -> GraphCounts {
        let conversations = self.conversations.len() as u64;
        GraphCounts {
            conversations,
            conversations_without_messages: conversations - self.names.len() as u64,
            ..self.counts
        }
    }

    /// The log of every document added. Event `seq` numbers run backwards over the listing
    /// (`seq` = messages kept − listing index), so the contract's (instant, seq) order is the
    /// chronological order, same-second messages included.
    pub fn finish(self) -> Log {
        let total = self.listed.len() as u64;
        let conversation_events = self
            .listed
            .iter()
            .enumerate()
            .map(|(index, listed)| ConversationEvent {
                at: listed.at,
                seq: total - index as u64,
                conversation: listed.conversation,
                fact: Fact::Message(listed.author),
            })
            .collect();
        Log {
            conversation_events,
            availability_events: Vec::new(),
            conversation_names: self.names,
        }
    }
}

/// `created_time` as the Graph API writes it, `2026-11-02T09:21:40+0000`, at second precision;
/// also with `+00:00` or `Z`. Any offset is honoured. `None` for anything else.
fn parse_graph_time(text: &str) -> Option<Millis> {
    if text.len() < 20 || !text.is_char_boundary(19) {
        return None;
    }
    let (stamp, zone) = text.split_at(19);
    let zone = match zone.as_bytes() {
        [b'Z'] => "Z".to_owned(),
        [sign @ (b'+' | b'-'), h1, h2, m1, m2] => {
            String::from_utf8(vec![*sign, *h1, *h2, b':', *m1, *m2]).ok()?
        }
        [b'+' | b'-', _, _, b':', _, _] => zone.to_owned(),
        _ => return None,
    };
    parse_instant(&format!("{stamp}{zone}"))
}

// ---------------------------------------------------------------------------------------------
// Reading one document: a streaming walk over the JSON that knows where it is.

#[derive(Debug)]
struct StagedConversation {
    id: String,
    messages: Vec<StagedMessage>,
}

#[derive(Debug)]
struct StagedMessage {
    id: String,
    at: Millis,
    from_page: bool,
}

#[derive(Debug)]
struct Problem {
    path: String,
    reason: String,
}

fn read_document(page_id: &str, bytes: &[u8]) -> Result<Vec<StagedConversation>, Problem> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(Problem {
            path: String::new(),
            reason: "empty document".to_owned(),
        });
    }
    let mut ctx = Ctx {
        page_id,
        path: Vec::new(),
        conversations: Vec::new(),
        problem: None,
    };
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let read = DocumentSeed { ctx: &mut ctx }
        .deserialize(&mut deserializer)
        .and_then(|()| deserializer.end());
    match read {
        Ok(()) => Ok(ctx.conversations),
        Err(error) => Err(ctx.problem.take().unwrap_or_else(|| not_json(&error))),
    }
}

fn not_json(error: &serde_json::Error) -> Problem {
    let message = error.to_string();
    let message = message.split(" at line ").next().unwrap_or(&message);
    Problem {
        path: String::new(),
        reason: format!(
            "not JSON: {message} (line {} column {})",
            error.line(),
            error.column()
        ),
    }
}

#[derive(Clone, Copy, Debug)]
enum Segment {
    Key(&'static str),
    Index(usize),
}

/// The walk's state: where it is, what it read, and the first problem found.
struct Ctx<'p> {
    page_id: &'p str,
    path: Vec<Segment>,
    conversations: Vec<StagedConversation>,
    problem: Option<Problem>,
}

impl Ctx<'_> {
    /// Records a problem at the current path; the error it returns only stops the parser.
    fn fail<E: de::Error>(&mut self, reason: impl Into<String>) -> E {
        if self.problem.is_none() {
            let mut path = String::new();
            for segment in &self.path {
                match segment {
                    Segment::Key(key) => {
                        if !path.is_empty() {
                            path.push('.');
                        }
                        path.push_str(key);
                    }
                    Segment::Index(index) => path.push_str(&format!("[{index}]")),
                }
            }
            self.problem = Some(Problem {
                path,
                reason: reason.into(),
            });
        }
        E::custom("refused by the Graph API import")
    }

    fn fail_at<E: de::Error>(&mut self, key: &'static str, reason: impl Into<String>) -> E {
        self.path.push(Segment::Key(key));
        let error = self.fail(reason);
        self.path.pop();
        error
    }

    /// Refuses a second occurrence of a key this import reads.
    fn once<E: de::Error>(&mut self, seen: &mut bool, key: &'static str) -> Result<(), E> {
        if std::mem::replace(seen, true) {
            return Err(self.fail(format!("duplicate key {key:?}")));
        }
        Ok(())
    }

    /// A required id: a non-empty string.
    fn id<E: de::Error>(&mut self, key: &'static str, field: Field) -> Result<String, E> {
        match field {
            Field::Text(text) if text.is_empty() => Err(self.fail_at(key, "empty string")),
            Field::Text(text) => Ok(text),
            Field::Absent => Err(self.fail_at(key, "missing")),
            Field::Null => Err(self.fail_at(key, found("a string", "null"))),
            Field::Other(kind) => Err(self.fail_at(key, found("a string", kind))),
        }
    }

    fn created_time<E: de::Error>(&mut self, field: Field) -> Result<Millis, E> {
        const KEY: &str = "created_time";
        match field {
            Field::Text(text) => match parse_graph_time(&text) {
                Some(at) => Ok(at),
                None => Err(self.fail_at(KEY, format!("bad time {text:?}"))),
            },
            Field::Absent => Err(self.fail_at(KEY, "missing")),
            Field::Null => Err(self.fail_at(KEY, found("a time string", "null"))),
            Field::Other("a number") => Err(self.fail_at(
                KEY,
                "expected a time string, found a number (export without date_format=U)",
            )),
            Field::Other(kind) => Err(self.fail_at(KEY, found("a time string", kind))),
        }
    }

    fn with<T, E>(
        &mut self,
        segment: Segment,
        read: impl FnOnce(&mut Self) -> Result<T, E>,
    ) -> Result<T, E> {
        self.path.push(segment);
        let value = read(self)?;
        self.path.pop();
        Ok(value)
    }
}

fn found(expected: &str, kind: &str) -> String {
    format!("expected {expected}, found {kind}")
}

/// Answers every scalar JSON value, and the containers named after `=>` (`seq`, `map`), with a
/// problem at the current path: `found "X"` says "expected X, found <kind>", `plain "text"` says
/// just the text.
macro_rules! refuse_other_kinds {
    ($how:ident $text:expr => $($container:ident)*) => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Err(self.ctx.fail(refuse_other_kinds!(@reason $how $text, "a boolean")))
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Err(self.ctx.fail(refuse_other_kinds!(@reason $how $text, "a number")))
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Err(self.ctx.fail(refuse_other_kinds!(@reason $how $text, "a number")))
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Err(self.ctx.fail(refuse_other_kinds!(@reason $how $text, "a number")))
        }
        fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Err(self.ctx.fail(refuse_other_kinds!(@reason $how $text, "a string")))
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Err(self.ctx.fail(refuse_other_kinds!(@reason $how $text, "null")))
        }
        $(refuse_other_kinds!(@refuse $container $how $text);)*
    };
    (@reason found $text:expr, $kind:expr) => { found($text, $kind) };
    (@reason plain $text:expr, $kind:expr) => { $text };
    (@refuse seq $how:ident $text:expr) => {
        fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
            Err(self.ctx.fail(refuse_other_kinds!(@reason $how $text, "an array")))
        }
    };
    (@refuse map $how:ident $text:expr) => {
        fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
            Err(self.ctx.fail(refuse_other_kinds!(@reason $how $text, "an object")))
        }
    };
}

/// The keys this import reads; any other is `Other`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Key {
    Data,
    Error,
    Id,
    Messages,
    CreatedTime,
    From,
    Other,
}

struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Key;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Key, D::Error> {
        deserializer.deserialize_str(KeySeed)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Key;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Key, E> {
        Ok(match key {
            "data" => Key::Data,
            "error" => Key::Error,
            "id" => Key::Id,
            "messages" => Key::Messages,
            "created_time" => Key::CreatedTime,
            "from" => Key::From,
            _ => Key::Other,
        })
    }
}

/// A scalar field as found: absent, null, a string, or some other JSON value.
#[derive(Debug, Default)]
enum Field {
    #[default]
    Absent,
    Null,
    Text(String),
    Other(&'static str),
}

struct FieldSeed;

impl<'de> DeserializeSeed<'de> for FieldSeed {
    type Value = Field;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Field, D::Error> {
        deserializer.deserialize_any(FieldSeed)
    }
}

impl<'de> Visitor<'de> for FieldSeed {
    type Value = Field;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_str<E: de::Error>(self, text: &str) -> Result<Field, E> {
        Ok(Field::Text(text.to_owned()))
    }
    fn visit_string<E: de::Error>(self, text: String) -> Result<Field, E> {
        Ok(Field::Text(text))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Field, E> {
        Ok(Field::Null)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Field, E> {
        Ok(Field::Other("a boolean"))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Field, E> {
        Ok(Field::Other("a number"))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Field, E> {
        Ok(Field::Other("a number"))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Field, E> {
        Ok(Field::Other("a number"))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Field, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Field::Other("an array"))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Field, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Field::Other("an object"))
    }
}

/// The whole document: one response, or an array of them.
struct DocumentSeed<'a, 'p> {
    ctx: &'a mut Ctx<'p>,
}

impl<'de> DeserializeSeed<'de> for DocumentSeed<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

const NOT_A_DOCUMENT: &str = r#"expected an object with "data" or an array of them"#;
const NOT_A_RESPONSE: &str = r#"expected an object with "data""#;

impl<'de> Visitor<'de> for DocumentSeed<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(NOT_A_DOCUMENT)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        read_response(map, self.ctx, NOT_A_DOCUMENT)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        for index in 0.. {
            let more = self.ctx.with(Segment::Index(index), |ctx| {
                seq.next_element_seed(ResponseSeed { ctx })
            })?;
            if more.is_none() {
                break;
            }
        }
        Ok(())
    }

    refuse_other_kinds!(plain NOT_A_DOCUMENT =>);
}

/// One response within an array of them.
struct ResponseSeed<'a, 'p> {
    ctx: &'a mut Ctx<'p>,
}

impl<'de> DeserializeSeed<'de> for ResponseSeed<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ResponseSeed<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(NOT_A_RESPONSE)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        read_response(map, self.ctx, NOT_A_RESPONSE)
    }

    refuse_other_kinds!(plain NOT_A_RESPONSE => seq);
}

/// `{"data": [conversation...], "paging": ...}`; a Graph API error response is named as such.
fn read_response<'de, A: MapAccess<'de>>(
    mut map: A,
    ctx: &mut Ctx<'_>,
    without_data: &str,
) -> Result<(), A::Error> {
    let mut has_data = false;
    let mut error: Option<serde_json::Value> = None;
    while let Some(key) = map.next_key_seed(KeySeed)? {
        match key {
            Key::Data => {
                ctx.once::<A::Error>(&mut has_data, "data")?;
                ctx.with(Segment::Key("data"), |ctx| {
                    map.next_value_seed(ConversationsSeed { ctx })
                })?;
            }
            Key::Error => error = Some(map.next_value()?),
            _ => {
                map.next_value::<IgnoredAny>()?;
            }
        }
    }
    if has_data {
        return Ok(());
    }
    Err(match error {
        Some(error) => {
            let message = error.get("message").and_then(serde_json::Value::as_str);
            ctx.fail(match message {
                Some(message) => format!("a Graph API error response, not data: {message:?}"),
                None => "a Graph API error response, not data".to_owned(),
            })
        }
        None => ctx.fail(without_data),
    })
}

/// `data`: the conversations.
struct ConversationsSeed<'a, 'p> {
    ctx: &'a mut Ctx<'p>,
}

impl<'de> DeserializeSeed<'de> for ConversationsSeed<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ConversationsSeed<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of conversations")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        for index in 0.. {
            let more = self.ctx.with(Segment::Index(index), |ctx| {
                seq.next_element_seed(ConversationSeed { ctx })
            })?;
            if more.is_none() {
                break;
            }
        }
        Ok(())
    }

    refuse_other_kinds!(found "an array" => map);
}

/// `data[i]`: one conversation, `{"messages": {...}, "id": "t_..."}` in any key order.
struct ConversationSeed<'a, 'p> {
    ctx: &'a mut Ctx<'p>,
}

impl<'de> DeserializeSeed<'de> for ConversationSeed<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ConversationSeed<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a conversation")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let ctx = self.ctx;
        let (mut has_id, mut has_messages) = (false, false);
        let mut id = Field::Absent;
        let mut messages = Vec::new();
        let mut looks_like_a_message = false;
        while let Some(key) = map.next_key_seed(KeySeed)? {
            match key {
                Key::Id => {
                    ctx.once::<A::Error>(&mut has_id, "id")?;
                    id = map.next_value_seed(FieldSeed)?;
                }
                Key::Messages => {
                    ctx.once::<A::Error>(&mut has_messages, "messages")?;
                    ctx.with(Segment::Key("messages"), |ctx| {
                        map.next_value_seed(MessagesSeed {
                            ctx,
                            out: &mut messages,
                        })
                    })?;
                }
                Key::CreatedTime | Key::From => {
                    looks_like_a_message = true;
                    map.next_value::<IgnoredAny>()?;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        if looks_like_a_message && !has_messages {
            return Err(ctx.fail(
                "a message, not a conversation: expected the export of \
                 GET /{page-id}/conversations?fields=messages{created_time,from,message}",
            ));
        }
        let id = ctx.id::<A::Error>("id", id)?;
        ctx.conversations.push(StagedConversation { id, messages });
        Ok(())
    }

    refuse_other_kinds!(found "an object" => seq);
}

/// `data[i].messages`: `{"data": [message...], "paging": ...}`.
struct MessagesSeed<'a, 'p> {
    ctx: &'a mut Ctx<'p>,
    out: &'a mut Vec<StagedMessage>,
}

impl<'de> DeserializeSeed<'de> for MessagesSeed<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for MessagesSeed<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object with \"data\"")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let (ctx, out) = (self.ctx, self.out);
        let mut has_data = false;
        while let Some(key) = map.next_key_seed(KeySeed)? {
            if key == Key::Data {
                ctx.once::<A::Error>(&mut has_data, "data")?;
                ctx.with(Segment::Key("data"), |ctx| {
                    map.next_value_seed(MessageListSeed {
                        ctx,
                        out: &mut *out,
                    })
                })?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        if !has_data {
            return Err(ctx.fail_at("data", "missing"));
        }
        Ok(())
    }

    refuse_other_kinds!(found "an object" => seq);
}

/// `data[i].messages.data`: the messages, newest first.
struct MessageListSeed<'a, 'p> {
    ctx: &'a mut Ctx<'p>,
    out: &'a mut Vec<StagedMessage>,
}

impl<'de> DeserializeSeed<'de> for MessageListSeed<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for MessageListSeed<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of messages")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let (ctx, out) = (self.ctx, self.out);
        for index in 0.. {
            let more = ctx.with(Segment::Index(index), |ctx| {
                seq.next_element_seed(MessageSeed {
                    ctx,
                    out: &mut *out,
                })
            })?;
            if more.is_none() {
                break;
            }
        }
        Ok(())
    }

    refuse_other_kinds!(found "an array" => map);
}

/// `data[i].messages.data[j]`: `{"created_time": ..., "from": {"id": ...}, "id": "m_..."}`.
struct MessageSeed<'a, 'p> {
    ctx: &'a mut Ctx<'p>,
    out: &'a mut Vec<StagedMessage>,
}

impl<'de> DeserializeSeed<'de> for MessageSeed<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for MessageSeed<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a message")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let ctx = self.ctx;
        let (mut has_id, mut has_time, mut has_from) = (false, false, false);
        let (mut id, mut created_time) = (Field::Absent, Field::Absent);
        let mut from = Sender::Absent;
        while let Some(key) = map.next_key_seed(KeySeed)? {
            match key {
                Key::Id => {
                    ctx.once::<A::Error>(&mut has_id, "id")?;
                    id = map.next_value_seed(FieldSeed)?;
                }
                Key::CreatedTime => {
                    ctx.once::<A::Error>(&mut has_time, "created_time")?;
                    created_time = map.next_value_seed(FieldSeed)?;
                }
                Key::From => {
                    ctx.once::<A::Error>(&mut has_from, "from")?;
                    from = map.next_value_seed(FromSeed)?;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let id = ctx.id::<A::Error>("id", id)?;
        let at = ctx.created_time::<A::Error>(created_time)?;
        let from_id = match from {
            Sender::Object(from_id) => ctx.with(Segment::Key("from"), |ctx| {
                ctx.id::<A::Error>("id", from_id)
            })?,
            Sender::Absent => return Err(ctx.fail_at("from", "missing")),
            Sender::Other(kind) => return Err(ctx.fail_at("from", found("an object", kind))),
        };
        self.out.push(StagedMessage {
            id,
            at,
            from_page: from_id == ctx.page_id,
        });
        Ok(())
    }

    refuse_other_kinds!(found "an object" => seq);
}

/// `from` as found: an object (with its `id` field), absent, or another kind of value.
#[derive(Debug)]
enum Sender {
    Absent,
    Object(Field),
    Other(&'static str),
}

struct FromSeed;

impl<'de> DeserializeSeed<'de> for FromSeed {
    type Value = Sender;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Sender, D::Error> {
        deserializer.deserialize_any(FromSeed)
    }
}

impl<'de> Visitor<'de> for FromSeed {
    type Value = Sender;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Sender, A::Error> {
        let mut id = Field::Absent;
        while let Some(key) = map.next_key_seed(KeySeed)? {
            if key == Key::Id && matches!(id, Field::Absent) {
                id = map.next_value_seed(FieldSeed)?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(Sender::Object(id))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Sender, E> {
        Ok(Sender::Other("null"))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Sender, E> {
        Ok(Sender::Other("a string"))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Sender, E> {
        Ok(Sender::Other("a boolean"))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Sender, E> {
        Ok(Sender::Other("a number"))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Sender, E> {
        Ok(Sender::Other("a number"))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Sender, E> {
        Ok(Sender::Other("a number"))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Sender, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Sender::Other("an array"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::evaluate;
    use crate::rules::{Basis, Rules};
    use crate::time::format_instant;

    const PAGE: &str = "104857600123456";

    /// A message as the Graph API lists it; `from` is a page-scoped id or the page id.
    fn message(id: &str, at: &str, from: &str) -> String {
        format!(
            r#"{{"created_time":"{at}","from":{{"name":"Someone","email":"{from}@facebook.com","id":"{from}"}},"message":"Hello","id":"{id}"}}"#
        )
    }

    fn conversation(id: &str, messages: &[String]) -> String {
        format!(
            r#"{{"messages":{{"data":[{}],"paging":{{"cursors":{{"before":"QVFIa","after":"QVFIb"}}}}}},"id":"{id}"}}"#,
            messages.join(",")
        )
    }

    fn response(conversations: &[String]) -> String {
        format!(
            r#"{{"data":[{}],"paging":{{"cursors":{{"before":"QVFIc","after":"QVFId"}},"next":"https://graph.facebook.com/v21.0/{PAGE}/conversations?after=QVFId"}}}}"#,
            conversations.join(",")
        )
    }

    fn import(documents: &[&str]) -> (Log, GraphCounts) {
        let mut import = GraphImport::new(PAGE);
        for (index, document) in documents.iter().enumerate() {
            let name = format!("page-{}.json", index + 1);
            import.add_document(&name, document.as_bytes()).unwrap();
        }
        let counts = import.counts();
        (import.finish(), counts)
    }

    /// The log's messages in the contract's order: (conversation, instant, author).
    fn chronological(log: &Log) -> Vec<(String, String, Author)> {
        let mut events = log.conversation_events.clone();
        events.sort_by_key(ConversationEvent::position);
        events
            .iter()
            .map(|e| {
                let Fact::Message(author) = e.fact else {
                    panic!("{e:?}")
                };
                (
                    log.conversation_name(e.conversation).to_owned(),
                    format_instant(e.at),
                    author,
                )
            })
            .collect()
    }

    fn refusal(document: &str) -> String {
        let mut import = GraphImport::new(PAGE);
        let error = import
            .add_document("export.json", document.as_bytes())
            .expect_err(document);
        assert_eq!(
            import.counts().documents,
            0,
            "a refused document adds nothing"
        );
        error.to_string()
    }

    fn at(text: &str) -> String {
        text.to_owned()
    }

    #[test]
    fn page_messages_are_agent_the_rest_customer() {
        let text_less = r#"{"created_time":"2026-11-02T09:30:00+0000","from":{"name":"Anna","id":"111"},"id":"m_3","attachments":{"data":[{"id":"1","mime_type":"image/jpeg"}]}}"#;
        let document = response(&[conversation(
            "t_1",
            &[
                text_less.to_owned(),
                message("m_2", "2026-11-02T09:21:40+0000", PAGE),
                message("m_1", "2026-11-02T09:14:05+0000", "111"),
            ],
        )]);
        let (log, counts) = import(&[&document]);
        assert_eq!(
            chronological(&log),
            vec![
                ("t_1".into(), at("2026-11-02T09:14:05Z"), Author::Customer),
                ("t_1".into(), at("2026-11-02T09:21:40Z"), Author::Agent),
                ("t_1".into(), at("2026-11-02T09:30:00Z"), Author::Customer),
            ]
        );
        assert!(log.availability_events.is_empty());
        assert_eq!(
            counts,
            GraphCounts {
                documents: 1,
                conversations: 1,
                conversations_without_messages: 0,
                messages: 3,
                page_messages: 1,
                duplicates_skipped: 0,
            }
        );
    }

    #[test]
    fn ignores_every_other_field_whatever_its_value() {
        let document = r#"{"data":[{"id":"t_1","updated_time":"2026-11-02T09:21:40+0000",
            "participants":{"data":[{"name":"Anna","email":"111@facebook.com","id":"111"}]},
            "can_reply":true,"message_count":2,"snippet":null,"unread_count":[1,{"x":2}],
            "messages":{"paging":{"next":"https://graph.facebook.com/x"},"data":[
              {"id":"m_2","message":{"odd":true},"tags":{"data":[{"name":"inbox"}]},
               "from":{"email":null,"id":"104857600123456","name":7},"created_time":"2026-11-02T09:21:40+0000","to":{"data":[]}},
              {"sticker":"https://example.com/s.png","message":"","id":"m_1","created_time":"2026-11-02T09:14:05+0000","from":{"id":"111"}}]}}],
            "summary":{"total_count":1}}"#;
        let (log, counts) = import(&[document]);
        assert_eq!(counts.messages, 2);
        assert_eq!(counts.page_messages, 1);
        assert_eq!(chronological(&log)[1].2, Author::Agent);
    }

    #[test]
    fn reverses_the_listing_and_keeps_same_second_messages_in_order() {
        // Listed newest first; two pairs of messages share a second: at 08:05:00 the page wrote,
        // then the customer; at 08:05:01 the customer wrote, then the page.
        let document = response(&[conversation(
            "t_1",
            &[
                message("m_4", "2026-11-10T08:05:01+0000", PAGE),
                message("m_3", "2026-11-10T08:05:01+0000", "111"),
                message("m_2", "2026-11-10T08:05:00+0000", "111"),
                message("m_1", "2026-11-10T08:05:00+0000", PAGE),
            ],
        )]);
        let (log, _) = import(&[&document]);
        let mut events = log.conversation_events.clone();
        events.sort_by_key(ConversationEvent::position);
        let seqs: Vec<u64> = events.iter().map(|e| e.seq).collect();
        assert_eq!(
            seqs,
            vec![1, 2, 3, 4],
            "seq = kept messages - listing index"
        );
        let authors: Vec<Author> = chronological(&log).into_iter().map(|e| e.2).collect();
        assert_eq!(
            authors,
            vec![
                Author::Agent,
                Author::Customer,
                Author::Customer,
                Author::Agent
            ]
        );
        // The page wrote first, so the customer's messages just after it are no start; read in
        // the listing's order, they would be one.
        let figures = evaluate(&log, log.latest_instant().unwrap(), &Rules::default()).figures;
        assert_eq!(figures.window.starts, 0);
    }

    #[test]
    fn an_answer_in_the_customers_second_is_a_response_of_zero() {
        let document = response(&[conversation(
            "t_1",
            &[
                message("m_2", "2026-11-10T08:05:00+0000", PAGE),
                message("m_1", "2026-11-10T08:05:00+0000", "111"),
            ],
        )]);
        let (log, _) = import(&[&document]);
        let figures = evaluate(&log, log.latest_instant().unwrap(), &Rules::default()).figures;
        assert_eq!((figures.window.starts, figures.window.answered), (1, 1));
        assert_eq!(figures.window.response_time_seconds(), Some(0.0));
    }

    #[test]
    fn a_conversation_split_across_documents_is_one_conversation_in_order() {
        let newer = response(&[
            conversation(
                "t_1",
                &[
                    message("m_14", "2026-11-10T09:00:00+0000", "111"),
                    message("m_13", "2026-11-10T08:05:00+0000", PAGE),
                ],
            ),
            conversation("t_2", &[message("m_21", "2026-11-09T08:00:00+0000", "222")]),
        ]);
        let older = response(&[conversation(
            "t_1",
            &[
                message("m_12", "2026-11-10T08:05:00+0000", "111"),
                message("m_11", "2026-11-10T08:00:00+0000", "111"),
            ],
        )]);
        let (log, counts) = import(&[&newer, &older]);
        assert_eq!(log.conversation_names, vec!["t_1", "t_2"]);
        assert_eq!((counts.conversations, counts.messages), (2, 5));
        let t1: Vec<(String, Author)> = chronological(&log)
            .into_iter()
            .filter(|e| e.0 == "t_1")
            .map(|e| (e.1, e.2))
            .collect();
        assert_eq!(
            t1,
            vec![
                (at("2026-11-10T08:00:00Z"), Author::Customer),
                (at("2026-11-10T08:05:00Z"), Author::Customer),
                (at("2026-11-10T08:05:00Z"), Author::Agent),
                (at("2026-11-10T09:00:00Z"), Author::Customer),
            ]
        );
    }

    #[test]
    fn a_message_listed_twice_is_kept_once_at_its_first_listing() {
        let first = response(&[conversation(
            "t_1",
            &[
                message("m_3", "2026-11-10T08:10:00+0000", PAGE),
                message("m_2", "2026-11-10T08:05:00+0000", "111"),
            ],
        )]);
        // The overlapping page repeats m_2 (here with another time, to see which one is kept).
        let second = response(&[conversation(
            "t_1",
            &[
                message("m_2", "2026-11-10T07:00:00+0000", "111"),
                message("m_1", "2026-11-10T06:00:00+0000", "111"),
            ],
        )]);
        let (log, counts) = import(&[&first, &second]);
        assert_eq!(counts.duplicates_skipped, 1);
        assert_eq!(counts.messages, 3);
        let times: Vec<String> = chronological(&log).into_iter().map(|e| e.1).collect();
        assert_eq!(
            times,
            vec![
                at("2026-11-10T06:00:00Z"),
                at("2026-11-10T08:05:00Z"),
                at("2026-11-10T08:10:00Z")
            ]
        );
        // Within one document too.
        let repeated = response(&[
            conversation("t_1", &[message("m_1", "2026-11-10T08:05:00+0000", "111")]),
            conversation("t_1", &[message("m_1", "2026-11-10T08:05:00+0000", "111")]),
        ]);
        let (log, counts) = import(&[&repeated]);
        assert_eq!(
            (counts.duplicates_skipped, log.conversation_events.len()),
            (1, 1)
        );
    }

    #[test]
    fn an_array_of_responses_reads_like_the_responses_one_by_one() {
        let first = response(&[conversation(
            "t_1",
            &[
                message("m_2", "2026-11-10T08:05:00+0000", PAGE),
                message("m_1", "2026-11-10T08:00:00+0000", "111"),
            ],
        )]);
        let second = response(&[
            conversation("t_1", &[message("m_1", "2026-11-10T08:00:00+0000", "111")]),
            conversation("t_2", &[message("m_3", "2026-11-09T08:00:00+0000", "222")]),
        ]);
        let (one_by_one, counts) = import(&[&first, &second]);
        let (as_array, array_counts) = import(&[&format!("[{first},\n{second}]")]);
        assert_eq!(as_array, one_by_one);
        assert_eq!(
            (array_counts.documents, array_counts.messages),
            (1, counts.messages)
        );
        let (empty, counts) = import(&["[]"]);
        assert!(empty.is_empty());
        assert_eq!(counts.documents, 1);
    }

    #[test]
    fn counts_conversations_listed_without_messages() {
        let document = r#"{"data":[{"id":"t_1","updated_time":"2026-11-10T08:00:00+0000"},
            {"id":"t_2","messages":{"data":[]}}]}"#;
        let (log, counts) = import(&[document]);
        assert!(log.is_empty());
        assert!(log.conversation_names.is_empty());
        assert_eq!(
            (counts.conversations, counts.conversations_without_messages),
            (2, 2)
        );
    }

    #[test]
    fn reads_graph_times_with_any_offset_at_second_precision() {
        let utc = parse_instant("2026-11-02T09:14:05Z");
        assert_eq!(parse_graph_time("2026-11-02T09:14:05+0000"), utc);
        assert_eq!(parse_graph_time("2026-11-02T09:14:05+00:00"), utc);
        assert_eq!(parse_graph_time("2026-11-02T09:14:05Z"), utc);
        assert_eq!(parse_graph_time("2026-11-02T12:14:05+0300"), utc);
        assert_eq!(parse_graph_time("2026-11-02T04:14:05-05:00"), utc);
        for bad in [
            "",
            "2026-11-02",
            "2026-11-02 09:14:05+0000",
            "2026-11-02T09:14:05",
            "2026-11-02T09:14:05.123+0000",
            "2026-11-02T09:14:05+00",
            "2026-11-02T09:14:05+000",
            "2026-11-02T09:14:05 +0000",
            "2026-11-02T09:14:05+2400",
            "2026-11-02T09:14:05+0000Z",
            "2026-11-31T09:14:05+0000",
            "2026-11-02T09:14:0é+0000",
            "2026-11-02T09:14:05+00é0",
        ] {
            assert_eq!(parse_graph_time(bad), None, "{bad:?} must be refused");
        }
    }

    #[test]
    fn names_the_document_the_path_and_what_is_wrong() {
        let in_message = |message: &str| response(&[conversation("t_1", &[message.to_owned()])]);
        let cases: Vec<(String, &str)> = vec![
            ("{\n  \"data\": [\n    {,\n".into(), "export.json: not JSON: key must be a string (line 3 column 6)"),
            ("{\"data\":[]} x".into(), "export.json: not JSON: trailing characters (line 1 column 13)"),
            ("{\"data\":[".into(), "export.json: not JSON: EOF while parsing a list (line 1 column 9)"),
            (" \n".into(), "export.json: empty document"),
            ("\"hello\"".into(), r#"export.json: expected an object with "data" or an array of them"#),
            ("{\"paging\":{}}".into(), r#"export.json: expected an object with "data" or an array of them"#),
            (
                r#"{"error":{"message":"Invalid OAuth access token.","type":"OAuthException","code":190}}"#.into(),
                r#"export.json: a Graph API error response, not data: "Invalid OAuth access token.""#,
            ),
            (format!("[{}, 3]", response(&[])), r#"export.json: [1]: expected an object with "data""#),
            ("[{\"data\":[]}, {}]".into(), r#"export.json: [1]: expected an object with "data""#),
            ("{\"data\":{}}".into(), "export.json: data: expected an array, found an object"),
            ("{\"data\":[1]}".into(), "export.json: data[0]: expected an object, found a number"),
            ("{\"data\":[{\"messages\":{\"data\":[]}}]}".into(), "export.json: data[0].id: missing"),
            ("{\"data\":[{\"id\":17}]}".into(), "export.json: data[0].id: expected a string, found a number"),
            ("{\"data\":[{\"id\":\"\"}]}".into(), "export.json: data[0].id: empty string"),
            ("{\"data\":[{\"id\":\"t_1\",\"id\":\"t_2\"}]}".into(), "export.json: data[0]: duplicate key \"id\""),
            ("{\"data\":[],\"data\":[]}".into(), "export.json: duplicate key \"data\""),
            (
                format!("{{\"data\":[{}]}}", message("m_1", "2026-11-02T09:14:05+0000", "111")),
                "export.json: data[0]: a message, not a conversation: expected the export of \
                 GET /{page-id}/conversations?fields=messages{created_time,from,message}",
            ),
            ("{\"data\":[{\"id\":\"t_1\",\"messages\":[]}]}".into(), "export.json: data[0].messages: expected an object, found an array"),
            ("{\"data\":[{\"id\":\"t_1\",\"messages\":{\"paging\":{}}}]}".into(), "export.json: data[0].messages.data: missing"),
            ("{\"data\":[{\"id\":\"t_1\",\"messages\":{\"data\":null}}]}".into(), "export.json: data[0].messages.data: expected an array, found null"),
            (in_message("\"m_1\""), "export.json: data[0].messages.data[0]: expected an object, found a string"),
            (
                in_message(r#"{"created_time":"2026-11-02T09:14:05+0000","from":{"id":"111"}}"#),
                "export.json: data[0].messages.data[0].id: missing",
            ),
            (
                in_message(r#"{"id":"m_1","from":{"id":"111"}}"#),
                "export.json: data[0].messages.data[0].created_time: missing",
            ),
            (
                in_message(&message("m_1", "2020-05-22 10:00", "111")),
                r#"export.json: data[0].messages.data[0].created_time: bad time "2020-05-22 10:00""#,
            ),
            (
                in_message(r#"{"id":"m_1","created_time":1590141600,"from":{"id":"111"}}"#),
                "export.json: data[0].messages.data[0].created_time: expected a time string, \
                 found a number (export without date_format=U)",
            ),
            (
                in_message(r#"{"id":"m_1","created_time":null,"from":{"id":"111"}}"#),
                "export.json: data[0].messages.data[0].created_time: expected a time string, found null",
            ),
            (
                in_message(r#"{"id":"m_1","created_time":"2026-11-02T09:14:05+0000"}"#),
                "export.json: data[0].messages.data[0].from: missing",
            ),
            (
                in_message(r#"{"id":"m_1","created_time":"2026-11-02T09:14:05+0000","from":"111"}"#),
                "export.json: data[0].messages.data[0].from: expected an object, found a string",
            ),
            (
                in_message(r#"{"id":"m_1","created_time":"2026-11-02T09:14:05+0000","from":{"name":"Anna"}}"#),
                "export.json: data[0].messages.data[0].from.id: missing",
            ),
            (
                in_message(r#"{"id":"m_1","created_time":"2026-11-02T09:14:05+0000","from":{"id":111}}"#),
                "export.json: data[0].messages.data[0].from.id: expected a string, found a number",
            ),
            (
                in_message(r#"{"id":"m_1","id":"m_2"}"#),
                "export.json: data[0].messages.data[0]: duplicate key \"id\"",
            ),
            (
                format!("[{}, {}]", response(&[]), response(&[conversation("t_1", &[message("m_1", "yesterday", "1")])])),
                r#"export.json: [1].data[0].messages.data[0].created_time: bad time "yesterday""#,
            ),
        ];
        for (document, expected) in cases {
            assert_eq!(refusal(&document), expected, "{document}");
        }
    }

    #[test]
    fn a_refused_document_leaves_the_import_as_it_was() {
        let good = response(&[conversation(
            "t_1",
            &[message("m_1", "2026-11-02T09:14:05+0000", "111")],
        )]);
        let bad = response(&[conversation(
            "t_2",
            &[
                message("m_3", "2026-11-02T09:20:00+0000", "111"),
                message("m_2", "2026-11-02 09:14:05", "111"),
            ],
        )]);
        let mut import = GraphImport::new(PAGE);
        import.add_document("good.json", good.as_bytes()).unwrap();
        let error = import.add_document("bad.json", bad.as_bytes()).unwrap_err();
        assert_eq!(error.document, "bad.json");
        assert_eq!(error.path, "data[0].messages.data[1].created_time");
        assert_eq!(import.counts().messages, 1);
        assert_eq!(import.finish(), self::import(&[&good]).0);
    }

    #[test]
    fn skips_a_utf8_bom() {
        let document = format!(
            "\u{feff}{}",
            response(&[conversation(
                "t_1",
                &[message("m_1", "2026-11-02T09:14:05+0000", "111")]
            )])
        );
        assert_eq!(import(&[&document]).1.messages, 1);
    }

    #[test]
    fn end_to_end_the_response_time_of_a_tiny_export() {
        // Two conversations answered in 5 and 10 minutes, one still waiting (pending).
        let document = response(&[
            conversation("t_3", &[message("m_31", "2026-11-03T11:50:00+0000", "333")]),
            conversation(
                "t_2",
                &[
                    message("m_22", "2026-11-03T11:10:00+0000", PAGE),
                    message("m_21", "2026-11-03T11:00:00+0000", "222"),
                ],
            ),
            conversation(
                "t_1",
                &[
                    message("m_13", "2026-11-03T10:06:00+0000", "111"),
                    message("m_12", "2026-11-03T10:05:00+0000", PAGE),
                    message("m_11", "2026-11-03T10:00:00+0000", "111"),
                ],
            ),
        ]);
        let (log, _) = import(&[&document]);
        let evaluated_at = log.latest_instant().unwrap();
        assert_eq!(format_instant(evaluated_at), "2026-11-03T11:50:00Z");
        let figures = evaluate(&log, evaluated_at, &Rules::default()).figures;
        assert_eq!(figures.pending, 1);
        assert_eq!(figures.window.basis, Basis::LastStarts);
        assert_eq!((figures.window.starts, figures.window.answered), (2, 2));
        assert_eq!(figures.window.response_rate(), Some(1.0));
        assert_eq!(figures.window.response_time_seconds(), Some(450.0));
        assert!(figures.badge);
    }

    const EXAMPLE: &str = include_str!("../../../examples/graph-export.json");
    const EXAMPLE_PAGE_1: &str = include_str!("../../../examples/graph-export/page-1.json");
    const EXAMPLE_PAGE_2: &str = include_str!("../../../examples/graph-export/page-2.json");

    #[test]
    fn the_examples_read_alike_and_give_the_documented_figures() {
        let (single, counts) = import(&[EXAMPLE]);
        assert_eq!(
            counts,
            GraphCounts {
                documents: 1,
                conversations: 8,
                conversations_without_messages: 0,
                messages: 26,
                page_messages: 9,
                duplicates_skipped: 0,
            }
        );
        let (folder, counts) = import(&[EXAMPLE_PAGE_1, EXAMPLE_PAGE_2]);
        assert_eq!((counts.messages, counts.duplicates_skipped), (26, 1));
        assert_eq!(folder, single);

        let evaluated_at = single.latest_instant().unwrap();
        assert_eq!(format_instant(evaluated_at), "2026-11-18T10:05:10Z");
        let figures = evaluate(&single, evaluated_at, &Rules::default()).figures;
        // Nine starts (Maria's conversation has two, two days apart), Olga's unanswered.
        assert_eq!((figures.window.starts, figures.window.answered), (9, 8));
        assert_eq!(figures.pending, 0);
        // (455 + 465 + 757 + 671 + 852 + 195 + 1347 + 268) / 8 seconds.
        assert_eq!(figures.window.response_time_seconds(), Some(626.25));
        assert!(!figures.badge, "8/9 answered is below 90%");
    }
}
