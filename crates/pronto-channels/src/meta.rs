//! Meta's webhooks (Facebook Messenger and Instagram Direct): the pure building blocks of
//! `GET`/`POST /webhooks/meta`. Not wired into the server yet.
//!
//! - [`verify_signature`]: the `X-Hub-Signature-256: sha256=<hex>` header against HMAC-SHA256 of
//!   the raw body with the app secret, compared in constant time. Call it before parsing anything.
//! - [`verify_subscription`]: the `GET ?hub.mode=subscribe&hub.verify_token=T&hub.challenge=C`
//!   handshake.
//! - [`parse`]: a webhook body into a typed [`Batch`]. Unknown fields are ignored; an event of a
//!   kind this module does not know is [`EventKind::Unknown`] (for the server to count), never an
//!   error. A malformed body is a [`ParseError`] naming the JSON path (`entry[0].messaging[1].sender.id`).
//! - [`incoming`]: a customer's message event as a [`pronto_core::Incoming`]. Echoes (messages the
//!   page sent, `is_echo: true`) are their own [`EventKind::Echo`], with `app_id` and `metadata`,
//!   for the server to match against the replies Pronto sent; they are not mapped here.
//!
//! # The wire format, and where it comes from
//!
//! Meta's developer documentation, as consulted for this module:
//! - Messenger, `messages` webhook event reference
//!   (<https://developers.facebook.com/documentation/business-messaging/messenger-platform/webhooks/webhook-events/messages>):
//!   `{sender: {id: PSID}, recipient: {id: PAGE_ID}, timestamp: ms, message: {mid, text,
//!   quick_reply: {payload}, reply_to: {mid}, attachments: [{type, payload: {url}}]}}`; attachment
//!   types include `image`, `audio`, `video`, `file`, `sticker`, `reel`, `ig_reel`, and `fallback`,
//!   which may come without a payload.
//! - Messenger, `message_echoes` reference
//!   (<https://developers.facebook.com/documentation/business-messaging/messenger-platform/webhooks/webhook-events/message-echoes>):
//!   `sender` is the page, `recipient` the person, `message: {is_echo: true, app_id, metadata,
//!   mid, ...}`; its example sends `app_id` as a JSON number, so ids are accepted as numbers or
//!   strings. Its second example is an echo delivered in `entry[].standby[]`, and template or
//!   fallback attachments carry `url` beside `payload` rather than inside it.
//! - Messenger, `message_edits` (`message_edit: {mid, text, num_edit}`), `message_reads`
//!   (`read: {watermark}`), `message_deliveries` (`delivery: {mids?, watermark}`) and
//!   `messaging_postbacks` (`postback: {mid, title, payload, referral?}`) references, same site.
//!   The postbacks page notes that its properties may arrive as strings (its `timestamp` is
//!   `"1527459824"`), and its sender is a `user_ref` (a guest of the chat plugin) instead of an
//!   `id`; both are accepted.
//! - Messenger, webhook events list
//!   (<https://developers.facebook.com/documentation/business-messaging/messenger-platform/webhooks/webhook-events>):
//!   for Instagram, echoes come with the `messages` subscription, and reads are `messaging_seen`
//!   (a `read` object carrying a `mid` rather than a `watermark`).
//! - Instagram Platform, webhook notification examples
//!   (<https://developers.facebook.com/documentation/instagram-platform/webhooks/examples>):
//!   `{object: "instagram", entry: [{id: IG_ACCOUNT_ID, time, messaging: [...]}]}`, the same
//!   event shape as Messenger's.
//!
//! Deliberate choices: an `object` other than `page` or `instagram` is an error (this endpoint
//! only subscribes to those two); an entry without `messaging`/`standby` (e.g. Instagram's
//! `changes` for comments) parses with no events; an event's kind is the first of `message`,
//! `message_edit`, `read`, `delivery`, `postback` it carries, else [`EventKind::Unknown`] named
//! after its first other key (`reaction`, `optin`, `referral`, ...).

use hmac::{KeyInit, Mac};
use pronto_core::{Attachment, Author, InboxId, Incoming, Millis};
use serde_json::{Map, Value};
use std::fmt;

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// The header Meta signs its webhook deliveries with.
pub const SIGNATURE_HEADER: &str = "X-Hub-Signature-256";

/// Why a webhook delivery's signature was refused (the server answers 403 to each).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignatureError {
    /// No `X-Hub-Signature-256` header.
    Missing,
    /// The header is not `sha256=` followed by 64 hex digits.
    Malformed,
    /// The signature is not the body's HMAC-SHA256 with the app secret.
    Mismatch,
}

impl fmt::Display for SignatureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SignatureError::Missing => "missing X-Hub-Signature-256 header",
            SignatureError::Malformed => {
                "malformed X-Hub-Signature-256 header (expected sha256= and 64 hex digits)"
            }
            SignatureError::Mismatch => "X-Hub-Signature-256 does not match the body",
        })
    }
}

impl std::error::Error for SignatureError {}

/// Checks the `X-Hub-Signature-256` header (`header`, its value if present) against
/// HMAC-SHA256 of the raw `body` keyed with the app secret. The comparison is constant-time
/// ([`Mac::verify_slice`]).
pub fn verify_signature(
    app_secret: &[u8],
    header: Option<&str>,
    body: &[u8],
) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let digits = header
        .strip_prefix("sha256=")
        .ok_or(SignatureError::Malformed)?;
    if digits.len() != 64 {
        return Err(SignatureError::Malformed);
    }
    let mut expected = [0u8; 32];
    hex::decode_to_slice(digits, &mut expected).map_err(|_| SignatureError::Malformed)?;
    // HMAC accepts keys of any length, so this cannot fail; refuse rather than panic anyway.
    let mut mac = HmacSha256::new_from_slice(app_secret).map_err(|_| SignatureError::Mismatch)?;
    mac.update(body);
    mac.verify_slice(&expected)
        .map_err(|_| SignatureError::Mismatch)
}

/// The subscription handshake: `Some(challenge)` (the body of a 200) when `mode` is
/// `subscribe`, the token matches `expected_token` and a challenge was given; `None` (a 403)
/// otherwise, also when the expected token is empty (not configured).
pub fn verify_subscription(
    mode: Option<&str>,
    verify_token: Option<&str>,
    challenge: Option<&str>,
    expected_token: &str,
) -> Option<String> {
    if mode != Some("subscribe") || expected_token.is_empty() {
        return None;
    }
    if !constant_time_eq(verify_token?.as_bytes(), expected_token.as_bytes()) {
        return None;
    }
    challenge.map(str::to_owned)
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Which product a webhook delivery is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Object {
    /// `object: "page"`: Messenger; entry ids are page ids.
    Page,
    /// `object: "instagram"`: Instagram Direct; entry ids are Instagram account ids.
    Instagram,
}

/// One webhook delivery.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Batch {
    pub object: Object,
    pub entries: Vec<Entry>,
}

/// One `entry[]`: the events of one page or Instagram account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The page id or Instagram account id.
    pub id: String,
    /// When Meta sent the notification (ms).
    pub time: Millis,
    /// `messaging[]`: events for the app that owns the conversation.
    pub messaging: Vec<Event>,
    /// `standby[]`: events while another app owns the conversation (handover protocol).
    pub standby: Vec<Event>,
}

/// One messaging event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// `sender.id` (or `sender.user_ref`): the person, or the page for echoes.
    pub sender: String,
    /// `recipient.id`: the page, or the person for echoes.
    pub recipient: String,
    /// The event's time in milliseconds; a message's time is this, not the arrival time.
    pub timestamp: Millis,
    pub kind: EventKind,
    /// Fields of the event (`referral`) or of its message (`message.nlp`) this module does not
    /// read: ignored, for the server to count.
    pub unknown_fields: Vec<String>,
}

/// The fields of an event and of its message this module reads (or knowingly passes over).
const EVENT_FIELDS: &[&str] = &[
    "sender",
    "recipient",
    "timestamp",
    "message",
    "message_edit",
    "read",
    "delivery",
    "postback",
];
const MESSAGE_FIELDS: &[&str] = &[
    "mid",
    "text",
    "attachments",
    "quick_reply",
    "reply_to",
    "is_echo",
    "app_id",
    "metadata",
];

fn unknown_fields(map: &Map<String, Value>, kind: &EventKind) -> Vec<String> {
    let mut unknown: Vec<String> = map
        .keys()
        .filter(|k| !EVENT_FIELDS.contains(&k.as_str()))
        .filter(|k| !matches!(kind, EventKind::Unknown { kind } if kind == *k))
        .cloned()
        .collect();
    if let Some(Value::Object(message)) = map.get("message") {
        unknown.extend(
            message
                .keys()
                .filter(|k| !MESSAGE_FIELDS.contains(&k.as_str()))
                .map(|k| format!("message.{k}")),
        );
    }
    unknown
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EventKind {
    /// A message from the customer.
    Message(Message),
    /// A message the page sent (`is_echo: true`), from any app or from Meta's own inbox.
    Echo(Echo),
    /// The customer edited a message.
    MessageEdit {
        mid: String,
        text: Option<String>,
        num_edit: Option<u64>,
    },
    /// The customer read the page's messages: up to `watermark` (Messenger) or `mid` (Instagram).
    Read {
        watermark: Option<Millis>,
        mid: Option<String>,
    },
    /// The page's messages were delivered.
    Delivery {
        mids: Vec<String>,
        watermark: Option<Millis>,
    },
    /// The customer pressed a postback button, Get Started or a persistent-menu item.
    Postback {
        title: Option<String>,
        payload: Option<String>,
        mid: Option<String>,
    },
    /// An event of a kind this module does not know, named after its key; counted, not an error.
    Unknown { kind: String },
}

/// A customer's message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub mid: String,
    pub text: Option<String>,
    pub attachments: Vec<MetaAttachment>,
    /// `quick_reply.payload`, when the customer tapped a quick reply.
    pub quick_reply: Option<String>,
    /// `reply_to.mid`, when the message replies to another.
    pub reply_to: Option<String>,
}

/// A message the page sent, echoed back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Echo {
    pub mid: String,
    pub text: Option<String>,
    pub attachments: Vec<MetaAttachment>,
    /// The app that sent it; absent for some senders (e.g. Meta's own inbox).
    pub app_id: Option<String>,
    /// The `metadata` the sending app attached (Pronto puts its outbox id there).
    pub metadata: Option<String>,
}

/// One attachment as Meta sends it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetaAttachment {
    /// `type`: `image`, `video`, `audio`, `file`, `sticker`, `fallback`, `template`, ...
    pub kind: String,
    /// `payload.url` (or the attachment's own `url`, for fallbacks and templates). Meta's URLs
    /// expire: fetch or proxy them.
    pub url: Option<String>,
    /// `title`, when present and non-empty.
    pub title: Option<String>,
}

/// A malformed webhook body: where, and what was wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// The JSON path, `$` for the whole body (`entry[0].messaging[1].timestamp`).
    pub path: String,
    pub problem: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.problem)
    }
}

impl std::error::Error for ParseError {}

fn err<T>(path: &str, problem: impl Into<String>) -> Result<T, ParseError> {
    Err(ParseError {
        path: if path.is_empty() {
            "$".to_owned()
        } else {
            path.to_owned()
        },
        problem: problem.into(),
    })
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// Parses a webhook body (already signature-checked) into a [`Batch`].
pub fn parse(body: &[u8]) -> Result<Batch, ParseError> {
    let root: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => return err("", format!("not JSON: {e}")),
    };
    let root = object(&root, "")?;
    let object_kind = match str_field(root, "", "object")? {
        Some("page") => Object::Page,
        Some("instagram") => Object::Instagram,
        Some(other) => return err("object", format!("unsupported object {other:?}")),
        None => return err("object", "missing"),
    };
    if !root.contains_key("entry") {
        return err("entry", "missing");
    }
    let entries = array_field(root, "", "entry")?
        .iter()
        .enumerate()
        .map(|(i, e)| entry(e, &format!("entry[{i}]")))
        .collect::<Result<_, _>>()?;
    Ok(Batch {
        object: object_kind,
        entries,
    })
}

fn entry(value: &Value, path: &str) -> Result<Entry, ParseError> {
    let map = object(value, path)?;
    let id = required(id_field(map, path, "id")?, &join(path, "id"))?;
    let time = required(millis_field(map, path, "time")?, &join(path, "time"))?;
    let events = |key: &str| -> Result<Vec<Event>, ParseError> {
        let base = join(path, key);
        array_field(map, path, key)?
            .iter()
            .enumerate()
            .map(|(i, e)| event(e, &format!("{base}[{i}]")))
            .collect()
    };
    Ok(Entry {
        id,
        time,
        messaging: events("messaging")?,
        standby: events("standby")?,
    })
}

fn event(value: &Value, path: &str) -> Result<Event, ParseError> {
    let map = object(value, path)?;
    let party = |key: &str, user_ref: bool| -> Result<String, ParseError> {
        let p = join(path, key);
        let Some(inner) = map.get(key) else {
            return err(&p, "missing");
        };
        let inner = object(inner, &p)?;
        if let Some(id) = id_field(inner, &p, "id")? {
            return Ok(id);
        }
        if user_ref && let Some(r) = id_field(inner, &p, "user_ref")? {
            return Ok(r);
        }
        err(&join(&p, "id"), "missing")
    };
    let sender = party("sender", true)?;
    let recipient = party("recipient", false)?;
    let timestamp = required(
        millis_field(map, path, "timestamp")?,
        &join(path, "timestamp"),
    )?;
    let kind = if let Some(m) = map.get("message") {
        message(m, &join(path, "message"))?
    } else if let Some(m) = map.get("message_edit") {
        let p = join(path, "message_edit");
        let m = object(m, &p)?;
        EventKind::MessageEdit {
            mid: required(id_field(m, &p, "mid")?, &join(&p, "mid"))?,
            text: string_field(m, &p, "text")?,
            num_edit: millis_field(m, &p, "num_edit")?.and_then(|n| u64::try_from(n).ok()),
        }
    } else if let Some(r) = map.get("read") {
        let p = join(path, "read");
        let r = object(r, &p)?;
        EventKind::Read {
            watermark: millis_field(r, &p, "watermark")?,
            mid: id_field(r, &p, "mid")?,
        }
    } else if let Some(d) = map.get("delivery") {
        let p = join(path, "delivery");
        let d = object(d, &p)?;
        let mids_path = join(&p, "mids");
        let mids = array_field(d, &p, "mids")?
            .iter()
            .enumerate()
            .map(|(i, v)| match v.as_str() {
                Some(s) => Ok(s.to_owned()),
                None => err(&format!("{mids_path}[{i}]"), "expected a string"),
            })
            .collect::<Result<_, _>>()?;
        EventKind::Delivery {
            mids,
            watermark: millis_field(d, &p, "watermark")?,
        }
    } else if let Some(b) = map.get("postback") {
        let p = join(path, "postback");
        let b = object(b, &p)?;
        EventKind::Postback {
            title: string_field(b, &p, "title")?,
            payload: string_field(b, &p, "payload")?,
            mid: id_field(b, &p, "mid")?,
        }
    } else {
        let kind = map
            .keys()
            .find(|k| !matches!(k.as_str(), "sender" | "recipient" | "timestamp"))
            .cloned()
            .unwrap_or_default();
        EventKind::Unknown { kind }
    };
    Ok(Event {
        sender,
        recipient,
        timestamp,
        unknown_fields: unknown_fields(map, &kind),
        kind,
    })
}

fn message(value: &Value, path: &str) -> Result<EventKind, ParseError> {
    let m = object(value, path)?;
    let mid = required(id_field(m, path, "mid")?, &join(path, "mid"))?;
    let text = string_field(m, path, "text")?;
    let attachments_path = join(path, "attachments");
    let attachments = array_field(m, path, "attachments")?
        .iter()
        .enumerate()
        .map(|(i, a)| attachment(a, &format!("{attachments_path}[{i}]")))
        .collect::<Result<Vec<_>, _>>()?;
    let is_echo = match m.get("is_echo") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return err(&join(path, "is_echo"), "expected a boolean"),
    };
    if is_echo {
        return Ok(EventKind::Echo(Echo {
            mid,
            text,
            attachments,
            app_id: id_field(m, path, "app_id")?,
            metadata: string_field(m, path, "metadata")?,
        }));
    }
    let nested = |key: &str, inner: &str| -> Result<Option<String>, ParseError> {
        let p = join(path, key);
        match m.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => id_field(object(v, &p)?, &p, inner),
        }
    };
    Ok(EventKind::Message(Message {
        mid,
        text,
        attachments,
        quick_reply: nested("quick_reply", "payload")?,
        reply_to: nested("reply_to", "mid")?,
    }))
}

fn attachment(value: &Value, path: &str) -> Result<MetaAttachment, ParseError> {
    let a = object(value, path)?;
    let kind = required(string_field(a, path, "type")?, &join(path, "type"))?;
    let payload_path = join(path, "payload");
    let payload_url = match a.get("payload") {
        None | Some(Value::Null) => None,
        Some(p) => string_field(object(p, &payload_path)?, &payload_path, "url")?,
    };
    let url = match payload_url {
        Some(u) => Some(u),
        None => string_field(a, path, "url")?,
    };
    let title = string_field(a, path, "title")?.filter(|t| !t.is_empty());
    Ok(MetaAttachment { kind, url, title })
}

fn object<'a>(value: &'a Value, path: &str) -> Result<&'a Map<String, Value>, ParseError> {
    match value.as_object() {
        Some(m) => Ok(m),
        None => err(path, "expected an object"),
    }
}

/// An array; absent or `null` is empty.
fn array_field<'a>(
    map: &'a Map<String, Value>,
    path: &str,
    key: &str,
) -> Result<&'a [Value], ParseError> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(a)) => Ok(a),
        Some(_) => err(&join(path, key), "expected an array"),
    }
}

fn required<T>(value: Option<T>, path: &str) -> Result<T, ParseError> {
    match value {
        Some(v) => Ok(v),
        None => err(path, "missing"),
    }
}

fn str_field<'a>(
    map: &'a Map<String, Value>,
    path: &str,
    key: &str,
) -> Result<Option<&'a str>, ParseError> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => err(&join(path, key), "expected a string"),
    }
}

fn string_field(
    map: &Map<String, Value>,
    path: &str,
    key: &str,
) -> Result<Option<String>, ParseError> {
    Ok(str_field(map, path, key)?.map(str::to_owned))
}

/// An id: Meta sends most as strings, some (`app_id`) as numbers.
fn id_field(map: &Map<String, Value>, path: &str, key: &str) -> Result<Option<String>, ParseError> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) if n.is_u64() || n.is_i64() => Ok(Some(n.to_string())),
        Some(_) => err(&join(path, key), "expected a string or integer id"),
    }
}

/// An integer (milliseconds, counts), as a JSON integer or a string of digits.
fn millis_field(
    map: &Map<String, Value>,
    path: &str,
    key: &str,
) -> Result<Option<Millis>, ParseError> {
    let parsed = match map.get(key) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) => s.parse::<i64>().ok(),
        Some(_) => None,
    };
    match parsed {
        Some(n) if n >= 0 => Ok(Some(n)),
        _ => err(&join(path, key), "expected a non-negative integer"),
    }
}

/// A customer's message event as an [`Incoming`] for `inbox`: the contact is the sender (its
/// name, unknown to the webhook, is the sender id until the profile is fetched), the channel
/// message id the `mid`, the time the event's `timestamp`. `None` for every other kind, echoes
/// included. Attachments without a URL (a `fallback` without payload) are left out.
pub fn incoming(inbox: InboxId, event: &Event) -> Option<Incoming> {
    let EventKind::Message(m) = &event.kind else {
        return None;
    };
    Some(Incoming {
        inbox,
        contact_external_id: event.sender.clone(),
        contact_name: event.sender.clone(),
        channel_message_id: m.mid.clone(),
        at: event.timestamp,
        author: Author::Customer,
        text: m.text.clone().unwrap_or_default(),
        attachments: m
            .attachments
            .iter()
            .filter_map(|a| {
                Some(Attachment {
                    kind: a.kind.clone(),
                    url: a.url.clone()?,
                    name: a.title.clone(),
                })
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"app-secret-0123456789";

    fn sign(secret: &[u8], body: &[u8]) -> String {
        let mut mac = HmacSha256::new_from_slice(secret).unwrap();
        mac.update(body);
        format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
    }

    fn page(events: &str) -> String {
        format!(
            r#"{{"object":"page","entry":[{{"id":"111222333","time":1458692752478,"messaging":[{events}]}}]}}"#
        )
    }

    fn only_event(body: &str) -> Event {
        let batch = parse(body.as_bytes()).unwrap();
        assert_eq!(batch.entries.len(), 1);
        assert_eq!(batch.entries[0].messaging.len(), 1);
        batch.entries[0].messaging[0].clone()
    }

    // Signatures.

    #[test]
    fn a_correct_signature_passes() {
        let body = page("").into_bytes();
        let header = sign(SECRET, &body);
        assert_eq!(verify_signature(SECRET, Some(&header), &body), Ok(()));
    }

    #[test]
    fn upper_case_hex_is_accepted() {
        let body = b"{}";
        let header = sign(SECRET, body).replace("sha256=", "");
        let header = format!("sha256={}", header.to_uppercase());
        assert_eq!(verify_signature(SECRET, Some(&header), body), Ok(()));
    }

    #[test]
    fn a_missing_header_is_refused() {
        assert_eq!(
            verify_signature(SECRET, None, b"{}"),
            Err(SignatureError::Missing)
        );
    }

    #[test]
    fn malformed_headers_are_refused() {
        let body = b"{}";
        let good = sign(SECRET, body);
        let digits = good.strip_prefix("sha256=").unwrap();
        for header in [
            String::new(),
            digits.to_owned(),
            format!("sha1={digits}"),
            format!("SHA256={digits}"),
            format!("sha256={}", &digits[..63]),
            format!("sha256={digits}0"),
            format!("sha256={}g", &digits[..63]),
            format!("sha256= {}", &digits[..63]),
            "sha256=".to_owned(),
        ] {
            assert_eq!(
                verify_signature(SECRET, Some(&header), body),
                Err(SignatureError::Malformed),
                "{header:?}"
            );
        }
    }

    #[test]
    fn a_wrong_signature_is_refused() {
        let body = b"{}";
        let other_secret = sign(b"another secret", body);
        assert_eq!(
            verify_signature(SECRET, Some(&other_secret), body),
            Err(SignatureError::Mismatch)
        );
        let zeros = format!("sha256={}", "0".repeat(64));
        assert_eq!(
            verify_signature(SECRET, Some(&zeros), body),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn a_tampered_body_fails_verification() {
        let body = page(
            r#"{"sender":{"id":"9001"},"recipient":{"id":"111222333"},"timestamp":1458692752478,"message":{"mid":"m_1","text":"refund please"}}"#,
        );
        let header = sign(SECRET, body.as_bytes());
        assert_eq!(
            verify_signature(SECRET, Some(&header), body.as_bytes()),
            Ok(())
        );
        let tampered = body.replace("refund please", "refund pleaze");
        assert_eq!(
            verify_signature(SECRET, Some(&header), tampered.as_bytes()),
            Err(SignatureError::Mismatch)
        );
        let mut extra = body.into_bytes();
        extra.push(b' ');
        assert_eq!(
            verify_signature(SECRET, Some(&header), &extra),
            Err(SignatureError::Mismatch)
        );
    }

    // Subscription.

    #[test]
    fn subscription_handshake() {
        let ok = verify_subscription(Some("subscribe"), Some("tok"), Some("1158201444"), "tok");
        assert_eq!(ok.as_deref(), Some("1158201444"));
        assert_eq!(
            verify_subscription(Some("subscribe"), Some("bad"), Some("c"), "tok"),
            None
        );
        assert_eq!(
            verify_subscription(Some("subscribe"), Some("to"), Some("c"), "tok"),
            None
        );
        assert_eq!(
            verify_subscription(Some("unsubscribe"), Some("tok"), Some("c"), "tok"),
            None
        );
        assert_eq!(
            verify_subscription(None, Some("tok"), Some("c"), "tok"),
            None
        );
        assert_eq!(
            verify_subscription(Some("subscribe"), None, Some("c"), "tok"),
            None
        );
        assert_eq!(
            verify_subscription(Some("subscribe"), Some("tok"), None, "tok"),
            None
        );
        assert_eq!(
            verify_subscription(Some("subscribe"), Some(""), Some("c"), ""),
            None
        );
    }

    // Parsing.

    #[test]
    fn a_text_message() {
        let event = only_event(&page(
            r#"{"sender":{"id":"6543210987654321"},"recipient":{"id":"111222333"},"timestamp":1458692752478,
                "message":{"mid":"mid.1457764197618:41d102a3e1ae206a38","text":"hello, world!","nlp":{}}}"#,
        ));
        assert_eq!(event.sender, "6543210987654321");
        assert_eq!(event.recipient, "111222333");
        assert_eq!(event.timestamp, 1458692752478);
        let EventKind::Message(m) = &event.kind else {
            panic!("{event:?}")
        };
        assert_eq!(m.mid, "mid.1457764197618:41d102a3e1ae206a38");
        assert_eq!(m.text.as_deref(), Some("hello, world!"));
        assert!(m.attachments.is_empty());
        assert_eq!(m.quick_reply, None);
        assert_eq!(m.reply_to, None);

        let inc = incoming(InboxId(7), &event).unwrap();
        assert_eq!(
            inc,
            Incoming {
                inbox: InboxId(7),
                contact_external_id: "6543210987654321".into(),
                contact_name: "6543210987654321".into(),
                channel_message_id: "mid.1457764197618:41d102a3e1ae206a38".into(),
                at: 1458692752478,
                author: Author::Customer,
                text: "hello, world!".into(),
                attachments: vec![],
            }
        );
    }

    #[test]
    fn attachments() {
        let body = r#"{"object":"page","entry":[{"id":"682498302938465","time":1518479195594,"messaging":[
            {"sender":{"id":"1254477777772919"},"recipient":{"id":"682498302938465"},"timestamp":1518479195308,
             "message":{"mid":"mid.$cAAJdkrCd2ORnva8ErFhjGm0X_Q_c","attachments":[
                {"type":"image","payload":{"url":"https://scontent.xx.fbcdn.net/v/t1.15752-9/photo.jpg?_nc_oc=abc"}},
                {"type":"file","payload":{"url":"https://cdn.fbsbx.com/v/t59.2708-21/invoice.pdf"}},
                {"type":"fallback","title":"Example","url":"https://example.com/","payload":null},
                {"type":"fallback"}
             ]}}]}]}"#;
        let event = only_event(body);
        let EventKind::Message(m) = &event.kind else {
            panic!("{event:?}")
        };
        assert_eq!(m.text, None);
        assert_eq!(
            m.attachments,
            vec![
                MetaAttachment {
                    kind: "image".into(),
                    url: Some(
                        "https://scontent.xx.fbcdn.net/v/t1.15752-9/photo.jpg?_nc_oc=abc".into()
                    ),
                    title: None,
                },
                MetaAttachment {
                    kind: "file".into(),
                    url: Some("https://cdn.fbsbx.com/v/t59.2708-21/invoice.pdf".into()),
                    title: None,
                },
                MetaAttachment {
                    kind: "fallback".into(),
                    url: Some("https://example.com/".into()),
                    title: Some("Example".into()),
                },
                MetaAttachment {
                    kind: "fallback".into(),
                    url: None,
                    title: None,
                },
            ]
        );
        let inc = incoming(InboxId(1), &event).unwrap();
        assert_eq!(inc.text, "");
        assert_eq!(inc.at, 1518479195308);
        assert_eq!(
            inc.attachments,
            vec![
                Attachment {
                    kind: "image".into(),
                    url: "https://scontent.xx.fbcdn.net/v/t1.15752-9/photo.jpg?_nc_oc=abc".into(),
                    name: None,
                },
                Attachment {
                    kind: "file".into(),
                    url: "https://cdn.fbsbx.com/v/t59.2708-21/invoice.pdf".into(),
                    name: None,
                },
                Attachment {
                    kind: "fallback".into(),
                    url: "https://example.com/".into(),
                    name: Some("Example".into()),
                },
            ]
        );
    }

    #[test]
    fn a_quick_reply_and_a_reply_to() {
        let event = only_event(&page(
            r#"{"sender":{"id":"42"},"recipient":{"id":"111222333"},"timestamp":1458692752478,
                "message":{"mid":"m_1457764197618:41d102a3e1ae206a38","text":"Red",
                           "quick_reply":{"payload":"COLOR_RED"},
                           "reply_to":{"mid":"m_1fTq8oLumEyIp3Q2MR-aY7IfLZDamVrALniheU","is_self_reply":false}}}"#,
        ));
        let EventKind::Message(m) = &event.kind else {
            panic!("{event:?}")
        };
        assert_eq!(m.quick_reply.as_deref(), Some("COLOR_RED"));
        assert_eq!(
            m.reply_to.as_deref(),
            Some("m_1fTq8oLumEyIp3Q2MR-aY7IfLZDamVrALniheU")
        );
        assert_eq!(incoming(InboxId(1), &event).unwrap().text, "Red");
    }

    #[test]
    fn an_echo_from_prontos_app_with_metadata() {
        let event = only_event(&page(
            r#"{"sender":{"id":"111222333"},"recipient":{"id":"42"},"timestamp":1457764197627,
                "message":{"is_echo":true,"app_id":1517776481860111,"metadata":"pronto-outbox:981",
                           "mid":"mid.1457764197618:41d102a3e1ae206a38","text":"We are on it."}}"#,
        ));
        assert_eq!(event.sender, "111222333");
        assert_eq!(event.recipient, "42");
        assert_eq!(
            event.kind,
            EventKind::Echo(Echo {
                mid: "mid.1457764197618:41d102a3e1ae206a38".into(),
                text: Some("We are on it.".into()),
                attachments: vec![],
                app_id: Some("1517776481860111".into()),
                metadata: Some("pronto-outbox:981".into()),
            })
        );
        assert_eq!(incoming(InboxId(1), &event), None);
    }

    #[test]
    fn an_echo_from_another_app() {
        let event = only_event(&page(
            r#"{"sender":{"id":"111222333"},"recipient":{"id":"42"},"timestamp":1457764197700,
                "message":{"is_echo":true,"app_id":"263902037430900","mid":"m_other",
                           "text":"Sent from the Page inbox"}}"#,
        ));
        let EventKind::Echo(echo) = &event.kind else {
            panic!("{event:?}")
        };
        assert_eq!(echo.app_id.as_deref(), Some("263902037430900"));
        assert_eq!(echo.metadata, None);
        assert_eq!(incoming(InboxId(1), &event), None);
    }

    #[test]
    fn read_delivery_edit_and_postback() {
        let batch = parse(
            page(
                r#"{"sender":{"id":"42"},"recipient":{"id":"111222333"},"timestamp":1458668856463,"read":{"watermark":1458668856253}},
                   {"sender":{"id":"42"},"recipient":{"id":"111222333"},"timestamp":1458668856464,
                    "delivery":{"mids":["mid.1458668856218:ed81099e15d3f4f233"],"watermark":1458668856253}},
                   {"sender":{"id":"42"},"recipient":{"id":"111222333"},"timestamp":1458668856465,"delivery":{"watermark":1458668856253}},
                   {"sender":{"id":"42"},"recipient":{"id":"111222333"},"timestamp":1458668856466,
                    "message_edit":{"mid":"m_edited","text":"hello again","num_edit":2}},
                   {"sender":{"user_ref":"USER-REF-ID"},"recipient":{"id":"111222333"},"timestamp":"1527459824",
                    "postback":{"mid":"m_MESSAGE-ID","title":"Get Started","payload":"GET_STARTED",
                                "referral":{"ref":"x","source":"SHORT-URL","type":"OPEN_THREAD"}}}"#,
            )
            .as_bytes(),
        )
        .unwrap();
        let kinds: Vec<_> = batch.entries[0]
            .messaging
            .iter()
            .map(|e| e.kind.clone())
            .collect();
        assert_eq!(
            kinds,
            vec![
                EventKind::Read {
                    watermark: Some(1458668856253),
                    mid: None
                },
                EventKind::Delivery {
                    mids: vec!["mid.1458668856218:ed81099e15d3f4f233".into()],
                    watermark: Some(1458668856253)
                },
                EventKind::Delivery {
                    mids: vec![],
                    watermark: Some(1458668856253)
                },
                EventKind::MessageEdit {
                    mid: "m_edited".into(),
                    text: Some("hello again".into()),
                    num_edit: Some(2)
                },
                EventKind::Postback {
                    title: Some("Get Started".into()),
                    payload: Some("GET_STARTED".into()),
                    mid: Some("m_MESSAGE-ID".into())
                },
            ]
        );
        let postback = &batch.entries[0].messaging[4];
        assert_eq!(postback.sender, "USER-REF-ID");
        assert_eq!(postback.timestamp, 1527459824);
        for e in &batch.entries[0].messaging {
            assert_eq!(incoming(InboxId(1), e), None);
        }
    }

    #[test]
    fn standby_events() {
        let body = r#"{"object":"page","entry":[{"id":"111222333","time":1570053170926,"standby":[
            {"sender":{"id":"111222333"},"recipient":{"id":"42"},"timestamp":1570053170673,
             "message":{"mid":"qT7ywaKpO9kkQR7Gv","is_echo":true,"app_id":263902037430900,
                        "attachments":[{"title":"","url":"https://www.facebook.com/commerce/update/","type":"template",
                                        "payload":{"template_type":"media","elements":[{"media_type":"image","attachment_id":2457235337685388}]}}]}},
            {"sender":{"id":"42"},"recipient":{"id":"111222333"},"timestamp":1570053171000,
             "message":{"mid":"m_standby","text":"anyone there?"}}]}]}"#;
        let batch = parse(body.as_bytes()).unwrap();
        let entry = &batch.entries[0];
        assert!(entry.messaging.is_empty());
        assert_eq!(entry.standby.len(), 2);
        let EventKind::Echo(echo) = &entry.standby[0].kind else {
            panic!("{:?}", entry.standby[0])
        };
        assert_eq!(
            echo.attachments,
            vec![MetaAttachment {
                kind: "template".into(),
                url: Some("https://www.facebook.com/commerce/update/".into()),
                title: None,
            }]
        );
        let inc = incoming(InboxId(3), &entry.standby[1]).unwrap();
        assert_eq!(inc.channel_message_id, "m_standby");
        assert_eq!(inc.text, "anyone there?");
    }

    #[test]
    fn an_instagram_batch() {
        let body = r#"{"object":"instagram","entry":[{"id":"17841405793187218","time":1716242263000,"messaging":[
            {"sender":{"id":"1049203716502891"},"recipient":{"id":"17841405793187218"},"timestamp":1716242262713,
             "message":{"mid":"aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQx","text":"is this in stock?"}},
            {"sender":{"id":"17841405793187218"},"recipient":{"id":"1049203716502891"},"timestamp":1716242300000,
             "message":{"mid":"aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQy","text":"Yes!","is_echo":true}},
            {"sender":{"id":"1049203716502891"},"recipient":{"id":"17841405793187218"},"timestamp":1716242400000,
             "read":{"mid":"aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQy"}}]}]}"#;
        let batch = parse(body.as_bytes()).unwrap();
        assert_eq!(batch.object, Object::Instagram);
        let entry = &batch.entries[0];
        assert_eq!(entry.id, "17841405793187218");
        assert_eq!(entry.time, 1716242263000);
        let inc = incoming(InboxId(9), &entry.messaging[0]).unwrap();
        assert_eq!(inc.contact_external_id, "1049203716502891");
        assert_eq!(inc.text, "is this in stock?");
        assert!(matches!(&entry.messaging[1].kind, EventKind::Echo(e) if e.app_id.is_none()));
        assert_eq!(
            entry.messaging[2].kind,
            EventKind::Read {
                watermark: None,
                mid: Some("aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQy".into())
            }
        );
    }

    #[test]
    fn unknown_event_kinds_are_not_errors() {
        let batch = parse(
            page(
                r#"{"sender":{"id":"42"},"recipient":{"id":"111222333"},"timestamp":1458692752478,
                    "reaction":{"mid":"m_1","action":"react","emoji":"\u2764","reaction":"love"}},
                   {"sender":{"id":"42"},"recipient":{"id":"111222333"},"timestamp":1458692752479}"#,
            )
            .as_bytes(),
        )
        .unwrap();
        assert_eq!(
            batch.entries[0].messaging[0].kind,
            EventKind::Unknown {
                kind: "reaction".into()
            }
        );
        assert_eq!(
            batch.entries[0].messaging[1].kind,
            EventKind::Unknown {
                kind: String::new()
            }
        );
        assert_eq!(incoming(InboxId(1), &batch.entries[0].messaging[0]), None);
    }

    #[test]
    fn a_batch_with_several_entries() {
        let body = r#"{"object":"page","entry":[
            {"id":"111","time":1700000000001,"messaging":[
                {"sender":{"id":"a"},"recipient":{"id":"111"},"timestamp":1700000000000,"message":{"mid":"m_a1","text":"one"}},
                {"sender":{"id":"a"},"recipient":{"id":"111"},"timestamp":1700000000500,"message":{"mid":"m_a2","text":"two"}}]},
            {"id":"222","time":1700000000002,"messaging":[
                {"sender":{"id":"b"},"recipient":{"id":"222"},"timestamp":1700000000100,"message":{"mid":"m_b1","text":"three"}}]},
            {"id":"333","time":1700000000003,"changes":[{"field":"feed","value":{}}]}]}"#;
        let batch = parse(body.as_bytes()).unwrap();
        assert_eq!(batch.object, Object::Page);
        let ids: Vec<_> = batch.entries.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, ["111", "222", "333"]);
        let mids: Vec<_> = batch
            .entries
            .iter()
            .flat_map(|e| &e.messaging)
            .filter_map(|e| incoming(InboxId(1), e))
            .map(|i| (i.channel_message_id, i.at))
            .collect();
        assert_eq!(
            mids,
            [
                ("m_a1".to_owned(), 1700000000000),
                ("m_a2".to_owned(), 1700000000500),
                ("m_b1".to_owned(), 1700000000100),
            ]
        );
        assert!(batch.entries[2].messaging.is_empty());
    }

    #[test]
    fn malformed_bodies_name_the_path() {
        let ev = |e: &str| page(e);
        let cases: Vec<(String, &str)> = vec![
            ("not json".into(), "$"),
            ("[]".into(), "$"),
            (r#"{"entry":[]}"#.into(), "object"),
            (r#"{"object":"whatsapp_business_account","entry":[]}"#.into(), "object"),
            (r#"{"object":"page"}"#.into(), "entry"),
            (r#"{"object":"page","entry":{}}"#.into(), "entry"),
            (r#"{"object":"page","entry":[{"time":1}]}"#.into(), "entry[0].id"),
            (r#"{"object":"page","entry":[{"id":"1"}]}"#.into(), "entry[0].time"),
            (r#"{"object":"page","entry":[{"id":"1","time":1,"messaging":{}}]}"#.into(), "entry[0].messaging"),
            (ev(r#"{"recipient":{"id":"1"},"timestamp":1}"#), "entry[0].messaging[0].sender"),
            (ev(r#"{"sender":{},"recipient":{"id":"1"},"timestamp":1}"#), "entry[0].messaging[0].sender.id"),
            (ev(r#"{"sender":{"id":"2"},"recipient":{"user_ref":"1"},"timestamp":1}"#), "entry[0].messaging[0].recipient.id"),
            (ev(r#"{"sender":{"id":"2"},"recipient":{"id":"1"},"timestamp":"soon"}"#), "entry[0].messaging[0].timestamp"),
            (ev(r#"{"sender":{"id":"2"},"recipient":{"id":"1"},"timestamp":-5}"#), "entry[0].messaging[0].timestamp"),
            (ev(r#"{"sender":{"id":"2"},"recipient":{"id":"1"},"timestamp":1,"message":{"text":"x"}}"#), "entry[0].messaging[0].message.mid"),
            (ev(r#"{"sender":{"id":"2"},"recipient":{"id":"1"},"timestamp":1,"message":{"mid":"m","text":7}}"#), "entry[0].messaging[0].message.text"),
            (ev(r#"{"sender":{"id":"2"},"recipient":{"id":"1"},"timestamp":1,"message":{"mid":"m","is_echo":"yes"}}"#), "entry[0].messaging[0].message.is_echo"),
            (ev(r#"{"sender":{"id":"2"},"recipient":{"id":"1"},"timestamp":1,"message":{"mid":"m","attachments":[{"type":"image","payload":{"url":"u"}},{"payload":{}}]}}"#), "entry[0].messaging[0].message.attachments[1].type"),
            (ev(r#"{"sender":{"id":"2"},"recipient":{"id":"1"},"timestamp":1,"message":{"mid":"m","attachments":[{"type":"image","payload":{"url":5}}]}}"#), "entry[0].messaging[0].message.attachments[0].payload.url"),
            (ev(r#"{"sender":{"id":"2"},"recipient":{"id":"1"},"timestamp":1,"message":{"mid":"m","quick_reply":"x"}}"#), "entry[0].messaging[0].message.quick_reply"),
            (ev(r#"{"sender":{"id":"2"},"recipient":{"id":"1"},"timestamp":1,"delivery":{"mids":["a",3]}}"#), "entry[0].messaging[0].delivery.mids[1]"),
            (ev(r#"{"sender":{"id":"2"},"recipient":{"id":"1"},"timestamp":1,"read":[]}"#), "entry[0].messaging[0].read"),
            (ev(r#"{"sender":{"id":"2"},"recipient":{"id":"1"},"timestamp":1,"message_edit":{"text":"x"}}"#), "entry[0].messaging[0].message_edit.mid"),
            (r#"{"object":"page","entry":[{"id":"1","time":1,"standby":[{"sender":{"id":"2"},"recipient":{"id":"1"},"timestamp":1,"postback":{"title":1}}]}]}"#.into(), "entry[0].standby[0].postback.title"),
        ];
        for (body, path) in cases {
            let e = parse(body.as_bytes()).expect_err(&body);
            assert_eq!(e.path, path, "{body}: {e}");
            assert!(e.to_string().starts_with(path), "{e}");
        }
    }

    #[test]
    fn fields_it_does_not_read_are_named_for_counting() {
        let event = only_event(&page(
            r#"{"sender":{"id":"1"},"recipient":{"id":"2"},"timestamp":5,"referral":{"ref":"ad"},"message":{"mid":"m","text":"hi","nlp":{}}}"#,
        ));
        assert_eq!(event.unknown_fields, ["referral", "message.nlp"]);
        let plain = only_event(&page(
            r#"{"sender":{"id":"1"},"recipient":{"id":"2"},"timestamp":5,"message":{"mid":"m","text":"hi"}}"#,
        ));
        assert!(plain.unknown_fields.is_empty());
        let reaction = only_event(&page(
            r#"{"sender":{"id":"1"},"recipient":{"id":"2"},"timestamp":5,"reaction":{"mid":"m"}}"#,
        ));
        assert!(
            reaction.unknown_fields.is_empty(),
            "an unknown kind is counted as a kind"
        );
    }
}
