//! `cargo xtask seed`: the original's demo users, and optionally many
//! realistic tickets loaded in batched transactions.
//!
//! The tickets are not drawn field by field: each one lives a life of
//! actions (opened by its customer, triaged, answered, noted, resolved),
//! and every action goes through the `domain` decision the server would
//! ask, so its fields and its history are exactly what the rules could have
//! produced. Only the times are chosen, so that a realistic share of
//! tickets misses its SLA.

use anyhow::Context as _;
use chrono::{DateTime, TimeDelta, Utc};
use domain::accounts::Standing;
use domain::tickets::{
    ReplyKind, Resolution, decide_new_ticket, decide_reply, decide_status_change,
};
use domain::triage::decide_ticket_change;
use domain::{
    Actor, NewEvent, Pin, Priority, Role, SlaTargets, Tag, TagSet, Ticket, TicketChange, TicketId,
    TicketStatus, User, UserId, Username,
};
use indicatif::{ProgressBar, ProgressStyle};
use rand::rngs::StdRng;
use rand::seq::{IndexedRandom, SliceRandom};
use rand::{Rng, SeedableRng};
use store::{SeedReply, SeedTicket, Store};

/// The original service's demo accounts; all use PIN `0000`.
pub const DEMO_USERS: [(&str, Role); 3] = [
    ("iambenkay", Role::Admin),
    ("benjamin", Role::SupportAgent),
    ("kayode", Role::Customer),
];
pub const DEMO_PIN: &str = "0000";

/// Extra customers, so the bulk tickets have several authors.
const EXTRA_CUSTOMERS: usize = 20;
/// Extra support agents (`agent-01`, ...), so the bulk tickets have several
/// assignees besides the demo agent.
const EXTRA_AGENTS: usize = 4;
/// Tickets per transaction.
const BATCH: usize = 10_000;

/// The accounts the tickets are written by.
#[derive(Debug, Clone)]
pub struct Cast {
    /// The demo support agent (`benjamin`).
    pub agent: UserId,
    /// The demo admin, who triages and writes notes now and then.
    pub admin: Option<Actor>,
    /// Every support agent, the demo one first.
    pub agents: Vec<Actor>,
    pub customers: Vec<Actor>,
}

/// Creates a user unless the name is taken; returns it either way.
fn ensure_user(store: &Store, name: &str, role: Role) -> anyhow::Result<User> {
    Ok(store.bulk_ensure_user(&Username::parse(name)?, &Pin::parse(DEMO_PIN)?, role)?)
}

/// The account as it acts, if it still has `role` and is active (an
/// existing account keeps whatever role and state it has).
fn acting_as(user: &User, role: Role) -> Option<Actor> {
    (user.role == role && user.active).then_some(Actor::for_tests(user.id, role))
}

/// The demo users, idempotently, and with `with_extras` the extra customers
/// and agents of the bulk tickets.
pub fn seed_users(store: &Store, with_extras: bool) -> anyhow::Result<Cast> {
    let mut agent = None;
    let mut cast = Cast {
        agent: UserId(0),
        admin: None,
        agents: Vec::new(),
        customers: Vec::new(),
    };
    for (name, role) in DEMO_USERS {
        let user = ensure_user(store, name, role)?;
        let acting = acting_as(&user, role);
        match role {
            Role::SupportAgent => {
                agent = Some(user.id);
                cast.agents.extend(acting);
            }
            Role::Customer => cast.customers.extend(acting),
            Role::Admin => cast.admin = acting,
        }
        println!("user {name:<10} {:<13} pin {DEMO_PIN}", role.as_str());
    }
    cast.agent = agent.context("no agent among the demo users")?;
    if with_extras {
        for i in 1..=EXTRA_CUSTOMERS {
            let user = ensure_user(store, &format!("customer-{i:02}"), Role::Customer)?;
            cast.customers.extend(acting_as(&user, Role::Customer));
        }
        for i in 1..=EXTRA_AGENTS {
            let user = ensure_user(store, &format!("agent-{i:02}"), Role::SupportAgent)?;
            cast.agents.extend(acting_as(&user, Role::SupportAgent));
        }
        println!(
            "users customer-01..{EXTRA_CUSTOMERS:02} CUSTOMER, agent-01..{EXTRA_AGENTS:02} SUPPORT_AGENT, pin {DEMO_PIN}"
        );
    }
    Ok(cast)
}

/// Loads `count` generated tickets with a progress bar; returns the demo
/// agent.
pub fn seed_tickets(store: &Store, count: u64, seed: u64) -> anyhow::Result<UserId> {
    load_tickets(store, count, seed, true)
}

/// The same tickets as [`seed_tickets`] with the same `seed`, loaded
/// without their search words, so no search finds them: only for the
/// benchmark that measures what the search index costs a load.
pub fn seed_tickets_unsearchable(store: &Store, count: u64, seed: u64) -> anyhow::Result<UserId> {
    load_tickets(store, count, seed, false)
}

fn load_tickets(store: &Store, count: u64, seed: u64, searchable: bool) -> anyhow::Result<UserId> {
    let cast = seed_users(store, true)?;
    anyhow::ensure!(
        !cast.customers.is_empty(),
        "no active customer to author the tickets"
    );
    anyhow::ensure!(
        !cast.agents.is_empty(),
        "no active support agent to answer the tickets"
    );
    let agent = cast.agent;
    let mut generator = TicketGenerator {
        rng: StdRng::seed_from_u64(seed),
        text_rng: StdRng::seed_from_u64(seed ^ TEXT_STREAM),
        cast,
        // The server's defaults: a server started with other targets
        // recomputes nothing, like for tickets opened before a change.
        targets: SlaTargets::default(),
        now: store::now(),
    };
    let bar = ProgressBar::new(count).with_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} tickets {per_sec} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut loaded = 0;
    while loaded < count {
        let size = (count - loaded).min(BATCH as u64);
        let batch = (0..size)
            .map(|_| generator.ticket())
            .collect::<anyhow::Result<Vec<SeedTicket>>>()?;
        if searchable {
            store.bulk_load_tickets(&batch)?;
        } else {
            store.bulk_load_tickets_unsearchable(&batch)?;
        }
        loaded += size;
        bar.set_position(loaded);
    }
    bar.finish();
    Ok(agent)
}

/// What a ticket is about: its text and the tags an agent would give it.
struct Topic {
    subject: &'static str,
    body: &'static str,
    tags: &'static [&'static str],
}

const TOPICS: [Topic; 10] = [
    Topic {
        subject: "Issue related to logging in",
        body: "I have been unable to login for the past two weeks. It keeps returning the error 'username does not exist'. Please fix this",
        tags: &["login", "bug"],
    },
    Topic {
        subject: "Payment failed twice",
        body: "My card was charged but the order still shows as pending.",
        tags: &["billing", "payment"],
    },
    Topic {
        subject: "Cannot reset my PIN",
        body: "The reset link in the email has expired every time I click it.",
        tags: &["login", "account"],
    },
    Topic {
        subject: "Invoice shows the wrong amount",
        body: "Last month's invoice charged me for two seats; we only have one.",
        tags: &["billing", "refund"],
    },
    Topic {
        subject: "App crashes on start",
        body: "Since the update the app closes right after the splash screen.",
        tags: &["bug", "mobile"],
    },
    Topic {
        subject: "Question about my plan",
        body: "Could you tell me what the difference between the plans is?",
        tags: &["billing", "question"],
    },
    Topic {
        subject: "Refund request",
        body: "I cancelled within the trial period but was still charged. Please refund me.",
        tags: &["refund", "billing"],
    },
    Topic {
        subject: "Account locked",
        body: "My account was locked after a few wrong PINs and I cannot get back in.",
        tags: &["login", "account"],
    },
    Topic {
        subject: "Please add a dark mode",
        body: "Working late with the bright screen is hard on the eyes; a dark theme would help a lot.",
        tags: &["feature-request", "mobile"],
    },
    Topic {
        subject: "Export is missing columns",
        body: "The CSV export has no due date column, which we need for our monthly review.",
        tags: &["feature-request", "bug"],
    },
];
/// A tablet some customers run the app on, named in about one ticket in a
/// thousand ([`RARE_SHARE`]) and nowhere else: a search for it finds that
/// share of the tickets.
pub const RARE_WORD: &str = "kestrel";
/// The share of tickets whose body names [`RARE_WORD`].
pub const RARE_SHARE: f64 = 0.001;
/// What such a body adds, one sentence picked at random.
const RARE_MENTIONS: [&str; 3] = [
    " This is on our Kestrel tablet, if that matters.",
    " We only see it on the Kestrel tablets at the front desk.",
    " I am using the app on a Kestrel K7.",
];
/// Two words that meet in one topic's text ("... was still charged. Please
/// refund me."), while one of them is in two more topics: a search for both
/// finds that topic's tickets (about one in ten).
pub const WORD_PAIR: [&str; 2] = ["refund", "charged"];
/// A misspelt search, in no ticket.
pub const NO_MATCH_WORD: &str = "refnud";
/// Mixed into the seed of the random numbers that only choose text added to
/// the topics' (see [`TicketGenerator::text_rng`]).
const TEXT_STREAM: u64 = 0x7e57_5ea2_c4ed_0001;

/// Tags for any topic, after the topic's own.
const GENERAL_TAGS: [&str; 3] = ["vip", "mobile", "bug"];
/// Tags added later in a ticket's life.
const LATE_TAGS: [&str; 3] = ["vip", "bug", "needs-followup"];

const AGENT_REPLIES: [&str; 6] = [
    "Hello! can you describe your issue more clearly?",
    "can you try logging into the vendor console?",
    "Thanks for the details, we are looking into it.",
    "This should be fixed now, could you try again?",
    "I have passed this on to our billing team; you will hear from us within a day.",
    "Could you send us a screenshot of the error?",
];
const CUSTOMER_REPLIES: [&str; 4] = [
    "Yes! I have been stuck on the login screen for a while.",
    "That actually worked. Greatttt!! Thanks Customer Service",
    "Still the same, I'm afraid.",
    "Here is the screenshot you asked for.",
];
const NOTES: [&str; 6] = [
    "Customer is on the enterprise plan, handle with care.",
    "Reproduced on staging; filed internally as BUG-1423.",
    "Checked the payment provider logs: the second charge is a pending authorisation.",
    "Escalating to the billing team.",
    "Possible duplicate of an earlier ticket from the same customer.",
    "Waiting for the mobile release before answering.",
];

/// How far back tickets are opened: two months (62 days), in seconds.
const HORIZON_SECS: i64 = 62 * 86_400;

/// One action in a ticket's life; who takes it is chosen when it is taken,
/// from the ticket as it is then.
#[derive(Debug, Clone)]
enum Step {
    /// Staff set the priority, tags and maybe the assignee.
    Triage {
        priority: Priority,
        tags: TagSet,
        assign: bool,
    },
    AgentReply,
    CustomerReply,
    Note,
    Resolve,
    /// Staff raise the priority to the ticket's final one.
    Escalate(Priority),
    /// Staff hand the ticket to another agent.
    Reassign,
    /// Staff add a tag.
    Retag(&'static str),
}

/// A ticket as its actions leave it: the fields, the replies and the
/// events the decisions returned, in order.
struct Life {
    ticket: Ticket,
    tags: TagSet,
    replies: Vec<SeedReply>,
    events: Vec<NewEvent>,
}

impl Life {
    fn open(
        author: Actor,
        topic: &Topic,
        mention: Option<&str>,
        targets: &SlaTargets,
        at: DateTime<Utc>,
    ) -> anyhow::Result<Self> {
        let opening = decide_new_ticket(author, targets, at)?;
        let mut body = topic.body.to_owned();
        body.extend(mention);
        Ok(Self {
            ticket: Ticket {
                id: TicketId(0),
                subject: Some(topic.subject.to_owned()),
                body,
                status: opening.status,
                author: author.id(),
                created_at: opening.at,
                updated_at: opening.at,
                resolved_at: None,
                priority: opening.priority,
                assignee: None,
                tags: None,
                first_response_at: None,
                due: opening.due,
                follow_up_of: None,
            },
            tags: TagSet::default(),
            replies: Vec::new(),
            events: opening.events,
        })
    }

    /// A PATCH by `actor`; every assignee the generator picks is an active
    /// support agent.
    fn change(
        &mut self,
        actor: Actor,
        change: &TicketChange,
        targets: &SlaTargets,
        at: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        let assignee = Some(Standing {
            role: Role::SupportAgent,
            active: true,
        });
        let decided = decide_ticket_change(
            actor,
            &self.ticket,
            &self.tags,
            change,
            assignee,
            targets,
            at,
        )?;
        if let Some(update) = decided {
            self.ticket.priority = update.priority;
            self.ticket.due = update.due;
            self.ticket.assignee = update.assignee;
            if let Some(tags) = update.tags {
                self.tags = tags;
            }
            if let Some(updated_at) = update.updated_at {
                self.ticket.updated_at = updated_at;
            }
            self.events.extend(update.events);
        }
        Ok(())
    }

    fn reply(
        &mut self,
        actor: Actor,
        kind: ReplyKind,
        body: &str,
        at: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        let decision = decide_reply(actor, self.ticket.facts(), kind, at)?;
        // The loader swaps the reply's index for its id.
        let index = i64::try_from(self.replies.len())?;
        self.events.extend(decision.events(index));
        self.ticket.status = decision.status;
        self.ticket.assignee = decision.assignee;
        if decision.first_response {
            self.ticket.first_response_at = Some(decision.at);
        }
        if let Some(updated_at) = decision.updated_at {
            self.ticket.updated_at = updated_at;
        }
        self.replies.push(SeedReply {
            author: actor.id(),
            body: body.to_owned(),
            created_at: decision.at,
            internal: kind == ReplyKind::Internal,
        });
        Ok(())
    }

    fn resolve(&mut self, customer: Actor, at: DateTime<Utc>) -> anyhow::Result<()> {
        let decision =
            decide_status_change(customer, self.ticket.facts(), TicketStatus::Resolved, at)?;
        if let Resolution::Resolve { at, events } = decision {
            self.ticket.status = TicketStatus::Resolved;
            self.ticket.resolved_at = Some(at);
            self.ticket.updated_at = at;
            self.events.extend(events);
        }
        Ok(())
    }

    fn finish(self) -> SeedTicket {
        let Ticket {
            subject,
            body,
            status,
            author,
            created_at,
            updated_at,
            resolved_at,
            priority,
            assignee,
            first_response_at,
            due,
            ..
        } = self.ticket;
        SeedTicket {
            author,
            subject,
            body,
            status,
            created_at,
            updated_at,
            resolved_at,
            priority,
            assignee,
            tags: self.tags,
            first_response_at,
            due,
            replies: self.replies,
            events: self.events,
        }
    }
}

/// Makes tickets by driving the rules through a life of actions whose
/// times increase and end by `now`: an agent answers first, customers reply
/// only after, resolution ends the exchange.
struct TicketGenerator {
    rng: StdRng,
    /// Chooses only the text added to a topic's, from a stream of its own,
    /// so that every other choice (and so every distribution) is what it
    /// was before any text was added.
    text_rng: StdRng,
    cast: Cast,
    targets: SlaTargets,
    now: DateTime<Utc>,
}

fn seconds(n: i64) -> TimeDelta {
    TimeDelta::seconds(n)
}

impl TicketGenerator {
    fn pick<'a>(&mut self, items: &'a [&'a str]) -> &'a str {
        items.choose(&mut self.rng).copied().unwrap_or_default()
    }

    /// A whole number in `lo..=hi` (`lo` when the range is empty).
    fn between(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            lo
        } else {
            self.rng.random_range(lo..=hi)
        }
    }

    /// `fraction` (drawn from `lo..hi`) of `secs`, at least a second.
    fn part_of(&mut self, secs: i64, lo: f64, hi: f64) -> i64 {
        let fraction = self.rng.random_range(lo..hi);
        ((secs as f64 * fraction) as i64).max(1)
    }

    /// About 10% LOW, 55% NORMAL, 25% HIGH, 10% URGENT.
    fn priority(&mut self) -> Priority {
        match self.rng.random_range(0..100) {
            0..10 => Priority::Low,
            10..65 => Priority::Normal,
            65..90 => Priority::High,
            _ => Priority::Urgent,
        }
    }

    /// None to three tags, the topic's first.
    fn tags(&mut self, topic: &Topic) -> TagSet {
        let count = match self.rng.random_range(0..100) {
            0..25 => 0,
            25..65 => 1,
            65..90 => 2,
            _ => 3,
        };
        let mut own = topic.tags.to_vec();
        own.shuffle(&mut self.rng);
        let mut general = GENERAL_TAGS.to_vec();
        general.shuffle(&mut self.rng);
        let names = own.into_iter().chain(general).take(count);
        TagSet::from_tags(names.filter_map(|name| Tag::parse(name).ok()).collect())
    }

    fn agent(&mut self) -> Actor {
        let agents = &self.cast.agents;
        agents[self.rng.random_range(0..agents.len())]
    }

    /// Staff acting on a ticket outside a public reply: its assignee
    /// mostly, another agent or the admin sometimes.
    fn staff(&mut self, ticket: &Ticket) -> Actor {
        if let Some(admin) = self.cast.admin
            && self.rng.random_bool(0.1)
        {
            return admin;
        }
        self.replier(ticket)
    }

    /// The agent who answers: the assignee mostly, when it is an agent.
    fn replier(&mut self, ticket: &Ticket) -> Actor {
        let assignee = ticket
            .assignee
            .and_then(|id| self.cast.agents.iter().copied().find(|a| a.id() == id));
        match assignee {
            Some(agent) if self.rng.random_bool(0.85) => agent,
            _ => self.agent(),
        }
    }

    /// An agent other than the ticket's assignee, if there is one.
    fn other_agent(&mut self, ticket: &Ticket) -> Actor {
        let others: Vec<Actor> = self
            .cast
            .agents
            .iter()
            .copied()
            .filter(|a| Some(a.id()) != ticket.assignee)
            .collect();
        others
            .choose(&mut self.rng)
            .copied()
            .unwrap_or_else(|| self.agent())
    }

    /// A sentence naming [`RARE_WORD`], for [`RARE_SHARE`] of the tickets.
    fn rare_mention(&mut self) -> Option<&'static str> {
        self.text_rng
            .random_bool(RARE_SHARE)
            .then(|| RARE_MENTIONS[self.text_rng.random_range(0..RARE_MENTIONS.len())])
    }

    fn ticket(&mut self) -> anyhow::Result<SeedTicket> {
        let mention = self.rare_mention();
        let customers = &self.cast.customers;
        let author = customers[self.rng.random_range(0..customers.len())];
        let topic = &TOPICS[self.rng.random_range(0..TOPICS.len())];
        let status = match self.rng.random_range(0..10) {
            0..=1 => TicketStatus::Unattended,
            2..=4 => TicketStatus::Replied,
            _ => TicketStatus::Resolved,
        };
        let priority = self.priority();
        let (age, steps) = self.plan(topic, status, priority);
        let created_at = self.now - seconds(age);
        let mut life = Life::open(author, topic, mention, &self.targets, created_at)?;
        for (offset, step) in steps {
            let at = created_at + seconds(offset);
            anyhow::ensure!(at <= self.now, "a planned step lies in the future");
            self.take(&mut life, author, step, at)?;
        }
        anyhow::ensure!(
            life.ticket.status == status && life.ticket.priority == priority,
            "the life did not end as planned: {:?}",
            life.ticket
        );
        Ok(life.finish())
    }

    fn take(
        &mut self,
        life: &mut Life,
        author: Actor,
        step: Step,
        at: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        let targets = self.targets;
        match step {
            Step::Triage {
                priority,
                tags,
                assign,
            } => {
                let actor = self.staff(&life.ticket);
                let assignee = assign.then(|| Some(self.agent().id()));
                let change = TicketChange {
                    priority: Some(priority),
                    assignee,
                    tags: Some(tags),
                };
                life.change(actor, &change, &targets, at)
            }
            Step::AgentReply => {
                let actor = self.replier(&life.ticket);
                let body = self.pick(&AGENT_REPLIES);
                life.reply(actor, ReplyKind::Public, body, at)
            }
            Step::CustomerReply => {
                let body = self.pick(&CUSTOMER_REPLIES);
                life.reply(author, ReplyKind::Public, body, at)
            }
            Step::Note => {
                let actor = self.staff(&life.ticket);
                let body = self.pick(&NOTES);
                life.reply(actor, ReplyKind::Internal, body, at)
            }
            Step::Resolve => life.resolve(author, at),
            Step::Escalate(priority) => {
                let actor = self.staff(&life.ticket);
                let change = TicketChange {
                    priority: Some(priority),
                    ..TicketChange::default()
                };
                life.change(actor, &change, &targets, at)
            }
            Step::Reassign => {
                let actor = self.staff(&life.ticket);
                let to = self.other_agent(&life.ticket);
                let change = TicketChange {
                    assignee: Some(Some(to.id())),
                    ..TicketChange::default()
                };
                life.change(actor, &change, &targets, at)
            }
            Step::Retag(name) => {
                let actor = self.staff(&life.ticket);
                let tags = life.tags.applying(&[Tag::parse(name)?], &[]);
                let change = TicketChange {
                    tags: Some(tags),
                    ..TicketChange::default()
                };
                life.change(actor, &change, &targets, at)
            }
        }
    }

    /// The ticket's age at `now` and its steps, each at its offset from
    /// creation in seconds, in order; the ticket ends in `status` with
    /// `priority`. Some tickets are planned to miss a target: their first
    /// response or resolution comes late, or they are still open past the
    /// due time.
    fn plan(
        &mut self,
        topic: &Topic,
        status: TicketStatus,
        priority: Priority,
    ) -> (i64, Vec<(i64, Step)>) {
        let first_due = self.targets.first_response(priority).num_seconds();
        let resolution_due = self.targets.resolution(priority).num_seconds();
        let late = self.rng.random_bool(match status {
            TicketStatus::Unattended => 0.35,
            TicketStatus::Replied => 0.25,
            TicketStatus::Resolved => 0.15,
        });

        // An agent answers, or nobody does: the ticket is still waiting, or
        // its customer resolved it first.
        let answered = status == TicketStatus::Replied
            || (status == TicketStatus::Resolved && !self.rng.random_bool(0.06));
        // Triage: the final priority at once, or (on an answered ticket) one
        // below it and raised later; tags; sometimes an explicit assignment.
        let escalate = answered && priority > Priority::Normal && self.rng.random_bool(0.15);
        let first_priority = if escalate {
            Priority::from_rank(priority.rank() - 1).unwrap_or(priority)
        } else {
            priority
        };
        let tags = self.tags(topic);
        let assign = self.rng.random_bool(0.3);
        let triage = (first_priority != Priority::Normal || !tags.is_empty() || assign).then_some(
            Step::Triage {
                priority: first_priority,
                tags,
                assign,
            },
        );

        let mut steps = Vec::new();
        let mut age = if !answered {
            // Nobody answered: still waiting, or resolved by the customer.
            let waited = if late {
                first_due + self.between(900, 4 * 86_400)
            } else {
                self.between(300, first_due)
            };
            if let Some(triage) = triage {
                let at = self.between(60, waited * 3 / 4);
                steps.push((at, triage));
            }
            if status == TicketStatus::Resolved {
                steps.push((waited, Step::Resolve));
            }
            waited
        } else {
            self.plan_exchange(
                status,
                priority,
                late,
                first_due,
                resolution_due,
                triage,
                escalate,
                &mut steps,
            )
        };

        // Internal notes, in any status; one in seven after the resolution.
        if self.rng.random_bool(0.2) {
            let notes = if self.rng.random_bool(0.7) { 1 } else { 2 };
            for _ in 0..notes {
                let at = if status == TicketStatus::Resolved && self.rng.random_bool(0.15) {
                    let at = age + self.between(600, 86_400);
                    age = at;
                    at
                } else {
                    self.between(60, age)
                };
                steps.push((at, Step::Note));
            }
        }
        // A resolved ticket's life ends anywhere in the last two months.
        if status == TicketStatus::Resolved {
            age += self.between(0, HORIZON_SECS - age);
        }
        steps.sort_by_key(|(at, _)| *at);
        (age.min(HORIZON_SECS), steps)
    }

    /// An answered ticket's exchange; returns its age at `now` (for a
    /// resolved ticket, the resolution's offset).
    #[allow(clippy::too_many_arguments)]
    fn plan_exchange(
        &mut self,
        status: TicketStatus,
        priority: Priority,
        late: bool,
        first_due: i64,
        resolution_due: i64,
        triage: Option<Step>,
        escalate: bool,
        steps: &mut Vec<(i64, Step)>,
    ) -> i64 {
        let late_first_response = late && self.rng.random_bool(0.5);
        let first_reply = if late_first_response {
            first_due + self.between(300, 2 * first_due)
        } else {
            self.part_of(first_due, 0.05, 0.95).max(60)
        };
        // Gaps scale with the resolution target: an urgent ticket moves fast.
        let mut at = first_reply;
        let mut plan = vec![(at, Step::AgentReply)];
        let exchanges = self.rng.random_range(1..=3);
        for turn in 0..exchanges {
            if turn > 0 {
                at += self.part_of(resolution_due, 0.02, 0.2);
                plan.push((at, Step::AgentReply));
            }
            if turn + 1 < exchanges || self.rng.random_bool(0.5) {
                at += self.part_of(resolution_due, 0.02, 0.15);
                plan.push((at, Step::CustomerReply));
            }
        }
        let mut end = at;
        if status == TicketStatus::Resolved {
            end += self.part_of(resolution_due, 0.02, 0.3);
        }
        if !late && end > resolution_due * 9 / 10 {
            // Squeeze the exchange into the target (the first reply only
            // moves earlier, so it stays on time).
            let scale = (resolution_due * 8 / 10) as f64 / end as f64;
            let squeeze = |t: i64| ((t as f64 * scale) as i64).max(1);
            for (t, _) in &mut plan {
                *t = squeeze(*t);
            }
            end = squeeze(end);
        }
        let first_reply = plan[0].0;
        let last = plan.last().map_or(first_reply, |(t, _)| *t);
        if status == TicketStatus::Resolved {
            end = end.max(last + 1);
            if late && !late_first_response && end <= resolution_due {
                end = resolution_due + self.part_of(resolution_due, 0.05, 1.5);
            }
            plan.push((end, Step::Resolve));
        }
        // Triage mostly before the first reply, sometimes right after it.
        if let Some(triage) = triage {
            let at = if self.rng.random_bool(0.8) {
                self.between(30, first_reply * 4 / 5)
            } else {
                first_reply + 1
            };
            steps.push((at, triage));
        }
        // Later staff changes, between the first reply and the last step.
        if escalate {
            let at = self.between(first_reply + 1, last.max(first_reply + 1));
            steps.push((at, Step::Escalate(priority)));
        }
        if self.rng.random_bool(0.06) {
            let at = self.between(first_reply + 1, last.max(first_reply + 1));
            steps.push((at, Step::Reassign));
        }
        if self.rng.random_bool(0.05) {
            let at = self.between(first_reply + 1, last.max(first_reply + 1));
            let tag = self.pick(&LATE_TAGS);
            steps.push((at, Step::Retag(tag)));
        }
        steps.extend(plan);
        if status == TicketStatus::Resolved {
            return end;
        }
        // Still open, waiting: on time, or past the resolution due time.
        let waited_from = last + 60;
        if !late {
            self.between(waited_from, resolution_due.max(waited_from))
        } else if late_first_response {
            waited_from + self.part_of(resolution_due, 0.0, 1.0)
        } else {
            waited_from.max(resolution_due + 1) + self.between(600, 5 * 86_400)
        }
    }
}

#[cfg(test)]
mod tests {
    use domain::search::words;

    use super::*;

    fn generator(seed: u64) -> TicketGenerator {
        let actor = |id, role| Actor::for_tests(UserId(id), role);
        TicketGenerator {
            rng: StdRng::seed_from_u64(seed),
            text_rng: StdRng::seed_from_u64(seed ^ TEXT_STREAM),
            cast: Cast {
                agent: UserId(2),
                admin: Some(actor(1, Role::Admin)),
                agents: vec![actor(2, Role::SupportAgent), actor(4, Role::SupportAgent)],
                customers: vec![actor(3, Role::Customer), actor(5, Role::Customer)],
            },
            targets: SlaTargets::default(),
            now: store::now(),
        }
    }

    /// Whether `word` is among the words of the ticket's text, notes
    /// included.
    fn has(ticket: &SeedTicket, word: &str) -> bool {
        let subject = ticket.subject.as_deref().unwrap_or_default();
        std::iter::once(subject)
            .chain([ticket.body.as_str()])
            .chain(ticket.replies.iter().map(|reply| reply.body.as_str()))
            .any(|text| words(text).any(|w| w == word))
    }

    #[test]
    fn the_benchmarks_search_words_are_as_common_as_it_says() {
        const TICKETS: usize = 20_000;
        let mut generator = generator(42);
        let tickets: Vec<SeedTicket> = (0..TICKETS)
            .map(|_| generator.ticket().expect("a ticket"))
            .collect();
        let count =
            |found: &dyn Fn(&SeedTicket) -> bool| tickets.iter().filter(|t| found(t)).count();
        // 20 expected (RARE_SHARE); the bounds are over four standard
        // deviations away.
        let rare = count(&|t| has(t, RARE_WORD));
        assert!((3..=40).contains(&rare), "{rare} tickets name {RARE_WORD}");
        // Only in the body, so a customer finds it too.
        assert_eq!(
            rare,
            count(&|t| words(&t.body).any(|w| w == RARE_WORD)),
            "{RARE_WORD} outside a body"
        );
        assert_eq!(count(&|t| has(t, NO_MATCH_WORD)), 0);
        let pair = count(&|t| WORD_PAIR.iter().all(|w| has(t, w)));
        let either = count(&|t| WORD_PAIR.iter().any(|w| has(t, w)));
        assert!((TICKETS / 20..TICKETS / 5).contains(&pair), "{pair}");
        assert!(either > pair * 2, "{either} / {pair}");
    }
}
