//! Every number of the contract's rules, as settings with the contract's values as defaults.

use crate::time::{DAY, HOUR, Millis, SECOND};
use std::fmt;

/// A rate as an exact fraction, so that "answered / starts ≥ min rate" is tested without
/// floating-point error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate {
    numerator: u64,
    denominator: u64,
}

impl Rate {
    /// `numerator / denominator`, between 0 and 1.
    pub fn new(numerator: u64, denominator: u64) -> Result<Self, RulesError> {
        if denominator == 0 || numerator > denominator {
            return Err(RulesError::RateOutOfRange(format!(
                "{numerator}/{denominator}"
            )));
        }
        Ok(Self {
            numerator,
            denominator,
        })
    }

    /// Parses a decimal such as `0.9` or `0.875` (at most 9 fraction digits), or a percentage
    /// such as `90%`.
    pub fn parse(text: &str) -> Result<Self, RulesError> {
        let invalid = || RulesError::InvalidRate(text.to_owned());
        let (number, scale) = match text.strip_suffix('%') {
            Some(percent) => (percent, 100),
            None => (text, 1),
        };
        let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
        let all_digits = |s: &str| s.bytes().all(|c| c.is_ascii_digit());
        if whole.is_empty() && fraction.is_empty()
            || !all_digits(whole)
            || !all_digits(fraction)
            || whole.len() > 3
            || fraction.len() > 9
        {
            return Err(invalid());
        }
        let denominator = 10u64.pow(fraction.len() as u32);
        let whole: u64 = if whole.is_empty() {
            0
        } else {
            whole.parse().map_err(|_| invalid())?
        };
        let fraction: u64 = if fraction.is_empty() {
            0
        } else {
            fraction.parse().map_err(|_| invalid())?
        };
        Self::new(whole * denominator + fraction, denominator * scale)
            .map_err(|_| RulesError::RateOutOfRange(text.to_owned()))
    }

    /// `part / whole ≥ self`, exactly.
    pub fn is_met_by(self, part: u64, whole: u64) -> bool {
        u128::from(part) * u128::from(self.denominator)
            >= u128::from(self.numerator) * u128::from(whole)
    }

    pub fn as_f64(self) -> f64 {
        self.numerator as f64 / self.denominator as f64
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.as_f64())
    }
}

/// The contract's rules, each number a setting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rules {
    /// A customer message after this much silence in its conversation is a new start (rule 2).
    pub silence: Millis,
    /// An unanswered start younger than this is pending; older, it counts as unanswered (rule 5).
    pub reply_window: Millis,
    /// The window: settled starts within this many days up to the latest start (rule 6).
    pub window_days: u32,
    /// With fewer settled starts than this in the window, the last this many count (rule 6).
    pub fallback_starts: u32,
    /// The share of the slowest answers forgiven, in thousandths (rule 8): 100 = 10 %.
    pub forgiven_per_mille: u32,
    /// A manual Away without `until` ends by itself after this long (rule 4).
    pub away_reset: Millis,
    /// The badge needs a response rate at least this (rule 9).
    pub min_rate: Rate,
    /// The badge needs a response time at most this (rule 9).
    pub max_response_time: Millis,
}

impl Default for Rules {
    fn default() -> Self {
        Self {
            silence: DAY,
            reply_window: DAY,
            window_days: 30,
            fallback_starts: 10,
            forgiven_per_mille: 100,
            away_reset: 12 * HOUR,
            min_rate: Rate {
                numerator: 9,
                denominator: 10,
            },
            max_response_time: 900 * SECOND,
        }
    }
}

impl Rules {
    /// Facebook's help text speaks of the last 7 days; this is that reading.
    pub fn seven_days() -> Self {
        Self {
            window_days: 7,
            ..Self::default()
        }
    }

    pub fn window(&self) -> Millis {
        Millis::from(self.window_days) * DAY
    }

    /// How many of `answered` response times are kept: all but the slowest forgiven share.
    pub fn kept_answers(&self, answered: u64) -> u64 {
        answered - answered * u64::from(self.forgiven_per_mille) / 1000
    }

    /// Refuses settings under which the rules would not make sense.
    pub fn validate(&self) -> Result<(), RulesError> {
        let positive = |name: &'static str, value: Millis| {
            if value > 0 {
                Ok(())
            } else {
                Err(RulesError::NotPositive(name))
            }
        };
        positive("silence", self.silence)?;
        positive("reply window", self.reply_window)?;
        positive("away reset", self.away_reset)?;
        positive("max response time", self.max_response_time)?;
        if self.window_days == 0 || self.window_days > 3_650 {
            return Err(RulesError::WindowDays(self.window_days));
        }
        if self.fallback_starts == 0 {
            return Err(RulesError::NotPositive("fallback starts"));
        }
        if self.forgiven_per_mille >= 1000 {
            return Err(RulesError::ForgivenShare(self.forgiven_per_mille));
        }
        Ok(())
    }

    /// The window basis label of rule 6 for these settings.
    pub fn basis_label(&self, basis: Basis) -> String {
        match basis {
            Basis::Days => format!("{}_days", self.window_days),
            Basis::LastStarts => format!("last_{}", self.fallback_starts),
        }
    }
}

/// Which of rule 6's two windows was used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Basis {
    /// The settled starts within the last `window_days` up to the latest start.
    Days,
    /// The last `fallback_starts` settled starts.
    LastStarts,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RulesError {
    #[error("invalid rate {0:?}: expected a decimal such as 0.9 or a percentage such as 90%")]
    InvalidRate(String),
    #[error("rate {0} is out of range: it must be between 0 and 1")]
    RateOutOfRange(String),
    #[error("the {0} must be positive")]
    NotPositive(&'static str),
    #[error("the window must be 1 to 3650 days, not {0}")]
    WindowDays(u32),
    #[error("the forgiven share must be below 1000 per mille, not {0}")]
    ForgivenShare(u32),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse_exactly() {
        assert_eq!(Rate::parse("0.9").unwrap(), Rate::new(9, 10).unwrap());
        assert_eq!(Rate::parse("90%").unwrap(), Rate::new(90, 100).unwrap());
        assert_eq!(Rate::parse("1").unwrap(), Rate::new(1, 1).unwrap());
        assert_eq!(Rate::parse(".5").unwrap(), Rate::new(5, 10).unwrap());
        for bad in [
            "",
            ".",
            "abc",
            "0.9.1",
            "-0.1",
            "1.5",
            "0x1",
            "0.1234567891",
            "91 %",
        ] {
            assert!(Rate::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_rate_test_is_exact() {
        let ninety = Rate::parse("0.9").unwrap();
        assert!(ninety.is_met_by(9, 10));
        assert!(ninety.is_met_by(27, 30));
        assert!(!ninety.is_met_by(26, 30));
        assert!(ninety.is_met_by(900_000_000_000, 1_000_000_000_000));
        assert!(!ninety.is_met_by(899_999_999_999, 1_000_000_000_000));
    }

    #[test]
    fn the_slowest_tenth_is_forgiven() {
        let rules = Rules::default();
        assert_eq!(rules.kept_answers(20), 18);
        assert_eq!(rules.kept_answers(19), 18);
        assert_eq!(rules.kept_answers(9), 9);
        assert_eq!(rules.kept_answers(10), 9);
        assert_eq!(rules.kept_answers(1), 1);
    }
}
