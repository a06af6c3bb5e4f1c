//! Meta's channels, Facebook Messenger and Instagram Direct, in the server: the webhook
//! (`GET`/`POST /webhooks/meta`), the Graph API client, the outbox's sender, connecting an
//! inbox and the 30-day backfill. The wire formats themselves are `pronto_channels::meta`
//! (webhooks) and `pronto_channels::meta_api` (the Send API); `docs/meta.md` tells operators
//! how to set the Meta app up and what each behaviour rests on.

pub mod backfill;
pub mod graph;
pub mod journal;
pub mod profiles;
pub mod sender;
pub mod webhook;

use crate::crypto::SecretKey;
use pronto_core::{ChannelKind, Inbox};
use serde_json::Value;

/// What a Messenger or Instagram inbox keeps, read from its settings and sealed secrets.
#[derive(Clone, Debug)]
pub struct MetaInbox {
    pub channel: ChannelKind,
    /// The page id (Messenger) or Instagram professional account id.
    pub account_id: String,
    pub access_token: Option<String>,
    /// Whether people may reply up to 7 days after the customer's last message
    /// (`HUMAN_AGENT`).
    pub human_agent: bool,
    /// Texts of the page's own automated responses (instant reply, away message, FAQ
    /// answers), whose echoes are automation: Meta's echoes do not tell them apart otherwise.
    pub automated_texts: Vec<String>,
    /// Why the inbox cannot send until its admin acts (an expired token, say).
    pub problem: Option<String>,
}

impl MetaInbox {
    /// The inbox's Meta settings, or `None` for an inbox of another channel.
    pub fn of(key: &SecretKey, inbox: &Inbox) -> Option<Self> {
        if !matches!(
            inbox.channel,
            ChannelKind::Messenger | ChannelKind::Instagram
        ) {
            return None;
        }
        let settings = &inbox.settings;
        let secrets: Option<Value> = inbox
            .sealed_secrets
            .as_deref()
            .and_then(|sealed| key.open(sealed).ok())
            .and_then(|bytes| serde_json::from_slice(&bytes).ok());
        let token_key = match inbox.channel {
            ChannelKind::Messenger => "page_access_token",
            _ => "access_token",
        };
        Some(Self {
            channel: inbox.channel,
            account_id: inbox.channel_key.clone().unwrap_or_default(),
            access_token: secrets
                .as_ref()
                .and_then(|s| s.get(token_key))
                .and_then(Value::as_str)
                .map(str::to_owned),
            human_agent: settings.get("human_agent").and_then(Value::as_bool) == Some(true),
            automated_texts: settings
                .get("automated_texts")
                .and_then(Value::as_array)
                .map(|texts| {
                    texts
                        .iter()
                        .filter_map(Value::as_str)
                        .map(normalized)
                        .collect()
                })
                .unwrap_or_default(),
            problem: settings
                .get("problem")
                .and_then(Value::as_str)
                .map(str::to_owned),
        })
    }

    /// Whether an echo's text is one of the page's automated responses.
    pub fn is_automated_text(&self, text: &str) -> bool {
        !self.automated_texts.is_empty() && self.automated_texts.contains(&normalized(text))
    }
}

/// A text compared without regard to runs of whitespace or letter case.
fn normalized(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// Meta's Page Inbox app (Meta Business Suite, the Page's inbox): echoes of messages sent
/// there carry this `app_id`, whether a person or one of the page's automated responses
/// sent them (Meta's Handover Protocol documentation names it as the Page Inbox's app id).
pub const PAGE_INBOX_APP_ID: &str = "263902037430900";
/// Instagram's own inbox app, likewise.
pub const INSTAGRAM_INBOX_APP_ID: &str = "1217981644879628";
