//! The outbox as an admin looks at it: who may, the states a message is
//! in as the API names them, and what a message is about, read from its
//! payload by the store (the notification kind or the webhook event, and
//! the ticket).

use crate::roles::{Actor, Role};
use crate::{Refusal, ValidationError};

/// The channels of the outbox, as the store names them.
pub const CHANNELS: [&str; 2] = ["mail", "webhook"];

/// Only admins look into the outbox and send a failed message again.
pub fn may_manage_outbox(actor: Actor) -> Result<(), Refusal> {
    match actor.role() {
        Role::Admin => Ok(()),
        Role::SupportAgent | Role::Customer => {
            Err(Refusal::Forbidden("only admins can see the outbox"))
        }
    }
}

/// Where a message is: still to send (perhaps after failed attempts),
/// sent, or failed for good.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutboxStatus {
    Pending,
    Sent,
    Failed,
}

impl OutboxStatus {
    pub const ALL: [OutboxStatus; 3] = [
        OutboxStatus::Pending,
        OutboxStatus::Sent,
        OutboxStatus::Failed,
    ];

    /// The name in the API.
    pub fn name(self) -> &'static str {
        match self {
            OutboxStatus::Pending => "pending",
            OutboxStatus::Sent => "sent",
            OutboxStatus::Failed => "failed",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        Self::ALL
            .into_iter()
            .find(|status| status.name() == raw)
            .ok_or_else(|| ValidationError::new("status", "must be pending, sent or failed"))
    }
}

/// Which messages a list shows: of one status, one channel, or all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OutboxFilter {
    pub status: Option<OutboxStatus>,
    pub channel: Option<&'static str>,
}

impl OutboxFilter {
    /// From the query's `status` and `channel`, each optional.
    pub fn parse(status: Option<&str>, channel: Option<&str>) -> Result<Self, ValidationError> {
        Ok(Self {
            status: status.map(OutboxStatus::parse).transpose()?,
            channel: channel
                .map(|raw| {
                    CHANNELS
                        .into_iter()
                        .find(|known| *known == raw)
                        .ok_or_else(|| ValidationError::new("channel", "must be mail or webhook"))
                })
                .transpose()?,
        })
    }

    /// The filter as one line, for the list's cursor.
    pub fn key(self) -> String {
        format!(
            "{}|{}",
            self.status.map_or("any", OutboxStatus::name),
            self.channel.unwrap_or("any")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::UserId;

    #[test]
    fn only_admins_manage_the_outbox() {
        for role in [Role::Admin, Role::SupportAgent, Role::Customer] {
            let actor = Actor::for_tests(UserId(1), role);
            assert_eq!(may_manage_outbox(actor).is_ok(), role == Role::Admin);
        }
    }

    #[test]
    fn a_filter_takes_known_statuses_and_channels_only() {
        assert_eq!(OutboxFilter::parse(None, None), Ok(OutboxFilter::default()));
        let filter = OutboxFilter::parse(Some("failed"), Some("mail")).expect("valid");
        assert_eq!(filter.status, Some(OutboxStatus::Failed));
        assert_eq!(filter.channel, Some("mail"));
        assert_eq!(filter.key(), "failed|mail");
        assert!(OutboxFilter::parse(Some("delivered"), None).is_err());
        assert!(OutboxFilter::parse(None, Some("sms")).is_err());
    }
}
