//! `pronto demo`'s hooks: [`seed`] fills an empty database with a demo workspace and
//! [`customers`] is the playground's simulated customers, started with the server.
//!
//! Both are minimal placeholders for now (one workspace, two playground inboxes, a few
//! conversations, a message every few minutes); the realistic demo (45 days of history, agents,
//! templates, customers in English and Russian) builds on the same two entry points.

use crate::admin::{AdminError, add_user};
use crate::app::App;
use crate::crypto::random_token;
use pronto_badge::time::{MINUTE, SECOND};
use pronto_badge::{Author, Millis};
use pronto_core::store::{NewInbox, Store};
use pronto_core::{ChannelKind, Incoming};
use std::sync::Arc;
use tokio::task::JoinHandle;

/// How to log in to the demo.
pub struct DemoLogin {
    pub email: String,
    pub password: String,
    pub workspace: String,
}

pub const DEMO_WORKSPACE: &str = "Demo";
pub const DEMO_EMAIL: &str = "admin@demo.pronto";

/// Seeds the demo on an empty database (no user yet); `None` if there is data already.
pub async fn seed<S: Store>(app: &App<S>, now: Millis) -> Result<Option<DemoLogin>, AdminError> {
    if app.store.user_count().await? > 0 {
        return Ok(None);
    }
    let password = random_token()[..16].to_owned();
    let added = add_user(
        &app.store,
        DEMO_EMAIL,
        Some("Demo Admin"),
        &password,
        true,
        DEMO_WORKSPACE,
        now,
    )
    .await?;
    let workspace = added.workspace.id;
    for name in ["Shop (playground)", "Support (playground)"] {
        let inbox = app
            .store
            .create_inbox(
                workspace,
                &NewInbox {
                    name: name.to_owned(),
                    channel: ChannelKind::Playground,
                    channel_key: None,
                    settings: serde_json::json!({}),
                    sealed_secrets: None,
                },
                now,
            )
            .await?;
        for (i, (minutes_ago, author, text)) in [
            (
                300,
                Author::Customer,
                "Hello! Is the blue jacket still in stock?",
            ),
            (
                299,
                Author::Automation,
                "Thanks for writing! We usually answer within minutes.",
            ),
            (290, Author::Agent, "Hi! Yes, sizes M and L."),
            (45, Author::Customer, "Здравствуйте! Когда доставка?"),
        ]
        .into_iter()
        .enumerate()
        {
            let incoming = Incoming {
                inbox: inbox.id,
                contact_external_id: format!("demo-customer-{}", i / 3),
                contact_name: ["Alex Morgan", "Мария Иванова"][i / 3].to_owned(),
                channel_message_id: format!("demo-{}-{i}", inbox.id),
                at: now - minutes_ago * MINUTE,
                author,
                text: text.to_owned(),
                attachments: Vec::new(),
            };
            app.ingest(workspace, &incoming).await?;
        }
    }
    Ok(Some(DemoLogin {
        email: DEMO_EMAIL.to_owned(),
        password,
        workspace: DEMO_WORKSPACE.to_owned(),
    }))
}

/// The playground's simulated customers: while the server runs, someone writes to a
/// playground inbox every few minutes.
pub fn customers<S: Store>(app: Arc<App<S>>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let lines = [
            "Hi, do you ship abroad?",
            "Can I change my order?",
            "Добрый день! Есть ли скидки?",
            "Is anyone there?",
        ];
        let mut n: u64 = 0;
        loop {
            let wait = std::time::Duration::from_secs(120 + rand::random_range(0..120));
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = app.shutdown_started() => return,
            }
            let Ok(inboxes) = app.store.all_inboxes().await else {
                continue;
            };
            for inbox in inboxes
                .iter()
                .filter(|i| i.channel == ChannelKind::Playground)
            {
                n += 1;
                let now = app.now();
                let incoming = Incoming {
                    inbox: inbox.id,
                    contact_external_id: format!("sim-{}", n % 7),
                    contact_name: format!("Customer {}", n % 7 + 1),
                    channel_message_id: format!("sim-{}-{now}-{n}", inbox.id),
                    at: now - SECOND,
                    author: Author::Customer,
                    text: lines[(n as usize) % lines.len()].to_owned(),
                    attachments: Vec::new(),
                };
                if let Err(error) = app.ingest(inbox.workspace, &incoming).await {
                    tracing::warn!(%error, "demo customers");
                }
            }
        }
    })
}
