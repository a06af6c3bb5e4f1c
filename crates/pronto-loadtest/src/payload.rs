//! Webhook bodies in Meta's exact shapes, and their signature.
//!
//! Meta delivers a batch `{"object": "page"|"instagram", "entry": [...]}`; each entry is one
//! Page (or Instagram account) at one instant with its `messaging` events. Meta documents that
//! `messaging` holds a single event even though it is an array, and batches several entries
//! (possibly of the same Page) in one POST instead; [`batch`] allows both.
//! <https://developers.facebook.com/docs/messenger-platform/webhooks>,
//! <https://developers.facebook.com/docs/messenger-platform/reference/webhook-events/messages>,
//! <https://developers.facebook.com/docs/messenger-platform/reference/webhook-events/message-echoes>.

use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

/// A customer's text message to a Page: an `entry[].messaging[]` event.
pub fn message(page_id: &str, psid: &str, mid: &str, text: &str, timestamp_ms: u64) -> Value {
    json!({
        "sender": {"id": psid},
        "recipient": {"id": page_id},
        "timestamp": timestamp_ms,
        "message": {"mid": mid, "text": text},
    })
}

/// A message the Page sent (from Pronto, Meta's inbox or a bot), echoed back: sender and
/// recipient are swapped, `is_echo` is set and `app_id` names the sending app.
pub fn echo(
    page_id: &str,
    psid: &str,
    mid: &str,
    text: &str,
    app_id: Option<&str>,
    metadata: Option<&str>,
    timestamp_ms: u64,
) -> Value {
    let mut message = json!({"is_echo": true, "mid": mid, "text": text});
    if let Some(app_id) = app_id {
        // Meta sends the app id as a JSON number; keep a non-numeric one as given.
        message["app_id"] = app_id
            .parse::<u64>()
            .map_or_else(|_| json!(app_id), |n| json!(n));
    }
    if let Some(metadata) = metadata {
        message["metadata"] = json!(metadata);
    }
    json!({
        "sender": {"id": page_id},
        "recipient": {"id": psid},
        "timestamp": timestamp_ms,
        "message": message,
    })
}

/// A whole delivery: `object` is `"page"` (Messenger) or `"instagram"`; each entry is
/// `(entry id, time in ms, messaging events)`. Returns the bytes to sign and POST.
pub fn batch(object: &str, entries: Vec<(String, u64, Vec<Value>)>) -> Vec<u8> {
    let entry: Vec<Value> = entries
        .into_iter()
        .map(|(id, time, messaging)| json!({"id": id, "time": time, "messaging": messaging}))
        .collect();
    serde_json::to_vec(&json!({"object": object, "entry": entry}))
        .expect("a JSON value always serializes")
}

/// The `X-Hub-Signature-256` header value for `body`: `sha256=` and the lowercase hex
/// HMAC-SHA256 of the raw bytes keyed with the app secret.
pub fn sign(app_secret: &[u8], body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(app_secret).expect("HMAC takes a key of any length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_a_known_value() {
        // HMAC-SHA256 test case 2 of RFC 4231.
        assert_eq!(
            sign(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn batch_has_meta_shape() {
        let body = batch(
            "page",
            vec![(
                "111".into(),
                1_700_000_000_000,
                vec![
                    message("111", "222", "m_1", "hi", 1_700_000_000_000),
                    echo(
                        "111",
                        "222",
                        "m_2",
                        "hello",
                        Some("263902037430900"),
                        None,
                        1,
                    ),
                ],
            )],
        );
        let value: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(value["object"], "page");
        let event = &value["entry"][0]["messaging"][0];
        assert_eq!(event["sender"]["id"], "222");
        assert_eq!(event["recipient"]["id"], "111");
        assert_eq!(event["message"]["mid"], "m_1");
        let echo = &value["entry"][0]["messaging"][1]["message"];
        assert_eq!(echo["is_echo"], true);
        assert_eq!(echo["app_id"], 263902037430900u64);
        assert!(echo.get("metadata").is_none());
    }
}
