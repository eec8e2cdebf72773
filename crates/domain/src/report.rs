//! The resolved-tickets report: who reads it, what it covers, and cells a
//! spreadsheet cannot mistake for formulas.

use std::borrow::Cow;

use chrono::{DateTime, Months, Utc};

use crate::refusal::Refusal;
use crate::roles::{Actor, Role};
use crate::visible::first_visible;

/// Who reads the resolved report: agents and admins.
pub fn may_read_report(actor: Actor) -> Result<(), Refusal> {
    match actor.role() {
        Role::Admin | Role::SupportAgent => Ok(()),
        Role::Customer => Err(Refusal::Forbidden(
            "only support agents and admins can read the report",
        )),
    }
}

/// The report covers the last calendar month: from `now` minus one month up
/// to `now`, both ends included.
pub fn decide_report_window(now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    let start = now.checked_sub_months(Months::new(1)).unwrap_or(now);
    (start, now)
}

/// Makes a CSV cell safe to open in a spreadsheet (OWASP "CSV injection"):
/// a cell that a spreadsheet would read as a formula gets a leading `'`,
/// so it is shown as text; any other cell is returned borrowed, unchanged.
///
/// A formula is a cell whose first visible character (as
/// [`crate::visible`] defines it, the same definition the blank check
/// uses) is `=`, `+`, `-`, `@` or `|`, or a look-alike of one (full-width,
/// small form, minus sign, heavy plus or minus), since spreadsheets skip
/// leading white space and invisible characters and fold those
/// look-alikes. A cell starting with a tab or carriage return is
/// neutralised too, as before.
pub fn neutralise_formula(cell: &str) -> Cow<'_, str> {
    let first = first_visible(cell).map(fold_look_alike);
    let formula = matches!(first, Some('=' | '+' | '-' | '@' | '|'));
    if formula || cell.starts_with(['\t', '\r']) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

/// The ASCII trigger a full-width or small form, the minus sign, or a
/// heavy plus or minus sign stands for.
fn fold_look_alike(c: char) -> char {
    match c {
        '\u{FF1D}' | '\u{FE66}' => '=',
        '\u{FF0B}' | '\u{FE62}' | '\u{2795}' => '+',
        '\u{FF0D}' | '\u{FE63}' | '\u{2212}' | '\u{2796}' => '-',
        '\u{FF20}' | '\u{FE6B}' => '@',
        '\u{FF5C}' => '|',
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::roles::test_actors::{ADMIN, AGENT, OWNER};

    #[test]
    fn only_staff_read_the_report() {
        assert_eq!(may_read_report(AGENT), Ok(()));
        assert_eq!(may_read_report(ADMIN), Ok(()));
        assert!(matches!(may_read_report(OWNER), Err(Refusal::Forbidden(_))));
    }

    #[test]
    fn the_report_window_is_one_calendar_month() {
        let now = DateTime::parse_from_rfc3339("2026-03-31T12:00:00Z")
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default();
        let (start, end) = decide_report_window(now);
        assert_eq!(start.to_rfc3339(), "2026-02-28T12:00:00+00:00");
        assert_eq!(end, now);
    }

    use crate::visible::shows_nothing;
    use crate::visible::tests::{REPORTED, every_char, invisible_char};
    use proptest::prelude::*;

    /// Every character a spreadsheet reads as a formula's start.
    const TRIGGERS: [char; 17] = [
        '=', '+', '-', '@', '|', '\u{FF1D}', '\u{FF0B}', '\u{FF0D}', '\u{FF20}', '\u{FF5C}',
        '\u{2212}', '\u{FE66}', '\u{FE62}', '\u{FE63}', '\u{FE6B}', '\u{2795}', '\u{2796}',
    ];

    fn is_neutralised(cell: &str) -> bool {
        neutralise_formula(cell) == format!("'{cell}")
    }

    #[test]
    fn a_formula_at_the_start_is_neutralised() {
        for risky in ["=1+1", "+1", "-1", "@SUM(A1)", "|cmd", "\tx", "\rx"] {
            assert!(is_neutralised(risky), "{risky:?} left alone");
        }
    }

    #[test]
    fn a_formula_after_a_leading_space_is_neutralised() {
        assert!(is_neutralised(" =1+1"));
        assert!(is_neutralised("  \n@SUM(A1)"));
    }

    #[test]
    fn a_formula_after_a_no_break_space_is_neutralised() {
        assert!(is_neutralised("\u{A0}=1+1"));
        assert!(is_neutralised("\u{3000}+1"));
    }

    #[test]
    fn a_formula_after_a_byte_order_mark_is_neutralised() {
        assert!(is_neutralised("\u{FEFF}=1+1"));
        assert!(is_neutralised("\u{200B}\u{00AD}-1"));
    }

    #[test]
    fn a_full_width_or_minus_sign_trigger_is_neutralised() {
        for risky in [
            "＝1+1",
            "＋1",
            "－1",
            "＠SUM(A1)",
            "｜cmd",
            "\u{2212}1",
            "﹦1",
            "﹢1",
            "﹣1",
        ] {
            assert!(is_neutralised(risky), "{risky:?} left alone");
        }
    }

    #[test]
    fn a_heavy_plus_or_minus_sign_is_a_trigger() {
        for risky in [
            "\u{2795}1+1",
            "\u{2796}1",
            " \u{2795}A1",
            "\u{200B}\u{2796}2",
        ] {
            assert!(is_neutralised(risky), "{risky:?} left alone");
        }
    }

    /// Issue 25, finding 5: a formula behind any of these was left alone.
    #[test]
    fn a_formula_after_a_reported_invisible_character_is_neutralised() {
        for c in REPORTED {
            for trigger in ["=", "+", "-", "@", "\u{2795}", "\u{FF1D}"] {
                let cell = format!("{c}{trigger}1+1");
                assert!(is_neutralised(&cell), "U+{:04X} then {trigger}", c as u32);
                let cell = format!("{c}{c} {c}{trigger}1+1");
                assert!(is_neutralised(&cell), "U+{:04X}s then {trigger}", c as u32);
            }
        }
    }

    /// Every character of Unicode before a formula: the cell is quoted
    /// exactly when that character shows nothing or is a trigger itself; and
    /// a cell that starts with it and goes on with text is quoted exactly
    /// when it is a trigger (or a tab or carriage return, as ever).
    #[test]
    fn the_formula_check_agrees_with_the_visible_definition_on_every_char() {
        for c in every_char() {
            let hidden_formula = format!("{c}=1+1");
            let quoted = shows_nothing(c) || TRIGGERS.contains(&c);
            assert_eq!(
                is_neutralised(&hidden_formula),
                quoted,
                "U+{:04X}",
                c as u32
            );
            let text = format!("{c}x");
            let quoted = TRIGGERS.contains(&c) || matches!(c, '\t' | '\r');
            assert_eq!(is_neutralised(&text), quoted, "U+{:04X} then x", c as u32);
        }
    }

    #[test]
    fn a_formula_after_a_vertical_tab_is_neutralised() {
        assert!(is_neutralised("\u{B}=1+1"));
    }

    #[test]
    fn a_pipe_first_is_neutralised() {
        assert!(is_neutralised("|calc'!A0"));
    }

    #[test]
    fn a_cell_that_is_no_formula_is_borrowed_unchanged() {
        for safe in ["plain", "", "a=b", "1-2", "email@x", "  ", "\u{FEFF}text"] {
            assert!(
                matches!(neutralise_formula(safe), Cow::Borrowed(cell) if cell == safe),
                "{safe:?} changed"
            );
        }
    }

    /// Characters a spreadsheet skips before a formula.
    fn ignorable() -> impl Strategy<Value = String> {
        prop_oneof!["\\s", invisible_char().prop_map(String::from)]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn the_output_is_the_input_or_the_input_quoted(cell in any::<String>()) {
            let out = neutralise_formula(&cell);
            let quoted = format!("'{cell}");
            prop_assert!(out == cell || out == quoted);
        }

        #[test]
        fn a_trigger_after_ignorable_characters_is_neutralised(
            prefix in proptest::collection::vec(ignorable(), 0..12),
            trigger in prop::sample::select(TRIGGERS.to_vec()),
            rest in any::<String>(),
        ) {
            let cell = format!("{}{trigger}{rest}", prefix.concat());
            prop_assert_eq!(neutralise_formula(&cell), format!("'{cell}"));
        }

        #[test]
        fn a_cell_starting_with_a_letter_or_digit_is_unchanged(
            cell in "[A-Za-z0-9]",
            rest in any::<String>(),
        ) {
            let cell = cell + &rest;
            prop_assert!(matches!(neutralise_formula(&cell), Cow::Borrowed(out) if out == cell));
        }
    }
}
