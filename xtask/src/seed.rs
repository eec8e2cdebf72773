//! `cargo xtask seed`: the original's demo users, and optionally many
//! realistic tickets loaded in batched transactions.

use anyhow::Context as _;
use chrono::{DateTime, TimeDelta, Utc};
use domain::{Pin, Role, TicketStatus, UserId, Username};
use indicatif::{ProgressBar, ProgressStyle};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
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
/// Tickets per transaction.
const BATCH: usize = 10_000;

/// Creates a user unless the name is taken; returns its id either way.
fn ensure_user(store: &Store, name: &str, role: Role) -> anyhow::Result<UserId> {
    let user = store.bulk_ensure_user(&Username::parse(name)?, &Pin::parse(DEMO_PIN)?, role)?;
    Ok(user.id)
}

/// The demo users, idempotently; returns (agent, customers).
pub fn seed_users(
    store: &Store,
    with_extra_customers: bool,
) -> anyhow::Result<(UserId, Vec<UserId>)> {
    let mut agent = None;
    let mut customers = Vec::new();
    for (name, role) in DEMO_USERS {
        let id = ensure_user(store, name, role)?;
        match role {
            Role::SupportAgent => agent = Some(id),
            Role::Customer => customers.push(id),
            Role::Admin => {}
        }
        println!("user {name:<10} {:<13} pin {DEMO_PIN}", role.as_str());
    }
    if with_extra_customers {
        for i in 1..=EXTRA_CUSTOMERS {
            customers.push(ensure_user(
                store,
                &format!("customer-{i:02}"),
                Role::Customer,
            )?);
        }
    }
    Ok((agent.context("no agent among the demo users")?, customers))
}

/// Loads `count` generated tickets with a progress bar; returns the demo
/// agent, who answered them.
pub fn seed_tickets(store: &Store, count: u64, seed: u64) -> anyhow::Result<UserId> {
    let (agent, customers) = seed_users(store, true)?;
    anyhow::ensure!(!customers.is_empty(), "no customer to author the tickets");
    let mut generator = TicketGenerator {
        rng: StdRng::seed_from_u64(seed),
        agent,
        customers,
        now: store::now(),
    };
    let bar = ProgressBar::new(count).with_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} tickets {per_sec} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut loaded = 0;
    while loaded < count {
        let size = (count - loaded).min(BATCH as u64);
        let batch: Vec<SeedTicket> = (0..size).map(|_| generator.ticket()).collect();
        store.bulk_load_tickets(&batch)?;
        loaded += size;
        bar.set_position(loaded);
    }
    bar.finish();
    Ok(agent)
}

const SUBJECTS: [&str; 8] = [
    "Issue related to logging in",
    "Payment failed twice",
    "Cannot reset my PIN",
    "Invoice shows the wrong amount",
    "App crashes on start",
    "Question about my plan",
    "Refund request",
    "Account locked",
];
const BODIES: [&str; 6] = [
    "I have been unable to login for the past two weeks. It keeps returning the error 'username does not exist'. Please fix this",
    "My card was charged but the order still shows as pending.",
    "The reset link in the email has expired every time I click it.",
    "Last month's invoice charged me for two seats; we only have one.",
    "Since the update the app closes right after the splash screen.",
    "Could you tell me what the difference between the plans is?",
];
const AGENT_REPLIES: [&str; 4] = [
    "Hello! can you describe your issue more clearly?",
    "can you try logging into the vendor console?",
    "Thanks for the details, we are looking into it.",
    "This should be fixed now, could you try again?",
];
const CUSTOMER_REPLIES: [&str; 3] = [
    "Yes! I have been stuck on the login screen for a while.",
    "That actually worked. Greatttt!! Thanks Customer Service",
    "Still the same, I'm afraid.",
];

/// Makes tickets whose history is consistent with the rules: an agent
/// answers first, customers reply only after, resolution comes last.
struct TicketGenerator {
    rng: StdRng,
    agent: UserId,
    customers: Vec<UserId>,
    now: DateTime<Utc>,
}

impl TicketGenerator {
    fn pick<'a>(&mut self, items: &'a [&'a str]) -> &'a str {
        items.choose(&mut self.rng).copied().unwrap_or_default()
    }

    fn ticket(&mut self) -> SeedTicket {
        let author = self.customers[self.rng.random_range(0..self.customers.len())];
        // Spread over the last two months (62 days), in seconds.
        let created_at = self.now - TimeDelta::seconds(self.rng.random_range(3_600..62 * 86_400));
        let status = match self.rng.random_range(0..10) {
            0..=1 => TicketStatus::Unattended,
            2..=4 => TicketStatus::Replied,
            _ => TicketStatus::Resolved,
        };
        let mut at = created_at;
        let mut replies = Vec::new();
        if status != TicketStatus::Unattended {
            let exchanges = self.rng.random_range(1..=3);
            for turn in 0..exchanges {
                at += TimeDelta::seconds(self.rng.random_range(60..6 * 3_600));
                let body = self.pick(&AGENT_REPLIES).to_owned();
                replies.push(SeedReply {
                    author: self.agent,
                    body,
                    created_at: at.min(self.now),
                });
                if turn + 1 < exchanges || self.rng.random_bool(0.5) {
                    at += TimeDelta::seconds(self.rng.random_range(60..3_600));
                    let body = self.pick(&CUSTOMER_REPLIES).to_owned();
                    replies.push(SeedReply {
                        author,
                        body,
                        created_at: at.min(self.now),
                    });
                }
            }
        }
        let resolved_at = (status == TicketStatus::Resolved)
            .then(|| (at + TimeDelta::seconds(self.rng.random_range(60..86_400))).min(self.now));
        SeedTicket {
            author,
            subject: Some(self.pick(&SUBJECTS).to_owned()),
            body: self.pick(&BODIES).to_owned(),
            status,
            created_at,
            updated_at: resolved_at.unwrap_or(at).min(self.now),
            resolved_at,
            replies,
        }
    }
}
