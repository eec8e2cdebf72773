//! What shows on screen: the one definition of a visible character, which
//! both the blank check of a text ([`crate::values`]) and the CSV report's
//! formula check ([`crate::report`]) use.
//!
//! A character shows nothing when, by its Unicode properties, a renderer
//! draws nothing for it or only empty space:
//!
//! - `White_Space` (spaces of every width, tabs, line and paragraph breaks);
//! - `Default_Ignorable_Code_Point` (zero-width spaces and joiners, the BOM,
//!   the soft hyphen, bidirectional controls such as U+202E, variation
//!   selectors, the combining grapheme joiner U+034F, tags such as U+E0020,
//!   invisible operators such as U+2061, the Hangul fillers U+115F, U+1160,
//!   U+3164 and U+FFA0, U+17B4, ...);
//! - the general categories Cc (controls), Cf (format characters) and Z*
//!   (space, line and paragraph separators);
//! - the fillers that are drawn as an empty cell without being any of the
//!   above: U+2800 BRAILLE PATTERN BLANK (a symbol, `So`), with the Hangul
//!   fillers named again so that the list says what it means even where
//!   `Default_Ignorable_Code_Point` already holds them.
//!
//! The properties come from ICU4X's `icu_properties` (compiled-in data of
//! the Unicode version it ships), not from a hand list.

use std::ops::RangeInclusive;
use std::sync::LazyLock;

use icu_properties::props::{
    DefaultIgnorableCodePoint, GeneralCategory, GeneralCategoryGroup, WhiteSpace,
};
use icu_properties::{CodePointMapData, CodePointSetData};

/// Characters drawn as an empty cell that no property above names as
/// blank (U+2800) or that are named here for clarity (the Hangul fillers,
/// `Default_Ignorable_Code_Point` already).
pub const BLANK_FILLERS: [char; 5] = [
    '\u{2800}', // BRAILLE PATTERN BLANK
    '\u{3164}', // HANGUL FILLER
    '\u{115F}', // HANGUL CHOSEONG FILLER
    '\u{1160}', // HANGUL JUNGSEONG FILLER
    '\u{FFA0}', // HALFWIDTH HANGUL FILLER
];

/// The general categories that show nothing: Cc, Cf and Z*.
const INVISIBLE_CATEGORIES: GeneralCategoryGroup = GeneralCategoryGroup::Control
    .union(GeneralCategoryGroup::Format)
    .union(GeneralCategoryGroup::Separator);

/// Every code point that shows nothing, as sorted, disjoint, non-adjacent
/// ranges: the union of the properties above, taken once from ICU's data.
static INVISIBLE: LazyLock<Vec<RangeInclusive<u32>>> = LazyLock::new(|| {
    let categories =
        CodePointMapData::<GeneralCategory>::new().iter_ranges_for_group(INVISIBLE_CATEGORIES);
    let mut ranges: Vec<RangeInclusive<u32>> = CodePointSetData::new::<WhiteSpace>()
        .iter_ranges()
        .chain(CodePointSetData::new::<DefaultIgnorableCodePoint>().iter_ranges())
        .chain(categories)
        .chain(BLANK_FILLERS.map(|c| u32::from(c)..=u32::from(c)))
        .collect();
    ranges.sort_unstable_by_key(|range| *range.start());
    let mut merged: Vec<RangeInclusive<u32>> = Vec::with_capacity(ranges.len());
    for range in ranges {
        match merged.last_mut() {
            Some(last) if *range.start() <= last.end().saturating_add(1) => {
                let end = (*last.end()).max(*range.end());
                *last = *last.start()..=end;
            }
            _ => merged.push(range),
        }
    }
    merged
});

/// Whether `c` shows something on screen (see the module's definition).
pub fn is_visible(c: char) -> bool {
    !shows_nothing(c)
}

/// Whether `c` shows nothing: white space, a default-ignorable code point,
/// a control, format or separator character, or a blank filler.
pub fn shows_nothing(c: char) -> bool {
    let c = u32::from(c);
    INVISIBLE
        .binary_search_by(|range| {
            if *range.end() < c {
                std::cmp::Ordering::Less
            } else if *range.start() > c {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        })
        .is_ok()
}

/// Whether a text shows nothing at all: empty, or only characters that
/// show nothing.
pub fn is_blank(text: &str) -> bool {
    text.chars().all(shows_nothing)
}

/// The first character of `text` that shows something, if any.
pub fn first_visible(text: &str) -> Option<char> {
    text.chars().find(|&c| is_visible(c))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The code points of issue 25's finding 5, each of which showed
    /// nothing yet counted as text.
    pub(crate) const REPORTED: [char; 16] = [
        '\u{200E}',
        '\u{200F}',
        '\u{061C}',
        '\u{202E}',
        '\u{034F}',
        '\u{FE0F}',
        '\u{E0020}',
        '\u{2800}',
        '\u{3164}',
        '\u{115F}',
        '\u{1160}',
        '\u{FFA0}',
        '\u{2061}',
        '\u{2062}',
        '\u{17B4}',
        '\u{180E}',
    ];

    #[test]
    fn the_reported_code_points_show_nothing() {
        for c in REPORTED {
            assert!(shows_nothing(c), "U+{:04X} counted as visible", c as u32);
        }
    }

    #[test]
    fn the_zero_width_characters_known_before_still_show_nothing() {
        for c in [
            '\u{200B}', '\u{200C}', '\u{200D}', '\u{2060}', '\u{FEFF}', '\u{180E}', '\u{00AD}',
        ] {
            assert!(shows_nothing(c), "U+{:04X} counted as visible", c as u32);
        }
    }

    #[test]
    fn the_hangul_fillers_are_default_ignorable_and_the_braille_blank_is_not() {
        let ignorable = CodePointSetData::new::<DefaultIgnorableCodePoint>();
        for c in ['\u{3164}', '\u{115F}', '\u{1160}', '\u{FFA0}'] {
            assert!(ignorable.contains(c), "U+{:04X}", c as u32);
        }
        // The one filler only the list names: without it, U+2800 shows.
        assert!(!ignorable.contains('\u{2800}'));
        assert_eq!(
            CodePointMapData::<GeneralCategory>::new().get('\u{2800}'),
            GeneralCategory::OtherSymbol
        );
    }

    #[test]
    fn letters_digits_punctuation_symbols_and_marks_show() {
        for c in [
            'a', 'Z', '0', '=', '+', '-', '@', '|', '\'', '~', 'é', 'ß', 'İ', 'ж', 'ש', 'ع', '中',
            'ㄱ', '가', '\u{2801}', '➕', '➖', '＝', '\u{2212}', '😀', '\u{0301}', '\u{E000}',
        ] {
            assert!(is_visible(c), "U+{:04X} counted as invisible", c as u32);
        }
    }

    /// The merged ranges say, for every character, what the properties
    /// say when asked one by one.
    #[test]
    fn the_ranges_agree_with_the_properties_asked_one_by_one() {
        let category = CodePointMapData::<GeneralCategory>::new();
        let white = CodePointSetData::new::<WhiteSpace>();
        let ignorable = CodePointSetData::new::<DefaultIgnorableCodePoint>();
        for c in every_char() {
            let by_properties = white.contains(c)
                || ignorable.contains(c)
                || INVISIBLE_CATEGORIES.contains(category.get(c))
                || BLANK_FILLERS.contains(&c);
            assert_eq!(shows_nothing(c), by_properties, "U+{:04X}", c as u32);
        }
    }

    #[test]
    fn the_ranges_are_sorted_and_disjoint() {
        for pair in INVISIBLE.windows(2) {
            assert!(pair[0].end() + 1 < *pair[1].start(), "{pair:?}");
        }
    }

    /// Independent witnesses from the standard library: whatever Rust calls
    /// white space or a control shows nothing.
    #[test]
    fn every_char_std_calls_whitespace_or_control_shows_nothing() {
        for c in every_char() {
            if c.is_whitespace() || c.is_control() {
                assert!(shows_nothing(c), "U+{:04X}", c as u32);
            }
        }
    }

    #[test]
    fn a_text_is_blank_exactly_when_no_character_shows() {
        assert!(is_blank(""));
        assert!(is_blank(" \u{2800}\u{3164}\u{202E}"));
        assert!(!is_blank(" \u{2800}x"));
        assert_eq!(first_visible("\u{200E}\u{E0020} =1"), Some('='));
        assert_eq!(first_visible("\u{115F}\u{1160}"), None);
    }

    /// Every character of Unicode, in order.
    pub(crate) fn every_char() -> impl Iterator<Item = char> {
        (0..=u32::from(char::MAX)).filter_map(char::from_u32)
    }

    /// Any one character that shows nothing, drawn from all of them.
    pub(crate) fn invisible_char() -> impl Strategy<Value = char> {
        let all: Vec<char> = every_char().filter(|&c| shows_nothing(c)).collect();
        prop_oneof![
            prop::sample::select(REPORTED.to_vec()),
            prop::sample::select(all),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn a_text_shows_something_exactly_when_one_of_its_characters_does(
            text in proptest::collection::vec(prop_oneof![invisible_char(), any::<char>()], 0..12),
        ) {
            let text: String = text.into_iter().collect();
            prop_assert_eq!(is_blank(&text), !text.chars().any(is_visible));
            prop_assert_eq!(first_visible(&text).is_none(), is_blank(&text));
        }
    }
}
