//! What makes a conversation urgent, kept up to date message by message so that the inbox
//! can be ordered by an index scan instead of a computation over messages.

use pronto_badge::{Author, Millis, Rules};
use serde::{Deserialize, Serialize};

/// A conversation's urgency, derived from its customer and agent messages (automation is
/// invisible, as in the badge's rules).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Urgency {
    /// The latest customer or agent message: a customer message after 24 hours of silence
    /// is a new start.
    pub last_message_at: Option<Millis>,
    /// The start still waiting for its first answer: the one the badge counts.
    pub waiting_since: Option<Millis>,
    /// The oldest customer message not yet followed by an agent's reply.
    pub unanswered_since: Option<Millis>,
    /// When the channel stops accepting replies: the latest customer message + 24 hours.
    pub reply_window_closes_at: Option<Millis>,
}

/// The order of the inbox: which band a conversation is in, then an instant within it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UrgencyBand {
    /// Waiting for a first answer: ordered by the start (the earliest has the least time left).
    FirstAnswer = 0,
    /// A customer waits for a follow-up: ordered by when the reply window closes.
    FollowUp = 1,
    /// Nobody is waiting.
    Calm = 2,
}

impl Urgency {
    /// Takes a message into account. Messages normally arrive in time order; a message older
    /// than the latest one only updates what it can without the others (the store recomputes
    /// from the conversation's messages with [`Urgency::from_messages`] when it must be exact).
    pub fn on_message(&mut self, author: Author, at: Millis, rules: &Rules) {
        match author {
            Author::Customer => {
                let silence_broken = self
                    .last_message_at
                    .is_none_or(|last| at - last >= rules.silence);
                if silence_broken {
                    self.waiting_since = Some(at);
                }
                self.unanswered_since.get_or_insert(at);
                let closes = at + rules.reply_window;
                self.reply_window_closes_at = Some(
                    self.reply_window_closes_at
                        .map_or(closes, |c| c.max(closes)),
                );
            }
            Author::Agent => {
                self.waiting_since = None;
                self.unanswered_since = None;
            }
            Author::Automation => return,
        }
        self.last_message_at = Some(self.last_message_at.map_or(at, |last| last.max(at)));
    }

    /// The urgency of a conversation from its messages in time order.
    pub fn from_messages(
        messages: impl IntoIterator<Item = (Author, Millis)>,
        rules: &Rules,
    ) -> Self {
        let mut urgency = Urgency::default();
        for (author, at) in messages {
            urgency.on_message(author, at, rules);
        }
        urgency
    }

    /// The customer's latest message, from which the channel's reply window runs.
    pub fn last_customer_message_at(&self, rules: &Rules) -> Option<Millis> {
        self.reply_window_closes_at
            .map(|closes| closes - rules.reply_window)
    }

    /// Whether the channel still takes a reply at `now` (the 24-hour policy).
    pub fn reply_window_open(&self, now: Millis) -> bool {
        self.reply_window_closes_at
            .is_some_and(|closes| now < closes)
    }

    /// The band and the instant that order the inbox, most urgent first (both ascending).
    pub fn rank(&self, last_activity_at: Millis) -> (UrgencyBand, Millis) {
        match (
            self.waiting_since,
            self.unanswered_since,
            self.reply_window_closes_at,
        ) {
            (Some(start), _, _) => (UrgencyBand::FirstAnswer, start),
            (None, Some(_), Some(closes)) => (UrgencyBand::FollowUp, closes),
            // Calm conversations: the most recently active first.
            _ => (UrgencyBand::Calm, -last_activity_at),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pronto_badge::time::{DAY, HOUR, MINUTE};

    #[test]
    fn a_start_waits_until_an_agent_answers() {
        let rules = Rules::default();
        let mut urgency = Urgency::default();
        urgency.on_message(Author::Customer, 0, &rules);
        urgency.on_message(Author::Automation, 1, &rules);
        assert_eq!(urgency.waiting_since, Some(0));
        assert_eq!(urgency.rank(0), (UrgencyBand::FirstAnswer, 0));
        urgency.on_message(Author::Agent, 5 * MINUTE, &rules);
        assert_eq!(urgency.waiting_since, None);
        urgency.on_message(Author::Customer, 10 * MINUTE, &rules);
        // A follow-up within a day is not a new start, but someone still waits.
        assert_eq!(urgency.waiting_since, None);
        assert_eq!(urgency.rank(0), (UrgencyBand::FollowUp, 10 * MINUTE + DAY));
        assert!(urgency.reply_window_open(DAY));
        assert!(!urgency.reply_window_open(10 * MINUTE + DAY));
        urgency.on_message(Author::Customer, 10 * MINUTE + DAY + HOUR, &rules);
        assert_eq!(urgency.waiting_since, Some(10 * MINUTE + DAY + HOUR));
    }
}
