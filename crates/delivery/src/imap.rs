//! The IMAP poller: a door with no request to answer, like the delivery
//! workers. Every server process with `IMAP_URL` runs one: it keeps a
//! connection to the mailbox, takes the folder's unseen messages oldest
//! first through the same [`Inbound::take`] as the HTTP endpoint, and
//! moves each message it has processed (whatever the outcome) to the done
//! folder; a message it could not process for a temporary reason (the
//! database unavailable) stays, unseen, for the next round. It then waits
//! for new mail with IDLE where the server offers it, else sleeps
//! `IMAP_POLL_SECS`; a lost connection is made again with a growing pause.
//!
//! Nothing is lost or done twice: a message is read with `BODY.PEEK[]`
//! (so reading it does not mark it seen), taken, and only then moved;
//! taking is idempotent by its `Message-ID`, so a message taken whose
//! move was cut off (a restart, a lost connection) is taken again as a
//! `duplicate` and moved then. Several processes may poll one mailbox:
//! the second to take a message finds it a duplicate, and a message
//! another has moved away is simply gone.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_imap::error::Error as ImapError;
use async_imap::types::{Capabilities, Fetch};
use domain::inbound::Outcome;
use edge::inbound::Inbound;
use edge::keys::Keys;
use edge::problem::Problem;
use futures_util::TryStreamExt as _;
use store::Store;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::ServerName;

use crate::mail::{Security, ServerScheme, ServerUrl};

/// `IMAP_POLL_SECS` by default.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(60);
/// `IMAP_DONE_FOLDER` by default.
pub const DEFAULT_DONE_FOLDER: &str = "Processed";
/// A connection must be made, and each command answered, within this.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);
/// The goodbye (IDLE's end, LOGOUT) of a stopping poller, at most.
const STOPPING_TIMEOUT: Duration = Duration::from_secs(2);
/// A whole message (up to `MAX_EMAIL_BYTES`) must arrive within this.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5 * 60);
/// How long a message found taken already (by another process, or the
/// HTTP door) is left for whoever took it to move, before this process
/// moves it: a later round's.
const LEFT_TO_TAKER: Duration = Duration::from_secs(3);
/// The first pause after a lost connection; it doubles up to the poll
/// interval.
const FIRST_RETRY: Duration = Duration::from_secs(1);

/// The mailbox polled (`IMAP_URL`): its server, how the connection is
/// protected, the account, and the folder.
#[derive(Clone, PartialEq, Eq)]
pub struct ImapMailbox {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub user: String,
    password: String,
    /// The folder taken from (`INBOX` when the URL names none).
    pub folder: String,
}

impl fmt::Debug for ImapMailbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImapMailbox")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("user", &self.user)
            .field("folder", &self.folder)
            .finish_non_exhaustive()
    }
}

impl ImapMailbox {
    /// From `imaps://user:pass@host:993/INBOX` (TLS),
    /// `imap://user:pass@host:143/INBOX` (STARTTLS required) or
    /// `imap://user:pass@127.0.0.1:1143/INBOX?tls=none` (plain, to this
    /// machine only). The error never repeats the password.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let server = ServerUrl::parse(
            raw,
            ServerScheme {
                plain: "imap",
                tls: "imaps",
                ports: [143, 143, 993],
            },
        )?;
        let Some((user, password)) = server.credentials else {
            return Err("names no user and password (imap://user:pass@host/INBOX)".to_owned());
        };
        let path = server.url.path().trim_start_matches('/');
        let folder = percent_encoding::percent_decode_str(path)
            .decode_utf8()
            .map_err(|_| "has a folder name that is not UTF-8".to_owned())?
            .into_owned();
        let folder = match folder.as_str() {
            "" => "INBOX".to_owned(),
            _ => folder_name(&folder).map_err(|error| format!("names a folder that {error}"))?,
        };
        Ok(Self {
            host: server.host,
            port: server.port,
            security: server.security,
            user,
            password,
            folder,
        })
    }
}

/// `name`, if it may name a folder: not empty, no line breaks.
pub fn folder_name(name: &str) -> Result<String, String> {
    if name.trim().is_empty() {
        return Err("is empty".to_owned());
    }
    if name.chars().any(|c| c.is_control()) {
        return Err("has a control character".to_owned());
    }
    Ok(name.to_owned())
}

/// How the poller polls; read once from the server's settings.
#[derive(Debug, Clone)]
pub struct ImapSettings {
    pub mailbox: ImapMailbox,
    /// How long a wait for new mail lasts at most (`IMAP_POLL_SECS`): the
    /// sleep between rounds without IDLE, and with it the longest IDLE
    /// before a round looks again (for the messages left for a temporary
    /// reason).
    pub poll_interval: Duration,
    /// Where processed messages go (`IMAP_DONE_FOLDER`), made when missing.
    pub done_folder: String,
}

impl ImapSettings {
    /// The defaults for `mailbox`.
    pub fn new(mailbox: ImapMailbox) -> Self {
        Self {
            mailbox,
            poll_interval: DEFAULT_POLL_INTERVAL,
            done_folder: DEFAULT_DONE_FOLDER.to_owned(),
        }
    }
}

/// The poller could not be set up (no TLS configuration).
#[derive(Debug)]
pub struct ImapSetupError(String);

impl fmt::Display for ImapSetupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot set up IMAP polling: {}", self.0)
    }
}

impl std::error::Error for ImapSetupError {}

/// What the poller works with.
pub(crate) struct Poller {
    settings: ImapSettings,
    store: Store,
    inbound: Arc<Inbound>,
    keys: Arc<Keys>,
    protection: Protection,
}

/// How the poller's connections are protected, with what.
enum Protection {
    Plain,
    Tls(TlsConnector),
    StartTls(TlsConnector),
}

impl Poller {
    pub(crate) fn new(
        settings: ImapSettings,
        store: Store,
        inbound: Arc<Inbound>,
        keys: Arc<Keys>,
    ) -> Result<Self, ImapSetupError> {
        let protection = match settings.mailbox.security {
            Security::None => Protection::Plain,
            Security::Tls => Protection::Tls(tls_connector()?),
            Security::StartTls => Protection::StartTls(tls_connector()?),
        };
        Ok(Self {
            settings,
            store,
            inbound,
            keys,
            protection,
        })
    }

    /// Polls until `stopped`: a connection at a time, made again after a
    /// loss with a pause that doubles up to the poll interval.
    pub(crate) async fn run(self, mut stopped: watch::Receiver<bool>) {
        let mailbox = &self.settings.mailbox;
        let longest_pause = self.settings.poll_interval.max(FIRST_RETRY);
        let mut pause = FIRST_RETRY;
        while !*stopped.borrow() {
            let connected = tokio::select! {
                connected = self.connect() => connected,
                // A server that does not answer does not hold the stop.
                _ = stopped.changed() => break,
            };
            let lost = match connected {
                Ok(session) => {
                    tracing::info!(host = %mailbox.host, folder = %mailbox.folder, "IMAP: connected");
                    pause = FIRST_RETRY;
                    match self.poll(session, &mut stopped).await {
                        Ok(()) => break,
                        Err(lost) => lost,
                    }
                }
                Err(lost) => lost,
            };
            tracing::warn!(
                host = %mailbox.host,
                folder = %mailbox.folder,
                error = %lost,
                retry_in_ms = pause.as_millis() as u64,
                "IMAP: the connection failed; trying again"
            );
            tokio::select! {
                () = tokio::time::sleep(pause) => {}
                _ = stopped.changed() => {}
            }
            pause = (pause * 2).min(longest_pause);
        }
    }

    /// Connects, logs in, makes the done folder if missing, and selects
    /// the folder taken from.
    async fn connect(&self) -> Result<Session, Lost> {
        let mailbox = &self.settings.mailbox;
        let tcp = within(
            COMMAND_TIMEOUT,
            "connecting",
            TcpStream::connect((mailbox.host.as_str(), mailbox.port)),
        )
        .await?
        .map_err(|error| Lost::new("connecting", error))?;
        let client = match &self.protection {
            Protection::Plain => greeted(Box::new(tcp) as Box<dyn Io>).await?,
            Protection::Tls(tls) => {
                greeted(Box::new(self.handshake(tls, tcp).await?) as Box<dyn Io>).await?
            }
            Protection::StartTls(tls) => {
                let mut client = greeted(tcp).await?;
                within(
                    COMMAND_TIMEOUT,
                    "STARTTLS",
                    client.run_command_and_check_ok("STARTTLS", None),
                )
                .await?
                .map_err(|error| Lost::new("STARTTLS", error))?;
                // No greeting follows STARTTLS.
                async_imap::Client::new(
                    Box::new(self.handshake(tls, client.into_inner()).await?) as Box<dyn Io>
                )
            }
        };
        let mut session = within(
            COMMAND_TIMEOUT,
            "LOGIN",
            client.login(&mailbox.user, &mailbox.password),
        )
        .await?
        .map_err(|(error, _)| Lost::new("LOGIN", error))?;
        let capabilities = within(COMMAND_TIMEOUT, "CAPABILITY", session.capabilities())
            .await?
            .map_err(|error| Lost::new("CAPABILITY", error))?;
        let done = &self.settings.done_folder;
        if let Err(error) = within(COMMAND_TIMEOUT, "CREATE", session.create(done)).await? {
            // It exists already (or another process just made it).
            within(
                COMMAND_TIMEOUT,
                "STATUS",
                session.status(done, "(MESSAGES)"),
            )
            .await?
            .map_err(|_| Lost::new(&format!("CREATE {done}"), error))?;
        }
        within(COMMAND_TIMEOUT, "SELECT", session.select(&mailbox.folder))
            .await?
            .map_err(|error| Lost::new(&format!("SELECT {}", mailbox.folder), error))?;
        Ok(Session {
            imap: session,
            offers: Offers::of(&capabilities),
            taken_elsewhere: HashMap::new(),
        })
    }

    async fn handshake(
        &self,
        tls: &TlsConnector,
        tcp: TcpStream,
    ) -> Result<tokio_rustls::client::TlsStream<TcpStream>, Lost> {
        let host = &self.settings.mailbox.host;
        let name = ServerName::try_from(host.clone())
            .map_err(|error| Lost::new("TLS", format!("{host} is not a server name: {error}")))?;
        within(COMMAND_TIMEOUT, "TLS", tls.connect(name, tcp))
            .await?
            .map_err(|error| Lost::new("TLS", error))
    }

    /// Rounds and waits on one connection until `stopped` (`Ok`) or the
    /// connection fails.
    async fn poll(
        &self,
        mut session: Session,
        stopped: &mut watch::Receiver<bool>,
    ) -> Result<(), Lost> {
        loop {
            let round = self.round(&mut session, stopped).await?;
            if round == RoundEnd::Stopped || *stopped.borrow() {
                break;
            }
            match self.wait(session, stopped).await? {
                Some(going_on) if !*stopped.borrow() => session = going_on,
                Some(going_on) => {
                    session = going_on;
                    break;
                }
                None => return Ok(()),
            }
        }
        // Polite, and brief: the process is stopping.
        let _ = tokio::time::timeout(STOPPING_TIMEOUT, session.imap.logout()).await;
        Ok(())
    }

    /// Takes the folder's unseen messages, oldest first, until none is
    /// left, one is left for a temporary reason, or the poller stops.
    async fn round(
        &self,
        session: &mut Session,
        stopped: &watch::Receiver<bool>,
    ) -> Result<RoundEnd, Lost> {
        // Left this round for whoever took them to move them.
        let mut left_to_others: HashSet<u32> = HashSet::new();
        loop {
            // What the server said of its own accord is not needed: each
            // round searches afresh.
            while session.imap.unsolicited_responses.try_recv().is_ok() {}
            let found = within(
                COMMAND_TIMEOUT,
                "SEARCH",
                session.imap.uid_search("UNSEEN UNDELETED"),
            )
            .await?
            .map_err(|error| Lost::new("UID SEARCH", error))?;
            session.taken_elsewhere.retain(|uid, _| found.contains(uid));
            let mut uids: Vec<u32> = found
                .into_iter()
                .filter(|uid| !left_to_others.contains(uid))
                .collect();
            if uids.is_empty() {
                return Ok(RoundEnd::Empty);
            }
            // UIDs grow in the order messages arrived.
            uids.sort_unstable();
            for uid in uids {
                if *stopped.borrow() {
                    return Ok(RoundEnd::Stopped);
                }
                if let Some(found_at) = session.taken_elsewhere.get(&uid) {
                    if found_at.elapsed() < LEFT_TO_TAKER {
                        left_to_others.insert(uid);
                        continue;
                    }
                    // Whoever took it did not move it (it stopped, say).
                    self.move_to_done(session, uid).await?;
                    session.taken_elsewhere.remove(&uid);
                    continue;
                }
                match self.take_one(session, uid).await? {
                    Handled::Left => return Ok(RoundEnd::Left),
                    Handled::TakenElsewhere => {
                        session.taken_elsewhere.insert(uid, Instant::now());
                        left_to_others.insert(uid);
                    }
                    Handled::Moved | Handled::Gone => {}
                }
            }
        }
    }

    /// Takes the message `uid`: its size, a place in the reading budget,
    /// its bytes, the take, the move.
    async fn take_one(&self, session: &mut Session, uid: u32) -> Result<Handled, Lost> {
        let folder = &self.settings.mailbox.folder;
        let Some(size) = fetch_one(session, uid, "RFC822.SIZE", COMMAND_TIMEOUT)
            .await?
            .and_then(|fetch| fetch.size)
        else {
            // Moved away by another process since the search.
            return Ok(Handled::Gone);
        };
        let size = usize::try_from(size).unwrap_or(usize::MAX);
        let max = self.inbound.settings.max_bytes;
        if size > max {
            tracing::warn!(
                folder = %folder,
                uid,
                bytes = size,
                max_bytes = max,
                done_folder = %self.settings.done_folder,
                "IMAP: a message is over MAX_EMAIL_BYTES; moved to the done folder unread"
            );
            return self.move_to_done(session, uid).await;
        }
        // Held while the bytes are in memory, through the take.
        let _place = self.inbound.place_for(size).await;
        let Some(raw) = fetch_one(session, uid, "BODY.PEEK[]", FETCH_TIMEOUT)
            .await?
            .and_then(|fetch| fetch.body().map(<[u8]>::to_vec))
        else {
            return Ok(Handled::Gone);
        };
        match self.inbound.take(&self.store, &self.keys, raw).await {
            Ok(taken) if taken.outcome == Outcome::Duplicate.as_str() => {
                // Another process (or the HTTP door) took it, and is
                // likely moving it this very moment: two MOVEs at once
                // would file it twice.
                tracing::debug!(
                    folder = %folder,
                    uid,
                    "IMAP: a message was taken already; left to whoever took it"
                );
                return Ok(Handled::TakenElsewhere);
            }
            Ok(taken) => {
                tracing::info!(
                    folder = %folder,
                    uid,
                    outcome = taken.outcome,
                    ticket_id = taken.ticket_id.map(|ticket| ticket.0),
                    held_id = taken.held_id,
                    "IMAP: a message was taken"
                );
            }
            Err(problem) if is_temporary(&problem) => {
                tracing::warn!(
                    folder = %folder,
                    uid,
                    error = %store::with_causes(&problem),
                    "IMAP: a message could not be taken now; it stays for the next round"
                );
                return Ok(Handled::Left);
            }
            Err(problem) => {
                // No one could ever take it (no usable From): kept in the
                // done folder for a person, not tried again.
                tracing::warn!(
                    folder = %folder,
                    uid,
                    reason = %problem,
                    done_folder = %self.settings.done_folder,
                    "IMAP: a message cannot be taken; moved to the done folder"
                );
            }
        }
        self.move_to_done(session, uid).await
    }

    /// Moves `uid` to the done folder: `MOVE` where offered, else `COPY`,
    /// `\Deleted` and an expunge.
    async fn move_to_done(&self, session: &mut Session, uid: u32) -> Result<Handled, Lost> {
        let done = &self.settings.done_folder;
        let set = uid.to_string();
        if session.offers.moving {
            let moved = within(COMMAND_TIMEOUT, "MOVE", session.imap.uid_mv(&set, done)).await?;
            return match moved {
                Ok(()) => Ok(Handled::Moved),
                Err(error) => gone_or_lost(session, uid, "UID MOVE", error).await,
            };
        }
        let copied = within(COMMAND_TIMEOUT, "COPY", session.imap.uid_copy(&set, done)).await?;
        if let Err(error) = copied {
            return gone_or_lost(session, uid, "UID COPY", error).await;
        }
        let imap = &mut session.imap;
        within(COMMAND_TIMEOUT, "STORE", async {
            imap.uid_store(&set, "+FLAGS.SILENT (\\Deleted)")
                .await?
                .try_collect::<Vec<_>>()
                .await
        })
        .await?
        .map_err(|error| Lost::new("UID STORE", error))?;
        // Without UIDPLUS, EXPUNGE also removes whatever else someone
        // marked deleted in the folder: the most a plain server allows.
        let uid_expunge = session.offers.uid_expunge;
        within(COMMAND_TIMEOUT, "EXPUNGE", async {
            match uid_expunge {
                true => imap.uid_expunge(&set).await?.try_collect::<Vec<_>>().await,
                false => imap.expunge().await?.try_collect::<Vec<_>>().await,
            }
        })
        .await?
        .map_err(|error| Lost::new("EXPUNGE", error))?;
        Ok(Handled::Moved)
    }

    /// Waits for new mail (IDLE where offered), at most the poll
    /// interval; the session to go on with, or none when `stopped` (the
    /// connection then closed).
    async fn wait(
        &self,
        session: Session,
        stopped: &mut watch::Receiver<bool>,
    ) -> Result<Option<Session>, Lost> {
        let interval = self.settings.poll_interval;
        if !session.offers.idle {
            tokio::select! {
                () = tokio::time::sleep(interval) => {}
                _ = stopped.changed() => {}
            }
            return Ok(Some(session));
        }
        let Session {
            imap,
            offers,
            taken_elsewhere,
        } = session;
        let mut idle = imap.idle();
        within(COMMAND_TIMEOUT, "IDLE", idle.init())
            .await?
            .map_err(|error| Lost::new("IDLE", error))?;
        {
            // Its own timeout restarts at every keep-alive the server
            // sends; this one does not.
            let (woken, _interrupt) = idle.wait_with_timeout(interval);
            tokio::select! {
                woken = tokio::time::timeout(interval, woken) => {
                    if let Ok(Err(error)) = woken {
                        return Err(Lost::new("IDLE", error));
                    }
                }
                _ = stopped.changed() => {}
            }
        }
        if *stopped.borrow() {
            // Polite, and brief: a server that does not answer does not
            // hold the stop.
            let _ = tokio::time::timeout(STOPPING_TIMEOUT, async {
                idle.done().await?.logout().await
            })
            .await;
            return Ok(None);
        }
        // A connection closed during the IDLE fails here.
        let imap = within(COMMAND_TIMEOUT, "DONE", idle.done())
            .await?
            .map_err(|error| Lost::new("IDLE DONE", error))?;
        Ok(Some(Session {
            imap,
            offers,
            taken_elsewhere,
        }))
    }
}

/// What a connection carries: TCP, or TLS over it.
trait Io: AsyncRead + AsyncWrite + Unpin + Send + fmt::Debug {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + fmt::Debug> Io for T {}

/// A logged-in connection with the folder selected, and what its server
/// offers.
struct Session {
    imap: async_imap::Session<Box<dyn Io>>,
    offers: Offers,
    /// The messages found taken already, and when: moved by this process
    /// only once [`LEFT_TO_TAKER`] has passed.
    taken_elsewhere: HashMap<u32, Instant>,
}

/// The extensions the poller uses when the server offers them.
#[derive(Debug, Clone, Copy)]
struct Offers {
    idle: bool,
    moving: bool,
    uid_expunge: bool,
}

impl Offers {
    fn of(capabilities: &Capabilities) -> Self {
        Self {
            idle: capabilities.has_str("IDLE"),
            moving: capabilities.has_str("MOVE"),
            uid_expunge: capabilities.has_str("UIDPLUS"),
        }
    }
}

/// How a round ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RoundEnd {
    /// Nothing unseen is left.
    Empty,
    /// A message stays for a temporary reason: wait before trying again.
    Left,
    Stopped,
}

/// What became of one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Handled {
    /// Processed and moved to the done folder.
    Moved,
    /// Already moved away by another process.
    Gone,
    /// Taken before, by another process or door: left to it to move.
    TakenElsewhere,
    /// Not processed for a temporary reason; it stays, unseen.
    Left,
}

/// A failure a new connection may cure: the connection, a command the
/// server refused, a timeout.
#[derive(Debug)]
struct Lost(String);

impl Lost {
    fn new(doing: &str, error: impl fmt::Display) -> Self {
        Self(format!("{doing}: {error}"))
    }
}

impl fmt::Display for Lost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `step`, which must finish within `limit`.
async fn within<T>(
    limit: Duration,
    step: &str,
    future: impl Future<Output = T>,
) -> Result<T, Lost> {
    tokio::time::timeout(limit, future)
        .await
        .map_err(|_| Lost::new(step, format!("no answer within {} s", limit.as_secs())))
}

/// A client over `stream`, once the server's greeting has come.
async fn greeted<S: Io>(stream: S) -> Result<async_imap::Client<S>, Lost> {
    let mut client = async_imap::Client::new(stream);
    match within(COMMAND_TIMEOUT, "greeting", client.read_response()).await? {
        Ok(Some(_)) => Ok(client),
        Ok(None) => Err(Lost::new("greeting", ImapError::ConnectionLost)),
        Err(error) => Err(Lost::new("greeting", error)),
    }
}

/// `UID FETCH uid (items)`: the message's answer, or none when it is gone.
async fn fetch_one(
    session: &mut Session,
    uid: u32,
    items: &str,
    limit: Duration,
) -> Result<Option<Fetch>, Lost> {
    let fetched = within(limit, "FETCH", async {
        session
            .imap
            .uid_fetch(uid.to_string(), items)
            .await?
            .try_collect::<Vec<Fetch>>()
            .await
    })
    .await?;
    match fetched {
        Ok(fetched) => Ok(fetched.into_iter().find(|fetch| fetch.uid == Some(uid))),
        Err(error) => {
            gone_or_lost(session, uid, "UID FETCH", error).await?;
            Ok(None)
        }
    }
}

/// After the server refused a command on `uid`: [`Handled::Gone`] if
/// another process has moved the message away meanwhile (Dovecot answers
/// `NO [EXPUNGEISSUED]` to a session that has not yet heard), or the
/// failure.
async fn gone_or_lost(
    session: &mut Session,
    uid: u32,
    step: &str,
    error: ImapError,
) -> Result<Handled, Lost> {
    if !matches!(error, ImapError::No(_)) {
        return Err(Lost::new(step, error));
    }
    let imap = &mut session.imap;
    // NOOP: this session hears of the expunge first.
    within(COMMAND_TIMEOUT, "NOOP", imap.noop())
        .await?
        .map_err(|error| Lost::new("NOOP", error))?;
    let found = within(
        COMMAND_TIMEOUT,
        "SEARCH",
        imap.uid_search(format!("UID {uid}")),
    )
    .await?
    .map_err(|error| Lost::new("UID SEARCH", error))?;
    match found.contains(&uid) {
        false => Ok(Handled::Gone),
        true => Err(Lost::new(step, error)),
    }
}

/// Whether a failed take may succeed later ([`edge::inbound::may_pass`]).
fn is_temporary(problem: &Problem) -> bool {
    edge::inbound::may_pass(problem.status().as_u16())
}

/// rustls over ring with the platform's verifier, as mail and webhooks.
fn tls_connector() -> Result<TlsConnector, ImapSetupError> {
    use rustls_platform_verifier::BuilderVerifierExt as _;
    crate::client::install_ring();
    let config = tokio_rustls::rustls::ClientConfig::builder()
        .with_platform_verifier()
        .map_err(|error| ImapSetupError(format!("TLS: {error}")))?
        .with_no_client_auth();
    Ok(TlsConnector::from(Arc::new(config)))
}

#[cfg(test)]
mod tests;
