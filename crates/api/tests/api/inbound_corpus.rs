//! The mail corpus (`mail_corpus/*.eml`): messages shaped as real clients
//! and servers write them (Gmail, Outlook, Apple Mail, Thunderbird
//! replies, each quoting its own way; ISO-8859-1, Windows-1252, Shift_JIS
//! and UTF-8 bodies, quoted-printable and base64; encoded-word subjects;
//! HTML-only and multipart mail; an attachment; auto-replies, a bounce, a
//! newsletter), CRLF line ends as on the wire, each posted to
//! `POST /api/v1/inbound/email` in a scenario where its outcome is
//! possible, on both databases, with the text the ticket or reply got read
//! back through the API.
//!
//! A reply's headers name its ticket as `{{ticket}}` (`References:
//! <ticket-{{ticket}}@help.example.com>`, `[#{{ticket}}]`) and its reply
//! address as `{{reply_to}}`, filled in with the scenario's ticket and its
//! real reply address before posting (only in headers and 8bit bodies:
//! the encoded bodies quote a ticket of their own).

use std::path::PathBuf;

use super::held::to_ticket;
use super::inbound::{answered_ticket, customer_at, inbound_settings, replies, ticket};
use super::*;

/// What the scenario around a message is.
#[derive(Debug, Clone, Copy)]
enum Scene {
    /// The sender is a customer (this username) whose ticket an agent
    /// answered: the message answers it.
    Answered(&'static str),
    /// The sender has an account (this username) and no ticket.
    Known(&'static str),
    /// No account has the sender's address.
    Unknown,
}

struct Case {
    file: &'static str,
    /// The `From` address.
    from: &'static str,
    scene: Scene,
    outcome: &'static str,
    /// A new ticket's subject.
    subject: Option<&'static str>,
    /// The reply's or new ticket's text; empty for ignored mail.
    text: &'static str,
}

const fn case(
    file: &'static str,
    from: &'static str,
    scene: Scene,
    outcome: &'static str,
    subject: Option<&'static str>,
    text: &'static str,
) -> Case {
    Case {
        file,
        from,
        scene,
        outcome,
        subject,
        text,
    }
}

use Scene::{Answered, Known, Unknown};

const CORPUS: &[Case] = &[
    // Replies, each client quoting its own way; the quote trimmed.
    case(
        "gmail-reply.eml",
        "ada.lovelace@gmail.com",
        Answered("ada"),
        "appended",
        None,
        "Thanks \u{2014} holding the button did it, the printer is back online.\n\nAda",
    ),
    case(
        "gmail-reply-french.eml",
        "helene.dubois@gmail.com",
        Answered("helene"),
        "appended",
        None,
        "Merci, \u{e7}a fonctionne \u{e0} nouveau depuis ce matin.\n\nH\u{e9}l\u{e8}ne",
    ),
    case(
        "gmail-html-only-reply.eml",
        "grace.brewster@gmail.com",
        Answered("brewster"),
        "appended",
        None,
        "Found it: the cable was loose. All good now.\n\nGrace",
    ),
    case(
        "outlook-reply.eml",
        "grace.hopper@marklabs.example",
        Answered("grace"),
        "appended",
        None,
        "Hi,\n\nThat didn\u{2019}t help \u{2013} the printer still shows \u{201c}offline\u{201d}. The repair shop quoted \u{20ac}45 to look at it.\n\nRegards,\nGrace Hopper\nIT Coordinator | Mark Labs",
    ),
    case(
        "outlook-web-html-only.eml",
        "linus@kernel.example",
        Answered("linus"),
        "appended",
        None,
        "The new driver fixed it. Many thanks!\n\nLinus",
    ),
    case(
        "outlook-ios-reply.eml",
        "barbara@liskov.example",
        Answered("barbara"),
        "appended",
        None,
        "Still offline here, sorry. I\u{2019}m away until Thursday.\n\nGet Outlook for iOS",
    ),
    case(
        "apple-mail-reply.eml",
        "margaret.hamilton@icloud.com",
        Answered("margaret"),
        "appended",
        None,
        "Yes, that worked. Thank you!\n\nMargaret",
    ),
    case(
        "apple-iphone-reply.eml",
        "katherine.johnson@icloud.com",
        Answered("katherine"),
        "appended",
        None,
        "It printed one page and then went offline again.\n\nSent from my iPhone",
    ),
    case(
        "thunderbird-reply.eml",
        "alan@turing.example",
        Answered("alan"),
        "appended",
        None,
        "The light is green now and the queue has cleared.\nThanks for the quick help!\n\nAlan",
    ),
    case(
        "thunderbird-bottom-post.eml",
        "juergen.mueller@example.de",
        Answered("juergen"),
        "appended",
        None,
        "Done, but the display now reads \u{ab}E-04\u{bb}.\n\nGr\u{fc}\u{df}e,\nJ\u{fc}rgen",
    ),
    // New tickets: charsets, encoded words, HTML, parts.
    case(
        "latin1-new-ticket.eml",
        "renee.francois@example.fr",
        Unknown,
        "created",
        Some("Probl\u{e8}me de connexion apr\u{e8}s la mise \u{e0} jour"),
        "Bonjour,\n\nDepuis la mise \u{e0} jour, je ne peux plus me connecter : le syst\u{e8}me r\u{e9}pond \u{ab} code incorrect \u{bb}.\n\nMerci d'avance,\nRen\u{e9}e",
    ),
    case(
        "windows1252-new-ticket.eml",
        "zoe@adams.example",
        Known("zoe"),
        "created",
        Some("Invoice \u{201c}2026-118\u{201d} is wrong"),
        "Hello,\n\nInvoice 2026-118 says \u{201c}\u{20ac}120,00\u{201d} \u{2014} it should be \u{20ac}100,00 as agreed.\nCould you send a corrected one?\n\nThanks,\nZo\u{eb}",
    ),
    case(
        "shift-jis-new-ticket.eml",
        "tanaka@example.jp",
        Unknown,
        "created",
        Some(
            "\u{30d7}\u{30ea}\u{30f3}\u{30bf}\u{30fc}\u{3067}\u{5370}\u{5237}\u{3067}\u{304d}\u{307e}\u{305b}\u{3093}",
        ),
        "\u{304a}\u{4e16}\u{8a71}\u{306b}\u{306a}\u{3063}\u{3066}\u{304a}\u{308a}\u{307e}\u{3059}\u{3002}\n\u{6628}\u{65e5}\u{304b}\u{3089}\u{30d7}\u{30ea}\u{30f3}\u{30bf}\u{30fc}\u{3067}\u{5370}\u{5237}\u{3067}\u{304d}\u{307e}\u{305b}\u{3093}\u{3002}\n\u{3088}\u{308d}\u{3057}\u{304f}\u{304a}\u{9858}\u{3044}\u{3044}\u{305f}\u{3057}\u{307e}\u{3059}\u{3002}\n\n\u{7530}\u{4e2d}",
    ),
    case(
        "utf8-base64-new-ticket.eml",
        "klaus.weiss@example.de",
        Unknown,
        "created",
        Some("Zugang gesperrt \u{2013} bitte um R\u{fc}ckruf \u{1f4de}"),
        "Guten Tag,\n\nmein Zugang ist seit heute Morgen gesperrt. Ich erreiche Sie unter +49 30 1234567.\n\nMit freundlichen Gr\u{fc}\u{df}en\nKlaus Wei\u{df}",
    ),
    case(
        "utf8-qp-new-ticket.eml",
        "francoise@example.fr",
        Known("francoise"),
        "created",
        Some("Commande n\u{b0} 4471 : colis endommag\u{e9}"),
        "Bonjour,\n\nLe colis de la commande n\u{b0} 4471 est arriv\u{e9} endommag\u{e9} : le carton \u{e9}tait ouvert et deux des trois c\u{e2}bles manquaient. Pouvez-vous m'en renvoyer ou me rembourser ?\n\nCordialement,\nFran\u{e7}oise",
    ),
    case(
        "html-only-new-ticket.eml",
        "tomas.garcia@example.es",
        Unknown,
        "created",
        Some("CSV export is empty"),
        "Hello,\n\nThe export page shows an error & the CSV file is empty. What I did:\n1. Opened Reports\n2. Clicked [Export][1]\n\nIt worked last week.\n\nTom\u{e1}s Garc\u{ed}a\nOperations\n\n[1]: https://app.example.com/export",
    ),
    case(
        "alternative-new-ticket.eml",
        "edsger@dijkstra.example",
        Unknown,
        "created",
        Some("Second contact for our account"),
        "Hi,\n\nPlease add grace.hopper@marklabs.example to our account as a second contact.\n\nThanks,\nEdsger",
    ),
    case(
        "attachment-new-ticket.eml",
        "donald@knuth.example",
        Unknown,
        "created",
        Some("Scanner stops after the first page"),
        "Hello,\n\nThe scanner produces the attached file and then stops. A screenshot of the error is attached too.\n\nBest,\nDonald",
    ),
    // Machine mail, each from someone whose reply would otherwise be taken.
    case(
        "auto-reply.eml",
        "grace.hopper@marklabs.example",
        Answered("grace"),
        "ignored",
        None,
        "",
    ),
    case(
        "x-autoreply.eml",
        "alan@turing.example",
        Answered("alan"),
        "ignored",
        None,
        "",
    ),
    case(
        "bounce.eml",
        "mailer-daemon@mx.marklabs.example",
        Unknown,
        "ignored",
        None,
        "",
    ),
    case(
        "newsletter.eml",
        "news@vendor.example",
        Known("vendor"),
        "ignored",
        None,
        "",
    ),
];

fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/api/mail_corpus")
}

/// The file's bytes with its placeholders filled in.
fn raw(file: &str, ticket: Option<i64>) -> Vec<u8> {
    let bytes = std::fs::read(corpus_dir().join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
    assert!(
        bytes
            .windows(2)
            .all(|pair| pair[1] != b'\n' || pair[0] == b'\r'),
        "{file}: a line ends without CR"
    );
    let Some(ticket) = ticket else {
        return bytes;
    };
    let address = to_ticket(ticket);
    replace(
        &replace(&bytes, b"{{reply_to}}", address.as_bytes()),
        b"{{ticket}}",
        ticket.to_string().as_bytes(),
    )
}

fn replace(bytes: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut rest = bytes;
    while let Some(at) = rest.windows(from.len()).position(|window| window == from) {
        out.extend_from_slice(&rest[..at]);
        out.extend_from_slice(to);
        rest = &rest[at + from.len()..];
    }
    out.extend_from_slice(rest);
    out
}

http_tests! {
    /// Every message of the corpus, with its outcome and its text.
    async fn every_message_of_the_corpus_is_taken_as_expected(app) {
        let app = app.taking_mail(inbound_settings());
        let agent = app.agent().await;
        let mut files: Vec<String> = std::fs::read_dir(corpus_dir())
            .expect("the corpus")
            .map(|entry| entry.expect("an entry").file_name().to_string_lossy().into_owned())
            .filter(|name| name.ends_with(".eml"))
            .collect();
        files.sort();
        let mut listed: Vec<String> = CORPUS.iter().map(|case| case.file.to_owned()).collect();
        listed.sort();
        assert_eq!(files, listed, "every file of the corpus has its row");

        let mut wrong = Vec::new();
        for case in CORPUS {
            let (sender, answered) = match case.scene {
                Answered(username) => {
                    let customer = customer_at(&app, username, case.from).await;
                    let id = answered_ticket(&app, &customer, &agent).await;
                    (Some(customer), Some(id))
                }
                Known(username) => (Some(customer_at(&app, username, case.from).await), None),
                Unknown => (None, None),
            };
            let raw = raw(case.file, answered);
            let replies_before = match answered {
                Some(id) => replies(&app, &agent, id).await.len(),
                None => 0,
            };
            let data = app.deliver(raw.clone()).await;
            let record = app.inbound_records().await.pop().expect("a record");
            if data["outcome"] != case.outcome {
                wrong.push(format!("{}: {data} ({:?})", case.file, record.reason));
                continue;
            }
            let (id, text) = match case.outcome {
                "appended" => {
                    let id = data["ticketId"].as_i64().expect("ticketId");
                    assert_eq!(Some(id), answered, "{}: on its ticket", case.file);
                    let list = replies(&app, &agent, id).await;
                    assert_eq!(list.len(), replies_before + 1, "{}", case.file);
                    let last = list.last().expect("the reply");
                    let sender = sender.as_ref().expect("a sender");
                    assert_eq!(last["author"].as_str(), Some(sender.id.as_str()), "{}", case.file);
                    let reply = last["_id"].as_str().expect("_id");
                    let original = app.original(&agent, &format!("replies/{reply}")).await;
                    assert_eq!(original, raw, "{}: the original is kept whole", case.file);
                    (id, last["body"].as_str().expect("body").to_owned())
                }
                "created" => {
                    let id = data["ticketId"].as_i64().expect("ticketId");
                    let seen = ticket(&app, &agent, id).await;
                    assert_eq!(seen["requester"]["email"], case.from, "{}", case.file);
                    if let Some(sender) = &sender {
                        assert_eq!(seen["author"].as_str(), Some(sender.id.as_str()), "{}", case.file);
                    }
                    let original = app.original(&agent, &format!("tickets/{id}")).await;
                    assert_eq!(original, raw, "{}: the original is kept whole", case.file);
                    if seen["subject"].as_str() != case.subject {
                        wrong.push(format!("{}: subject {}", case.file, seen["subject"]));
                    }
                    (id, seen["body"].as_str().expect("body").to_owned())
                }
                _ => {
                    if let Some(id) = answered {
                        assert_eq!(replies(&app, &agent, id).await.len(), replies_before, "{}", case.file);
                    }
                    assert_eq!(record.ticket_id, None, "{}", case.file);
                    continue;
                }
            };
            if text != case.text {
                wrong.push(format!("{} (#{id}): text\n{text:?}\nexpected\n{:?}", case.file, case.text));
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n\n"));
    }
}
