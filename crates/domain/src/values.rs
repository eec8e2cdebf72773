//! Value types parsed at the edge: once built, they hold only valid values.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::visible::is_blank;

/// Why a piece of client input was rejected: which field, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} {reason}")]
pub struct ValidationError {
    /// The name of the offending field, as every door names it.
    pub field: &'static str,
    pub reason: String,
}

impl ValidationError {
    pub fn new(field: &'static str, reason: impl Into<String>) -> Self {
        Self {
            field,
            reason: reason.into(),
        }
    }
}

pub const USERNAME_MAX_CHARS: usize = 64;
pub const PIN_MIN_DIGITS: usize = 4;
pub const PIN_MAX_DIGITS: usize = 12;
pub const SUBJECT_MAX_CHARS: usize = 200;
pub const BODY_MAX_CHARS: usize = 20_000;

/// A username: 1-64 ASCII letters, digits, `.`, `_`, `-`; compared as typed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Username(String);

impl Username {
    pub fn parse(raw: impl Into<String>) -> Result<Self, ValidationError> {
        let raw = raw.into();
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
        if raw.is_empty() || raw.len() > USERNAME_MAX_CHARS || !raw.chars().all(allowed) {
            return Err(ValidationError::new(
                "username",
                "must be 1 to 64 ASCII letters, digits, '.', '_' or '-'",
            ));
        }
        Ok(Self(raw))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A PIN: 4 to 12 ASCII digits. Its `Debug` never shows the digits, and
/// it cannot be serialized: a PIN only comes in.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct Pin(String);

impl Pin {
    pub fn parse(raw: impl Into<String>) -> Result<Self, ValidationError> {
        let raw = raw.into();
        let digits_only = raw.bytes().all(|b| b.is_ascii_digit());
        if !digits_only || !(PIN_MIN_DIGITS..=PIN_MAX_DIGITS).contains(&raw.len()) {
            return Err(ValidationError::new(
                "pin",
                "must be a string of 4 to 12 digits",
            ));
        }
        Ok(Self(raw))
    }

    /// The digits, for hashing or verifying; never for display.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pin(<redacted>)")
    }
}

/// An account's email address: an addr-spec (`local@domain`, no display
/// name, no domain literal), at most 254 characters, held lower-cased, so
/// two spellings that differ only in case are one address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EmailAddress(String);

pub const EMAIL_MAX_CHARS: usize = 254;

impl EmailAddress {
    pub fn parse(raw: impl Into<String>) -> Result<Self, ValidationError> {
        let lowered = raw.into().to_lowercase();
        let options = email_address::Options::default()
            .without_display_text()
            .without_domain_literal();
        let fits = lowered.chars().count() <= EMAIL_MAX_CHARS;
        match fits && email_address::EmailAddress::parse_with_options(&lowered, options).is_ok() {
            true => Ok(Self(lowered)),
            false => Err(ValidationError::new(
                "email",
                "must be an email address such as name@example.com, at most 254 characters",
            )),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An id from a URL (`:ticketId`, a user's `:id`): a positive integer
/// written in plain digits (no sign, no spaces).
pub fn parse_id(field: &'static str, raw: &str) -> Result<i64, ValidationError> {
    let digits_only = !raw.is_empty() && raw.bytes().all(|b| b.is_ascii_digit());
    digits_only
        .then(|| raw.parse::<i64>().ok())
        .flatten()
        .filter(|id| *id > 0)
        .ok_or_else(|| ValidationError::new(field, "must be a positive integer"))
}

/// Checks a free-text field: at most `max` Unicode scalar values and, when
/// `required`, not blank (some character must show, as
/// [`crate::visible`] defines it: white space, zero-width, format and
/// filler characters alone do not count).
fn check_text(
    field: &'static str,
    raw: &str,
    max: usize,
    required: bool,
) -> Result<(), ValidationError> {
    if required && is_blank(raw) {
        return Err(ValidationError::new(field, "must not be blank"));
    }
    // PostgreSQL cannot store U+0000 in text; refuse it on every backend alike.
    if raw.contains('\0') {
        return Err(ValidationError::new(
            field,
            "must not contain NUL characters",
        ));
    }
    if raw.chars().count() > max {
        return Err(ValidationError::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    Ok(())
}

/// Declares a free-text value type checked by [`check_text`].
macro_rules! text_type {
    ($(#[$doc:meta])* $name:ident, field: $field:literal, max: $max:expr, required: $required:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn parse(raw: impl Into<String>) -> Result<Self, ValidationError> {
                let raw = raw.into();
                check_text($field, &raw, $max, $required)?;
                Ok(Self(raw))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
    };
}

text_type!(
    /// A ticket's optional subject: at most 200 characters.
    Subject, field: "subject", max: SUBJECT_MAX_CHARS, required: false
);
text_type!(
    /// A ticket's body: not blank, at most 20,000 characters.
    TicketBody, field: "body", max: BODY_MAX_CHARS, required: true
);
text_type!(
    /// A reply's body: not blank, at most 20,000 characters.
    ReplyBody, field: "body", max: BODY_MAX_CHARS, required: true
);

/// The serde glue shared by every value type: parse on the way in, hand the
/// inner string back on the way out.
macro_rules! string_conversions {
    ($($ty:ident),*) => {$(
        impl TryFrom<String> for $ty {
            type Error = ValidationError;
            fn try_from(raw: String) -> Result<Self, Self::Error> {
                Self::parse(raw)
            }
        }

        impl From<$ty> for String {
            fn from(value: $ty) -> String {
                value.0
            }
        }
    )*};
}

string_conversions!(Username, Subject, TicketBody, ReplyBody);

impl TryFrom<String> for Pin {
    type Error = ValidationError;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::parse(raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::visible::shows_nothing;
    use crate::visible::tests::{REPORTED, every_char, invisible_char};
    use proptest::prelude::*;

    #[test]
    fn an_email_address_is_an_addr_spec_held_lower_cased() {
        let parsed = EmailAddress::parse("Ada.Lovelace+Help@Example.COM").expect("valid");
        assert_eq!(parsed.as_str(), "ada.lovelace+help@example.com");
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@@example.com",
            "ada lovelace@example.com",
            "Ada <ada@example.com>",
            "ada@[127.0.0.1]",
            "ada@example..com",
            "ada@example.com\n",
        ] {
            let refused = EmailAddress::parse(bad).expect_err(bad);
            assert_eq!(refused.field, "email", "{bad:?}");
        }
        let longest = format!(
            "{}@{}.{}.{}.com",
            "a".repeat(64),
            "b".repeat(60),
            "c".repeat(60),
            "d".repeat(63)
        );
        assert_eq!(longest.len(), EMAIL_MAX_CHARS);
        assert!(EmailAddress::parse(longest.clone()).is_ok());
        let one_more = longest.replacen(".com", ".coma", 1);
        assert!(
            email_address::EmailAddress::is_valid(&one_more),
            "valid but for its length"
        );
        assert!(EmailAddress::parse(one_more).is_err());
    }

    #[test]
    fn a_four_digit_pin_of_the_original_still_works() {
        assert!(Pin::parse("0000").is_ok());
    }

    #[test]
    fn a_pins_debug_form_says_it_is_a_redacted_pin_and_never_its_digits() {
        let pin = Pin::parse("482916").expect("valid");
        let shown = format!("{pin:?}");
        assert!(!shown.contains("482916"), "{shown}");
        assert_eq!(shown, "Pin(<redacted>)");
    }

    #[test]
    fn a_pin_with_a_letter_or_the_wrong_length_is_rejected() {
        for bad in ["", "123", "12a4", "1234567890123", " 1234", "١٢٣٤"] {
            assert!(Pin::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn a_pin_never_shows_in_debug_output() {
        let pin = Pin::parse("9876").expect("valid pin");
        assert!(!format!("{pin:?}").contains("9876"));
    }

    #[test]
    fn usernames_are_case_sensitive_and_limited_to_a_safe_alphabet() {
        assert_ne!(
            Username::parse("Kayode").ok(),
            Username::parse("kayode").ok()
        );
        for bad in ["", "with space", "ünï", "semi;colon", &"a".repeat(65)] {
            assert!(Username::parse(bad).is_err(), "{bad:?} should be rejected");
        }
        assert!(Username::parse("a.b_c-9").is_ok());
    }

    #[test]
    fn a_username_may_be_exactly_sixty_four_characters() {
        let longest = "k".repeat(USERNAME_MAX_CHARS);
        assert_eq!(
            Username::parse(longest.clone()).map(|name| name.as_str().len()),
            Ok(64)
        );
        assert!(Username::parse(longest + "k").is_err());
    }

    #[test]
    fn ids_are_positive_plain_integers() {
        assert_eq!(parse_id("ticketId", "42"), Ok(42));
        for bad in [
            "",
            "0",
            "-3",
            "+1",
            " 1",
            "1.5",
            "abc",
            "99999999999999999999",
        ] {
            assert!(parse_id("ticketId", bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn a_blank_body_is_rejected() {
        assert!(TicketBody::parse("").is_err());
        assert!(TicketBody::parse(" \n\t").is_err());
        assert!(ReplyBody::parse("   ").is_err());
    }

    #[test]
    fn a_body_of_only_invisible_characters_is_blank() {
        for c in [
            '\u{200B}', '\u{200C}', '\u{200D}', '\u{2060}', '\u{FEFF}', '\u{180E}', '\u{00AD}',
        ] {
            let body = format!(" {c}{c}\u{A0}");
            assert!(
                TicketBody::parse(body.clone()).is_err(),
                "{body:?} accepted"
            );
            assert!(ReplyBody::parse(body.clone()).is_err(), "{body:?} accepted");
        }
        assert!(TicketBody::parse("\u{200B}\u{FEFF}\u{2060}\u{00AD}").is_err());
    }

    /// Issue 25, finding 5: bodies made only of these were accepted.
    #[test]
    fn a_body_of_only_a_reported_invisible_character_is_blank() {
        for c in REPORTED {
            for body in [c.to_string(), format!("{c}{c}{c}"), format!(" {c}\n{c}")] {
                let refused = TicketBody::parse(body.clone());
                assert_eq!(
                    refused.map_err(|e| e.reason),
                    Err("must not be blank".to_owned()),
                    "U+{:04X}",
                    c as u32
                );
                assert!(ReplyBody::parse(body).is_err(), "U+{:04X}", c as u32);
            }
        }
    }

    /// Every character of Unicode alone (and three times over) is a blank
    /// body exactly when it shows nothing; a visible one is kept as typed.
    #[test]
    fn the_blank_check_agrees_with_the_visible_definition_on_every_char() {
        for c in every_char().filter(|&c| c != '\0') {
            for body in [c.to_string(), c.to_string().repeat(3)] {
                let parsed = TicketBody::parse(body.clone());
                match parsed {
                    Ok(kept) => {
                        assert!(!shows_nothing(c), "U+{:04X} accepted", c as u32);
                        assert_eq!(kept.as_str(), body);
                    }
                    Err(error) => {
                        assert!(shows_nothing(c), "U+{:04X} refused", c as u32);
                        assert_eq!(error.reason, "must not be blank");
                    }
                }
            }
        }
    }

    #[test]
    fn a_body_with_one_visible_character_is_kept_as_typed() {
        let raw = "\u{200B} x\u{FEFF}";
        let body = TicketBody::parse(raw).expect("x is visible");
        assert_eq!(body.as_str(), raw);
    }

    #[test]
    fn a_nul_character_is_rejected_in_every_text_field() {
        assert!(TicketBody::parse("a\0b").is_err());
        assert!(ReplyBody::parse("a\0b").is_err());
        assert!(Subject::parse("\0").is_err());
    }

    #[test]
    fn body_length_counts_characters_not_bytes() {
        assert!(TicketBody::parse("é".repeat(BODY_MAX_CHARS)).is_ok());
        assert!(TicketBody::parse("é".repeat(BODY_MAX_CHARS + 1)).is_err());
        assert!(Subject::parse("ü".repeat(SUBJECT_MAX_CHARS)).is_ok());
        assert!(Subject::parse("ü".repeat(SUBJECT_MAX_CHARS + 1)).is_err());
    }

    #[test]
    fn serde_rejects_an_invalid_value() {
        assert!(serde_json::from_str::<Pin>("\"12\"").is_err());
        assert!(serde_json::from_str::<TicketBody>("\"  \"").is_err());
    }

    fn round_trips<T>(value: &T) -> bool
    where
        T: Serialize + for<'de> Deserialize<'de> + PartialEq,
    {
        serde_json::to_string(value)
            .ok()
            .and_then(|json| serde_json::from_str::<T>(&json).ok())
            .is_some_and(|back| &back == value)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn an_address_parses_to_itself_in_any_case(
            local in "[A-Za-z0-9][A-Za-z0-9._+-]{0,30}[A-Za-z0-9]",
            domain in "[A-Za-z0-9]{1,20}(\\.[A-Za-z0-9]{1,10}){0,3}\\.[A-Za-z]{2,6}",
        ) {
            prop_assume!(!local.contains(".."));
            let raw = format!("{local}@{domain}");
            let parsed = EmailAddress::parse(raw.clone()).expect("an addr-spec");
            prop_assert_eq!(parsed.as_str(), raw.to_lowercase());
            prop_assert_eq!(&EmailAddress::parse(raw.to_uppercase()).expect("upper"), &parsed);
            prop_assert_eq!(&EmailAddress::parse(parsed.as_str()).expect("again"), &parsed);
        }

        #[test]
        fn whatever_parses_is_lower_cased_short_and_has_one_at_sign(raw in "\\PC{0,300}") {
            if let Ok(address) = EmailAddress::parse(raw) {
                prop_assert_eq!(address.as_str(), address.as_str().to_lowercase());
                prop_assert!(address.as_str().chars().count() <= EMAIL_MAX_CHARS);
                prop_assert!(address.as_str().contains('@'));
                prop_assert!(!address.as_str().chars().any(char::is_whitespace));
            }
        }

        #[test]
        fn every_string_of_4_to_12_digits_is_a_pin(pin in "[0-9]{4,12}") {
            let parsed = Pin::parse(pin.clone());
            prop_assert!(parsed.is_ok());
            let parsed = parsed.expect("checked above");
            prop_assert_eq!(parsed.expose(), pin.as_str());
            let json = serde_json::to_string(&pin).expect("a string serializes");
            prop_assert_eq!(serde_json::from_str::<Pin>(&json).ok(), Some(parsed));
        }

        #[test]
        fn a_pin_is_exactly_4_to_12_ascii_digits(raw in any::<String>()) {
            let expected = (4..=12).contains(&raw.len()) && raw.bytes().all(|b| b.is_ascii_digit());
            prop_assert_eq!(Pin::parse(raw).is_ok(), expected);
        }

        #[test]
        fn short_digit_strings_are_not_pins(pin in "[0-9]{0,3}|[0-9]{13,20}") {
            prop_assert!(Pin::parse(pin).is_err());
        }

        #[test]
        fn a_username_is_exactly_the_documented_alphabet(raw in "[A-Za-z0-9._\\-]{0,70}|\\PC{0,10}") {
            let expected = (1..=64).contains(&raw.len())
                && raw.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
            let parsed = Username::parse(raw.clone());
            prop_assert_eq!(parsed.is_ok(), expected);
            if let Ok(name) = parsed {
                prop_assert_eq!(name.as_str(), raw.as_str());
                prop_assert!(round_trips(&name));
            }
        }

        #[test]
        fn a_body_is_any_non_blank_text_up_to_the_limit(
            raw in "[\\PC\\x00\u{200B}\u{FEFF}\u{2800}\u{3164}\u{E0020}]{0,40}|[\\s\u{200B}\u{200C}\u{200D}\u{2060}\u{FEFF}\u{180E}\u{AD}\u{2800}\u{3164}\u{202E}]{0,5}",
            extra in 19_990usize..20_010,
        ) {
            let long = raw.repeat(extra / raw.chars().count().max(1));
            for text in [raw.clone(), long] {
                let expected = text.chars().any(|c| !shows_nothing(c))
                    && !text.contains('\0')
                    && text.chars().count() <= BODY_MAX_CHARS;
                let ticket = TicketBody::parse(text.clone());
                let reply = ReplyBody::parse(text.clone());
                prop_assert_eq!(ticket.is_ok(), expected);
                prop_assert_eq!(reply.is_ok(), expected);
                if let (Ok(ticket), Ok(reply)) = (ticket, reply) {
                    prop_assert!(round_trips(&ticket));
                    prop_assert!(round_trips(&reply));
                }
            }
        }

        #[test]
        fn a_body_of_only_whitespace_and_invisible_characters_is_blank(
            raw in proptest::collection::vec(prop_oneof!["\\s", invisible_char().prop_map(String::from)], 0..20),
        ) {
            let text = raw.concat();
            prop_assert!(TicketBody::parse(text.clone()).is_err());
            prop_assert!(ReplyBody::parse(text).is_err());
        }

        #[test]
        fn a_subject_is_any_text_up_to_200_characters(raw in "[\\PC\\x00]{0,210}") {
            let expected = raw.chars().count() <= SUBJECT_MAX_CHARS && !raw.contains('\0');
            let parsed = Subject::parse(raw);
            prop_assert_eq!(parsed.is_ok(), expected);
            if let Ok(subject) = parsed {
                prop_assert!(round_trips(&subject));
            }
        }
    }
}
