//! The `deliveries_stopped` alert: the most expensive silent failure is Stripe no longer
//! reaching the route at all (a disabled endpoint, a broken deploy, a DNS or middleware
//! change). Nothing fails loudly: there are simply no deliveries. Stripe retries for three
//! days, then gives up, so the alert must fire within hours, but never on a store whose
//! deliveries were sparse anyway (a new shop, a quiet night on a small one).
//!
//! The rule, over the history before the newest authentic delivery (at most `history_secs`),
//! cut into periods as long as the silence window: deliveries are *regular* when at least
//! `regular_share` of those periods had an authentic delivery, over at least `min_periods`
//! periods (or over a bounded sample too busy to cover that many). The alert fires when the
//! silence since the newest authentic delivery is longer than `silence_secs` and the history
//! was regular. Pure: the times come from [`crate::store::Store::authentic_delivery_times`],
//! `now` is passed in.

use serde::Serialize;

/// Rows of the delivery log read for the history (a bounded scan: a few milliseconds).
pub const HISTORY_SCAN_ROWS: u32 = 20_000;

/// When `deliveries_stopped` fires.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SilenceRule {
    /// Silence longer than this fires (and is the length of a history period).
    pub silence_secs: i64,
    /// How far back the history reaches.
    pub history_secs: i64,
    /// Share of history periods that must have had a delivery.
    pub regular_share: f64,
    /// Fewest history periods that count as a history.
    pub min_periods: u32,
}

/// What the history says, and how long the silence is.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DeliveryActivity {
    /// Newest authentic delivery (unix seconds), if any.
    pub last_authentic_at: Option<i64>,
    /// `now - last_authentic_at`.
    pub silent_secs: Option<i64>,
    /// History periods (each `silence_secs` long) before the newest delivery.
    pub history_periods: u32,
    /// Of those, how many had an authentic delivery.
    pub active_periods: u32,
    /// The history was cut short by the scan limit (a busy store).
    pub sample_truncated: bool,
    /// The history meets the rule's regularity test.
    pub regular: bool,
}

/// Summarises authentic delivery `times` (any order) at `now`; `truncated` says the sample
/// stopped at its row limit.
pub fn activity(now: i64, times: &[i64], truncated: bool, rule: &SilenceRule) -> DeliveryActivity {
    let Some(&last) = times.iter().max() else {
        return DeliveryActivity::default();
    };
    let period = rule.silence_secs.max(1);
    let max_periods = (rule.history_secs / period).max(1);
    let oldest = times.iter().copied().min().unwrap_or(last);
    let periods = ((last - oldest) / period + 1).min(max_periods);
    let mut active = vec![false; periods as usize];
    for &t in times {
        let i = (last - t) / period;
        if (0..periods).contains(&i) {
            active[i as usize] = true;
        }
    }
    let active_periods = active.iter().filter(|a| **a).count() as u32;
    let history_periods = periods as u32;
    let regular = (history_periods >= rule.min_periods || truncated)
        && f64::from(active_periods) >= rule.regular_share * f64::from(history_periods);
    DeliveryActivity {
        last_authentic_at: Some(last),
        silent_secs: Some((now - last).max(0)),
        history_periods,
        active_periods,
        sample_truncated: truncated,
        regular,
    }
}

/// Whether `deliveries_stopped` fires for `a`.
pub fn deliveries_stopped(a: &DeliveryActivity, rule: &SilenceRule) -> bool {
    a.regular && a.silent_secs.is_some_and(|s| s > rule.silence_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3600;
    const NOW: i64 = 1_800_000_000;
    const RULE: SilenceRule = SilenceRule {
        silence_secs: 6 * H,
        history_secs: 7 * 24 * H,
        regular_share: 0.9,
        min_periods: 4,
    };

    /// One delivery every `every` seconds from `from` back for `span` seconds.
    fn steady(from: i64, every: i64, span: i64) -> Vec<i64> {
        (0..=span / every).map(|i| from - i * every).collect()
    }

    fn fires(now: i64, times: &[i64], truncated: bool) -> bool {
        deliveries_stopped(&activity(now, times, truncated, &RULE), &RULE)
    }

    #[test]
    fn fires_when_regular_deliveries_stop_for_longer_than_the_window() {
        let last = NOW - 7 * H;
        let times = steady(last, H, 3 * 24 * H);
        let a = activity(NOW, &times, false, &RULE);
        assert_eq!(a.last_authentic_at, Some(last));
        assert_eq!(a.silent_secs, Some(7 * H));
        assert_eq!((a.history_periods, a.active_periods), (13, 13));
        assert!(a.regular);
        assert!(deliveries_stopped(&a, &RULE));
    }

    #[test]
    fn a_silence_within_the_window_does_not_fire() {
        let times = steady(NOW - 6 * H, H, 3 * 24 * H);
        assert!(
            !fires(NOW, &times, false),
            "exactly the window is not longer"
        );
        assert!(!fires(NOW, &steady(NOW - 5 * H, H, 3 * 24 * H), false));
    }

    #[test]
    fn sparse_history_never_fires() {
        // One delivery a day for a week: most 6-hour periods had none, so silence is normal.
        let times = steady(NOW - 30 * H, 24 * H, 7 * 24 * H);
        let a = activity(NOW, &times, false, &RULE);
        assert!(!a.regular, "{a:?}");
        assert!(!fires(NOW, &times, false));
    }

    #[test]
    fn a_short_history_never_fires() {
        // Twelve hours of steady traffic is two periods: not enough to call it regular.
        let times = steady(NOW - 48 * H, 10 * 60, 12 * H);
        let a = activity(NOW, &times, false, &RULE);
        assert_eq!(a.history_periods, 3);
        assert!(!fires(NOW, &times, false));
        // The same store a day later, with a full day of history, does fire.
        let times = steady(NOW - 48 * H, 10 * 60, 24 * H);
        assert!(fires(NOW, &times, false));
    }

    #[test]
    fn a_busy_store_whose_sample_is_truncated_fires() {
        // 20 000 deliveries within four hours: one period, but the scan was cut short.
        let times = steady(NOW - 8 * H, 1, 4 * H);
        assert!(
            !fires(NOW, &times, false),
            "untruncated, one period is too little"
        );
        assert!(fires(NOW, &times, true));
    }

    #[test]
    fn no_deliveries_ever_does_not_fire() {
        let a = activity(NOW, &[], false, &RULE);
        assert_eq!(a, DeliveryActivity::default());
        assert!(!deliveries_stopped(&a, &RULE));
    }

    #[test]
    fn a_gap_in_the_history_counts_against_regularity() {
        // Hourly for 4 days, except a 24-hour hole two days ago: 3 of 17 periods were empty.
        let last = NOW - 7 * H;
        let times: Vec<i64> = steady(last, H, 4 * 24 * H)
            .into_iter()
            .filter(|t| !(last - 48 * H..last - 24 * H).contains(t))
            .collect();
        let a = activity(NOW, &times, false, &RULE);
        assert_eq!(a.history_periods, 17);
        assert_eq!(a.active_periods, 14);
        assert!(!a.regular);
        let lenient = SilenceRule {
            regular_share: 0.75,
            ..RULE
        };
        assert!(deliveries_stopped(
            &activity(NOW, &times, false, &lenient),
            &lenient
        ));
    }

    #[test]
    fn history_older_than_the_lookback_is_not_counted() {
        let last = NOW - 7 * H;
        let times = steady(last, H, 30 * 24 * H);
        let a = activity(NOW, &times, false, &RULE);
        assert_eq!(a.history_periods, 28, "7 days of 6-hour periods");
        assert_eq!(a.active_periods, 28);
    }
}
