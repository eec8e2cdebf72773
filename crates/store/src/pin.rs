//! PIN hashing: Argon2id at OWASP's recommended parameters (19 MiB, 2
//! passes, 1 lane: the crate's defaults) with a random salt. Every hash and
//! every check of a PIN runs on the [`Hasher`]'s few threads, never on the
//! caller's: Argon2 is the one thing an anonymous client can make us do
//! that costs real CPU and memory, so how much of it runs is bounded here.

use std::sync::mpsc::{Receiver, Sender, channel, sync_channel};
use std::sync::{Arc, LazyLock, Mutex};

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::password_hash::try_generate_salt;
use argon2::{Algorithm, Argon2, Block, Params, Version};
use domain::Pin;
use thread_priority::ThreadPriority;

use crate::error::{StoreError, StoreResult};
use crate::slots::{Slot, Slots};

/// Hashing a PIN failed (the salt source, or Argon2 itself).
#[derive(Debug, Clone, thiserror::Error)]
#[error("hashing a pin failed: {0}")]
pub struct PinHashError(String);

impl PinHashError {
    fn from(error: impl std::fmt::Display) -> Self {
        Self(error.to_string())
    }
}

/// How much Argon2 work may be under way at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashLimits {
    /// Hashes computing at once, each on its own thread holding 19 MiB.
    pub workers: usize,
    /// Hashes admitted to wait for a worker; beyond these the answer is
    /// [`StoreError::Busy`] at once.
    pub queue: usize,
}

/// Hashes admitted to wait per worker: at about 25 ms a hash, a waiting
/// login is answered within about 0.1 s.
pub const QUEUED_PER_WORKER: usize = 4;

impl HashLimits {
    /// `workers` hashing threads and [`QUEUED_PER_WORKER`] waiting for each.
    pub fn with_workers(workers: usize) -> Self {
        let workers = workers.max(1);
        Self {
            workers,
            queue: workers * QUEUED_PER_WORKER,
        }
    }

    /// One worker per two cores: a flood of logins can keep at most half
    /// the machine busy hashing, whatever else it does (measured on 2
    /// cores, see the README's benchmarks).
    pub fn for_this_machine() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        Self::with_workers(cores / 2)
    }
}

/// Niceness of the hashing threads: below the threads that answer reads,
/// so a login flood slows logins, not everyone else.
const HASH_THREAD_PRIORITY: ThreadPriority = ThreadPriority::Min;

/// Seconds a refused client is asked to wait before trying again.
pub const BUSY_RETRY_AFTER_SECS: u64 = 1;

/// Work for a hashing thread, given that thread's Argon2 memory.
type Job = Box<dyn FnOnce(&mut [Block]) + Send>;

/// A fixed set of threads that run every Argon2 hash and check. Memory is
/// bounded by construction: each thread allocates its 19 MiB once and
/// hashes in it ever after, so the allocator never sees the churn that
/// would leave freed blocks in its arenas (measured: without this, glibc
/// kept 230 MB after a 5 s flood with two threads). The callers' threads
/// only wait, so a flood cannot grow any thread pool either.
#[derive(Clone)]
pub(crate) struct Hasher {
    inner: Arc<HasherInner>,
}

struct HasherInner {
    jobs: Mutex<Sender<Job>>,
    /// Hashes running or waiting.
    admitted: Slots,
}

impl std::fmt::Debug for Hasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hasher")
            .field("admitted", &self.inner.admitted)
            .finish()
    }
}

impl Hasher {
    /// Starts the workers; they end when the last clone is dropped.
    pub(crate) fn start(limits: HashLimits) -> StoreResult<Self> {
        let workers = limits.workers.max(1);
        let (sender, receiver) = channel::<Job>();
        let receiver = Arc::new(Mutex::new(receiver));
        for index in 0..workers {
            let receiver = Arc::clone(&receiver);
            std::thread::Builder::new()
                .name(format!("argon2-{index}"))
                .spawn(move || run_jobs(&receiver))
                .map_err(StoreError::internal)?;
        }
        Ok(Self {
            inner: Arc::new(HasherInner {
                jobs: Mutex::new(sender),
                admitted: Slots::new(workers + limits.queue),
            }),
        })
    }

    /// A place among the hashes running or waiting, or [`StoreError::Busy`]
    /// at once when all are taken. Taken before anything else a request
    /// does (a login's attempt is not counted when it is refused here).
    pub(crate) fn reserve(&self) -> StoreResult<HashSlot> {
        let place = self.inner.admitted.try_take().ok_or(StoreError::Busy {
            retry_after_secs: BUSY_RETRY_AFTER_SECS,
        })?;
        Ok(HashSlot {
            hasher: self.clone(),
            _place: place,
        })
    }

    /// Hashes `pin`, waiting for a place if need be.
    pub(crate) fn hash(&self, pin: &Pin) -> StoreResult<String> {
        self.reserve()?.hash(pin)
    }

    /// Runs `job` on a worker and waits for its answer.
    fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce(&mut [Block]) -> T + Send + 'static,
    ) -> StoreResult<T> {
        let (answer, answered) = sync_channel(1);
        let job: Job = Box::new(move |memory| {
            let _ = answer.send(job(memory));
        });
        let sent = self
            .inner
            .jobs
            .lock()
            .map_err(|_| StoreError::internal("the hasher's queue is poisoned"))?
            .send(job);
        sent.map_err(|_| StoreError::internal("the hashing threads have stopped"))?;
        answered
            .recv()
            .map_err(|_| StoreError::internal("a hashing thread failed"))
    }
}

fn run_jobs(jobs: &Mutex<Receiver<Job>>) {
    // Best effort: without the permission the hashes run at normal priority.
    if let Err(error) = HASH_THREAD_PRIORITY.set_for_current() {
        eprintln!("argon2 worker: cannot lower thread priority: {error:?}");
    }
    // Allocated at the first job, then reused by every one.
    let mut memory: Vec<Block> = Vec::new();
    loop {
        // The lock is held only while waiting for the next job.
        let job = match jobs.lock() {
            Ok(receiver) => receiver.recv(),
            Err(_) => return,
        };
        let Ok(job) = job else {
            return; // every sender is gone
        };
        if memory.is_empty() {
            memory = vec![Block::default(); Params::DEFAULT.block_count()];
        }
        job(&mut memory);
    }
}

/// A reserved place: the hashes of one request run through it, one after
/// another. Dropping it frees the place.
#[derive(Debug)]
pub(crate) struct HashSlot {
    hasher: Hasher,
    _place: Slot,
}

impl HashSlot {
    pub(crate) fn hash(&self, pin: &Pin) -> StoreResult<String> {
        let pin = pin.clone();
        self.hasher
            .run(move |memory| hash_pin(&pin, memory))?
            .map_err(StoreError::internal)
    }

    pub(crate) fn verify(&self, pin: &Pin, stored: Option<&str>) -> StoreResult<bool> {
        let pin = pin.clone();
        let stored = stored.map(str::to_owned);
        self.hasher
            .run(move |memory| verify_pin(&pin, stored.as_deref(), memory))?
            .map_err(StoreError::internal)
    }
}

/// A PIN's Argon2id hash (default parameters, a fresh 16-byte salt) as a
/// PHC string, computed in `memory`; the only form a PIN is stored in.
fn hash_pin(pin: &Pin, memory: &mut [Block]) -> Result<String, PinHashError> {
    let argon2 = Argon2::default();
    let salt = try_generate_salt().map_err(PinHashError::from)?;
    let mut output = [0u8; Params::DEFAULT_OUTPUT_LEN];
    let blocks = memory
        .get_mut(..argon2.params().block_count())
        .ok_or_else(|| PinHashError::from("too little argon2 memory"))?;
    argon2
        .hash_password_into_with_memory(pin.expose().as_bytes(), &salt, &mut output, blocks)
        .map_err(PinHashError::from)?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(argon2.params()).map_err(PinHashError::from)?,
        salt: Some(Salt::new(&salt).map_err(PinHashError::from)?),
        hash: Some(Output::new(&output).map_err(PinHashError::from)?),
    };
    Ok(phc.to_string())
}

/// Whether `pin` matches the stored PHC string, checked in `memory`; for
/// an unknown account, `None` checks against [`dummy_hash`] so that it
/// costs the same work. A stored string that is not an Argon2 hash our
/// memory can hold matches nothing.
fn verify_pin(pin: &Pin, stored: Option<&str>, memory: &mut [Block]) -> Result<bool, PinHashError> {
    // An unknown account, or one with no PIN (made by inbound mail), is
    // checked against the dummy hash: refused in the time a PIN takes.
    let hash = match stored {
        Some(hash) if PasswordHash::new(hash).is_ok() => hash,
        _ => dummy_hash()?,
    };
    let matches = PasswordHash::new(hash)
        .ok()
        .is_some_and(|hash| hash_matches(pin, &hash, memory));
    Ok(matches && stored == Some(hash))
}

fn hash_matches(pin: &Pin, hash: &PasswordHash, memory: &mut [Block]) -> bool {
    let Ok(algorithm) = Algorithm::try_from(hash.algorithm.as_str()) else {
        return false;
    };
    let version = match hash.version.map(Version::try_from).transpose() {
        Ok(version) => version.unwrap_or_default(),
        Err(_) => return false,
    };
    let (Ok(params), Some(salt), Some(expected)) = (Params::try_from(hash), &hash.salt, &hash.hash)
    else {
        return false;
    };
    let Some(blocks) = memory.get_mut(..params.block_count()) else {
        return false;
    };
    let mut output = vec![0u8; expected.len()];
    Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(pin.expose().as_bytes(), salt, &mut output, blocks)
        .is_ok()
        // `Output`'s equality takes the same time wherever they differ.
        && Output::new(&output).is_ok_and(|computed| computed == *expected)
}

/// A hash no PIN is checked against except for unknown usernames, so that
/// an unknown name costs the same Argon2 work as a wrong PIN.
static DUMMY_HASH: LazyLock<Result<String, PinHashError>> = LazyLock::new(|| {
    let pin = Pin::parse("000000000000").unwrap_or_else(|_| unreachable!("twelve digits"));
    let mut memory = vec![Block::default(); Params::DEFAULT.block_count()];
    hash_pin(&pin, &mut memory)
});

/// The dummy hash; [`crate::Store::connect`] computes it, so a store that
/// could not make one never starts and unknown usernames never skip the work.
pub(crate) fn dummy_hash() -> Result<&'static str, PinHashError> {
    DUMMY_HASH.as_deref().map_err(Clone::clone)
}

/// A place among the PIN hashes running or waiting, reserved before a
/// request that hashes does anything else: when there is none, the request
/// is refused at once ([`StoreError::Busy`]) without using a database
/// connection or a thread, and a login's attempt is not counted. Dropping
/// it gives the place back.
#[derive(Debug)]
pub struct HashingPlace(pub(crate) HashSlot);

impl crate::Store {
    /// A place for one request's Argon2 work, or [`StoreError::Busy`].
    pub fn reserve_hashing(&self) -> StoreResult<HashingPlace> {
        self.hasher.reserve().map(HashingPlace)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Barrier;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn pin(digits: &str) -> Pin {
        Pin::parse(digits).expect("valid")
    }

    #[test]
    fn a_hash_verifies_its_own_pin_and_no_other() {
        let hasher = Hasher::start(HashLimits {
            workers: 1,
            queue: 0,
        })
        .expect("threads");
        let hash = hasher.hash(&pin("0000")).expect("hash");
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(!hash.contains("0000"));
        let slot = hasher.reserve().expect("a free place");
        assert!(slot.verify(&pin("0000"), Some(&hash)).expect("ran"));
        assert!(!slot.verify(&pin("0001"), Some(&hash)).expect("ran"));
        assert!(!slot.verify(&pin("0000"), Some("not a hash")).expect("ran"));
    }

    fn memory() -> Vec<Block> {
        vec![Block::default(); Params::DEFAULT.block_count()]
    }

    #[test]
    fn an_unknown_account_matches_no_pin() {
        for digits in ["0000", "000000000000"] {
            assert_eq!(
                verify_pin(&pin(digits), None, &mut memory()).ok(),
                Some(false)
            );
        }
    }

    #[test]
    fn hashes_stored_by_the_argon2_crate_itself_still_verify() {
        use argon2::PasswordHasher as _;
        let stored = Argon2::default()
            .hash_password(b"4821")
            .expect("hash")
            .to_string();
        let mut memory = memory();
        assert_eq!(
            verify_pin(&pin("4821"), Some(&stored), &mut memory).ok(),
            Some(true)
        );
        assert_eq!(
            verify_pin(&pin("4822"), Some(&stored), &mut memory).ok(),
            Some(false)
        );
        // And ours in the crate's own format, for the crate's verifier.
        let ours = hash_pin(&pin("4821"), &mut memory).expect("hash");
        let parsed = PasswordHash::new(&ours).expect("a PHC string");
        use argon2::PasswordVerifier as _;
        assert!(Argon2::default().verify_password(b"4821", &parsed).is_ok());
    }

    #[test]
    fn beyond_the_workers_and_the_queue_the_answer_is_busy_at_once() {
        let hasher = Hasher::start(HashLimits {
            workers: 1,
            queue: 1,
        })
        .expect("threads");
        let first = hasher.reserve().expect("the worker's place");
        let second = hasher.reserve().expect("the queue's place");
        assert!(matches!(
            hasher.reserve(),
            Err(StoreError::Busy {
                retry_after_secs: BUSY_RETRY_AFTER_SECS
            })
        ));
        drop(first);
        let third = hasher.reserve().expect("a place freed");
        drop((second, third));
    }

    #[test]
    fn no_more_hashes_run_at_once_than_there_are_workers() {
        let hasher = Hasher::start(HashLimits {
            workers: 2,
            queue: 6,
        })
        .expect("threads");
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let start = Arc::new(Barrier::new(8));
        let callers: Vec<_> = (0..8)
            .map(|_| {
                let (hasher, running, most, start) =
                    (hasher.clone(), running.clone(), most.clone(), start.clone());
                std::thread::spawn(move || {
                    let slot = hasher.reserve().expect("eight places");
                    start.wait();
                    slot.hasher
                        .run(move |_| {
                            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                            most.fetch_max(now, Ordering::SeqCst);
                            std::thread::sleep(std::time::Duration::from_millis(20));
                            running.fetch_sub(1, Ordering::SeqCst);
                        })
                        .expect("ran");
                })
            })
            .collect();
        for caller in callers {
            caller.join().expect("no panic");
        }
        assert_eq!(most.load(Ordering::SeqCst), 2);
    }
}
