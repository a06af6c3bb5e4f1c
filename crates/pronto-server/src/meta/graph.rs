//! The Graph API client: the calls Pronto makes to Meta, over reqwest with rustls. Tokens go
//! in the `Authorization` header, never in a URL that could be logged.

use crate::settings::MetaSettings;
use pronto_channels::meta_api::{GraphError, graph_error, sent_message_id};
use pronto_core::ChannelKind;
use serde_json::Value;
use std::time::Duration;

/// The webhook fields a Messenger page is subscribed to.
pub const MESSENGER_FIELDS: &str =
    "messages,message_echoes,messaging_postbacks,message_reads,message_deliveries,message_edits";
/// The webhook fields an Instagram account is subscribed to (echoes come with `messages`).
pub const INSTAGRAM_FIELDS: &str = "messages,messaging_postbacks,messaging_seen,message_edit";

/// Why a call did not succeed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// Meta answered with an error.
    #[error("{0}")]
    Graph(GraphError),
    /// No answer: a timeout, a refused connection, an unreadable body.
    #[error("Meta could not be reached: {0}")]
    Transport(String),
}

/// The account a token belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    /// The page id, or the Instagram professional account id (`user_id`, the id webhooks
    /// name in `entry[].id`).
    pub id: String,
    /// The page's name, or the Instagram username.
    pub name: String,
}

#[derive(Clone)]
pub struct GraphClient {
    http: reqwest::Client,
    settings: MetaSettings,
}

impl GraphClient {
    pub fn new(settings: &MetaSettings) -> Self {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(20))
            .user_agent(concat!("Pronto/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("the HTTP client builds with static settings");
        Self {
            http,
            settings: settings.clone(),
        }
    }

    /// The API's root for a channel, with the version: `https://graph.facebook.com/v23.0`.
    pub fn root(&self, channel: ChannelKind) -> String {
        let host = match channel {
            ChannelKind::Instagram => &self.settings.instagram_graph_url,
            _ => &self.settings.graph_url,
        };
        format!("{host}/{}", self.settings.api_version)
    }

    async fn call(&self, request: reqwest::RequestBuilder) -> Result<Value, CallError> {
        let response = request
            .send()
            .await
            .map_err(|e| CallError::Transport(without_url(e)))?;
        let status = response.status().as_u16();
        let body = response
            .bytes()
            .await
            .map_err(|e| CallError::Transport(without_url(e)))?;
        if !(200..300).contains(&status) {
            return Err(CallError::Graph(graph_error(status, &body)));
        }
        serde_json::from_slice(&body)
            .map_err(|e| CallError::Transport(format!("Meta's answer is not JSON: {e}")))
    }

    /// `GET /me`: whose token this is.
    pub async fn me(&self, channel: ChannelKind, token: &str) -> Result<Account, CallError> {
        let fields = match channel {
            ChannelKind::Instagram => "user_id,username",
            _ => "id,name",
        };
        let value = self
            .call(
                self.http
                    .get(format!("{}/me", self.root(channel)))
                    .query(&[("fields", fields)])
                    .bearer_auth(token),
            )
            .await?;
        let text = |key: &str| -> Option<String> {
            match value.get(key)? {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            }
        };
        let (id, name) = match channel {
            ChannelKind::Instagram => (text("user_id"), text("username")),
            _ => (text("id"), text("name")),
        };
        match id {
            Some(id) if !id.is_empty() => Ok(Account {
                id,
                name: name.unwrap_or_default(),
            }),
            _ => Err(CallError::Transport(
                "Meta's answer to GET /me names no account".into(),
            )),
        }
    }

    /// Subscribes the app to the account's messaging webhooks.
    pub async fn subscribe(
        &self,
        channel: ChannelKind,
        account_id: &str,
        token: &str,
    ) -> Result<(), CallError> {
        let (path, fields) = match channel {
            ChannelKind::Instagram => ("me".to_owned(), INSTAGRAM_FIELDS),
            _ => (account_id.to_owned(), MESSENGER_FIELDS),
        };
        let value = self
            .call(
                self.http
                    .post(format!("{}/{path}/subscribed_apps", self.root(channel)))
                    .query(&[("subscribed_fields", fields)])
                    .bearer_auth(token),
            )
            .await?;
        if value.get("success").and_then(Value::as_bool) == Some(true) {
            Ok(())
        } else {
            Err(CallError::Transport(format!(
                "Meta did not confirm the subscription: {value}"
            )))
        }
    }

    /// The Send API: the id of the message Meta made.
    pub async fn send(
        &self,
        channel: ChannelKind,
        account_id: &str,
        token: &str,
        body: &Value,
    ) -> Result<String, CallError> {
        let value = self
            .call(
                self.http
                    .post(format!("{}/{account_id}/messages", self.root(channel)))
                    .bearer_auth(token)
                    .json(body),
            )
            .await?;
        sent_message_id(&value).map_err(CallError::Transport)
    }

    /// A `GET` of a path under the channel's root, or of a paging URL Meta gave (which must
    /// be on the same host: Pronto follows no link elsewhere).
    pub async fn get(
        &self,
        channel: ChannelKind,
        path_or_url: &str,
        query: &[(&str, &str)],
        token: &str,
    ) -> Result<Value, CallError> {
        let root = self.root(channel);
        let url = if path_or_url.starts_with("http://") || path_or_url.starts_with("https://") {
            let host = root
                .rsplit_once('/')
                .map_or(root.as_str(), |(host, _)| host);
            if !path_or_url.starts_with(&format!("{host}/")) {
                return Err(CallError::Transport(
                    "a paging link to another host was not followed".into(),
                ));
            }
            path_or_url.to_owned()
        } else {
            format!("{root}/{}", path_or_url.trim_start_matches('/'))
        };
        self.call(self.http.get(url).query(query).bearer_auth(token))
            .await
    }
}

/// A transport error's text without its URL (a paging URL may carry a token).
fn without_url(error: reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "connection failed"
    } else if error.is_body() || error.is_decode() {
        "the answer broke off"
    } else {
        "request failed"
    };
    format!("{kind}: {}", error.without_url())
}
