//! The helpdesk's workflow values: a ticket's status, its priority and its
//! tags.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::values::ValidationError;

/// A ticket's status; it only moves `UNATTENDED -> REPLIED -> RESOLVED`, or
/// from an unresolved state straight to `RESOLVED`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TicketStatus {
    Unattended,
    Replied,
    Resolved,
}

impl TicketStatus {
    pub const ALL: [TicketStatus; 3] = [
        TicketStatus::Unattended,
        TicketStatus::Replied,
        TicketStatus::Resolved,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TicketStatus::Unattended => "UNATTENDED",
            TicketStatus::Replied => "REPLIED",
            TicketStatus::Resolved => "RESOLVED",
        }
    }
}

impl FromStr for TicketStatus {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TicketStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or_else(|| {
                ValidationError::new("status", "must be one of UNATTENDED, REPLIED, RESOLVED")
            })
    }
}

impl fmt::Display for TicketStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How urgent a ticket is; the order of the variants is the sort order
/// (`LOW` < `NORMAL` < `HIGH` < `URGENT`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Priority {
    Low,
    #[default]
    Normal,
    High,
    Urgent,
}

impl Priority {
    pub const ALL: [Priority; 4] = [
        Priority::Low,
        Priority::Normal,
        Priority::High,
        Priority::Urgent,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Low => "LOW",
            Priority::Normal => "NORMAL",
            Priority::High => "HIGH",
            Priority::Urgent => "URGENT",
        }
    }

    /// The stored number, which sorts like the priority: 0 (`LOW`) to 3
    /// (`URGENT`).
    pub fn rank(self) -> i32 {
        match self {
            Priority::Low => 0,
            Priority::Normal => 1,
            Priority::High => 2,
            Priority::Urgent => 3,
        }
    }

    pub fn from_rank(rank: i32) -> Option<Priority> {
        Priority::ALL.into_iter().find(|p| p.rank() == rank)
    }
}

impl FromStr for Priority {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Priority::ALL
            .into_iter()
            .find(|priority| priority.as_str() == s)
            .ok_or_else(|| {
                ValidationError::new("priority", "must be one of LOW, NORMAL, HIGH, URGENT")
            })
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

pub const TAG_MAX_CHARS: usize = 32;
pub const TAGS_PER_TICKET: usize = 20;

/// A label on a ticket. Its language is `[a-z0-9][a-z0-9-]{0,31}`: ASCII
/// letters are lower-cased first, so `Billing` is the tag `billing`; no
/// other character is mapped (the Kelvin sign does not become `k`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Tag(String);

impl Tag {
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let lowered = raw.to_ascii_lowercase();
        let is_word = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
        let bytes = lowered.as_bytes();
        let well_formed = bytes.first().is_some_and(|&b| is_word(b))
            && bytes.len() <= TAG_MAX_CHARS
            && bytes.iter().all(|&b| is_word(b) || b == b'-');
        if !well_formed {
            return Err(ValidationError::new(
                "tags",
                "each tag must be 1 to 32 letters a-z, digits or '-', starting with a letter or digit",
            ));
        }
        Ok(Self(lowered))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Tag {
    type Error = ValidationError;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::parse(&raw)
    }
}

impl From<Tag> for String {
    fn from(tag: Tag) -> String {
        tag.0
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A ticket's tags: sorted, without duplicates, at most
/// [`TAGS_PER_TICKET`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TagSet(Vec<Tag>);

impl TagSet {
    /// Parses client input: at most [`TAGS_PER_TICKET`] tags as sent
    /// (a duplicate counts, so the limit is one a JSON Schema `maxItems`
    /// can state); each is lower-cased, then duplicates go.
    pub fn parse<S: AsRef<str>>(raw: impl IntoIterator<Item = S>) -> Result<Self, ValidationError> {
        let tags = raw
            .into_iter()
            .map(|tag| Tag::parse(tag.as_ref()))
            .collect::<Result<Vec<_>, _>>()?;
        if tags.len() > TAGS_PER_TICKET {
            return Err(ValidationError::new(
                "tags",
                format!("must hold at most {TAGS_PER_TICKET} tags"),
            ));
        }
        Ok(Self::from_tags(tags))
    }

    /// Tags already known to be valid (as stored), sorted and de-duplicated.
    pub fn from_tags(mut tags: Vec<Tag>) -> Self {
        tags.sort_unstable();
        tags.dedup();
        Self(tags)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Tag> {
        self.0.iter()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn contains(&self, tag: &Tag) -> bool {
        self.0.binary_search(tag).is_ok()
    }

    /// What going from `self` to `after` adds and removes, each sorted.
    pub fn difference(&self, after: &TagSet) -> (Vec<Tag>, Vec<Tag>) {
        let added = after.iter().filter(|t| !self.contains(t)).cloned();
        let removed = self.iter().filter(|t| !after.contains(t)).cloned();
        (added.collect(), removed.collect())
    }

    /// `self` with `added` put in and `removed` taken out.
    pub fn applying(&self, added: &[Tag], removed: &[Tag]) -> TagSet {
        let kept = self.iter().filter(|t| !removed.contains(t)).cloned();
        Self::from_tags(kept.chain(added.iter().cloned()).collect())
    }
}

impl IntoIterator for TagSet {
    type Item = Tag;
    type IntoIter = std::vec::IntoIter<Tag>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn statuses_use_the_original_wire_spellings() {
        for status in TicketStatus::ALL {
            let json = format!("\"{}\"", status.as_str());
            assert_eq!(serde_json::to_string(&status).ok(), Some(json.clone()));
            assert_eq!(
                serde_json::from_str::<TicketStatus>(&json).ok(),
                Some(status)
            );
        }
    }

    #[test]
    fn statuses_and_priorities_are_written_as_their_wire_spellings() {
        for status in TicketStatus::ALL {
            assert_eq!(status.to_string(), status.as_str());
        }
        for priority in Priority::ALL {
            assert_eq!(priority.to_string(), priority.as_str());
        }
        assert_eq!(format!("{}", TicketStatus::Resolved), "RESOLVED");
    }

    #[test]
    fn unknown_status_spellings_are_errors_not_panics() {
        assert!("Resolved".parse::<TicketStatus>().is_err());
        assert!("".parse::<TicketStatus>().is_err());
        assert!(serde_json::from_str::<TicketStatus>("\"CLOSED\"").is_err());
    }

    #[test]
    fn priorities_sort_low_to_urgent_and_round_trip_their_rank() {
        let mut shuffled = [
            Priority::Urgent,
            Priority::Low,
            Priority::High,
            Priority::Normal,
        ];
        shuffled.sort();
        assert_eq!(shuffled, Priority::ALL);
        for priority in Priority::ALL {
            assert_eq!(Priority::from_rank(priority.rank()), Some(priority));
            assert_eq!(priority.as_str().parse(), Ok(priority));
        }
        assert_eq!(Priority::from_rank(4), None);
        assert!(
            "normal".parse::<Priority>().is_err(),
            "spelled as on the wire"
        );
        assert_eq!(Priority::default(), Priority::Normal);
    }

    #[test]
    fn tags_are_lower_cased_and_follow_their_language() {
        assert_eq!(Tag::parse("Billing").map(|t| t.0), Ok("billing".to_owned()));
        assert!(Tag::parse("vip-2").is_ok());
        assert!(Tag::parse(&"a".repeat(32)).is_ok());
        for bad in [
            "",
            "-vip",
            "a".repeat(33).as_str(),
            "two words",
            "café",
            "a_b",
            "ß",
        ] {
            assert!(Tag::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn a_tag_is_written_as_its_lower_cased_name() {
        let tag = Tag::parse("Billing").expect("valid");
        assert_eq!(tag.to_string(), "billing");
        assert_eq!(format!("#{tag}"), "#billing");
    }

    #[test]
    fn a_tag_set_is_sorted_unique_and_at_most_twenty() {
        let set = TagSet::parse(["vip", "Billing", "VIP", "billing"]).expect("valid");
        let names: Vec<_> = set.iter().map(Tag::as_str).collect();
        assert_eq!(names, ["billing", "vip"]);
        let twenty: Vec<String> = (0..20).map(|i| format!("t{i}")).collect();
        assert!(TagSet::parse(&twenty).is_ok());
        let mut twenty_one = twenty.clone();
        twenty_one.push("t20".into());
        assert!(TagSet::parse(&twenty_one).is_err());
        let mut twenty_with_a_duplicate = twenty;
        twenty_with_a_duplicate.push("T0".into());
        assert!(
            TagSet::parse(&twenty_with_a_duplicate).is_err(),
            "at most twenty as sent, duplicates included"
        );
        let twenty_of_one: Vec<&str> = vec!["vip"; 20];
        assert_eq!(TagSet::parse(twenty_of_one).map(|set| set.len()), Ok(1));
    }

    #[test]
    fn a_tag_set_counts_each_tag_once() {
        let none = TagSet::parse(Vec::<String>::new()).expect("valid");
        assert!(none.is_empty());
        assert_eq!(none.len(), 0);
        let two = TagSet::parse(["vip", "VIP", "billing"]).expect("valid");
        assert!(!two.is_empty());
        assert_eq!(two.len(), 2);
    }

    #[test]
    fn a_tag_set_gives_up_its_tags_sorted() {
        let set = TagSet::parse(["vip", "Billing", "outage"]).expect("valid");
        let tags: Vec<String> = set.into_iter().map(String::from).collect();
        assert_eq!(tags, ["billing", "outage", "vip"]);
    }

    proptest! {
        #[test]
        fn the_difference_of_two_sets_turns_one_into_the_other(
            before in prop::collection::vec("[a-e]{1,2}", 0..8),
            after in prop::collection::vec("[a-e]{1,2}", 0..8),
        ) {
            let before = TagSet::parse(&before).expect("valid");
            let after = TagSet::parse(&after).expect("valid");
            let (added, removed) = before.difference(&after);
            prop_assert_eq!(before.applying(&added, &removed), after.clone());
            prop_assert!(added.iter().all(|t| !before.contains(t) && after.contains(t)));
            prop_assert!(removed.iter().all(|t| before.contains(t) && !after.contains(t)));
            prop_assert_eq!(added.is_empty() && removed.is_empty(), before == after);
        }

        #[test]
        fn any_accepted_tag_matches_the_language(raw in "\\PC{0,40}") {
            if let Ok(tag) = Tag::parse(&raw) {
                let s = tag.as_str();
                prop_assert!((1..=32).contains(&s.len()));
                prop_assert!(s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'));
                prop_assert!(!s.starts_with('-'));
                prop_assert_eq!(s, raw.to_lowercase());
            }
        }
    }
}
