//! The contract's JSON output of `pronto badge --json` (and of the HTTP API).

use crate::figures::Figures;
use crate::rules::Rules;
use crate::time::{SECOND, Utc};
use serde::Serialize;

/// The contract's JSON, with Pronto's forecast as `F`.
#[derive(Clone, Debug, Serialize)]
pub struct Report<F: Serialize> {
    pub evaluated_at: Utc,
    pub badge: bool,
    pub response_rate: Option<f64>,
    pub response_time_seconds: Option<f64>,
    pub window: WindowReport,
    pub pending: u64,
    pub excluded: ExcludedReport,
    pub thresholds: Thresholds,
    pub forecast: F,
}

#[derive(Clone, Debug, Serialize)]
pub struct WindowReport {
    pub basis: String,
    pub from: Option<Utc>,
    pub to: Option<Utc>,
    pub starts: u64,
    pub answered: u64,
}

#[derive(Clone, Copy, Debug, Serialize)]
pub struct ExcludedReport {
    pub spam: u64,
    pub done: u64,
    pub away: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct Thresholds {
    pub min_rate: f64,
    /// A whole number of seconds prints as an integer, as in the contract.
    pub max_time_seconds: serde_json::Number,
}

impl<F: Serialize> Report<F> {
    pub fn new(figures: &Figures, rules: &Rules, forecast: F) -> Self {
        let window = &figures.window;
        let max_ms = rules.max_response_time;
        let max_time_seconds = if max_ms % SECOND == 0 {
            serde_json::Number::from(max_ms / SECOND)
        } else {
            serde_json::Number::from_f64(max_ms as f64 / 1000.0).unwrap_or_else(|| 0.into())
        };
        Report {
            evaluated_at: Utc(figures.evaluated_at),
            badge: figures.badge,
            response_rate: window.response_rate(),
            response_time_seconds: window.response_time_seconds(),
            window: WindowReport {
                basis: rules.basis_label(window.basis),
                from: window.from.map(Utc),
                to: window.to.map(Utc),
                starts: window.starts,
                answered: window.answered,
            },
            pending: figures.pending,
            excluded: ExcludedReport {
                spam: figures.excluded.spam,
                done: figures.excluded.done,
                away: figures.excluded.away,
            },
            thresholds: Thresholds {
                min_rate: rules.min_rate.as_f64(),
                max_time_seconds,
            },
            forecast,
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a report always serializes")
    }
}
