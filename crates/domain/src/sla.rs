//! Service-level targets: how long a ticket of each priority may wait for
//! its first response and for its resolution, the due times that follow,
//! and whether a ticket missed them.

use chrono::{DateTime, TimeDelta, Utc};

use crate::workflow::Priority;

/// The longest target accepted: a year, well inside what timestamps hold.
pub const MAX_TARGET_SECS: i64 = 365 * 24 * 60 * 60;

/// A target per priority, indexed by [`Priority::rank`].
type PerPriority = [TimeDelta; 4];

/// The SLA targets of every priority, in calendar time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlaTargets {
    first_response: PerPriority,
    resolution: PerPriority,
}

const fn hours(n: i64) -> TimeDelta {
    TimeDelta::seconds(n * 3600)
}

impl Default for SlaTargets {
    /// First response `URGENT=1h,HIGH=4h,NORMAL=8h,LOW=24h`; resolution
    /// `URGENT=4h,HIGH=1d,NORMAL=3d,LOW=7d`.
    fn default() -> Self {
        Self {
            first_response: [hours(24), hours(8), hours(4), hours(1)],
            resolution: [hours(7 * 24), hours(3 * 24), hours(24), hours(4)],
        }
    }
}

/// The two lists of targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetList {
    FirstResponse,
    Resolution,
}

/// A list of targets that does not parse; start-up stops with it, naming
/// the setting it came from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{value:?} is not valid: {reason} (expected a list like URGENT=1h,HIGH=4h,NORMAL=8h,LOW=24h; units s, m, h, d)"
)]
pub struct SlaSettingError {
    pub list: TargetList,
    pub value: String,
    pub reason: String,
}

impl SlaTargets {
    /// Reads the first-response and the resolution lists (`None` when not
    /// given); a priority left out keeps its default.
    pub fn parse(
        first_response: Option<&str>,
        resolution: Option<&str>,
    ) -> Result<Self, SlaSettingError> {
        let defaults = Self::default();
        Ok(Self {
            first_response: parse_list(
                TargetList::FirstResponse,
                first_response,
                defaults.first_response,
            )?,
            resolution: parse_list(TargetList::Resolution, resolution, defaults.resolution)?,
        })
    }

    pub fn first_response(&self, priority: Priority) -> TimeDelta {
        self.first_response[rank_index(priority)]
    }

    pub fn resolution(&self, priority: Priority) -> TimeDelta {
        self.resolution[rank_index(priority)]
    }

    /// When a ticket opened at `created_at` with `priority` is due.
    pub fn due_times(&self, created_at: DateTime<Utc>, priority: Priority) -> DueTimes {
        let after = |target: TimeDelta| {
            created_at
                .checked_add_signed(target)
                .unwrap_or(DateTime::<Utc>::MAX_UTC)
        };
        DueTimes {
            first_response: after(self.first_response(priority)),
            resolution: after(self.resolution(priority)),
        }
    }
}

fn rank_index(priority: Priority) -> usize {
    usize::try_from(priority.rank()).unwrap_or_default()
}

fn parse_list(
    list: TargetList,
    raw: Option<&str>,
    defaults: PerPriority,
) -> Result<PerPriority, SlaSettingError> {
    let Some(raw) = raw else {
        return Ok(defaults);
    };
    let fail = |reason: String| SlaSettingError {
        list,
        value: raw.to_owned(),
        reason,
    };
    let mut targets = defaults;
    let mut seen = [false; 4];
    for item in raw.split(',').map(str::trim) {
        let (name, amount) = item
            .split_once('=')
            .ok_or_else(|| fail(format!("{item:?} has no '='")))?;
        let priority: Priority = name
            .trim()
            .parse()
            .map_err(|_| fail(format!("{name:?} is not LOW, NORMAL, HIGH or URGENT")))?;
        let index = rank_index(priority);
        if std::mem::replace(&mut seen[index], true) {
            return Err(fail(format!("{priority} is given twice")));
        }
        targets[index] = parse_target(amount.trim()).map_err(fail)?;
    }
    Ok(targets)
}

/// `<n><unit>`: a positive whole number of seconds, minutes, hours or days,
/// at most a year.
fn parse_target(text: &str) -> Result<TimeDelta, String> {
    let bad = || format!("{text:?} is not a whole number followed by s, m, h or d");
    let unit_at = text
        .len()
        .checked_sub(1)
        .filter(|&i| text.is_char_boundary(i))
        .ok_or_else(bad)?;
    let (digits, unit) = text.split_at(unit_at);
    let seconds_per_unit: i64 = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(bad()),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let seconds = digits
        .parse::<i64>()
        .ok()
        .and_then(|n| n.checked_mul(seconds_per_unit))
        .filter(|&s| s <= MAX_TARGET_SECS)
        .ok_or_else(|| format!("{text:?} is longer than a year"))?;
    if seconds == 0 {
        return Err(format!("{text:?} is zero; a target must be positive"));
    }
    Ok(TimeDelta::seconds(seconds))
}

/// When a ticket's first response and its resolution are due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DueTimes {
    pub first_response: DateTime<Utc>,
    pub resolution: DateTime<Utc>,
}

/// Whether a ticket missed a target at `now`: a due time has passed and
/// what it was due for did not happen by then (the first response, or the
/// resolution). A resolved ticket's clocks stop at `resolved_at`, so a
/// ticket its customer resolved before any agent answered is judged by
/// when it was resolved, and a resolved ticket's verdict never changes.
/// Arriving exactly at the due time is on time.
pub fn is_breached(
    due: DueTimes,
    first_response_at: Option<DateTime<Utc>>,
    resolved_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> bool {
    let missed = |due_at: DateTime<Utc>, done_at: Option<DateTime<Utc>>| {
        now > due_at && done_at.is_none_or(|done| done > due_at)
    };
    missed(due.first_response, first_response_at.or(resolved_at))
        || missed(due.resolution, resolved_at)
}

/// The instant after which the ticket is in breach, as things stand: the
/// earlier due time whose target was not met by it, or `None` when both
/// were. Stored with each ticket, it makes "in breach now" a range query
/// with the clock in the query: `breach_time < now`.
pub fn breach_time(
    due: DueTimes,
    first_response_at: Option<DateTime<Utc>>,
    resolved_at: Option<DateTime<Utc>>,
) -> Option<DateTime<Utc>> {
    let unmet = |due_at: DateTime<Utc>, done_at: Option<DateTime<Utc>>| {
        done_at.is_none_or(|done| done > due_at).then_some(due_at)
    };
    let first = unmet(due.first_response, first_response_at.or(resolved_at));
    let resolution = unmet(due.resolution, resolved_at);
    first.into_iter().chain(resolution).min()
}

/// The breach filter of a ticket list, as the query computes it: in breach
/// at `now` exactly when the stored breach time is before it.
pub fn breached_by_time(breach_time: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    breach_time.is_some_and(|at| at < now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + secs, 0).unwrap_or_default()
    }

    #[test]
    fn the_defaults_are_the_documented_ones() {
        let targets = SlaTargets::parse(None, None).expect("defaults");
        assert_eq!(targets, SlaTargets::default());
        assert_eq!(targets.first_response(Priority::Urgent), hours(1));
        assert_eq!(targets.first_response(Priority::High), hours(4));
        assert_eq!(targets.first_response(Priority::Normal), hours(8));
        assert_eq!(targets.first_response(Priority::Low), hours(24));
        assert_eq!(targets.resolution(Priority::Urgent), hours(4));
        assert_eq!(targets.resolution(Priority::High), hours(24));
        assert_eq!(targets.resolution(Priority::Normal), hours(72));
        assert_eq!(targets.resolution(Priority::Low), hours(168));
    }

    #[test]
    fn a_priority_left_out_keeps_its_default() {
        let targets = SlaTargets::parse(Some("URGENT=30m, LOW=2d"), Some("HIGH=90s")).expect("ok");
        assert_eq!(
            targets.first_response(Priority::Urgent),
            TimeDelta::minutes(30)
        );
        assert_eq!(targets.first_response(Priority::Low), hours(48));
        assert_eq!(targets.first_response(Priority::Normal), hours(8));
        assert_eq!(targets.resolution(Priority::High), TimeDelta::seconds(90));
        assert_eq!(targets.resolution(Priority::Urgent), hours(4));
    }

    #[test]
    fn a_bad_value_names_its_list() {
        for (first, resolution, list) in [
            (Some("URGENT=1x"), None, TargetList::FirstResponse),
            (Some("URGENT"), None, TargetList::FirstResponse),
            (Some("SOON=1h"), None, TargetList::FirstResponse),
            (Some("HIGH=1h,HIGH=2h"), None, TargetList::FirstResponse),
            (None, Some("LOW=0h"), TargetList::Resolution),
            (None, Some("LOW=-1h"), TargetList::Resolution),
            (None, Some("LOW=366d"), TargetList::Resolution),
            (None, Some("LOW=h"), TargetList::Resolution),
            (None, Some("LOW=1é"), TargetList::Resolution),
            (None, Some("NORMAL=1h,"), TargetList::Resolution),
            (
                None,
                Some("LOW=99999999999999999999d"),
                TargetList::Resolution,
            ),
        ] {
            let error = SlaTargets::parse(first, resolution).expect_err("bad value accepted");
            assert_eq!(error.list, list);
            let value = first.or(resolution).unwrap_or_default();
            assert!(
                error.to_string().starts_with(&format!("{value:?}")),
                "{error}"
            );
        }
    }

    #[test]
    fn due_times_add_the_target_of_the_priority() {
        let targets = SlaTargets::default();
        let due = targets.due_times(at(0), Priority::Urgent);
        assert_eq!(due.first_response, at(3600));
        assert_eq!(due.resolution, at(4 * 3600));
    }

    #[test]
    fn arriving_exactly_on_time_is_not_a_breach() {
        let due = DueTimes {
            first_response: at(100),
            resolution: at(1000),
        };
        assert!(!is_breached(due, None, None, at(100)));
        assert!(
            is_breached(due, None, None, at(101)),
            "first response missing"
        );
        assert!(!is_breached(due, Some(at(100)), None, at(1000)));
        assert!(
            is_breached(due, Some(at(101)), None, at(102)),
            "first response late"
        );
        assert!(
            is_breached(due, Some(at(50)), None, at(1001)),
            "resolution missing"
        );
        assert!(!is_breached(due, Some(at(50)), Some(at(1000)), at(5000)));
        assert!(
            is_breached(due, Some(at(50)), Some(at(1001)), at(5000)),
            "resolved late"
        );
        assert!(
            !is_breached(due, None, Some(at(90)), at(5000)),
            "resolved before any agent answered, in time: the clocks stopped"
        );
    }

    #[test]
    fn the_breach_filter_is_on_time_exactly_at_the_breach_time() {
        let due = DueTimes {
            first_response: at(100),
            resolution: at(1000),
        };
        let stored = breach_time(due, None, None);
        assert_eq!(stored, Some(at(100)));
        for now in [99, 100, 101] {
            assert_eq!(
                breached_by_time(stored, at(now)),
                is_breached(due, None, None, at(now)),
                "at {now}"
            );
        }
        assert!(!breached_by_time(stored, at(100)));
        assert!(breached_by_time(stored, at(101)));
        assert!(!breached_by_time(None, at(5000)), "met both targets");
    }

    #[test]
    fn a_target_met_exactly_at_its_due_time_leaves_no_breach_time() {
        let due = DueTimes {
            first_response: at(100),
            resolution: at(1000),
        };
        assert_eq!(breach_time(due, Some(at(100)), Some(at(1000))), None);
        assert_eq!(breach_time(due, Some(at(100)), None), Some(at(1000)));
        assert_eq!(breach_time(due, Some(at(101)), None), Some(at(100)));
        assert_eq!(
            breach_time(due, Some(at(50)), Some(at(1001))),
            Some(at(1000))
        );
    }

    proptest! {
        #[test]
        fn breach_is_exactly_a_clock_past_its_due_time(
            first_due in 0i64..100, resolution_due in 0i64..100,
            first in prop::option::of(0i64..100), resolved in prop::option::of(0i64..100),
            now in 0i64..200,
        ) {
            let due = DueTimes { first_response: at(first_due), resolution: at(resolution_due) };
            // The due time passed, and the target was not met by it.
            let first_late = now > first_due && match (first, resolved) {
                (Some(f), _) => f > first_due,
                (None, Some(r)) => r > first_due,
                (None, None) => true,
            };
            let resolution_late = now > resolution_due && resolved.is_none_or(|r| r > resolution_due);
            prop_assert_eq!(
                is_breached(due, first.map(at), resolved.map(at), at(now)),
                first_late || resolution_late
            );
        }

        #[test]
        fn the_stored_breach_time_filters_exactly_the_breached_tickets(
            first_due in 0i64..100, resolution_due in 0i64..100,
            first in prop::option::of(0i64..100), resolved in prop::option::of(0i64..100),
            now in 0i64..200,
        ) {
            let due = DueTimes { first_response: at(first_due), resolution: at(resolution_due) };
            let stored = breach_time(due, first.map(at), resolved.map(at));
            prop_assert_eq!(
                breached_by_time(stored, at(now)),
                is_breached(due, first.map(at), resolved.map(at), at(now))
            );
        }

        #[test]
        fn an_open_tickets_breach_never_heals_as_time_passes(
            first in prop::option::of(0i64..100), now in 0i64..200, later in 0i64..200,
        ) {
            let due = DueTimes { first_response: at(50), resolution: at(120) };
            let (early, late) = (now.min(later), now.max(later));
            if is_breached(due, first.map(at), None, at(early)) {
                prop_assert!(is_breached(due, first.map(at), None, at(late)));
            }
        }

        #[test]
        fn any_accepted_setting_is_positive_and_at_most_a_year(raw in "(URGENT|HIGH|NORMAL|LOW|X)=[0-9]{0,7}[smhdx]?") {
            if let Ok(targets) = SlaTargets::parse(Some(&raw), None) {
                for priority in Priority::ALL {
                    let target = targets.first_response(priority);
                    prop_assert!(target > TimeDelta::zero());
                    prop_assert!(target.num_seconds() <= MAX_TARGET_SECS);
                }
            }
        }

        #[test]
        fn a_target_in_any_unit_is_that_many_seconds(n in 1i64..=365, unit in prop::sample::select(vec![("s", 1i64), ("m", 60), ("h", 3600), ("d", 86_400)])) {
            let targets = SlaTargets::parse(None, Some(&format!("HIGH={n}{}", unit.0))).expect("valid");
            prop_assert_eq!(targets.resolution(Priority::High), TimeDelta::seconds(n * unit.1));
        }
    }
}
