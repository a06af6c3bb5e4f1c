//! Pronto's test and load tools for the Meta channels (Messenger, Instagram).
//!
//! - [`graph::StandIn`]: an in-process stand-in for the Graph API endpoints Pronto calls
//!   (`/me`, `subscribed_apps`, the Send API, the Conversations API), for the server's
//!   integration tests and for the benchmark.
//! - [`payload`]: webhook bodies in Meta's exact shapes and their `X-Hub-Signature-256`.
//!
//! The `pronto-loadtest` binary runs the stand-in as a process (`graph`), drives signed
//! webhook deliveries at a server (`webhooks`), measures plain batched INSERTs as a ceiling to
//! compare with (`ceiling`), and checks that every acknowledged message is stored once
//! (`count`); `scripts/bench-webhooks.sh` and `scripts/crash-webhooks.sh` tie them together.

pub mod db;
pub mod graph;
pub mod payload;
pub mod reads;
pub mod webhooks;

/// What customers write: short and long, with accents, emoji and quotes, so that bodies and
/// rows have realistic sizes and escaping.
pub const TEXTS: &[&str] = &[
    "Hi! Are you open today?",
    "Hello, I ordered a birthday cake for Saturday, order #48213. Can I still change the flavour to chocolate?",
    "Do you deliver to 12 rue des Lilas? 🙏",
    "ok thanks",
    "My parcel hasn't arrived yet and the tracking page says \"delivered\". What should I do?",
    "Bonjour, je voudrais réserver une table pour 4 personnes ce soir à 20h, c'est possible ?",
    "How much is the large one?",
    "Is the blue jacket in the photo available in size M? And do you have it in black as well? I'd like to pick it up tomorrow afternoon if possible.",
    "👍",
    "Can I pay by card when I pick it up?",
    "Hola, ¿tienen opciones sin gluten?",
    "Still waiting for an answer about my refund, it's been a week…",
];

/// Milliseconds since the Unix epoch, as Meta's `time` and `timestamp` fields.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}
