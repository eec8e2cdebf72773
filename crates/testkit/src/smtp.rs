//! A real SMTP server for the tests: Python's `aiosmtpd` on a port of
//! 127.0.0.1, started by the test, writing every message it accepts to a
//! directory the test reads ([`SmtpSink::received`]). It refuses
//! recipients whose local part starts with `bounce` (550, permanent) or
//! `defer` (451, temporary), and answers a message to one starting with
//! `slow` 1.5 s after it has kept it (time to kill the sender between its
//! send and its record). Without `aiosmtpd` installed
//! (`python3 -m pip install aiosmtpd`; `.ci/run` installs it) starting
//! fails, and so does the test: it never passes by skipping.

use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use crate::server::free_port;

const SCRIPT: &str = include_str!("smtp_sink.py");

/// How long the sink may take to start listening.
const STARTS_WITHIN: Duration = Duration::from_secs(20);

/// One message the sink accepted.
#[derive(Debug, Clone)]
pub struct ReceivedMail {
    /// The envelope's sender (`MAIL FROM`).
    pub envelope_from: String,
    /// The envelope's accepted recipients (`RCPT TO`).
    pub envelope_to: Vec<String>,
    /// The message as it came over the wire (headers and body).
    pub raw: Vec<u8>,
    /// When the sink accepted it (the sink's clock, this machine's).
    pub arrived_at: SystemTime,
}

impl ReceivedMail {
    /// The message as its recipient's mail client reads it.
    pub fn parsed(&self) -> mail_parser::Message<'_> {
        mail_parser::MessageParser::default()
            .parse(&self.raw)
            .expect("the sink received a message mail-parser cannot read")
    }

    /// Whether it was sent to `address` (case-insensitively).
    pub fn is_to(&self, address: &str) -> bool {
        self.envelope_to
            .iter()
            .any(|to| to.eq_ignore_ascii_case(address))
    }
}

/// A running SMTP sink; killed on drop.
#[derive(Debug)]
pub struct SmtpSink {
    port: u16,
    directory: tempfile::TempDir,
    script: PathBuf,
    child: Option<Child>,
}

impl SmtpSink {
    /// Starts a sink on a free port and waits until it listens.
    pub fn start() -> io::Result<Self> {
        let directory = tempfile::tempdir()?;
        let script = directory.path().join("smtp_sink.py");
        std::fs::write(&script, SCRIPT)?;
        let mail = directory.path().join("mail");
        std::fs::create_dir(&mail)?;
        let mut sink = Self {
            port: free_port()?,
            directory,
            script,
            child: None,
        };
        sink.resume()?;
        Ok(sink)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server's `SMTP_URL` for this sink (plain SMTP: a local test
    /// server).
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}?tls=none", self.port)
    }

    fn mail_dir(&self) -> PathBuf {
        self.directory.path().join("mail")
    }

    /// Stops the server, as an outage: connections are refused until
    /// [`SmtpSink::resume`]. What it received stays readable.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port (after [`SmtpSink::stop`]).
    pub fn resume(&mut self) -> io::Result<()> {
        if self.child.is_some() {
            return Ok(());
        }
        let mut child = Command::new("python3")
            .arg(&self.script)
            .arg(self.port.to_string())
            .arg(self.mail_dir())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|error| io::Error::new(error.kind(), format!("starting python3: {error}")))?;
        let stdout = child.stdout.take().expect("piped");
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let ready = matches!(lines.next(), Some(Ok(line)) if line.trim() == "ready");
            let _ = ready_tx.send(ready);
            // Keep the pipe drained while the server runs.
            for _ in lines {}
        });
        match ready_rx.recv_timeout(STARTS_WITHIN) {
            Ok(true) => {
                self.child = Some(child);
                Ok(())
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                Err(io::Error::other(format!(
                    "the SMTP sink (aiosmtpd) did not start on port {} within {STARTS_WITHIN:?}; \
                     is it installed? `python3 -m pip install aiosmtpd`",
                    self.port
                )))
            }
        }
    }

    /// Every message received so far, in the order they arrived.
    pub fn received(&self) -> Vec<ReceivedMail> {
        read_mail_dir(&self.mail_dir()).expect("reading the SMTP sink's directory")
    }

    /// The messages received so far that were sent to `address`.
    pub fn received_by(&self, address: &str) -> Vec<ReceivedMail> {
        self.received()
            .into_iter()
            .filter(|mail| mail.is_to(address))
            .collect()
    }

    /// Waits until at least `count` messages have arrived in all, for at
    /// most `within`; answers every message received (fewer if time ran
    /// out).
    pub fn wait_for(&self, count: usize, within: Duration) -> Vec<ReceivedMail> {
        self.wait_for_count(count, within);
        self.received()
    }

    /// When each message received so far arrived, in order, read from
    /// the directory's names alone (cheap where thousands have arrived).
    pub fn arrivals(&self) -> Vec<SystemTime> {
        mail_names(&self.mail_dir())
            .expect("reading the SMTP sink's directory")
            .iter()
            .filter_map(|name| arrival(name))
            .collect()
    }

    /// Waits until at least `count` messages have arrived in all, for at
    /// most `within`, reading names only; answers how many have.
    pub fn wait_for_count(&self, count: usize, within: Duration) -> usize {
        let deadline = Instant::now() + within;
        loop {
            let received = mail_names(&self.mail_dir())
                .expect("reading the SMTP sink's directory")
                .len();
            if received >= count || Instant::now() >= deadline {
                return received;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The names of the messages in `directory`, in arrival order.
fn mail_names(directory: &Path) -> io::Result<Vec<String>> {
    let mut names: Vec<String> = std::fs::read_dir(directory)?
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".eml"))
        .collect();
    // Names start with the arrival time in nanoseconds, all of one length
    // for centuries: sorting them is arrival order.
    names.sort();
    Ok(names)
}

/// When the message of the file `name` arrived.
fn arrival(name: &str) -> Option<SystemTime> {
    let nanos: u64 = name.split('-').next()?.parse().ok()?;
    Some(SystemTime::UNIX_EPOCH + Duration::from_nanos(nanos))
}

fn read_mail_dir(directory: &Path) -> io::Result<Vec<ReceivedMail>> {
    mail_names(directory)?
        .into_iter()
        .map(|name| {
            let bytes = std::fs::read(directory.join(&name))?;
            parse_file(&name, &bytes)
                .ok_or_else(|| io::Error::other(format!("{name} is not a sink file")))
        })
        .collect()
}

/// A sink file: its name starts with the arrival time in nanoseconds
/// since the epoch; it holds the envelope's two lines, a blank line and
/// the message.
fn parse_file(name: &str, bytes: &[u8]) -> Option<ReceivedMail> {
    let arrived_at = arrival(name)?;
    let mut rest = bytes;
    let mut line = |prefix: &str| -> Option<String> {
        let end = rest.iter().position(|&b| b == b'\n')?;
        let text = std::str::from_utf8(&rest[..end])
            .ok()?
            .strip_prefix(prefix)?
            .to_owned();
        rest = &rest[end + 1..];
        Some(text)
    };
    let envelope_from = line("X-Sink-From: ")?;
    let envelope_to = line("X-Sink-To: ")?
        .split(',')
        .filter(|to| !to.is_empty())
        .map(str::to_owned)
        .collect();
    line("")?;
    Some(ReceivedMail {
        envelope_from,
        envelope_to,
        raw: rest.to_vec(),
        arrived_at,
    })
}

#[cfg(test)]
mod tests {
    use std::io::{Read as _, Write as _};
    use std::net::TcpStream;

    use super::*;

    /// Speaks SMTP to the sink by hand: answers each reply code.
    fn converse(port: u16, lines: &[&str]) -> Vec<u16> {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("the sink listens");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("a timeout");
        let mut codes = Vec::new();
        let read_reply = |stream: &mut TcpStream| {
            let mut reply = Vec::new();
            let mut byte = [0u8; 1];
            // A reply ends with a line whose fourth byte is a space.
            loop {
                stream.read_exact(&mut byte).expect("a reply");
                reply.push(byte[0]);
                if byte[0] == b'\n' {
                    let text = String::from_utf8_lossy(&reply).into_owned();
                    let last = text.trim_end().lines().last().unwrap_or("").to_owned();
                    if last.as_bytes().get(3) == Some(&b' ') {
                        return last[..3].parse::<u16>().expect("a reply code");
                    }
                }
            }
        };
        codes.push(read_reply(&mut stream));
        for line in lines {
            stream
                .write_all(format!("{line}\r\n").as_bytes())
                .expect("a command");
            codes.push(read_reply(&mut stream));
        }
        codes
    }

    #[test]
    fn the_sink_keeps_what_it_accepts_and_refuses_bounce_and_defer() {
        let mut sink = SmtpSink::start().expect("aiosmtpd starts");
        let codes = converse(
            sink.port(),
            &[
                "HELO test",
                "MAIL FROM:<support@example.com>",
                "RCPT TO:<bounce-me@example.com>",
                "RCPT TO:<defer-me@example.com>",
                "RCPT TO:<Carol@Example.com>",
                "DATA",
                "Subject: hello\r\nFrom: support@example.com\r\n\r\nHi there\r\n.",
                "QUIT",
            ],
        );
        assert_eq!(codes, vec![220, 250, 250, 550, 451, 250, 354, 250, 221]);
        let received = sink.wait_for(1, Duration::from_secs(5));
        assert_eq!(received.len(), 1);
        assert_eq!(received[0].envelope_from, "support@example.com");
        assert!(received[0].is_to("carol@example.com"));
        assert!(!received[0].is_to("bounce-me@example.com"));
        assert_eq!(received[0].parsed().subject(), Some("hello"));
        let age = received[0]
            .arrived_at
            .elapsed()
            .expect("arrived in the past");
        assert!(age < Duration::from_secs(60), "arrived {age:?} ago");

        sink.stop();
        assert!(TcpStream::connect(("127.0.0.1", sink.port())).is_err());
        assert_eq!(sink.received().len(), 1, "what arrived stays readable");
        sink.resume().expect("it starts again");
        assert_eq!(converse(sink.port(), &["QUIT"]), vec![220, 221]);
    }
}
