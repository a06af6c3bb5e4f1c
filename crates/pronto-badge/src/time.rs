//! Instants as integer milliseconds since the Unix epoch, and the contract's time grammar:
//! `YYYY-MM-DDTHH:MM:SS`, optionally `.` and 1–3 fraction digits, then `Z` or `±HH:MM`.

use std::fmt;

/// Milliseconds since 1970-01-01T00:00:00Z. All of the engine's arithmetic is on these.
pub type Millis = i64;

pub const SECOND: Millis = 1_000;
pub const MINUTE: Millis = 60 * SECOND;
pub const HOUR: Millis = 60 * MINUTE;
pub const DAY: Millis = 24 * HOUR;

/// Parses the contract's time grammar; `None` for anything else.
pub fn parse_instant(text: &str) -> Option<Millis> {
    let b = text.as_bytes();
    if b.len() < 20 {
        return None;
    }
    let (year, month, day) = (digits(&b[0..4])?, digits(&b[5..7])?, digits(&b[8..10])?);
    let (hour, minute, second) = (
        digits(&b[11..13])?,
        digits(&b[14..16])?,
        digits(&b[17..19])?,
    );
    if b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let mut rest = &b[19..];
    let mut fraction_ms = 0;
    if let Some((b'.', after_dot)) = rest.split_first() {
        let width = after_dot.iter().take_while(|c| c.is_ascii_digit()).count();
        if !(1..=3).contains(&width) {
            return None;
        }
        fraction_ms = digits(&after_dot[..width])? * [100, 10, 1][width - 1];
        rest = &after_dot[width..];
    }
    let offset_minutes = match rest {
        [b'Z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let (hours, minutes) = (digits(&[*h1, *h2])?, digits(&[*m1, *m2])?);
            if hours > 23 || minutes > 59 {
                return None;
            }
            let total = hours * 60 + minutes;
            if *sign == b'-' { -total } else { total }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + hour * 3_600 + minute * 60 + second - offset_minutes * 60;
    Some(seconds * SECOND + fraction_ms)
}

/// Formats in UTC with `Z`, with milliseconds only when they are not zero.
pub fn format_instant(at: Millis) -> String {
    Utc(at).to_string()
}

/// Displays an instant the way the contract prints it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Utc(pub Millis);

impl fmt::Display for Utc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let days = self.0.div_euclid(DAY);
        let in_day = self.0.rem_euclid(DAY);
        let (year, month, day) = civil_from_days(days);
        let (hour, minute) = (in_day / HOUR, in_day % HOUR / MINUTE);
        let (second, millis) = (in_day % MINUTE / SECOND, in_day % SECOND);
        write!(
            f,
            "{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}"
        )?;
        if millis != 0 {
            write!(f, ".{millis:03}")?;
        }
        f.write_str("Z")
    }
}

impl serde::Serialize for Utc {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

fn digits(bytes: &[u8]) -> Option<i64> {
    bytes.iter().try_fold(0i64, |value, &c| {
        c.is_ascii_digit().then(|| value * 10 + i64::from(c - b'0'))
    })
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
pub(crate) fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    (year_of_era + era * 400 + i64::from(month <= 2), month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_grammar() {
        assert_eq!(parse_instant("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_instant("1970-01-01T00:00:01.5Z"), Some(1_500));
        assert_eq!(parse_instant("1970-01-01T00:00:01.05Z"), Some(1_050));
        assert_eq!(parse_instant("1970-01-01T00:00:01.005Z"), Some(1_005));
        assert_eq!(parse_instant("1970-01-01T02:00:00+02:00"), Some(0));
        assert_eq!(parse_instant("1969-12-31T23:30:00-00:30"), Some(0));
        assert_eq!(
            parse_instant("2024-02-29T00:00:00Z"),
            Some(1_709_164_800_000)
        );
        assert_eq!(
            parse_instant("2026-11-24T12:00:00Z"),
            Some(1_795_521_600_000)
        );
    }

    #[test]
    fn refuses_everything_else() {
        for bad in [
            "",
            "2026-11-24",
            "2026-11-24T12:00:00",
            "2026-11-24t12:00:00Z",
            "2026-11-24T12:00:00z",
            "2026-11-24 12:00:00Z",
            "2026-11-24T12:00:00.Z",
            "2026-11-24T12:00:00.1234Z",
            "2026-11-24T12:00:60Z",
            "2026-11-24T24:00:00Z",
            "2026-02-29T00:00:00Z",
            "2026-13-01T00:00:00Z",
            "2026-00-01T00:00:00Z",
            "2026-11-00T00:00:00Z",
            "2026-11-24T12:00:00+0000",
            "2026-11-24T12:00:00+24:00",
            "2026-11-24T12:00:00+01:60",
            "2026-11-24T12:00:00+01",
            "+026-11-24T12:00:00Z",
            "2026-11-24T12:00:00Z ",
            "２026-11-24T12:00:00Z",
        ] {
            assert_eq!(parse_instant(bad), None, "{bad:?} must be refused");
        }
    }

    #[test]
    fn formats_in_utc_with_milliseconds_only_when_present() {
        assert_eq!(format_instant(1_795_521_600_000), "2026-11-24T12:00:00Z");
        assert_eq!(
            format_instant(1_795_521_600_250),
            "2026-11-24T12:00:00.250Z"
        );
        assert_eq!(format_instant(-1), "1969-12-31T23:59:59.999Z");
    }

    #[test]
    fn civil_round_trip_over_many_years() {
        for days in (-800_000..800_000).step_by(7) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }
}
