use std::io::{BufRead as _, BufReader, Write as _};
use std::net::TcpStream;

use super::*;

/// Speaks IMAP to the server by hand: each command's whole answer, up to
/// and including its tagged line.
fn converse(port: u16, commands: &[&str]) -> Vec<String> {
    let stream = TcpStream::connect(("127.0.0.1", port)).expect("Dovecot listens");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("a timeout");
    let mut reader = BufReader::new(stream.try_clone().expect("a second handle"));
    let mut writer = stream;
    let mut greeting = String::new();
    reader.read_line(&mut greeting).expect("a greeting");
    assert!(greeting.starts_with("* OK"), "{greeting}");
    commands
        .iter()
        .enumerate()
        .map(|(n, command)| {
            let tag = format!("t{n}");
            writer
                .write_all(format!("{tag} {command}\r\n").as_bytes())
                .expect("a command");
            let mut answer = String::new();
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).expect("an answer");
                assert!(!line.is_empty(), "the connection closed: {answer}");
                answer.push_str(&line);
                if line.starts_with(&format!("{tag} ")) {
                    return answer;
                }
            }
        })
        .collect()
}

const MAIL: &[u8] = b"From: Carol <carol@example.com>\r\nTo: support@example.com\r\nSubject: Printer on fire\r\nMessage-ID: <fire-1@example.com>\r\n\r\nIt is on fire.\r\n";

#[test]
fn dovecot_serves_what_is_delivered_and_stops_and_resumes_on_its_port() {
    let mut server = ImapServer::start().expect("Dovecot starts");
    assert!(server.url("INBOX").starts_with("imap://"));
    assert!(server.url("INBOX").ends_with("/INBOX?tls=none"));
    server.append("INBOX", MAIL);
    let held = server.messages("INBOX");
    assert_eq!(held.len(), 1);
    assert_eq!(held[0].raw, MAIL);
    assert!(!held[0].is_seen());
    assert_eq!(held[0].parsed().subject(), Some("Printer on fire"));

    let login = format!("LOGIN {USER} {PASSWORD}");
    let answers = converse(
        server.port(),
        &[
            &login,
            "CAPABILITY",
            "SELECT INBOX",
            "UID SEARCH UNSEEN",
            "CREATE Processed",
            "UID MOVE 1 Processed",
            "LOGOUT",
        ],
    );
    assert!(answers[0].contains("OK"), "{}", answers[0]);
    assert!(
        answers[1].contains(" IDLE") && answers[1].contains(" MOVE"),
        "{}",
        answers[1]
    );
    assert!(answers[2].contains("* 1 EXISTS"), "{}", answers[2]);
    assert!(answers[3].contains("* SEARCH 1"), "{}", answers[3]);
    assert!(answers[5].lines().last().unwrap_or_default().contains("OK"));
    assert!(server.messages("INBOX").is_empty());
    let moved = server.messages("Processed");
    assert_eq!(moved.len(), 1);
    assert_eq!(moved[0].raw, MAIL);

    server.stop();
    assert!(TcpStream::connect(("127.0.0.1", server.port())).is_err());
    server.append("INBOX", MAIL);
    server.resume().expect("it starts again");
    let answers = converse(server.port(), &[&login, "SELECT INBOX", "LOGOUT"]);
    assert!(answers[1].contains("* 1 EXISTS"), "{}", answers[1]);
}

#[test]
fn a_server_can_be_started_without_idle_and_move() {
    let server = ImapServer::start_without(&["IDLE", "MOVE"]).expect("Dovecot starts");
    let login = format!("LOGIN {USER} {PASSWORD}");
    let answers = converse(server.port(), &[&login, "CAPABILITY", "LOGOUT"]);
    assert!(answers[1].contains(" UIDPLUS"), "{}", answers[1]);
    assert!(
        !answers[1].contains(" IDLE") && !answers[1].contains(" MOVE"),
        "{}",
        answers[1]
    );
}
