//! Meta's Graph API as Pronto calls it, the pure half: the Send API's request body, its
//! answers and Meta's error classes, the token check's and the Conversations API's answers.
//! The HTTP calls live in the server (`pronto_server::meta::graph`).
//!
//! Sources (Meta's developer documentation, as consulted; see also `docs/meta.md`):
//! - Send API (`POST /{PAGE-ID}/messages`): `recipient.id`, `messaging_type` (`RESPONSE`
//!   inside the 24-hour window, `MESSAGE_TAG` with `tag: HUMAN_AGENT` up to 7 days after the
//!   person's last message, for human replies only), `message.text`, `message.metadata` (under
//!   1,000 characters, echoed back in the `message_echoes` webhook). Answer:
//!   `{"recipient_id", "message_id"}`.
//! - Errors: `{"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}`; code 10
//!   with subcode 2018278 is a message sent outside the allowed window, 551 "This person isn't
//!   available right now", 190 an invalid or expired access token, 200/230 a missing
//!   permission, 4/32/613 rate limits.
//! - Instagram API with Instagram Login (`graph.instagram.com`): the same Send API shape on
//!   `POST /{IG-ID}/messages`; text up to 1,000 bytes.

use pronto_badge::Millis;
use serde_json::{Value, json};

/// The longest text Messenger takes in one message (characters).
pub const MESSENGER_TEXT_LIMIT: usize = 2_000;
/// The longest text Instagram takes in one message (bytes of UTF-8).
pub const INSTAGRAM_TEXT_LIMIT: usize = 1_000;

/// Whether Meta takes this reply's text on this platform: `None` if so, else why not.
pub fn text_problem(instagram: bool, text: &str) -> Option<String> {
    if instagram {
        (text.len() > INSTAGRAM_TEXT_LIMIT).then(|| {
            format!(
                "Instagram takes at most {INSTAGRAM_TEXT_LIMIT} bytes per message; this one has {}",
                text.len()
            )
        })
    } else {
        let chars = text.chars().count();
        (chars > MESSENGER_TEXT_LIMIT).then(|| {
            format!(
                "Messenger takes at most {MESSENGER_TEXT_LIMIT} characters per message; this one has {chars}"
            )
        })
    }
}

/// The prefix of the `metadata` Pronto attaches to what it sends: `pronto:<outbox id>`.
pub const METADATA_PREFIX: &str = "pronto:";

/// The metadata naming an outbox entry.
pub fn outbox_metadata(outbox: i64) -> String {
    format!("{METADATA_PREFIX}{outbox}")
}

/// The outbox entry an echo's metadata names, if it is Pronto's.
pub fn outbox_of_metadata(metadata: &str) -> Option<i64> {
    let digits = metadata.strip_prefix(METADATA_PREFIX)?;
    if digits.is_empty() || digits.len() > 18 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// How a reply goes out, by where the customer's last message leaves the window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessagingType {
    /// Within 24 hours of the person's last message.
    Response,
    /// `MESSAGE_TAG` + `HUMAN_AGENT`: a person replying up to 7 days after.
    HumanAgent,
}

/// The 24-hour window, and the human agent's 7 days.
pub const STANDARD_WINDOW: Millis = 24 * 60 * 60 * 1000;
pub const HUMAN_AGENT_WINDOW: Millis = 7 * STANDARD_WINDOW;

/// How a reply may go out at `now` given the customer's last message, or `None` when the
/// window is closed (with `human_agent`, the inbox's HUMAN_AGENT tag is enabled).
pub fn messaging_type(
    last_customer_message_at: Option<Millis>,
    now: Millis,
    human_agent: bool,
) -> Option<MessagingType> {
    let last = last_customer_message_at?;
    if now < last + STANDARD_WINDOW {
        Some(MessagingType::Response)
    } else if human_agent && now < last + HUMAN_AGENT_WINDOW {
        Some(MessagingType::HumanAgent)
    } else {
        None
    }
}

/// The Send API's JSON body for a text reply. `metadata` is set on Messenger (Instagram's
/// echoes are matched by the returned message id and the app id).
pub fn send_body(
    recipient: &str,
    text: &str,
    kind: MessagingType,
    metadata: Option<&str>,
) -> Value {
    let mut message = json!({ "text": text });
    if let Some(metadata) = metadata {
        message["metadata"] = Value::from(metadata);
    }
    let mut body = json!({
        "recipient": { "id": recipient },
        "message": message,
    });
    match kind {
        MessagingType::Response => body["messaging_type"] = Value::from("RESPONSE"),
        MessagingType::HumanAgent => {
            body["messaging_type"] = Value::from("MESSAGE_TAG");
            body["tag"] = Value::from("HUMAN_AGENT");
        }
    }
    body
}

/// The Send API's successful answer: the id of the message it made.
pub fn sent_message_id(answer: &Value) -> Result<String, String> {
    match answer.get("message_id").and_then(Value::as_str) {
        Some(id) if !id.is_empty() => Ok(id.to_owned()),
        _ => Err("the answer has no message_id".to_owned()),
    }
}

/// Meta's error object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GraphError {
    pub status: u16,
    pub message: String,
    pub code: Option<i64>,
    pub subcode: Option<i64>,
    pub fbtrace_id: Option<String>,
}

impl std::fmt::Display for GraphError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.message)?;
        match (self.code, self.subcode) {
            (Some(code), Some(sub)) => write!(f, " (code {code}, subcode {sub})"),
            (Some(code), None) => write!(f, " (code {code})"),
            _ => write!(f, " (HTTP {})", self.status),
        }
    }
}

/// An unsuccessful answer as Meta's error, whatever its body.
pub fn graph_error(status: u16, body: &[u8]) -> GraphError {
    let value: Option<Value> = serde_json::from_slice(body).ok();
    let error = value.as_ref().and_then(|v| v.get("error"));
    let field = |key: &str| error.and_then(|e| e.get(key));
    let message = field("message")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .unwrap_or_else(|| {
            let text = String::from_utf8_lossy(body);
            let text = text.trim();
            if text.is_empty() {
                format!("HTTP {status} without a body")
            } else {
                format!(
                    "HTTP {status}: {}",
                    text.chars().take(200).collect::<String>()
                )
            }
        });
    GraphError {
        status,
        message,
        code: field("code").and_then(Value::as_i64),
        subcode: field("error_subcode").and_then(Value::as_i64),
        fbtrace_id: field("fbtrace_id")
            .and_then(Value::as_str)
            .map(str::to_owned),
    }
}

/// What to do about a failed send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ErrorClass {
    /// The reply can never be sent (outside the window, the person unavailable, anything
    /// Meta refuses for a reason that retrying does not change): failed, with Meta's reason.
    Permanent(String),
    /// The inbox's credentials need its admin (an expired token, a missing permission): the
    /// inbox is flagged and its replies wait.
    Inbox(String),
    /// Try again later: rate limits, Meta's own errors, timeouts.
    Transient(String),
}

/// Classifies Meta's error for a send.
pub fn classify(error: &GraphError) -> ErrorClass {
    let reason = error.to_string();
    match (error.code, error.subcode) {
        (Some(10), Some(2_018_278)) => ErrorClass::Permanent(format!(
            "outside the reply window: Meta takes replies within 24 hours of the customer's last message ({reason})"
        )),
        (Some(551), _) => ErrorClass::Permanent(format!("the person is unavailable ({reason})")),
        (Some(190), _) => ErrorClass::Inbox(format!(
            "the access token is invalid or expired; reconnect the inbox ({reason})"
        )),
        (Some(200 | 230), _) | (Some(10), _) => ErrorClass::Inbox(format!(
            "the app lacks a permission for this inbox ({reason})"
        )),
        (Some(4 | 17 | 32 | 613 | 80_006), _) => {
            ErrorClass::Transient(format!("rate limited ({reason})"))
        }
        (Some(1 | 2), _) => ErrorClass::Transient(format!("Meta's temporary error ({reason})")),
        _ if error.status >= 500 || error.status == 429 => ErrorClass::Transient(reason),
        _ => ErrorClass::Permanent(reason),
    }
}

/// Parses the Graph API's time, `2026-11-20T10:15:00+0000` (also with `+00:00` or `Z`).
pub fn graph_time(text: &str) -> Option<Millis> {
    let text = text.trim();
    let normalized = match text.len() {
        24 if text.as_bytes()[19] == b'+' || text.as_bytes()[19] == b'-' => {
            format!("{}:{}", &text[..22], &text[22..])
        }
        _ => text.to_owned(),
    };
    pronto_badge::parse_instant(&normalized)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_decides_how_a_reply_goes() {
        let last = 1_000_000;
        assert_eq!(
            messaging_type(Some(last), last + STANDARD_WINDOW - 1, false),
            Some(MessagingType::Response)
        );
        assert_eq!(
            messaging_type(Some(last), last + STANDARD_WINDOW, false),
            None
        );
        assert_eq!(
            messaging_type(Some(last), last + STANDARD_WINDOW, true),
            Some(MessagingType::HumanAgent)
        );
        assert_eq!(
            messaging_type(Some(last), last + HUMAN_AGENT_WINDOW, true),
            None
        );
        assert_eq!(messaging_type(None, last, true), None);
    }

    #[test]
    fn the_send_body_is_meta_s() {
        let body = send_body("PSID", "Hello", MessagingType::Response, Some("pronto:7"));
        assert_eq!(
            body,
            json!({"recipient": {"id": "PSID"}, "messaging_type": "RESPONSE",
                   "message": {"text": "Hello", "metadata": "pronto:7"}})
        );
        let tagged = send_body("PSID", "Hi", MessagingType::HumanAgent, None);
        assert_eq!(tagged["messaging_type"], "MESSAGE_TAG");
        assert_eq!(tagged["tag"], "HUMAN_AGENT");
        assert!(tagged["message"].get("metadata").is_none());
        assert_eq!(outbox_of_metadata(&outbox_metadata(42)), Some(42));
        for foreign in [
            "pronto:",
            "pronto:x1",
            "other:1",
            "pronto:99999999999999999999",
        ] {
            assert_eq!(outbox_of_metadata(foreign), None, "{foreign}");
        }
    }

    #[test]
    fn meta_s_errors_are_classified() {
        let error = |code: i64, subcode: Option<i64>| {
            let body = json!({"error": {"message": "m", "type": "OAuthException", "code": code,
                "error_subcode": subcode, "fbtrace_id": "T"}});
            graph_error(400, body.to_string().as_bytes())
        };
        assert!(
            matches!(classify(&error(10, Some(2_018_278))), ErrorClass::Permanent(r) if r.contains("window"))
        );
        assert!(matches!(
            classify(&error(551, Some(1_545_041))),
            ErrorClass::Permanent(_)
        ));
        assert!(
            matches!(classify(&error(190, Some(463))), ErrorClass::Inbox(r) if r.contains("token"))
        );
        assert!(matches!(classify(&error(200, None)), ErrorClass::Inbox(_)));
        assert!(matches!(classify(&error(10, None)), ErrorClass::Inbox(_)));
        for code in [4, 32, 613] {
            assert!(matches!(
                classify(&error(code, None)),
                ErrorClass::Transient(_)
            ));
        }
        assert!(matches!(
            classify(&error(100, Some(2_018_001))),
            ErrorClass::Permanent(_)
        ));
        let bare = graph_error(503, b"<html>down</html>");
        assert_eq!(bare.code, None);
        assert!(matches!(classify(&bare), ErrorClass::Transient(_)));
        assert_eq!(error(190, Some(463)).fbtrace_id.as_deref(), Some("T"));
    }

    #[test]
    fn texts_meta_would_refuse_are_named() {
        assert_eq!(text_problem(false, &"a".repeat(2_000)), None);
        assert!(text_problem(false, &"a".repeat(2_001)).is_some());
        assert!(text_problem(true, &"я".repeat(501)).is_some());
        assert_eq!(text_problem(true, &"я".repeat(500)), None);
    }

    #[test]
    fn graph_times_parse() {
        let at = graph_time("2026-11-20T10:15:00+0000").unwrap();
        assert_eq!(
            Some(at),
            pronto_badge::parse_instant("2026-11-20T10:15:00Z")
        );
        assert_eq!(graph_time("2026-11-20T12:15:00+0200"), Some(at));
        assert_eq!(graph_time("yesterday"), None);
        let answer = json!({"recipient_id": "1", "message_id": "m_1"});
        assert_eq!(sent_message_id(&answer).unwrap(), "m_1");
        assert!(sent_message_id(&json!({})).is_err());
    }
}
