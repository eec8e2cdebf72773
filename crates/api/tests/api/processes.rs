//! Three real `api` processes on one PostgreSQL database, as behind a load
//! balancer: the rules (rule 8), the username lock and ticket ids hold
//! across processes, because they are kept in the database and not in any
//! one process.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Barrier, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, SecondsFormat, Utc};
use domain::{Actor, ListTickets, PageRequest, Pin, Reply, Role, TicketId, TicketStatus, Username};
use serde_json::json;
use store::Store;
use testkit::{Log, TestDb};

use crate::PIN;
use crate::process::{Reply as Answer, Server};

/// Three server processes sharing one fresh PostgreSQL database.
struct Deployment {
    // Declared first, so the processes stop before their database is dropped.
    servers: Vec<Server>,
    db: TestDb,
    _dir: tempfile::TempDir,
}

impl Deployment {
    /// Starts the three processes (at once, to save the start-up time) with
    /// `env` on top of the database; `None` under the explicit PostgreSQL
    /// opt-out. Per-address and per-account budgets are off: they are kept
    /// per process by design, and are not what these tests are about.
    fn start(env: &[(&str, &str)]) -> Option<Deployment> {
        let db = TestDb::postgres()?;
        let dir = tempfile::tempdir().expect("tempdir");
        let url = db.url();
        let mut all_env = vec![
            ("DATABASE_URL", url.as_str()),
            ("ADDRESS_RATE_LIMIT", "0"),
            ("ACCOUNT_WRITE_LIMIT", "0"),
            ("RUST_LOG", "warn"),
        ];
        all_env.extend_from_slice(env);
        let servers = std::thread::scope(|scope| {
            let starting: Vec<_> = (0..3)
                .map(|_| scope.spawn(|| Server::start(dir.path(), &all_env, Log::Discard)))
                .collect();
            starting
                .into_iter()
                .map(|s| s.join().expect("a server started"))
                .collect()
        });
        Some(Deployment {
            servers,
            db,
            _dir: dir,
        })
    }

    /// The process the `n`th request goes to: round robin.
    fn server(&self, n: usize) -> &Server {
        &self.servers[n % self.servers.len()]
    }

    fn store(&self) -> &Store {
        self.db.store()
    }

    /// Loads an account straight into the database and logs it in over
    /// HTTP on process `n`; the token works on every process (one secret).
    fn user(&self, name: &str, role: Role, n: usize) -> Account {
        let user = self
            .store()
            .bulk_ensure_user(
                &Username::parse(name).expect("valid username"),
                &Pin::parse(PIN).expect("valid pin"),
                role,
            )
            .expect("load user");
        let answer = log_in(self.server(n), name, PIN);
        assert_eq!(answer.status, 200, "login of {name}: {answer:?}");
        Account {
            actor: Actor::for_tests(user.id, role),
            token: answer.body["token"].as_str().expect("a token").to_owned(),
        }
    }
}

/// A logged-in account.
#[derive(Debug, Clone)]
struct Account {
    actor: Actor,
    token: String,
}

fn message(answer: &Answer) -> &str {
    answer.body["message"].as_str().unwrap_or_default()
}

/// The `Retry-After` seconds, which must be there.
fn retry_after(answer: &Answer) -> u64 {
    answer
        .header("retry-after")
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| panic!("no Retry-After on {answer:?}"))
}

fn log_in(server: &Server, username: &str, pin: &str) -> Answer {
    let body = json!({ "username": username, "pin": pin });
    server.call("POST", "/api/v1/login", None, Some(&body))
}

/// A login retried, as a polite client does, after every 503 (the Argon2
/// queue full) for as long as its `Retry-After` says; the first other answer.
fn log_in_past_busy(server: &Server, username: &str, pin: &str) -> (Answer, usize) {
    for busy in 0..30 {
        let answer = log_in(server, username, pin);
        if answer.status != 503 {
            return (answer, busy);
        }
        assert_eq!(message(&answer), edge::problem::BUSY_HASHING, "{answer:?}");
        std::thread::sleep(Duration::from_secs(retry_after(&answer)));
    }
    panic!("30 logins in a row found the Argon2 queue full");
}

/// The time as the wire writes it (milliseconds).
fn wire_time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Every reply of a ticket, as the database holds them, oldest first.
fn all_replies(store: &Store, reader: Actor, ticket_id: TicketId) -> Vec<Reply> {
    let mut replies = Vec::new();
    for page in 1.. {
        let request = PageRequest::new(page, 100).expect("valid page");
        let found = store
            .list_replies(reader, ticket_id, request)
            .expect("list replies");
        let done = found.next.is_none();
        replies.extend(found.items);
        if done {
            return replies;
        }
    }
    unreachable!("pages run out")
}

/// One reply request and what it got.
#[derive(Debug)]
struct Attempt {
    body: String,
    author: Actor,
    status: u16,
    /// The reply's `_id`, when it was created.
    reply_id: Option<i64>,
    /// Whether it was sent after the resolves were answered.
    after_resolve: bool,
}

/// One ticket's race: what its clients sent and were answered.
#[derive(Debug)]
struct Race<'a> {
    ticket_id: i64,
    owner: &'a Account,
    attempts: Mutex<Vec<Attempt>>,
    resolves: Mutex<Vec<Answer>>,
    /// Replies answered 201 so far.
    created: AtomicUsize,
    /// Whether the resolves have been answered.
    resolved: AtomicBool,
}

impl Race<'_> {
    /// Sends a reply by `who` to process `n`; its status, which must be a
    /// 201 or a 409 (every other answer fails the test), and whether it was
    /// sent after the resolves were answered.
    fn reply(&self, deployment: &Deployment, who: &Account, n: usize, body: String) -> (u16, bool) {
        let after_resolve = self.resolved.load(Ordering::SeqCst);
        let answer = deployment.server(n).call(
            "POST",
            &format!("/api/v1/tickets/{}/replies", self.ticket_id),
            Some(&who.token),
            Some(&json!({ "body": body })),
        );
        assert!(
            matches!(answer.status, 201 | 409),
            "a reply answered {answer:?}"
        );
        let reply_id = (answer.status == 201).then(|| {
            self.created.fetch_add(1, Ordering::SeqCst);
            let id = answer.body["data"]["_id"].as_str().expect("_id");
            id.parse::<i64>().expect("numeric _id")
        });
        self.attempts.lock().expect("attempts").push(Attempt {
            body,
            author: who.actor,
            status: answer.status,
            reply_id,
            after_resolve,
        });
        (answer.status, after_resolve)
    }

    /// Resolves as the owner on process `n`.
    fn resolve(&self, deployment: &Deployment, n: usize) {
        let answer = deployment.server(n).call(
            "PUT",
            &format!("/api/v1/tickets/{}", self.ticket_id),
            Some(&self.owner.token),
            Some(&json!({ "status": "RESOLVED" })),
        );
        self.resolves.lock().expect("resolves").push(answer);
    }
}

const TICKETS: usize = 6;
const AGENTS: usize = 3;
/// A client that sends this many replies without meeting the resolve has
/// found a ticket that never resolves.
const MAX_REPLIES_PER_CLIENT: usize = 500;

#[test]
fn replies_racing_resolves_across_three_processes_keep_every_rule() {
    let Some(deployment) = Deployment::start(&[]) else {
        return;
    };
    let deployment = &deployment;
    let agents: Vec<Account> = (0..AGENTS)
        .map(|a| deployment.user(&format!("agent{a}"), Role::SupportAgent, a))
        .collect();
    let customers: Vec<Account> = (0..TICKETS / 2)
        .map(|c| deployment.user(&format!("customer{c}"), Role::Customer, c))
        .collect();
    let races: Vec<Race> = (0..TICKETS)
        .map(|t| {
            let owner = &customers[t % customers.len()];
            let answer = deployment.server(t).call(
                "POST",
                "/api/v1/tickets",
                Some(&owner.token),
                Some(&json!({ "body": format!("ticket {t}") })),
            );
            assert_eq!(answer.status, 201, "{answer:?}");
            Race {
                ticket_id: answer.body["data"]["ticketId"].as_i64().expect("ticketId"),
                owner,
                attempts: Mutex::default(),
                resolves: Mutex::default(),
                created: AtomicUsize::new(0),
                resolved: AtomicBool::new(false),
            }
        })
        .collect();

    // All tickets race at once: more contention, less wall time.
    let barrier = Barrier::new(TICKETS * (AGENTS + 2));
    let started = Instant::now();
    std::thread::scope(|scope| {
        for (t, race) in races.iter().enumerate() {
            let (barrier, ticket_id) = (&barrier, race.ticket_id);
            // Agents reply, each request on the next process, until the
            // resolve refuses them (their only 409) or they have sent one
            // reply after the resolves were answered.
            for (a, agent) in agents.iter().enumerate() {
                scope.spawn(move || {
                    barrier.wait();
                    for i in 0..MAX_REPLIES_PER_CLIENT {
                        let body = format!("t{t} agent{a} #{i}");
                        let (status, after) = race.reply(deployment, agent, t + a + i, body);
                        if status == 409 || after {
                            return;
                        }
                    }
                    panic!("ticket {ticket_id} was never resolved under agent{a}");
                });
            }
            // The owner replies from the start (refused until an agent has
            // replied), until one reply sent after the resolves.
            scope.spawn(move || {
                barrier.wait();
                for i in 0..MAX_REPLIES_PER_CLIENT {
                    let body = format!("t{t} customer #{i}");
                    let (_, after) = race.reply(deployment, race.owner, t + i, body);
                    if after {
                        return;
                    }
                }
                panic!("ticket {ticket_id} was never resolved under its owner");
            });
            // The owner resolves once 3, 7 or 11 replies are in, while more
            // are in flight, on two processes at once.
            scope.spawn(move || {
                barrier.wait();
                let wanted = 3 + 4 * (t % 3);
                while race.created.load(Ordering::SeqCst) < wanted {
                    assert!(
                        started.elapsed() < Duration::from_secs(30),
                        "ticket {ticket_id} got no reply"
                    );
                    std::thread::sleep(Duration::from_millis(1));
                }
                std::thread::scope(|inner| {
                    inner.spawn(|| race.resolve(deployment, t));
                    inner.spawn(|| race.resolve(deployment, t + 1));
                });
                race.resolved.store(true, Ordering::SeqCst);
            });
        }
    });

    let store = deployment.store();
    let reader = agents[0].actor;
    for race in &races {
        let ticket_id = TicketId(race.ticket_id);
        let ticket = store.read_ticket(reader, ticket_id).expect("read ticket");
        assert_eq!(
            ticket.status,
            TicketStatus::Resolved,
            "ticket {ticket_id} did not stay resolved"
        );
        let resolved_at = ticket.resolved_at.expect("resolvedAt set");
        // A reply moves `updatedAt`; none came after the resolve.
        assert_eq!(
            ticket.updated_at, resolved_at,
            "ticket {ticket_id} was written after its resolve"
        );
        // Both resolves succeeded and report the one resolvedAt stored.
        let resolves = race.resolves.lock().expect("resolves");
        assert_eq!(resolves.len(), 2, "ticket {ticket_id}: {resolves:?}");
        for answer in resolves.iter() {
            assert_eq!(answer.status, 200, "resolve of {ticket_id}: {answer:?}");
            assert_eq!(answer.body["data"]["status"], "RESOLVED", "{answer:?}");
            assert_eq!(
                answer.body["data"]["resolvedAt"],
                wire_time(resolved_at),
                "resolvedAt of ticket {ticket_id} was set twice"
            );
        }

        let attempts = race.attempts.lock().expect("attempts");
        // A resolve answered is committed: whatever comes after sees it.
        for attempt in attempts.iter().filter(|attempt| attempt.after_resolve) {
            assert_eq!(
                attempt.status, 409,
                "ticket {ticket_id}: a reply sent after the resolve was answered: {attempt:?}"
            );
        }
        let created: BTreeMap<i64, &Attempt> = attempts
            .iter()
            .filter_map(|attempt| Some((attempt.reply_id?, attempt)))
            .collect();
        let stored = all_replies(store, reader, ticket_id);
        // Every 201 is stored and nothing else is: no 409 left a row.
        let stored_ids: BTreeSet<i64> = stored.iter().map(|reply| reply.id).collect();
        assert_eq!(
            stored_ids,
            created.keys().copied().collect(),
            "ticket {ticket_id}: the replies stored are not those answered 201"
        );
        for reply in &stored {
            let attempt = created[&reply.id];
            assert_eq!(reply.body, attempt.body, "reply {}", reply.id);
            assert_eq!(reply.author, attempt.author.id(), "reply {}", reply.id);
            assert!(
                reply.created_at <= resolved_at,
                "reply {} at {} after resolvedAt {resolved_at}",
                reply.id,
                reply.created_at
            );
        }
        // Timestamps are taken under the ticket's lock: the timeline, in
        // commit (id) order, never goes back.
        for pair in stored.windows(2) {
            assert!(
                pair[0].created_at <= pair[1].created_at,
                "ticket {ticket_id}: reply {} is stamped before the earlier reply {}",
                pair[1].id,
                pair[0].id
            );
        }
        // Rule 4: the owner's replies come only after an agent's.
        let first = stored.first().expect("a reply before the resolve");
        assert_eq!(
            first.author_role,
            Role::SupportAgent,
            "ticket {ticket_id}: the first reply is not an agent's: {first:?}"
        );
        assert!(
            stored
                .iter()
                .all(|reply| reply.author_role == Role::SupportAgent
                    || reply.author == race.owner.actor.id()),
            "ticket {ticket_id}: a reply by someone else than an agent or the owner"
        );
    }
}

#[test]
fn parallel_wrong_pins_on_three_processes_get_exactly_five_checks() {
    // One Argon2 worker per process, so the queue overflows (503) whatever
    // the machine's cores, and the client's retry is exercised.
    let Some(deployment) = Deployment::start(&[("ARGON2_WORKERS", "1")]) else {
        return;
    };
    let deployment = &deployment;
    deployment.user("target", Role::Customer, 0);
    const GUESSES: usize = 24;
    let barrier = Barrier::new(GUESSES);
    let answers: Vec<(Answer, usize)> = std::thread::scope(|scope| {
        let guessing: Vec<_> = (0..GUESSES)
            .map(|n| {
                let barrier = &barrier;
                scope.spawn(move || {
                    barrier.wait();
                    log_in_past_busy(deployment.server(n), "target", "9999")
                })
            })
            .collect();
        guessing
            .into_iter()
            .map(|g| g.join().expect("a guess"))
            .collect()
    });
    let busy: usize = answers.iter().map(|(_, busy)| busy).sum();
    let checked = answers.iter().filter(|(a, _)| a.status == 401).count();
    assert_eq!(
        checked, 5,
        "wrong PINs checked ({busy} retries after a 503): {answers:#?}"
    );
    for (answer, _) in answers.iter().filter(|(a, _)| a.status != 401) {
        assert_eq!(answer.status, 429, "{answer:?}");
        // The username's lock, not the address budget (which is off).
        assert_eq!(
            message(answer),
            domain::refusal::TOO_MANY_FAILED_LOGINS,
            "{answer:?}"
        );
        assert!(retry_after(answer) > 0, "{answer:?}");
    }
    // The lock is in the database: every process refuses the right PIN too.
    for n in 0..3 {
        let (answer, _) = log_in_past_busy(deployment.server(n), "target", PIN);
        assert_eq!(answer.status, 429, "process {n}: {answer:?}");
        assert_eq!(message(&answer), domain::refusal::TOO_MANY_FAILED_LOGINS);
    }
}

#[test]
fn tickets_created_at_once_on_three_processes_get_distinct_increasing_ids() {
    let Some(deployment) = Deployment::start(&[]) else {
        return;
    };
    let deployment = &deployment;
    const CUSTOMERS: usize = 6;
    const EACH: usize = 10;
    let customers: Vec<Account> = (0..CUSTOMERS)
        .map(|c| deployment.user(&format!("opener{c}"), Role::Customer, c))
        .collect();
    let barrier = Barrier::new(CUSTOMERS);
    // Per customer, the ticketIds in the order its creations were answered.
    let opened: Vec<Vec<i64>> = std::thread::scope(|scope| {
        let opening: Vec<_> = customers
            .iter()
            .enumerate()
            .map(|(c, customer)| {
                let barrier = &barrier;
                scope.spawn(move || {
                    barrier.wait();
                    (0..EACH)
                        .map(|i| {
                            let answer = deployment.server(c + i).call(
                                "POST",
                                "/api/v1/tickets",
                                Some(&customer.token),
                                Some(&json!({ "body": format!("opener{c} #{i}") })),
                            );
                            assert_eq!(answer.status, 201, "{answer:?}");
                            let data = &answer.body["data"];
                            let id = data["ticketId"].as_i64().expect("ticketId");
                            assert_eq!(data["_id"], id.to_string(), "{data}");
                            id
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        opening
            .into_iter()
            .map(|o| o.join().expect("a customer"))
            .collect()
    });

    for (c, ids) in opened.iter().enumerate() {
        assert!(
            ids.windows(2).all(|pair| pair[0] < pair[1]),
            "opener{c}'s tickets, one after the other, got {ids:?}"
        );
    }
    let all: BTreeSet<i64> = opened.iter().flatten().copied().collect();
    assert_eq!(
        all.len(),
        CUSTOMERS * EACH,
        "duplicate ticketIds: {opened:?}"
    );
    // The database holds exactly these tickets, each under its opener.
    for (customer, ids) in customers.iter().zip(&opened) {
        let request = ListTickets {
            page: domain::PageRequest::new(1, 100).expect("valid"),
            ..ListTickets::default()
        };
        let listed = deployment
            .store()
            .list_tickets(customer.actor, &request)
            .expect("list tickets");
        let listed: Vec<i64> = listed.items.iter().map(|ticket| ticket.id.0).collect();
        assert_eq!(&listed, ids, "the tickets stored for {:?}", customer.actor);
    }
}
