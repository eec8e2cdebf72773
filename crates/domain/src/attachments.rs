//! Attachments (files on tickets and replies): the rules that need no I/O.
//! A file's name is for display only and is cleaned here; which uploads a
//! message may carry, the daily budget of bytes, and whether a file may
//! be shown in the browser are each one function. Who may download a file
//! is not decided here: it is whoever may see the message it belongs to
//! (`audience`), never a second rule.

use chrono::{DateTime, TimeDelta, Utc};

use crate::ids::UserId;
use crate::refusal::Refusal;
use crate::roles::Actor;
use crate::visible::shows_nothing;

/// A file's name when it had none worth showing.
pub const UNNAMED: &str = "attachment";
/// The most bytes of a file's name kept.
pub const FILENAME_MAX_BYTES: usize = 255;
/// Attachments one message may carry.
pub const MAX_PER_MESSAGE: usize = 10;
/// `MAX_ATTACHMENT_BYTES` by default: 10 MiB.
pub const DEFAULT_MAX_BYTES: u64 = 10 * 1024 * 1024;
/// `UPLOAD_DAILY_BYTES` by default: 200 MiB in any 24 hours.
pub const DEFAULT_DAILY_BYTES: u64 = 200 * 1024 * 1024;
/// `UPLOAD_TTL_SECS` by default: an upload not attached within a day goes.
pub const DEFAULT_UPLOAD_TTL: TimeDelta = TimeDelta::days(1);

/// A file's name as shown: no path, no control, format or other invisible
/// character (bidirectional overrides among them) but the plain space, at
/// most [`FILENAME_MAX_BYTES`] bytes, never empty. Never used to build a
/// storage path: files are stored by their SHA-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayFilename(String);

impl DisplayFilename {
    /// `raw` (as a client or a mail sent it) cleaned.
    pub fn clean(raw: &str) -> Self {
        // The last path component, whichever separator a client used.
        let last = raw.rsplit(['/', '\\']).next().unwrap_or_default();
        let kept: String = last
            .chars()
            .filter(|&c| c == ' ' || !shows_nothing(c))
            .collect();
        // No leading dot: a name that hides itself in a file manager.
        let trimmed = kept.trim_start_matches(['.', ' ']);
        let mut name = String::new();
        for c in trimmed.chars() {
            if name.len() + c.len_utf8() > FILENAME_MAX_BYTES {
                break;
            }
            name.push(c);
        }
        let name = name.trim_end();
        match name.is_empty() {
            true => Self(UNNAMED.to_owned()),
            false => Self(name.to_owned()),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What the rules need to know of one upload named by a new message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UploadFacts {
    pub id: i64,
    pub uploader: UserId,
    pub expires_at: DateTime<Utc>,
    /// Attached to a message already.
    pub attached: bool,
}

/// Why a message's attachments are refused (the whole message is).
pub const TOO_MANY: &str = "a message may carry at most 10 attachments";
pub const NAMED_TWICE: &str = "an upload is named twice";
pub const NOT_USABLE: &str =
    "an attachment must be one of your own uploads, not expired and not attached already";

/// Whether `actor` may attach the uploads `named` (their ids as the
/// request gave them) to a new message, given what the store found of
/// them (`found`, any order; one missing is someone else's to the caller,
/// as unknown as it is). All or nothing.
pub fn may_attach(
    actor: Actor,
    named: &[i64],
    found: &[UploadFacts],
    now: DateTime<Utc>,
) -> Result<(), Refusal> {
    if named.len() > MAX_PER_MESSAGE {
        return Err(Refusal::Invalid(TOO_MANY));
    }
    for (index, id) in named.iter().enumerate() {
        if named[..index].contains(id) {
            return Err(Refusal::Invalid(NAMED_TWICE));
        }
        let usable = found
            .iter()
            .find(|upload| upload.id == *id)
            .is_some_and(|upload| {
                upload.uploader == actor.id() && !upload.attached && upload.expires_at > now
            });
        if !usable {
            return Err(Refusal::Invalid(NOT_USABLE));
        }
    }
    Ok(())
}

/// The daily budget of an account's uploads: at most `limit` bytes in any
/// 24 hours. `used` is what it uploaded in the 24 hours before `now`,
/// `oldest` the time of the oldest of those uploads (when the budget frees
/// up first). A refused upload counts nothing; a file whose bytes are
/// stored already counts all the same.
pub fn may_upload(
    used: u64,
    oldest: Option<DateTime<Utc>>,
    size: u64,
    limit: u64,
    now: DateTime<Utc>,
) -> Result<(), Refusal> {
    if used.saturating_add(size) <= limit {
        return Ok(());
    }
    let frees_at = oldest.map_or(now, |oldest| oldest + TimeDelta::days(1));
    let wait = (frees_at - now).num_seconds().max(1);
    Err(Refusal::Throttled {
        retry_after_secs: u64::try_from(wait).unwrap_or(1),
    })
}

/// Whether a file is shown in the page (`Content-Disposition: inline`) or
/// only downloaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    Inline,
    Attachment,
}

/// Only raster images a browser draws and runs nothing in are shown
/// inline (PNG, JPEG, GIF, WebP); SVG, HTML and everything else are
/// downloaded. `content_type` is the sniffed one, never the client's.
pub fn disposition(content_type: &str) -> Disposition {
    match content_type {
        "image/png" | "image/jpeg" | "image/gif" | "image/webp" => Disposition::Inline,
        _ => Disposition::Attachment,
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::roles::test_actors::{OTHER_CUSTOMER, OWNER};

    fn at(minutes: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + minutes * 60, 0).unwrap_or_default()
    }

    #[test]
    fn a_filename_keeps_only_what_is_shown_of_its_last_component() {
        let cases = [
            ("report.pdf", "report.pdf"),
            ("../../etc/passwd", "passwd"),
            ("C:\\Users\\ada\\screen shot.png", "screen shot.png"),
            ("invoice\u{202e}gpj.exe", "invoicegpj.exe"),
            ("a\u{0}b\u{7}c\r\n.txt", "abc.txt"),
            ("  spaced  .log ", "spaced  .log"),
            (".hidden", "hidden"),
            ("", UNNAMED),
            ("dir/", UNNAMED),
            ("\u{200b}\u{2066}", UNNAMED),
            ("résumé 📄.docx", "résumé 📄.docx"),
        ];
        for (raw, shown) in cases {
            assert_eq!(DisplayFilename::clean(raw).as_str(), shown, "{raw:?}");
        }
        let long = "é".repeat(200);
        let cleaned = DisplayFilename::clean(&long);
        assert!(cleaned.as_str().len() <= FILENAME_MAX_BYTES);
        assert_eq!(cleaned.as_str(), "é".repeat(127));
    }

    fn upload(id: i64, uploader: Actor) -> UploadFacts {
        UploadFacts {
            id,
            uploader: uploader.id(),
            expires_at: at(60),
            attached: false,
        }
    }

    #[test]
    fn only_ones_own_fresh_unattached_uploads_are_attached_all_or_nothing() {
        let mine = [upload(1, OWNER), upload(2, OWNER)];
        assert_eq!(may_attach(OWNER, &[1, 2], &mine, at(0)), Ok(()));
        assert_eq!(may_attach(OWNER, &[], &[], at(0)), Ok(()));
        let refused = Err(Refusal::Invalid(NOT_USABLE));
        // Another's, an unknown id, an expired one, an attached one.
        assert_eq!(may_attach(OTHER_CUSTOMER, &[1], &mine, at(0)), refused);
        assert_eq!(may_attach(OWNER, &[1, 3], &mine, at(0)), refused);
        assert_eq!(may_attach(OWNER, &[1], &mine, at(60)), refused);
        let attached = [UploadFacts {
            attached: true,
            ..upload(1, OWNER)
        }];
        assert_eq!(may_attach(OWNER, &[1], &attached, at(0)), refused);
        assert_eq!(
            may_attach(OWNER, &[1, 1], &mine, at(0)),
            Err(Refusal::Invalid(NAMED_TWICE))
        );
        let many: Vec<UploadFacts> = (1..=11).map(|id| upload(id, OWNER)).collect();
        let ids: Vec<i64> = (1..=11).collect();
        assert_eq!(
            may_attach(OWNER, &ids, &many, at(0)),
            Err(Refusal::Invalid(TOO_MANY))
        );
        assert_eq!(may_attach(OWNER, &ids[..10], &many, at(0)), Ok(()));
    }

    #[test]
    fn the_daily_budget_refuses_what_would_pass_it_until_the_oldest_upload_ages_out() {
        let limit = 100;
        assert_eq!(may_upload(0, None, 100, limit, at(0)), Ok(()));
        assert_eq!(may_upload(60, Some(at(-60)), 40, limit, at(0)), Ok(()));
        assert_eq!(
            may_upload(60, Some(at(-60)), 41, limit, at(0)),
            Err(Refusal::Throttled {
                retry_after_secs: 23 * 3600
            })
        );
        // A file larger than the whole budget: refused, worth a retry soon
        // only in form (the size limit is the smaller one by default).
        assert!(may_upload(0, None, 101, limit, at(0)).is_err());
    }

    #[test]
    fn only_raster_images_are_shown_inline() {
        for shown in ["image/png", "image/jpeg", "image/gif", "image/webp"] {
            assert_eq!(disposition(shown), Disposition::Inline);
        }
        for downloaded in [
            "image/svg+xml",
            "text/html",
            "application/pdf",
            "application/octet-stream",
            "IMAGE/PNG",
        ] {
            assert_eq!(disposition(downloaded), Disposition::Attachment);
        }
    }

    proptest! {
        #[test]
        fn a_cleaned_filename_is_safe_to_show(raw in "\\PC{0,300}|[./\\\\\u{202a}-\u{202e}\u{2066}-\u{2069}\u{0}-\u{1f}a-z]{0,40}") {
            let cleaned = DisplayFilename::clean(&raw);
            let name = cleaned.as_str();
            prop_assert!(!name.is_empty());
            prop_assert!(name.len() <= FILENAME_MAX_BYTES);
            prop_assert!(!name.contains(['/', '\\']));
            prop_assert!(name.chars().all(|c| c == ' ' || !shows_nothing(c)));
            prop_assert!(!name.starts_with([' ', '.']) && !name.ends_with(' '));
            // Cleaning is stable.
            let again = DisplayFilename::clean(name);
            prop_assert_eq!(again.as_str(), name);
        }

        #[test]
        fn attached_uploads_are_all_usable(
            named in prop::collection::vec(0i64..6, 0..12),
            found in prop::collection::vec((0i64..6, any::<bool>(), any::<bool>(), -5i64..5), 0..8),
        ) {
            let found: Vec<UploadFacts> = found
                .into_iter()
                .map(|(id, own, attached, expires)| UploadFacts {
                    id,
                    uploader: if own { OWNER.id() } else { OTHER_CUSTOMER.id() },
                    expires_at: at(expires),
                    attached,
                })
                .collect();
            if may_attach(OWNER, &named, &found, at(0)).is_ok() {
                prop_assert!(named.len() <= MAX_PER_MESSAGE);
                for (index, id) in named.iter().enumerate() {
                    prop_assert!(!named[..index].contains(id));
                    let usable = found.iter().any(|upload| upload.id == *id
                        && upload.uploader == OWNER.id()
                        && !upload.attached
                        && upload.expires_at > at(0));
                    prop_assert!(usable);
                }
            }
        }
    }
}
