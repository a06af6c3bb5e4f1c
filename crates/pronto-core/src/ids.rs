//! Typed ids, so that an inbox id can never be passed where a conversation id is expected.
//! Every id is unique across its whole table; every row also carries its workspace.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! id {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {$(
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    )*};
}

id! {
    WorkspaceId,
    UserId,
    InboxId,
    ContactId,
    ConversationId,
    MessageId,
    OutboxId,
    TokenId,
    TemplateId,
    FileId,
}
