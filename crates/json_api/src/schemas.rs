//! The schemas of what the API reads: each built from the `domain` type or
//! constant that checks the value, so the OpenAPI document says exactly
//! what the server accepts. Patterns are written for ECMA-262 (as JSON
//! Schema reads them) and mean the same in Python's `re` and Rust's
//! `regex`: character classes and `\uXXXX` escapes only.
//!
//! What a schema cannot say is left to the field's description: that
//! `page` x `limit` stays within 10,000, that a `cursor` is one the server
//! sealed for the same query, that `q` has at most 32 words, and that an
//! `assignee` is an active agent or admin.

use std::sync::LazyLock;

use domain::api_tokens::{MAX_EXPIRES_IN_DAYS, MIN_EXPIRES_IN_DAYS, TOKEN_NAME_MAX_CHARS};
use domain::paging::{DEFAULT_LIMIT, MAX_LIMIT, MAX_PAGE_DEPTH};
use domain::values::{
    BODY_MAX_CHARS, EMAIL_MAX_CHARS, PIN_MAX_DIGITS, PIN_MIN_DIGITS, SUBJECT_MAX_CHARS,
    USERNAME_MAX_CHARS,
};
use domain::workflow::{TAG_MAX_CHARS, TAGS_PER_TICKET};
use domain::{Direction, Priority, Role, SortField, Tag, TicketStatus, Username};
use utoipa::openapi::schema::{AnyOfBuilder, ArrayBuilder, SchemaType};
use utoipa::openapi::{Array, Object, ObjectBuilder, RefOr, Schema, Type};

fn string() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String)
}

fn one_of<'a>(values: impl IntoIterator<Item = &'a str>) -> Object {
    string()
        .enum_values(Some(values.into_iter().collect::<Vec<_>>()))
        .build()
}

pub fn role() -> Object {
    one_of(Role::ALL.map(Role::as_str))
}

pub fn status() -> Object {
    one_of(TicketStatus::ALL.map(TicketStatus::as_str))
}

pub fn priority() -> Object {
    one_of(Priority::ALL.map(Priority::as_str))
}

/// What `PUT /tickets/{ticketId}` offers: resolving.
pub fn resolved() -> Object {
    one_of([TicketStatus::Resolved.as_str()])
}

pub fn sort() -> Object {
    one_of(SortField::ALL.map(SortField::as_str))
}

/// The words, and the original's `1` and `-1`.
pub fn direction() -> Object {
    one_of([
        Direction::Ascending.as_str(),
        Direction::Descending.as_str(),
        "1",
        "-1",
    ])
}

/// The ASCII characters `accepts` takes, as the inside of a regular
/// expression's class (`-` last, where it is itself).
fn ascii_class(accepts: impl Fn(char) -> bool) -> String {
    let chars: Vec<char> = (0..=0x7f_u8)
        .map(char::from)
        .filter(|&c| accepts(c))
        .collect();
    let mut class = String::new();
    let mut dash = false;
    let mut i = 0;
    while i < chars.len() {
        let start = chars[i];
        let mut end = start;
        while i + 1 < chars.len() && u32::from(chars[i + 1]) == u32::from(end) + 1 {
            i += 1;
            end = chars[i];
        }
        i += 1;
        for c in [start, end] {
            if c == '-' {
                dash = true;
            }
        }
        if start.is_ascii_alphanumeric() && end.is_ascii_alphanumeric() && start != end {
            class.push_str(&format!("{start}-{end}"));
        } else {
            for c in (u32::from(start)..=u32::from(end)).filter_map(char::from_u32) {
                match c {
                    '-' => {}
                    '\\' | ']' | '[' | '^' => class.push_str(&format!("\\{c}")),
                    c if c.is_ascii_graphic() => class.push(c),
                    c => class.push_str(&format!("\\u{:04X}", u32::from(c))),
                }
            }
        }
    }
    if dash {
        class.push('-');
    }
    class
}

/// A username: the characters `Username` takes, 1 to 64 of them.
pub fn username() -> Object {
    let class = ascii_class(|c| Username::parse(c.to_string()).is_ok());
    string()
        .min_length(Some(1))
        .max_length(Some(USERNAME_MAX_CHARS))
        .pattern(Some(format!("^[{class}]+$")))
        .description(Some(format!(
            "1 to {USERNAME_MAX_CHARS} ASCII letters, digits, `.`, `_` or `-`; case-sensitive"
        )))
        .build()
}

/// A PIN: a string of digits.
pub fn pin() -> Object {
    string()
        .pattern(Some(format!(
            "^[0-9]{{{PIN_MIN_DIGITS},{PIN_MAX_DIGITS}}}$"
        )))
        .description(Some(format!(
            "{PIN_MIN_DIGITS} to {PIN_MAX_DIGITS} digits, as a string"
        )))
        .examples(["0000"])
        .build()
}

/// One tag, as sent (ASCII letters are lower-cased before it is checked).
pub fn tag() -> Object {
    let first = ascii_class(|c| Tag::parse(&c.to_string()).is_ok());
    let rest = ascii_class(|c| Tag::parse(&format!("a{c}")).is_ok());
    string()
        .max_length(Some(TAG_MAX_CHARS))
        .pattern(Some(format!("^[{first}][{rest}]*$")))
        .build()
}

/// The tickets list's `tag`.
pub fn tag_filter() -> Object {
    let mut schema = tag();
    schema.description =
        Some("Staff only: tickets carrying this tag (lower-cased first)".to_owned());
    schema
}

/// A ticket's whole set of tags.
pub fn tags() -> Array {
    ArrayBuilder::new()
        .items(tag())
        .max_items(Some(TAGS_PER_TICKET))
        .description(Some(format!(
            "The whole new set, replacing the old one: at most {TAGS_PER_TICKET} tags, \
             lower-cased (ASCII letters only), duplicates dropped"
        )))
        .build()
}

/// `\uXXXX` (or a range of them) for each run of `chars`, which are sorted.
/// A character past the Basic Multilingual Plane is written as itself:
/// `\uXXXX` cannot name it, and the regular expressions of the document's
/// readers that take Unicode (Rust's, Python's) take it as one character.
fn escaped_class(chars: &[char]) -> String {
    let mut class = String::new();
    let mut i = 0;
    while i < chars.len() {
        let start = chars[i];
        while i + 1 < chars.len() && u32::from(chars[i + 1]) == u32::from(chars[i]) + 1 {
            i += 1;
        }
        let end = chars[i];
        i += 1;
        class.push_str(&escaped(start));
        if end != start {
            class.push('-');
            class.push_str(&escaped(end));
        }
    }
    class
}

fn escaped(c: char) -> String {
    match u16::try_from(u32::from(c)) {
        Ok(unit) => format!("\\u{unit:04X}"),
        Err(_) => c.to_string(),
    }
}

/// The characters that show nothing (whitespace, the invisible format
/// characters, the blank fillers), as `TicketBody` judges them: a body of
/// these alone is blank (a test checks characters of every plane against
/// the domain).
static BLANK: LazyLock<String> = LazyLock::new(|| {
    let blank: Vec<char> = (1..=0x10_FFFF_u32)
        .filter_map(char::from_u32)
        .filter(|c| domain::visible::shows_nothing(*c))
        .collect();
    escaped_class(&blank)
});

/// A ticket's or reply's body: some character that shows, no NUL.
pub fn body() -> Object {
    let blank = &*BLANK;
    string()
        .min_length(Some(1))
        .max_length(Some(BODY_MAX_CHARS))
        .pattern(Some(format!("^[{blank}]*[^\\u0000{blank}][^\\u0000]*$")))
        .description(Some(format!(
            "Up to {BODY_MAX_CHARS} characters, no NUL, not blank: some character must \
             show (whitespace and zero-width characters alone do not)"
        )))
        .build()
}

/// An API token's name: some character that shows, no NUL.
pub fn token_name() -> Object {
    let blank = &*BLANK;
    string()
        .min_length(Some(1))
        .max_length(Some(TOKEN_NAME_MAX_CHARS))
        .pattern(Some(format!("^[{blank}]*[^\\u0000{blank}][^\\u0000]*$")))
        .description(Some(format!(
            "Up to {TOKEN_NAME_MAX_CHARS} characters, no NUL, not blank"
        )))
        .build()
}

/// How many days a new API token lasts.
pub fn expires_in_days() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .minimum(Some(MIN_EXPIRES_IN_DAYS))
        .maximum(Some(MAX_EXPIRES_IN_DAYS))
        .description(Some(format!(
            "{MIN_EXPIRES_IN_DAYS} to {MAX_EXPIRES_IN_DAYS} days; absent, the token lasts until revoked"
        )))
        .build()
}

/// A ticket's subject: optional, no NUL; `null` is none.
pub fn subject() -> Object {
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .max_length(Some(SUBJECT_MAX_CHARS))
        .pattern(Some("^[^\\u0000]*$"))
        .description(Some(format!(
            "Up to {SUBJECT_MAX_CHARS} characters, no NUL; absent or `null` for none"
        )))
        .build()
}

/// An account's email address, or `null` for none.
/// An address a request looks an account up by (never `null`).
pub fn lookup_email() -> Object {
    string()
        .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
            utoipa::openapi::KnownFormat::Email,
        )))
        .max_length(Some(EMAIL_MAX_CHARS))
        .description(Some(format!(
            "An account's address, in any case, at most {EMAIL_MAX_CHARS} characters"
        )))
        .examples(["kayode@example.com"])
        .build()
}

pub fn email() -> Object {
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
            utoipa::openapi::KnownFormat::Email,
        )))
        .max_length(Some(EMAIL_MAX_CHARS))
        .description(Some(format!(
            "An address such as `name@example.com` (no display name), at most \
             {EMAIL_MAX_CHARS} characters; kept lower-cased and unique across accounts \
             whatever its case; `null` for none"
        )))
        .examples(["kayode@example.com"])
        .build()
}

/// A positive id in a URL, in plain digits.
pub fn id() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
            utoipa::openapi::KnownFormat::Int64,
        )))
        .minimum(Some(1))
        .build()
}

/// A user `_id` as the API writes it (digits, not all zeros).
const USER_ID_DIGITS: &str = "[0-9]*[1-9][0-9]*";

/// An assignee: a user `_id` as a string or a number, or `null` to
/// unassign.
pub fn assignee() -> RefOr<Schema> {
    AnyOfBuilder::new()
        .item(string().pattern(Some(format!("^{USER_ID_DIGITS}$"))))
        .item(id())
        .item(ObjectBuilder::new().schema_type(Type::Null))
        .description(Some(
            "An active support agent's or admin's user `_id` (a string of digits, or a \
             number), or `null` to unassign",
        ))
        .into()
}

/// The tickets list's `assignee`: `me`, `none` or a user `_id`.
pub fn assignee_filter() -> Object {
    string()
        .pattern(Some(format!("^(me|none|{USER_ID_DIGITS})$")))
        .description(Some(
            "Staff only: `me`, `none` (unassigned) or a user `_id`",
        ))
        .build()
}

/// `page`: from 1; with `limit`, at most 10,000 rows deep.
pub fn page() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .minimum(Some(1))
        .maximum(Some(MAX_PAGE_DEPTH))
        .description(Some(format!(
            "Page number, from 1 (default 1); `page` x `limit` at most {MAX_PAGE_DEPTH} \
             (deeper lists follow `cursor`)"
        )))
        .build()
}

/// `limit`: 1 to 100.
pub fn limit() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .minimum(Some(1))
        .maximum(Some(MAX_LIMIT))
        .description(Some(format!(
            "Page size, 1 to {MAX_LIMIT} (default {DEFAULT_LIMIT})"
        )))
        .build()
}

/// The event types a webhook endpoint subscribes to: at least one.
pub fn webhook_events() -> Array {
    ArrayBuilder::new()
        .items(one_of(
            domain::WebhookEvent::ALL.map(domain::WebhookEvent::as_str),
        ))
        .min_items(Some(1))
        .description(Some(
            "The event types to receive (a `ping` is always received); duplicates dropped",
        ))
        .build()
}

/// A webhook endpoint's URL.
pub fn webhook_url() -> Object {
    ObjectBuilder::new()
        .schema_type(SchemaType::new(Type::String))
        .max_length(Some(domain::webhooks::URL_MAX_CHARS))
        .description(Some(
            "An https:// URL (http:// only when the server allows it); \
             never to a private address unless the server allows it",
        ))
        .build()
}

/// A webhook endpoint's description.
pub fn webhook_description() -> Object {
    ObjectBuilder::new()
        .schema_type(SchemaType::new(Type::String))
        .max_length(Some(domain::webhooks::DESCRIPTION_MAX_CHARS))
        .build()
}
