//! The opaque cursor of a conversation list: where the previous page ended, in the list's
//! order. Plain URL-safe text: `u.{band}.{instant}.{id}` (urgency) or `a.{instant}.{id}`
//! (activity).

use pronto_core::conversation::UrgencyBand;
use pronto_core::store::{ConversationOrder, StoreError, StoreResult};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cursor {
    Urgency { band: i64, at: i64, id: i64 },
    Activity { at: i64, id: i64 },
}

impl Cursor {
    pub fn after(
        order: ConversationOrder,
        rank: (UrgencyBand, i64),
        last_activity_at: i64,
        id: i64,
    ) -> Self {
        match order {
            ConversationOrder::Urgency => Cursor::Urgency {
                band: rank.0 as i64,
                at: rank.1,
                id,
            },
            ConversationOrder::Activity => Cursor::Activity {
                at: last_activity_at,
                id,
            },
        }
    }

    pub fn encode(self) -> String {
        match self {
            Cursor::Urgency { band, at, id } => format!("u.{band}.{at}.{id}"),
            Cursor::Activity { at, id } => format!("a.{at}.{id}"),
        }
    }

    /// The cursor of a list in `order`; one made for another order is refused.
    pub fn parse(text: &str, order: ConversationOrder) -> StoreResult<Self> {
        let bad = || StoreError::Invalid(format!("bad cursor {text:?}"));
        let mut parts = text.split('.');
        let tag = parts.next().ok_or_else(bad)?;
        let mut number =
            || -> StoreResult<i64> { parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad) };
        let cursor = match (tag, order) {
            ("u", ConversationOrder::Urgency) => Cursor::Urgency {
                band: number()?,
                at: number()?,
                id: number()?,
            },
            ("a", ConversationOrder::Activity) => Cursor::Activity {
                at: number()?,
                id: number()?,
            },
            _ => return Err(bad()),
        };
        if parts.next().is_some() {
            return Err(bad());
        }
        Ok(cursor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_another_order() {
        let u = Cursor::Urgency {
            band: 2,
            at: -1_700_000_000_000,
            id: 42,
        };
        assert_eq!(
            Cursor::parse(&u.encode(), ConversationOrder::Urgency),
            Ok(u)
        );
        let a = Cursor::Activity { at: 5, id: 7 };
        assert_eq!(
            Cursor::parse(&a.encode(), ConversationOrder::Activity),
            Ok(a)
        );
        assert!(Cursor::parse(&a.encode(), ConversationOrder::Urgency).is_err());
        assert!(Cursor::parse("u.1.2", ConversationOrder::Urgency).is_err());
        assert!(Cursor::parse("u.1.2.3.4", ConversationOrder::Urgency).is_err());
        assert!(Cursor::parse("", ConversationOrder::Activity).is_err());
    }
}
