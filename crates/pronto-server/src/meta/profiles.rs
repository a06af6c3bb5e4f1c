//! Naming customers: webhooks name a person only by their page-scoped id, so the first message
//! from someone Pronto has not named yet starts a lookup of their profile with the inbox's
//! token (Messenger's User Profile API: `first_name`, `last_name`; Instagram: `name`, else
//! `username`). Best effort, in the background: on a failure the contact keeps its id as its
//! name, and a later message tries again after a restart (each node tries a contact once).

use super::MetaInbox;
use crate::app::App;
use pronto_core::store::Store;
use pronto_core::{ChannelKind, ContactId, WorkspaceId};
use serde_json::Value;
use std::sync::Arc;

/// Looks up the profiles of contacts still named by their id, in the background.
pub fn name_contacts<S: Store>(app: &Arc<App<S>>, contacts: Vec<(WorkspaceId, ContactId)>) {
    let fresh: Vec<_> = {
        let mut tried = app.profile_lookups.lock().expect("profile lookups");
        if tried.len() > 100_000 {
            // Bounded memory; forgetting costs at most a second try for a contact still
            // unnamed (one already named is skipped by its store row).
            tried.clear();
        }
        contacts
            .into_iter()
            .filter(|contact| tried.insert(*contact))
            .collect()
    };
    if fresh.is_empty() {
        return;
    }
    let app = Arc::clone(app);
    tokio::spawn(async move {
        for (workspace, contact) in fresh {
            if let Err(reason) = name_one(&app, workspace, contact).await {
                tracing::debug!(%contact, %reason, "profile lookup: the contact keeps its id");
            }
        }
    });
}

async fn name_one<S: Store>(
    app: &App<S>,
    workspace: WorkspaceId,
    id: ContactId,
) -> Result<(), String> {
    let contact = app
        .store
        .contact(workspace, id)
        .await
        .map_err(|e| e.to_string())?;
    if contact.name != contact.external_id {
        return Ok(());
    }
    let inbox = app
        .store
        .inbox(workspace, contact.inbox)
        .await
        .map_err(|e| e.to_string())?;
    let meta = MetaInbox::of(&app.key, &inbox).ok_or("not a Meta inbox")?;
    let token = meta.access_token.as_deref().ok_or("no token")?;
    let fields = match meta.channel {
        ChannelKind::Instagram => "name,username",
        _ => "first_name,last_name",
    };
    let profile = app
        .graph
        .get(
            meta.channel,
            &contact.external_id,
            &[("fields", fields)],
            token,
        )
        .await
        .map_err(|e| e.to_string())?;
    let name = profile_name(&profile).ok_or("the profile has no name")?;
    let changes = app
        .store
        .rename_contact(workspace, id, &name, app.now())
        .await
        .map_err(|e| e.to_string())?;
    app.publish(changes);
    Ok(())
}

/// "First Last", or the name, or the username.
fn profile_name(profile: &Value) -> Option<String> {
    let text = |key: &str| {
        profile
            .get(key)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
    };
    let full = [text("first_name"), text("last_name")]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    let name = if full.is_empty() {
        text("name").or(text("username"))?.to_owned()
    } else {
        full
    };
    Some(name.chars().take(200).collect())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn a_profile_gives_the_best_name_it_has() {
        let name = |v| super::profile_name(&v);
        assert_eq!(
            name(json!({"first_name": "Anna", "last_name": "Berg"})).as_deref(),
            Some("Anna Berg")
        );
        assert_eq!(name(json!({"first_name": "Anna"})).as_deref(), Some("Anna"));
        assert_eq!(
            name(json!({"name": "Anna B", "username": "anna.b"})).as_deref(),
            Some("Anna B")
        );
        assert_eq!(
            name(json!({"username": "anna.b"})).as_deref(),
            Some("anna.b")
        );
        assert_eq!(name(json!({"first_name": " "})), None);
    }
}
