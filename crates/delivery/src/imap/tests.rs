use super::*;

#[test]
fn a_mailbox_url_names_its_server_protection_account_and_folder() {
    let mailbox =
        ImapMailbox::parse("imaps://support%40example.com:s3cret%2Fpass@mail.example.com/INBOX")
            .expect("valid");
    assert_eq!(mailbox.host, "mail.example.com");
    assert_eq!(mailbox.port, 993);
    assert_eq!(mailbox.security, Security::Tls);
    assert_eq!(mailbox.user, "support@example.com");
    assert_eq!(mailbox.password, "s3cret/pass");
    assert_eq!(mailbox.folder, "INBOX");
    assert!(!format!("{mailbox:?}").contains("s3cret"));

    let mailbox =
        ImapMailbox::parse("imap://support:pw@mail.example.com/Support%20Mail").expect("valid");
    assert_eq!((mailbox.port, mailbox.security), (143, Security::StartTls));
    assert_eq!(mailbox.folder, "Support Mail");
    let mailbox = ImapMailbox::parse("imap://support:pw@mail.example.com:1143").expect("valid");
    assert_eq!((mailbox.port, mailbox.folder.as_str()), (1143, "INBOX"));
    let mailbox =
        ImapMailbox::parse("imap://support:pw@127.0.0.1:1143/INBOX?tls=none").expect("valid");
    assert_eq!(mailbox.security, Security::None);
}

#[test]
fn a_bad_mailbox_url_is_refused_without_repeating_its_password() {
    for (raw, says) in [
        (
            "imap://support:s3cret@mail.example.com/INBOX?tls=none",
            "plain text",
        ),
        (
            "imaps://support:s3cret@127.0.0.1/INBOX?tls=none",
            "imaps:// with tls=none",
        ),
        (
            "imap://support:s3cret@mail.example.com/INBOX?tls=yes",
            "tls=",
        ),
        (
            "imap://support:s3cret@mail.example.com/INBOX?folder=x",
            "unknown parameter",
        ),
        (
            "pop3://support:s3cret@mail.example.com/INBOX",
            "imap:// or imaps://",
        ),
        ("imap://mail.example.com/INBOX", "no user and password"),
        ("imap://support@mail.example.com/INBOX", "no password"),
        (
            "imap://support:s3cret@mail.example.com/IN%0ABOX",
            "control character",
        ),
        ("imap://support:s3cret@mail.example.com/%20", "empty"),
        ("not a url s3cret", "not a URL"),
    ] {
        let error = ImapMailbox::parse(raw).expect_err(raw);
        assert!(error.contains(says), "{raw}: {error}");
        assert!(!error.contains("s3cret"), "{raw}: {error}");
    }
}

#[test]
fn only_a_server_error_or_too_many_is_temporary() {
    assert!(is_temporary(&Problem::Unavailable("down".into())));
    assert!(is_temporary(&Problem::internal("bug")));
    assert!(is_temporary(&Problem::TooMany {
        message: "slow down",
        retry_after_secs: 1
    }));
    assert!(!is_temporary(&Problem::Invalid(
        "the message has no usable From address".into()
    )));
    assert!(!is_temporary(&Problem::Forbidden("no")));
}
