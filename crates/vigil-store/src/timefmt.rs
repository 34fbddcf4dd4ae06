//! Timestamps: the index stores RFC 3339 UTC with millisecond precision.

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Formats a time as RFC 3339 UTC with exactly three digits of
/// milliseconds (`2026-12-05T14:22:01.100Z`): of one fixed width, so the
/// index's text comparisons of times (`detected_at < ?`, `expires_at > ?`,
/// a period's bounds) order them as times. Trimmed digits would not:
/// `01.1Z` sorts after `01.12Z`, and a bound `00Z` after `00.5Z`.
pub fn rfc3339(t: OffsetDateTime) -> String {
    const FIXED: &[time::format_description::FormatItem<'_>] = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    let t = t.to_offset(time::UtcOffset::UTC);
    t.format(FIXED)
        .or_else(|_| t.format(&Rfc3339))
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

/// Now, as RFC 3339 UTC.
pub fn now_rfc3339() -> String {
    rfc3339(OffsetDateTime::now_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_order_is_time_order() {
        let at = |ms: i64| {
            rfc3339(
                OffsetDateTime::from_unix_timestamp(1_796_480_521).unwrap()
                    + time::Duration::milliseconds(ms),
            )
        };
        assert_eq!(at(100), "2026-12-05T14:22:01.100Z");
        let times: Vec<String> = [0, 100, 120, 500, 999, 1000].map(at).to_vec();
        let mut sorted = times.clone();
        sorted.sort();
        assert_eq!(sorted, times);
        let back = OffsetDateTime::parse(&at(120), &Rfc3339).unwrap();
        assert_eq!(back.millisecond(), 120);
    }
}
