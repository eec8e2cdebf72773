//! Full-text search: what a word is, the words a ticket is found by, and
//! the words a query asks for.
//!
//! Both databases index the words this module produces (space-separated),
//! never the raw text, so SQLite and PostgreSQL cannot disagree on hyphens,
//! e-mail addresses or accents: `a.b@x-y.com` is the four words `a`, `b`,
//! `x` and `y`, on both.

use std::collections::BTreeSet;

use crate::values::ValidationError;

/// A longer run of letters is cut here (on both sides of a search, so it
/// still finds itself): PostgreSQL refuses lexemes over 2 KiB, and no
/// language has words this long.
pub const MAX_WORD_CHARS: usize = 100;

/// How many distinct words of a ticket are indexed, per visibility, and
/// in how many bytes: more than a real conversation has (a novel has some
/// 10,000 distinct words), and with both documents together well under the
/// 1 MiB PostgreSQL allows in one `tsvector`. Words past either limit are
/// not searchable.
pub const MAX_DOCUMENT_WORDS: usize = 10_000;
pub const MAX_DOCUMENT_BYTES: usize = 128 * 1024;

/// More words than this in one query is a paragraph, not a search.
pub const MAX_QUERY_WORDS: usize = 32;

/// The words of `text`: maximal runs of Unicode letters and digits,
/// lower-cased, accents kept. Anything else separates words.
pub fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|run| !run.is_empty())
        .map(normalize)
        .filter(|word| !word.is_empty())
}

/// Lower-cases a run of letters and digits, dropping what lower-casing adds
/// that is not one (`İ` lower-cases to `i` and a combining dot), and cuts
/// it at [`MAX_WORD_CHARS`].
fn normalize(run: &str) -> String {
    run.chars()
        .flat_map(char::to_lowercase)
        .filter(|c| c.is_alphanumeric())
        .take(MAX_WORD_CHARS)
        .collect()
}

/// The distinct words a ticket is found by, for one audience: the subject,
/// body and public replies (what its customer may search), or its internal
/// notes (what only staff may search).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchDocument {
    words: BTreeSet<String>,
    bytes: usize,
}

impl SearchDocument {
    /// The document a database holds (words separated by spaces), as
    /// [`SearchDocument::as_text`] wrote it.
    pub fn from_text(text: &str) -> Self {
        let mut document = Self::default();
        document.add(text);
        document
    }

    /// Adds the words of `text`; returns whether any was new. Once the
    /// document holds [`MAX_DOCUMENT_WORDS`] or [`MAX_DOCUMENT_BYTES`],
    /// further words are left out.
    pub fn add(&mut self, text: &str) -> bool {
        let mut changed = false;
        for word in words(text) {
            let size = word.len() + 1;
            let full =
                self.words.len() == MAX_DOCUMENT_WORDS || self.bytes + size > MAX_DOCUMENT_BYTES;
            if full || self.words.contains(&word) {
                continue;
            }
            self.bytes += size;
            self.words.insert(word);
            changed = true;
        }
        changed
    }

    /// The words, sorted, separated by single spaces.
    pub fn as_text(&self) -> String {
        let mut text = String::with_capacity(self.bytes);
        for word in &self.words {
            if !text.is_empty() {
                text.push(' ');
            }
            text.push_str(word);
        }
        text
    }

    pub fn contains(&self, word: &str) -> bool {
        self.words.contains(word)
    }
}

/// The two documents of a ticket.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TicketDocuments {
    /// Subject, body and public replies.
    pub public: SearchDocument,
    /// Internal notes.
    pub notes: SearchDocument,
}

impl TicketDocuments {
    /// The documents of a new ticket.
    pub fn of_ticket(subject: Option<&str>, body: &str) -> Self {
        let mut public = SearchDocument::default();
        public.add(subject.unwrap_or_default());
        public.add(body);
        Self {
            public,
            notes: SearchDocument::default(),
        }
    }

    /// Adds a reply (`internal`: a note); returns whether a document changed.
    pub fn add_reply(&mut self, body: &str, internal: bool) -> bool {
        if internal {
            self.notes.add(body)
        } else {
            self.public.add(body)
        }
    }
}

/// The words a search asks for: a ticket matches when it has every one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchQuery {
    words: Vec<String>,
}

impl SearchQuery {
    /// `q` as typed. `None` when it has no words (empty, or punctuation
    /// only): no filter. Punctuation is never an error; only a query of
    /// more than [`MAX_QUERY_WORDS`] distinct words is.
    pub fn parse(raw: &str) -> Result<Option<Self>, ValidationError> {
        let distinct: BTreeSet<String> = words(raw).collect();
        if distinct.len() > MAX_QUERY_WORDS {
            return Err(ValidationError::new(
                "q",
                format!("must have at most {MAX_QUERY_WORDS} words"),
            ));
        }
        Ok((!distinct.is_empty()).then(|| Self {
            words: distinct.into_iter().collect(),
        }))
    }

    /// The distinct words, sorted; each is letters and digits only, so it
    /// can be quoted in any engine's query language without escaping.
    pub fn words(&self) -> &[String] {
        &self.words
    }

    /// Whether a ticket with these documents matches, searched by someone
    /// who sees notes (`with_notes`) or not: what the indexes compute.
    pub fn matches(&self, documents: &TicketDocuments, with_notes: bool) -> bool {
        self.words.iter().all(|word| {
            documents.public.contains(word) || (with_notes && documents.notes.contains(word))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn all(text: &str) -> Vec<String> {
        words(text).collect()
    }

    #[test]
    fn words_are_runs_of_letters_and_digits_lower_cased() {
        assert_eq!(all("Printer ON FIRE!"), ["printer", "on", "fire"]);
        assert_eq!(
            all("jane.doe@example.com"),
            ["jane", "doe", "example", "com"]
        );
        assert_eq!(
            all("wi-fi /var/log x_y"),
            ["wi", "fi", "var", "log", "x", "y"]
        );
        assert_eq!(all("error 0x80070005"), ["error", "0x80070005"]);
        assert_eq!(all("  ...  "), Vec::<String>::new());
    }

    #[test]
    fn accents_are_kept_and_unicode_letters_are_words() {
        assert_eq!(all("Café"), ["café"]);
        assert_ne!(all("café"), all("cafe"));
        assert_eq!(all("STRASSE Straße"), ["strasse", "straße"]);
        assert_eq!(
            all("Ελληνικά, русский; 日本語"),
            ["ελληνικά", "русский", "日本語"]
        );
        assert_eq!(all("İstanbul"), ["istanbul"]);
    }

    #[test]
    fn a_long_run_is_cut_to_the_longest_word() {
        let long = "a".repeat(MAX_WORD_CHARS + 50);
        assert_eq!(all(&long), ["a".repeat(MAX_WORD_CHARS)]);
    }

    #[test]
    fn a_query_without_words_is_no_filter_and_punctuation_is_no_error() {
        assert_eq!(SearchQuery::parse(""), Ok(None));
        assert_eq!(SearchQuery::parse("\"*:()^-+ ~ ' ; --"), Ok(None));
        assert_eq!(SearchQuery::parse("\"*:()^-+ OR"), SearchQuery::parse("or"));
        let query = SearchQuery::parse("NEAR(\"printer\" AND fire*)")
            .expect("parses")
            .expect("has words");
        assert_eq!(query.words(), ["and", "fire", "near", "printer"]);
    }

    #[test]
    fn too_many_words_are_refused_by_name() {
        let many: Vec<String> = (0..=MAX_QUERY_WORDS).map(|i| format!("w{i}")).collect();
        let error = SearchQuery::parse(&many.join(" ")).expect_err("too many");
        assert_eq!(error.field, "q");
        assert!(SearchQuery::parse(&many[1..].join(" ")).is_ok());
    }

    #[test]
    fn notes_are_searched_only_with_notes() {
        let mut documents = TicketDocuments::of_ticket(Some("Printer"), "on fire");
        assert!(documents.add_reply("secret escalation", true));
        assert!(!documents.add_reply("Fire!", false), "no new word");
        let query = |q: &str| SearchQuery::parse(q).ok().flatten().expect("words");
        assert!(query("fire printer").matches(&documents, false));
        assert!(!query("printer escalation").matches(&documents, false));
        assert!(query("printer escalation").matches(&documents, true));
        assert!(!query("printer missing").matches(&documents, true));
    }

    #[test]
    fn a_document_stops_growing_at_its_limits() {
        let mut many = SearchDocument::default();
        let text: String = (0..20_000).map(|i| format!("w{i} ")).collect();
        many.add(&text);
        assert_eq!(many.words.len(), MAX_DOCUMENT_WORDS);
        assert!(many.contains("w0") && many.contains("w9999"));
        assert!(!many.contains("w10000"));
        assert!(!many.add("another"), "full");
        let mut long = SearchDocument::default();
        let text: String = (0..5_000)
            .map(|i| format!("{i}{} ", "x".repeat(90)))
            .collect();
        long.add(&text);
        assert!(long.as_text().len() <= MAX_DOCUMENT_BYTES);
        assert!(long.words.len() < 5_000);
    }

    #[test]
    fn a_stored_document_reads_back_as_its_words() {
        let document = SearchDocument::from_text("printer fire on");
        assert!(document.contains("printer") && document.contains("fire"));
        assert!(!document.contains("toner"));
        assert_eq!(document.as_text(), "fire on printer");
        let mut written = SearchDocument::default();
        written.add("Printer ON FIRE!");
        assert_eq!(document, written);
    }

    #[test]
    fn a_document_takes_words_up_to_exactly_its_byte_limit() {
        // 2,048 distinct words of 63 letters, each taking 64 bytes with
        // its separator: exactly the limit.
        let word = |i: usize| format!("{i:04}{}", "x".repeat(59));
        let text: Vec<String> = (0..2_048).map(word).collect();
        let mut document = SearchDocument::default();
        assert!(document.add(&text.join(" ")));
        assert!(
            document.contains(&word(2_047)),
            "the last word fits exactly"
        );
        // Each word's separator but the last one's is written.
        assert_eq!(document.as_text().len() + 1, MAX_DOCUMENT_BYTES);
        assert!(!document.add("z"), "not one more byte");
        assert!(!document.contains("z"));
    }

    proptest! {
        #[test]
        fn a_word_is_its_own_only_word(text in "\\PC{0,40}") {
            for word in words(&text) {
                prop_assert!(!word.is_empty());
                prop_assert!(word.chars().all(char::is_alphanumeric), "{:?}", word);
                prop_assert!(word.chars().count() <= MAX_WORD_CHARS);
                prop_assert_eq!(all(&word), vec![word.clone()]);
            }
        }

        #[test]
        fn case_never_changes_the_words(text in "\\PC{0,40}", latin in "[a-zA-ZÀ-Þà-þ0-9 .,@-]{0,40}") {
            prop_assert_eq!(all(&text), all(&text.to_lowercase()));
            // Not for every text: `ß` upper-cases to `SS`, another word.
            prop_assert_eq!(all(&latin.to_uppercase()), all(&latin));
        }

        #[test]
        fn separators_only_separate(left in "[a-zé0-9]{1,10}", separator in "[ .,;:!?@/\\\\\"'()*+\\-_\\t\\n]{1,3}", right in "[a-zé0-9]{1,10}") {
            let joined = format!("{left}{separator}{right}");
            prop_assert_eq!(all(&joined), vec![left, right]);
        }

        #[test]
        fn a_document_read_back_is_the_same_document(text in "\\PC{0,80}") {
            let mut document = SearchDocument::default();
            document.add(&text);
            let read_back = SearchDocument::from_text(&document.as_text());
            for word in words(&text) {
                prop_assert!(read_back.contains(&word), "{:?} lost", word);
            }
            prop_assert_eq!(read_back, document);
        }

        #[test]
        fn a_ticket_matches_a_query_of_its_own_words(subject in "\\PC{0,20}", body in "\\PC{1,40}", note in "\\PC{0,20}") {
            let mut documents = TicketDocuments::of_ticket(Some(&subject), &body);
            documents.add_reply(&note, true);
            if let Ok(Some(query)) = SearchQuery::parse(&format!("{subject} {body}")) {
                prop_assert!(query.matches(&documents, false));
            }
            if let Ok(Some(query)) = SearchQuery::parse(&format!("{body} {note}")) {
                prop_assert!(query.matches(&documents, true));
            }
        }
    }
}
