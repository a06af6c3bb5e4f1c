//! Webhook deliveries in Meta's exact shapes (tests/fixtures/meta/, written after the
//! examples of Meta's webhook reference pages) parse into the events they carry.

use pronto_channels::meta::{EventKind, Object, parse};

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/meta/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn kinds(name: &str) -> (Object, Vec<String>) {
    let batch = parse(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    let kinds = batch
        .entries
        .iter()
        .flat_map(|entry| entry.messaging.iter().chain(&entry.standby))
        .map(|event| match &event.kind {
            EventKind::Message(m) => format!("message {} {}", m.mid, m.attachments.len()),
            EventKind::Echo(e) => format!(
                "echo {} app={} metadata={}",
                e.mid,
                e.app_id.as_deref().unwrap_or("-"),
                e.metadata.as_deref().unwrap_or("-")
            ),
            EventKind::MessageEdit { mid, text, .. } => {
                format!("edit {mid} {}", text.as_deref().unwrap_or(""))
            }
            EventKind::Read { watermark, mid } => format!("read {watermark:?} {}", mid.is_some()),
            EventKind::Delivery { mids, .. } => format!("delivery {}", mids.join(",")),
            EventKind::Postback { title, .. } => {
                format!("postback {}", title.as_deref().unwrap_or(""))
            }
            EventKind::Unknown { kind } => format!("unknown {kind}"),
        })
        .collect();
    (batch.object, kinds)
}

#[test]
fn every_fixture_parses_into_its_events() {
    assert_eq!(
        kinds("messenger_text.json"),
        (
            Object::Page,
            vec!["message m_AG5Hz2Uq7tuwNEhXfYYKj8mJEM_QPpz5jdCK48PnKAjSdjfipqxqMvK8ma6AC8fplwlqLP_5cgXIbu7I3rBN0P 0".to_owned()]
        )
    );
    assert_eq!(
        kinds("messenger_attachments_quick_reply.json").1,
        ["message m_photo_1 2", "message m_quick_1 0"]
    );
    assert_eq!(
        kinds("messenger_echo_from_app.json").1,
        ["echo m_reply_42 app=555000111 metadata=pronto:42"]
    );
    assert_eq!(
        kinds("messenger_echo_page_inbox_standby.json").1,
        ["echo m_page_inbox_1 app=263902037430900 metadata=-"]
    );
    assert_eq!(
        kinds("messenger_postback_read_delivery_edit.json").1,
        [
            "postback Talk to a person",
            "read Some(1763629600000) false",
            "delivery m_reply_42",
            "edit m_quick_1 Size L, sorry",
            "unknown reaction"
        ]
    );
    let (object, instagram) = kinds("instagram_message_and_echo.json");
    assert_eq!(object, Object::Instagram);
    assert!(instagram[0].starts_with("message aWdf"));
    assert!(instagram[1].starts_with("echo aWdf") && instagram[1].ends_with("app=- metadata=-"));
    assert_eq!(instagram[2], "read None true");
}
