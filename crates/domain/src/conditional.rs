//! Conditional requests (RFC 9110, section 13): a strong entity tag of what
//! one viewer sees of a ticket or an account, and whether a request's
//! `If-Match` or `If-None-Match` holds against it.
//!
//! A tag is a digest of the representation **as its viewer sees it**: the
//! [`SeenTicket`] that `audience` decided (a customer's has no tags, and
//! nothing of notes or assignments' history is in a ticket), or the
//! account. So a customer's tag changes exactly when something they see
//! changes, and tells them nothing else.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::audience::{SeenTicket, SeenUser};
use crate::refusal::Refusal;
use crate::values::ValidationError;

/// The words of a write whose `If-Match` names no current version.
pub const CHANGED_SINCE: &str =
    "it has changed since the version you named; read it again and retry";

/// How many bytes of the digest a tag keeps: 128 bits, far beyond any
/// chance of two versions sharing one.
const TAG_BYTES: usize = 16;

/// A strong entity tag's opaque value (without its quotes).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EntityTag(String);

impl EntityTag {
    /// The tag of `seen`, the ticket as its viewer sees it.
    pub fn of_ticket(seen: &SeenTicket) -> Self {
        let ticket = &seen.ticket;
        let mut digest = Canonical::new(b"ticket/1");
        digest.number(ticket.id.0);
        digest.optional_text(ticket.subject.as_deref());
        digest.text(&ticket.body);
        digest.text(ticket.status.as_str());
        digest.number(ticket.author.0);
        digest.time(ticket.created_at);
        digest.time(ticket.updated_at);
        digest.optional_time(ticket.resolved_at);
        digest.text(ticket.priority.as_str());
        digest.optional_number(ticket.assignee.map(|user| user.0));
        match &ticket.tags {
            None => digest.flag(false),
            Some(tags) => {
                digest.flag(true);
                digest.number(i64::try_from(tags.len()).unwrap_or(i64::MAX));
                for tag in tags.iter() {
                    digest.text(tag.as_str());
                }
            }
        }
        digest.optional_time(ticket.first_response_at);
        digest.time(ticket.due.first_response);
        digest.time(ticket.due.resolution);
        digest.flag(seen.sla_breached);
        // Last, and only when shown, so a customer's tag is what it was
        // before tickets showed requesters.
        if let Some(requester) = &seen.requester {
            digest.flag(true);
            digest.number(requester.user.id.0);
            digest.text(&requester.user.username);
            digest.flag(requester.shows_email);
            digest.optional_text(
                requester
                    .user
                    .email
                    .as_ref()
                    .map(|address| address.as_str()),
            );
        }
        digest.finish()
    }

    /// The tag of an account as its reader sees it (its owner and admins
    /// see the same fields, its address included).
    pub fn of_user(seen: &SeenUser) -> Self {
        let user = &seen.user;
        let mut digest = Canonical::new(b"user/1");
        digest.number(user.id.0);
        digest.text(&user.username);
        digest.text(user.role.as_str());
        digest.flag(user.active);
        digest.flag(seen.shows_email);
        digest.optional_text(user.email.as_ref().map(|address| address.as_str()));
        digest.time(user.created_at);
        digest.time(user.updated_at);
        digest.finish()
    }

    /// The `ETag` header's value: the tag in quotes.
    pub fn header_value(&self) -> String {
        format!("\"{}\"", self.0)
    }

    /// The opaque value, without quotes.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A digest of fields written in a fixed order, each one framed (a kind
/// byte and, for text, its length), so no two different sequences of
/// fields write the same bytes.
struct Canonical(Sha256);

impl Canonical {
    fn new(kind: &[u8]) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(kind);
        Canonical(hasher)
    }

    fn text(&mut self, text: &str) {
        self.0.update(b"s");
        self.0.update((text.len() as u64).to_be_bytes());
        self.0.update(text.as_bytes());
    }

    fn optional_text(&mut self, text: Option<&str>) {
        match text {
            Some(text) => self.text(text),
            None => self.0.update(b"-"),
        }
    }

    fn number(&mut self, number: i64) {
        self.0.update(b"n");
        self.0.update(number.to_be_bytes());
    }

    fn optional_number(&mut self, number: Option<i64>) {
        match number {
            Some(number) => self.number(number),
            None => self.0.update(b"-"),
        }
    }

    fn flag(&mut self, flag: bool) {
        self.0.update(if flag { b"T" } else { b"F" });
    }

    /// To the microsecond, the precision the store keeps.
    fn time(&mut self, at: DateTime<Utc>) {
        self.0.update(b"t");
        self.0.update(at.timestamp_micros().to_be_bytes());
    }

    fn optional_time(&mut self, at: Option<DateTime<Utc>>) {
        match at {
            Some(at) => self.time(at),
            None => self.0.update(b"-"),
        }
    }

    fn finish(self) -> EntityTag {
        let digest = self.0.finalize();
        EntityTag(URL_SAFE_NO_PAD.encode(&digest[..TAG_BYTES]))
    }
}

/// An `If-Match` or `If-None-Match` header: `*`, or a list of entity tags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagList {
    /// `*`: any current version.
    Any,
    /// The tags listed, each with whether it was weak (`W/"..."`).
    Tags(Vec<ListedTag>),
}

/// One entity tag of a header's list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedTag {
    pub weak: bool,
    pub opaque: String,
}

/// What an `If-Match` or `If-None-Match` must look like.
const TAG_LIST_SHAPE: &str = "must be * or a comma-separated list of quoted entity tags";

impl TagList {
    /// Parses a header's value (several header lines joined by commas);
    /// `field` names the header in the refusal.
    pub fn parse(field: &'static str, value: &str) -> Result<Self, ValidationError> {
        let invalid = || ValidationError::new(field, TAG_LIST_SHAPE);
        if value.trim() == "*" {
            return Ok(TagList::Any);
        }
        let mut tags = Vec::new();
        let mut rest = value;
        loop {
            rest = rest.trim_start_matches([' ', '\t', ',']);
            if rest.is_empty() {
                break;
            }
            let (weak, quoted) = match rest.strip_prefix("W/") {
                Some(after) => (true, after),
                None => (false, rest),
            };
            let inner = quoted.strip_prefix('"').ok_or_else(invalid)?;
            let end = inner.find('"').ok_or_else(invalid)?;
            let opaque = &inner[..end];
            // etagc: visible ASCII but the quote, or obs-text.
            if !opaque
                .bytes()
                .all(|b| b == 0x21 || (0x23..=0x7e).contains(&b) || b >= 0x80)
            {
                return Err(invalid());
            }
            tags.push(ListedTag {
                weak,
                opaque: opaque.to_owned(),
            });
            rest = inner[end + 1..].trim_start_matches([' ', '\t']);
            if !(rest.is_empty() || rest.starts_with(',')) {
                return Err(invalid());
            }
        }
        if tags.is_empty() {
            return Err(invalid());
        }
        Ok(TagList::Tags(tags))
    }

    /// `If-Match`'s strong comparison: a weak tag never matches.
    fn matches_strongly(&self, current: &EntityTag) -> bool {
        match self {
            TagList::Any => true,
            TagList::Tags(tags) => tags.iter().any(|tag| !tag.weak && tag.opaque == current.0),
        }
    }

    /// `If-None-Match`'s weak comparison: the opaque values alone.
    fn matches_weakly(&self, current: &EntityTag) -> bool {
        match self {
            TagList::Any => true,
            TagList::Tags(tags) => tags.iter().any(|tag| tag.opaque == current.0),
        }
    }
}

/// What a write was asked to be conditional on.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Precondition {
    /// No `If-Match`: the write proceeds whatever the current version.
    #[default]
    None,
    /// `If-Match`: the current version must be one of these (or any, `*`).
    IfMatch(TagList),
}

/// Whether a write may go on, given the tag of the current representation
/// as the writer sees it (read with the record locked): a precondition
/// that names no current version refuses it.
pub fn decide_precondition(
    precondition: &Precondition,
    current: &EntityTag,
) -> Result<(), Refusal> {
    match precondition {
        Precondition::None => Ok(()),
        Precondition::IfMatch(list) if list.matches_strongly(current) => Ok(()),
        Precondition::IfMatch(_) => Err(Refusal::Changed(CHANGED_SINCE)),
    }
}

/// Whether a read's `If-None-Match` names the current version, so the
/// client's copy is current (a 304 with no body).
pub fn is_not_modified(if_none_match: &TagList, current: &EntityTag) -> bool {
    if_none_match.matches_weakly(current)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entities::{Ticket, User};
    use crate::ids::{TicketId, UserId};
    use crate::roles::Role;
    use crate::sla::SlaTargets;
    use crate::workflow::{Priority, TagSet, TicketStatus};
    use proptest::prelude::*;

    fn at(minutes: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + minutes * 60, 0).unwrap_or_default()
    }

    fn ticket() -> Ticket {
        Ticket {
            id: TicketId(7),
            subject: Some("Printer".to_owned()),
            body: "on fire".to_owned(),
            status: TicketStatus::Unattended,
            author: UserId(1),
            created_at: at(0),
            updated_at: at(0),
            resolved_at: None,
            priority: Priority::Normal,
            assignee: None,
            tags: Some(TagSet::default()),
            first_response_at: None,
            due: SlaTargets::default().due_times(at(0), Priority::Normal),
            follow_up_of: None,
        }
    }

    fn seen(ticket: Ticket) -> SeenTicket {
        SeenTicket {
            ticket,
            sla_breached: false,
            requester: None,
        }
    }

    fn user() -> User {
        User {
            id: UserId(3),
            username: "kayode".to_owned(),
            role: Role::Customer,
            active: true,
            email: None,
            created_at: at(0),
            updated_at: at(0),
        }
    }

    #[test]
    fn a_tag_is_stable_and_quoted_in_its_header() {
        let tag = EntityTag::of_ticket(&seen(ticket()));
        assert_eq!(tag, EntityTag::of_ticket(&seen(ticket())));
        assert_eq!(tag.as_str().len(), 22);
        assert_eq!(tag.header_value(), format!("\"{}\"", tag.as_str()));
        assert!(TagList::parse("ETag", &tag.header_value()).is_ok());
    }

    #[test]
    fn every_field_a_viewer_sees_moves_the_tag() {
        let base = EntityTag::of_ticket(&seen(ticket()));
        let changes: Vec<Ticket> = vec![
            Ticket {
                subject: None,
                ..ticket()
            },
            Ticket {
                body: "on fire!".to_owned(),
                ..ticket()
            },
            Ticket {
                status: TicketStatus::Replied,
                ..ticket()
            },
            Ticket {
                updated_at: at(1),
                ..ticket()
            },
            Ticket {
                resolved_at: Some(at(2)),
                ..ticket()
            },
            Ticket {
                priority: Priority::High,
                ..ticket()
            },
            Ticket {
                assignee: Some(UserId(2)),
                ..ticket()
            },
            Ticket {
                tags: None,
                ..ticket()
            },
            Ticket {
                tags: Some(TagSet::parse(vec!["vip".to_owned()]).expect("tags")),
                ..ticket()
            },
            Ticket {
                first_response_at: Some(at(3)),
                ..ticket()
            },
        ];
        for changed in changes {
            assert_ne!(
                EntityTag::of_ticket(&seen(changed.clone())),
                base,
                "{changed:?}"
            );
        }
        let breached = SeenTicket {
            ticket: ticket(),
            sla_breached: true,
            requester: None,
        };
        assert_ne!(EntityTag::of_ticket(&breached), base);
        // The requester staff see: the account, its name and its address.
        let requester = |user: User| {
            EntityTag::of_ticket(&crate::audience::see_ticket_as(
                crate::audience::Audience::Staff,
                Ticket {
                    author: user.id,
                    ..ticket()
                },
                Some(user),
                at(0),
            ))
        };
        let author = || User {
            id: UserId(1),
            ..user()
        };
        let with_requester = requester(author());
        assert_ne!(with_requester, base, "the requester is part of the tag");
        for changed in [
            User {
                username: "tolu".to_owned(),
                ..author()
            },
            User {
                email: Some(crate::EmailAddress::parse("kayode@example.com").expect("valid")),
                ..author()
            },
        ] {
            assert_ne!(requester(changed.clone()), with_requester, "{changed:?}");
        }
        let tag = |user: User| EntityTag::of_user(&crate::audience::see_own_user(user));
        let base = tag(user());
        let hidden = EntityTag::of_user(&crate::audience::see_user_as(
            crate::audience::Audience::Customer,
            user(),
        ));
        assert_ne!(
            hidden, base,
            "whether the address is shown is part of the tag"
        );
        for changed in [
            User {
                role: Role::SupportAgent,
                ..user()
            },
            User {
                active: false,
                ..user()
            },
            User {
                updated_at: at(1),
                ..user()
            },
            User {
                username: "tolu".to_owned(),
                ..user()
            },
            User {
                email: Some(crate::EmailAddress::parse("kayode@example.com").expect("valid")),
                ..user()
            },
        ] {
            assert_ne!(tag(changed.clone()), base, "{changed:?}");
        }
    }

    #[test]
    fn a_ticket_and_an_account_never_share_a_tag_by_framing() {
        // The same bytes split differently into fields read differently.
        let one = Ticket {
            subject: Some("ab".to_owned()),
            body: "c".to_owned(),
            ..ticket()
        };
        let two = Ticket {
            subject: Some("a".to_owned()),
            body: "bc".to_owned(),
            ..ticket()
        };
        assert_ne!(
            EntityTag::of_ticket(&seen(one)),
            EntityTag::of_ticket(&seen(two))
        );
    }

    #[test]
    fn if_match_compares_strongly_and_star_matches_any_version() {
        let current = EntityTag::of_user(&crate::audience::see_own_user(user()));
        let header =
            |value: &str| Precondition::IfMatch(TagList::parse("If-Match", value).expect("parses"));
        assert_eq!(decide_precondition(&Precondition::None, &current), Ok(()));
        assert_eq!(decide_precondition(&header("*"), &current), Ok(()));
        assert_eq!(
            decide_precondition(&header(&current.header_value()), &current),
            Ok(())
        );
        let listed = format!("\"old\", {}", current.header_value());
        assert_eq!(decide_precondition(&header(&listed), &current), Ok(()));
        assert_eq!(
            decide_precondition(&header("\"old\""), &current),
            Err(Refusal::Changed(CHANGED_SINCE))
        );
        let weak = format!("W/{}", current.header_value());
        assert_eq!(
            decide_precondition(&header(&weak), &current),
            Err(Refusal::Changed(CHANGED_SINCE))
        );
        let weak = TagList::parse("If-None-Match", &weak).expect("parses");
        assert!(is_not_modified(&weak, &current));
        assert!(is_not_modified(&TagList::Any, &current));
        let other = TagList::parse("If-None-Match", "\"old\"").expect("parses");
        assert!(!is_not_modified(&other, &current));
    }

    #[test]
    fn a_header_that_is_not_a_tag_list_is_refused() {
        for bad in [
            "",
            "abc",
            "\"open",
            "W/abc",
            "\"a\" \"b\"",
            "\"a\"x",
            "\"a b\"",
            ",",
            "* , \"a\"",
        ] {
            assert!(TagList::parse("If-Match", bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            TagList::parse("If-Match", " \"a\" ,, W/\"b\"\t,").expect("parses"),
            TagList::Tags(vec![
                ListedTag {
                    weak: false,
                    opaque: "a".to_owned()
                },
                ListedTag {
                    weak: true,
                    opaque: "b".to_owned()
                },
            ])
        );
        assert_eq!(
            TagList::parse("If-Match", " * ").expect("parses"),
            TagList::Any
        );
        assert_eq!(
            TagList::parse("If-Match", "\"\"").expect("the empty tag"),
            TagList::Tags(vec![ListedTag {
                weak: false,
                opaque: String::new()
            }])
        );
    }

    proptest! {
        /// Any list of tags written as a header reads back as itself.
        #[test]
        fn a_written_tag_list_reads_back(tags in proptest::collection::vec((any::<bool>(), "[!#-~]{0,12}"), 1..5)) {
            let header = tags
                .iter()
                .map(|(weak, opaque)| format!("{}\"{opaque}\"", if *weak { "W/" } else { "" }))
                .collect::<Vec<_>>()
                .join(", ");
            let listed = tags
                .into_iter()
                .map(|(weak, opaque)| ListedTag { weak, opaque })
                .collect();
            prop_assert_eq!(TagList::parse("If-Match", &header).expect("parses"), TagList::Tags(listed));
        }

        /// Two tickets that differ get different tags; equal ones the same.
        #[test]
        fn a_tag_follows_the_body_it_digests(one in ".{0,40}", two in ".{0,40}") {
            let tag = |body: &str| EntityTag::of_ticket(&seen(Ticket { body: body.to_owned(), ..ticket() }));
            prop_assert_eq!(tag(&one) == tag(&two), one == two);
        }
    }
}
