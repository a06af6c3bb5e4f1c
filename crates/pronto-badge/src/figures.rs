//! The two figures Facebook uses, and what they were computed from (rules 5–9).

use crate::rules::{Basis, Rules};
use crate::starts::Exclusion;
use crate::time::Millis;

/// Starts that count in neither figure, by reason.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Excluded {
    pub spam: u64,
    pub done: u64,
    pub away: u64,
}

impl Excluded {
    pub fn count(&mut self, exclusion: Exclusion) {
        *self.slot(exclusion) += 1;
    }

    pub fn uncount(&mut self, exclusion: Exclusion) {
        *self.slot(exclusion) -= 1;
    }

    pub fn plus(self, other: Self) -> Self {
        Self {
            spam: self.spam + other.spam,
            done: self.done + other.done,
            away: self.away + other.away,
        }
    }

    fn slot(&mut self, exclusion: Exclusion) -> &mut u64 {
        match exclusion {
            Exclusion::Spam => &mut self.spam,
            Exclusion::Done => &mut self.done,
            Exclusion::Away => &mut self.away,
        }
    }
}

/// The settled starts the figures are computed over (rule 6), summed up exactly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub basis: Basis,
    /// The instants of the earliest and the latest start in the window.
    pub from: Option<Millis>,
    pub to: Option<Millis>,
    pub starts: u64,
    pub answered: u64,
    /// How many of the fastest response times are kept (rule 8's k).
    pub kept: u64,
    /// The sum of the kept response times.
    pub kept_total: Millis,
}

impl Window {
    pub const EMPTY: Window = Window {
        basis: Basis::LastStarts,
        from: None,
        to: None,
        starts: 0,
        answered: 0,
        kept: 0,
        kept_total: 0,
    };

    /// Sums up a window from its starts' count and its answers' response times, in any order.
    pub fn summarize(
        basis: Basis,
        span: Option<(Millis, Millis)>,
        starts: u64,
        mut response_times: Vec<Millis>,
        rules: &Rules,
    ) -> Self {
        let answered = response_times.len() as u64;
        let kept = rules.kept_answers(answered);
        let kept_total = sum_of_smallest(&mut response_times, kept as usize);
        Window {
            basis,
            from: span.map(|(from, _)| from),
            to: span.map(|(_, to)| to),
            starts,
            answered,
            kept,
            kept_total,
        }
    }

    /// Rule 7.
    pub fn response_rate(&self) -> Option<f64> {
        (self.starts > 0).then(|| self.answered as f64 / self.starts as f64)
    }

    /// Rule 8, in seconds: the sum in milliseconds / k / 1000.
    pub fn response_time_seconds(&self) -> Option<f64> {
        (self.kept > 0).then(|| self.kept_total as f64 / self.kept as f64 / 1000.0)
    }

    /// Rule 9, tested exactly.
    pub fn earns_badge(&self, rules: &Rules) -> bool {
        self.starts > 0
            && self.answered > 0
            && rules.min_rate.is_met_by(self.answered, self.starts)
            && i128::from(self.kept_total)
                <= i128::from(rules.max_response_time) * i128::from(self.kept)
    }
}

/// Sums the `k` smallest values, reordering `values` (linear time on average).
pub fn sum_of_smallest(values: &mut [Millis], k: usize) -> Millis {
    if k == 0 {
        return 0;
    }
    if k < values.len() {
        values.select_nth_unstable(k - 1);
    }
    values[..k].iter().sum()
}

/// Everything the contract reports, but the forecast.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Figures {
    pub evaluated_at: Millis,
    pub badge: bool,
    pub window: Window,
    pub pending: u64,
    pub excluded: Excluded,
}
