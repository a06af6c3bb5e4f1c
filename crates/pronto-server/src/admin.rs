//! The CLI's account commands (`pronto user add`, `pronto token add`), on the store directly
//! so that they work against the same database while a server runs.

use crate::auth::{check_password_rules, hash_password, normalize_email};
use crate::crypto::{random_token, token_hash};
use pronto_badge::Millis;
use pronto_core::store::{Store, StoreError};
use pronto_core::{ApiToken, Role, User, Workspace};

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub const DEFAULT_WORKSPACE: &str = "Default";

pub struct AddedUser {
    pub user: User,
    pub workspace: Workspace,
    pub role: Role,
    /// False when the email already had an account (it got the membership and the password).
    pub created: bool,
    pub workspace_created: bool,
}

async fn workspace_named<S: Store>(
    store: &S,
    name: &str,
    now: Millis,
) -> Result<(Workspace, bool), AdminError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(AdminError::Invalid(
            "a workspace name has 1 to 100 characters".into(),
        ));
    }
    match store.workspace_by_name(name).await? {
        Some(workspace) => Ok((workspace, false)),
        None => Ok((store.create_workspace(name, now).await?, true)),
    }
}

/// Creates a user (or gives an existing one the password) and makes them a member of the
/// workspace, created if it does not exist.
pub async fn add_user<S: Store>(
    store: &S,
    email: &str,
    name: Option<&str>,
    password: &str,
    admin: bool,
    workspace: &str,
    now: Millis,
) -> Result<AddedUser, AdminError> {
    let email = normalize_email(email).map_err(AdminError::Invalid)?;
    check_password_rules(password).map_err(AdminError::Invalid)?;
    let password = password.to_owned();
    let hash = tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| AdminError::Invalid(e.to_string()))?
        .map_err(AdminError::Invalid)?;
    let (workspace, workspace_created) = workspace_named(store, workspace, now).await?;
    let (user, created) = match store.user_by_email(&email).await? {
        Some(user) => {
            store.set_password(user.id, &hash).await?;
            (user, false)
        }
        None => {
            let name = name
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| email.split('@').next().unwrap_or(&email));
            (store.create_user(&email, name, &hash, now).await?, true)
        }
    };
    let role = if admin { Role::Admin } else { Role::Agent };
    store.set_member(workspace.id, user.id, role).await?;
    Ok(AddedUser {
        user,
        workspace,
        role,
        created,
        workspace_created,
    })
}

/// Creates an API token for a member; returns the token (shown once) and its record.
pub async fn add_token<S: Store>(
    store: &S,
    email: &str,
    label: &str,
    workspace: Option<&str>,
    now: Millis,
) -> Result<(String, ApiToken, Workspace), AdminError> {
    let email = normalize_email(email).map_err(AdminError::Invalid)?;
    let user = store.user_by_email(&email).await?.ok_or_else(|| {
        AdminError::Invalid(format!(
            "no user {email}: add it with `pronto user add {email}`"
        ))
    })?;
    let memberships = store.memberships(user.id).await?;
    let workspace = match workspace {
        Some(name) => {
            memberships
                .into_iter()
                .find(|(w, _)| w.name == name)
                .ok_or_else(|| {
                    AdminError::Invalid(format!("{email} is not a member of workspace {name:?}"))
                })?
                .0
        }
        None => {
            memberships
                .into_iter()
                .next()
                .ok_or_else(|| {
                    AdminError::Invalid(format!("{email} is not a member of any workspace"))
                })?
                .0
        }
    };
    let token = format!("pronto_{}", random_token());
    let record = store
        .create_api_token(workspace.id, user.id, label, &token_hash(&token), now)
        .await?;
    Ok((token, record, workspace))
}
