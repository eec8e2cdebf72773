//! A real IMAP server for the tests: Debian's Dovecot (`dovecot-imapd`),
//! started by the test in the foreground on a port of 127.0.0.1 with a
//! configuration of its own in a temporary directory: one user with a
//! password, plain LOGIN allowed (no TLS: a local test server), its mail
//! in a Maildir in that directory, IDLE and MOVE offered unless the test
//! asks for a server without them ([`ImapServer::start_without`]).
//!
//! Mail is delivered into a folder as a mail server's delivery agent does,
//! by writing a Maildir file ([`ImapServer::append`]), so it works while
//! the server is stopped too; what a folder holds is read back from the
//! Maildir ([`ImapServer::messages`]). Without Dovecot installed
//! (`apt-get install dovecot-imapd`; `.ci/run` installs it) starting
//! fails, and so does the test: it never passes by skipping.
//!
//! Dovecot refuses to run its login processes or to keep mail as root. As
//! root (CI), the logins run as Dovecot's own `dovenull` and the mail
//! belongs to its `dovecot` user (both made by the package), and the
//! delivered files are handed to that user; as anyone else, everything
//! runs as that user.

use std::io;
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use crate::server::{Log, Ready, ServerProcess, free_port};

/// Where Debian's `dovecot-core` puts the server.
const DOVECOT: &str = "/usr/sbin/dovecot";
/// The one user, and its password.
const USER: &str = "tracker";
const PASSWORD: &str = "imap-test-password";
/// How long Dovecot may take to start listening, and to stop.
const STARTS_WITHIN: Duration = Duration::from_secs(20);
const STOPS_WITHIN: Duration = Duration::from_secs(20);
/// What Dovecot 2.3 offers after a login, for a server offering less
/// ([`ImapServer::start_without`]).
const CAPABILITIES: &[&str] = &[
    "IMAP4rev1",
    "SASL-IR",
    "LOGIN-REFERRALS",
    "ID",
    "ENABLE",
    "IDLE",
    "SORT",
    "THREAD=REFERENCES",
    "MULTIAPPEND",
    "UNSELECT",
    "CHILDREN",
    "NAMESPACE",
    "UIDPLUS",
    "LIST-EXTENDED",
    "I18NLEVEL=1",
    "CONDSTORE",
    "QRESYNC",
    "ESEARCH",
    "SEARCHRES",
    "WITHIN",
    "LIST-STATUS",
    "BINARY",
    "MOVE",
    "LITERAL+",
];

/// A message as a folder holds it.
#[derive(Debug, Clone)]
pub struct StoredMail {
    /// The message, byte for byte.
    pub raw: Vec<u8>,
    /// Its Maildir flags (`S` seen, `T` deleted, ...).
    pub flags: String,
}

impl StoredMail {
    /// Whether it has been marked seen (`\Seen`).
    pub fn is_seen(&self) -> bool {
        self.flags.contains('S')
    }

    /// Whether it has been marked deleted (`\Deleted`) and not expunged.
    pub fn is_deleted(&self) -> bool {
        self.flags.contains('T')
    }

    /// The message as a mail client reads it.
    pub fn parsed(&self) -> mail_parser::Message<'_> {
        mail_parser::MessageParser::default()
            .parse(&self.raw)
            .expect("a stored message mail-parser cannot read")
    }
}

/// A running Dovecot; stopped (SIGTERM, so its children end too) on drop.
#[derive(Debug)]
pub struct ImapServer {
    port: u16,
    directory: tempfile::TempDir,
    /// The owner given to delivered files, as root.
    mail_owner: Option<(u32, u32)>,
    process: Option<ServerProcess>,
}

impl ImapServer {
    /// Starts Dovecot with everything it offers (IDLE, MOVE, UIDPLUS) on a
    /// free port, and waits until it listens.
    pub fn start() -> io::Result<Self> {
        Self::start_without(&[])
    }

    /// Starts Dovecot offering none of `capabilities` (`"IDLE"`, `"MOVE"`,
    /// `"UIDPLUS"`): a server without them, as a client sees it.
    pub fn start_without(capabilities: &[&str]) -> io::Result<Self> {
        Self::start_with(capabilities, false)
    }

    /// Starts Dovecot offering STARTTLS with a self-signed certificate for
    /// 127.0.0.1 (made with `openssl`), which no client trusts: a server
    /// a client must refuse to log in to.
    pub fn start_with_untrusted_tls() -> io::Result<Self> {
        Self::start_with(&[], true)
    }

    fn start_with(capabilities: &[&str], tls: bool) -> io::Result<Self> {
        if !Path::new(DOVECOT).exists() {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!(
                    "{DOVECOT} is missing: the IMAP tests need a real Dovecot; \
                     `apt-get install dovecot-imapd` (.ci/run installs it)"
                ),
            ));
        }
        let directory = tempfile::tempdir()?;
        let root = directory.path().to_path_buf();
        let mail = root.join("mail");
        std::fs::create_dir_all(&mail)?;
        std::fs::create_dir_all(root.join("run"))?;
        let me = std::fs::metadata(&root)?;
        let (users, mail_owner) = if me.uid() == 0 {
            let (uid, gid) = (id_of("-u", "dovecot")?, id_of("-g", "dovecot")?);
            // Dovecot's own users must reach the sockets and the mail.
            std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o755))?;
            std::os::unix::fs::chown(&mail, Some(uid), Some(gid))?;
            (
                ServiceUsers {
                    internal: ("dovecot".to_owned(), "dovecot".to_owned()),
                    login: "dovenull".to_owned(),
                    mail: (uid, gid),
                },
                Some((uid, gid)),
            )
        } else {
            let (user, group) = (name_of("-un")?, name_of("-gn")?);
            (
                ServiceUsers {
                    internal: (user.clone(), group),
                    login: user,
                    mail: (me.uid(), me.gid()),
                },
                None,
            )
        };
        let offered: Vec<&str> = CAPABILITIES
            .iter()
            .copied()
            .filter(|capability| !capabilities.contains(capability))
            .collect();
        if tls {
            self_signed(&root)?;
        }
        let port = free_port()?;
        std::fs::write(root.join("users"), format!("{USER}:{{PLAIN}}{PASSWORD}\n"))?;
        std::fs::write(
            root.join("dovecot.conf"),
            config(
                &root,
                port,
                &users,
                (!capabilities.is_empty()).then_some(&offered),
                tls,
            ),
        )?;
        let mut server = Self {
            port,
            directory,
            mail_owner,
            process: None,
        };
        server.resume()?;
        Ok(server)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server's `IMAP_URL` for `folder` (plain IMAP: a local test
    /// server).
    pub fn url(&self, folder: &str) -> String {
        let folder: String = folder
            .bytes()
            .map(|byte| match byte {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                    char::from(byte).to_string()
                }
                other => format!("%{other:02X}"),
            })
            .collect();
        format!(
            "imap://{USER}:{PASSWORD}@127.0.0.1:{}/{folder}?tls=none",
            self.port
        )
    }

    /// The password of [`ImapServer::url`], for tests that check it is
    /// never shown.
    pub fn password(&self) -> &'static str {
        PASSWORD
    }

    /// Delivers `raw` into `folder` (`INBOX`, or another folder, made when
    /// missing) as a delivery agent does: written aside, then moved into
    /// the Maildir's `new` at once. Works while the server is stopped.
    pub fn append(&self, folder: &str, raw: &[u8]) {
        self.deliver(folder, raw)
            .unwrap_or_else(|error| panic!("delivering into {folder}: {error}"));
    }

    fn deliver(&self, folder: &str, raw: &[u8]) -> io::Result<()> {
        static DELIVERED: AtomicU64 = AtomicU64::new(0);
        let dir = self.folder_dir(folder);
        for part in ["cur", "new", "tmp"] {
            self.made(&dir.join(part))?;
        }
        if folder != "INBOX" {
            let marker = dir.join("maildirfolder");
            std::fs::write(&marker, b"")?;
            self.owned(&marker)?;
        }
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default();
        let name = format!(
            "{}.M{}P{}Q{}.testkit",
            now.as_secs(),
            now.subsec_micros(),
            std::process::id(),
            DELIVERED.fetch_add(1, Ordering::Relaxed)
        );
        let aside = dir.join("tmp").join(&name);
        std::fs::write(&aside, raw)?;
        self.owned(&aside)?;
        std::fs::rename(&aside, dir.join("new").join(&name))
    }

    /// Every message `folder` holds now (none if it does not exist), in
    /// the order they were put there.
    pub fn messages(&self, folder: &str) -> Vec<StoredMail> {
        read_folder(&self.folder_dir(folder))
            .unwrap_or_else(|error| panic!("reading {folder}: {error}"))
    }

    /// Waits until `folder` holds at least `count` messages, for at most
    /// `within`; answers what it holds (fewer if time ran out).
    pub fn wait_for(&self, folder: &str, count: usize, within: Duration) -> Vec<StoredMail> {
        let deadline = Instant::now() + within;
        loop {
            let held = self.messages(folder);
            if held.len() >= count || Instant::now() >= deadline {
                return held;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops the server, as an outage: its connections are closed and new
    /// ones refused until [`ImapServer::resume`]. The mail stays.
    pub fn stop(&mut self) {
        if let Some(mut process) = self.process.take() {
            // SIGTERM: the master ends its children too (a SIGKILL would
            // leave them running).
            if process.terminate(STOPS_WITHIN).is_err() {
                let _ = process.signal("KILL");
            }
        }
    }

    /// Starts the server again on the same port (after
    /// [`ImapServer::stop`]), and waits until it listens.
    pub fn resume(&mut self) -> io::Result<()> {
        if self.process.is_some() {
            return Ok(());
        }
        let root = self.directory.path();
        let process = ServerProcess::build(DOVECOT)
            .args([
                "-F".as_ref(),
                "-c".as_ref(),
                root.join("dovecot.conf").as_os_str(),
            ])
            .port(self.port)
            .log(Log::File(root.join("dovecot.log")))
            .ready(Ready::Listening)
            .ready_within(STARTS_WITHIN)
            .start()?;
        self.process = Some(process);
        Ok(())
    }

    /// What Dovecot has logged.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.directory.path().join("dovecot.log")).unwrap_or_default()
    }

    /// The Maildir directory of `folder` (Maildir++: `INBOX` is the root,
    /// `Processed` is `.Processed`).
    fn folder_dir(&self, folder: &str) -> PathBuf {
        let maildir = self
            .directory
            .path()
            .join("mail")
            .join(USER)
            .join("Maildir");
        if folder.eq_ignore_ascii_case("INBOX") {
            maildir
        } else {
            maildir.join(format!(".{}", folder.replace('/', ".")))
        }
    }

    /// Makes `dir` (and its parents) for the mail's owner.
    fn made(&self, dir: &Path) -> io::Result<()> {
        let mut missing = Vec::new();
        let mut at = Some(dir);
        while let Some(path) = at.filter(|path| !path.exists()) {
            missing.push(path.to_path_buf());
            at = path.parent();
        }
        std::fs::create_dir_all(dir)?;
        for path in missing {
            self.owned(&path)?;
        }
        Ok(())
    }

    /// Hands `path` to the mail's owner (as root).
    fn owned(&self, path: &Path) -> io::Result<()> {
        match self.mail_owner {
            Some((uid, gid)) => std::os::unix::fs::chown(path, Some(uid), Some(gid)),
            None => Ok(()),
        }
    }
}

impl Drop for ImapServer {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("--- Dovecot's log:\n{}", self.log());
        }
        self.stop();
    }
}

/// Who Dovecot's processes run as, and who owns the mail.
struct ServiceUsers {
    internal: (String, String),
    login: String,
    mail: (u32, u32),
}

/// The configuration of a server in `root` on `port`; `offered`, when
/// set, replaces what it offers after a login.
fn config(
    root: &Path,
    port: u16,
    users: &ServiceUsers,
    offered: Option<&Vec<&str>>,
    tls: bool,
) -> String {
    let root = root.display();
    let ssl = match tls {
        true => format!("ssl = yes\nssl_cert = <{root}/cert.pem\nssl_key = <{root}/key.pem"),
        false => "ssl = no".to_owned(),
    };
    let (uid, gid) = users.mail;
    let capability = offered.map_or_else(String::new, |offered| {
        format!("imap_capability = {}\n", offered.join(" "))
    });
    format!(
        "# Made by testkit::ImapServer.
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/run/state
instance_name = testkit-imap-{port}
log_path = /dev/stderr
{ssl}
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = {internal_user}
default_internal_group = {internal_group}
default_login_user = {login}
first_valid_uid = {uid}
last_valid_uid = {uid}
first_valid_gid = {gid}
last_valid_gid = {gid}
mail_location = maildir:~/Maildir
# New mail wakes an IDLE within a second even without inotify.
mailbox_idle_check_interval = 1 secs
{capability}passdb {{
  driver = passwd-file
  args = {root}/users
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
",
        internal_user = users.internal.0,
        internal_group = users.internal.1,
        login = users.login,
    )
}

/// A self-signed certificate for 127.0.0.1 and its key, in `root`.
fn self_signed(root: &Path) -> io::Result<()> {
    let made = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        ])
        .args([
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ])
        .arg("-keyout")
        .arg(root.join("key.pem"))
        .arg("-out")
        .arg(root.join("cert.pem"))
        .output()
        .map_err(|error| io::Error::new(error.kind(), format!("running openssl: {error}")))?;
    if made.status.success() {
        Ok(())
    } else {
        Err(io::Error::other(format!(
            "openssl could not make a certificate: {}",
            String::from_utf8_lossy(&made.stderr)
        )))
    }
}

/// `id FLAG USER` as a number (`-u`, `-g`).
fn id_of(flag: &str, user: &str) -> io::Result<u32> {
    let out = Command::new("id").args([flag, user]).output()?;
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .map_err(|_| {
            io::Error::other(format!(
                "there is no `{user}` user (it comes with dovecot-core): `apt-get install dovecot-imapd`"
            ))
        })
}

/// `id FLAG` as a name (`-un`, `-gn`).
fn name_of(flag: &str) -> io::Result<String> {
    let out = Command::new("id").arg(flag).output()?;
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// The messages of the Maildir folder `dir`, in the order they came.
fn read_folder(dir: &Path) -> io::Result<Vec<StoredMail>> {
    let mut files = Vec::new();
    for part in ["new", "cur"] {
        let entries = match std::fs::read_dir(dir.join(part)) {
            Ok(entries) => entries,
            Err(error) if error.kind() == io::ErrorKind::NotFound => continue,
            Err(error) => return Err(error),
        };
        for entry in entries {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if !name.starts_with('.') {
                files.push((name, entry.path()));
            }
        }
    }
    // Names start with the time of delivery, in seconds then microseconds.
    files.sort_by_key(|(name, _)| delivery_order(name));
    let mut held = Vec::with_capacity(files.len());
    for (name, path) in files {
        let raw = match std::fs::read(&path) {
            Ok(raw) => raw,
            // Moved on (to `cur`, or renamed for a flag) while we looked:
            // the next look finds it.
            Err(error) if error.kind() == io::ErrorKind::NotFound => continue,
            Err(error) => return Err(error),
        };
        let flags = name
            .split_once(":2,")
            .map(|(_, flags)| flags.to_owned())
            .unwrap_or_default();
        held.push(StoredMail { raw, flags });
    }
    Ok(held)
}

/// Seconds and microseconds from a Maildir name (`1700000000.M123P9...`).
fn delivery_order(name: &str) -> (u64, u64, String) {
    let (seconds, rest) = name.split_once('.').unwrap_or((name, ""));
    let micros: String = rest
        .strip_prefix('M')
        .unwrap_or_default()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    (
        seconds.parse().unwrap_or(u64::MAX),
        micros.parse().unwrap_or(0),
        name.to_owned(),
    )
}

#[cfg(test)]
mod tests;
