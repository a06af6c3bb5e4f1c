//! Files Pronto keeps (attachments fetched from channels), served to the workspace's members.

use crate::app::App;
use crate::auth::Caller;
use crate::error::{AppResult, Path};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use pronto_core::FileId;
use pronto_core::store::Store;
use std::sync::Arc;

/// Media shown inline; anything else is a download, so that a customer's file never runs as
/// a page of this site.
fn inline(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or("").trim();
    matches!(essence.split('/').next(), Some("image" | "audio" | "video"))
        && essence != "image/svg+xml"
}

pub async fn show<S: Store>(
    State(app): State<Arc<App<S>>>,
    caller: Caller,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let file = app.store.file(caller.workspace, FileId(id)).await?;
    let disposition = if inline(&file.content_type) {
        "inline".to_owned()
    } else {
        format!("attachment; filename=\"file-{id}\"")
    };
    let content_type = if inline(&file.content_type) {
        file.content_type
    } else {
        "application/octet-stream".to_owned()
    };
    Ok((
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_DISPOSITION, disposition),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
            (
                header::CONTENT_SECURITY_POLICY,
                "sandbox; default-src 'none'".to_owned(),
            ),
            (
                header::CACHE_CONTROL,
                "private, max-age=86400, immutable".to_owned(),
            ),
        ],
        file.bytes,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_media_is_shown_inline() {
        assert!(super::inline("image/jpeg"));
        assert!(super::inline("video/mp4; codecs=avc1"));
        assert!(!super::inline("image/svg+xml"));
        assert!(!super::inline("text/html"));
        assert!(!super::inline("application/pdf"));
    }
}
