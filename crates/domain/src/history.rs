//! A ticket's history as values: every rule that changes a ticket returns
//! the events the change produces, and the store writes them in the same
//! transaction, so the history never misses or invents a change.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{TicketId, UserId};
use crate::workflow::{Priority, Tag, TagSet, TicketStatus};

/// The kinds of event, without their data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    Created,
    Replied,
    Noted,
    StatusChanged,
    PriorityChanged,
    Assigned,
    TagsChanged,
    HeldDismissed,
}

impl EventType {
    pub const ALL: [EventType; 8] = [
        EventType::Created,
        EventType::Replied,
        EventType::Noted,
        EventType::StatusChanged,
        EventType::PriorityChanged,
        EventType::Assigned,
        EventType::TagsChanged,
        EventType::HeldDismissed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Created => "created",
            EventType::Replied => "replied",
            EventType::Noted => "noted",
            EventType::StatusChanged => "status_changed",
            EventType::PriorityChanged => "priority_changed",
            EventType::Assigned => "assigned",
            EventType::TagsChanged => "tags_changed",
            EventType::HeldDismissed => "held_dismissed",
        }
    }
}

/// What happened, with its data. The serde form (`{"type", "data"}`) is
/// how the store keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "type",
    content = "data",
    rename_all = "snake_case",
    rename_all_fields = "camelCase"
)]
pub enum EventKind {
    Created {},
    Replied {
        reply_id: i64,
    },
    Noted {
        reply_id: i64,
    },
    StatusChanged {
        from: TicketStatus,
        to: TicketStatus,
    },
    PriorityChanged {
        from: Priority,
        to: Priority,
    },
    Assigned {
        from: Option<UserId>,
        to: Option<UserId>,
    },
    TagsChanged {
        added: Vec<Tag>,
        removed: Vec<Tag>,
    },
    /// Staff dismissed a message held for this ticket (see `held`).
    HeldDismissed {
        held_id: i64,
    },
}

impl EventKind {
    pub fn event_type(&self) -> EventType {
        match self {
            EventKind::Created {} => EventType::Created,
            EventKind::Replied { .. } => EventType::Replied,
            EventKind::Noted { .. } => EventType::Noted,
            EventKind::StatusChanged { .. } => EventType::StatusChanged,
            EventKind::PriorityChanged { .. } => EventType::PriorityChanged,
            EventKind::Assigned { .. } => EventType::Assigned,
            EventKind::TagsChanged { .. } => EventType::TagsChanged,
            EventKind::HeldDismissed { .. } => EventType::HeldDismissed,
        }
    }
}

/// An event a rule produced, for the store to write beside its change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    pub kind: EventKind,
    pub actor: UserId,
    pub at: DateTime<Utc>,
}

/// An event as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub id: i64,
    pub ticket_id: TicketId,
    pub kind: EventKind,
    pub actor: UserId,
    pub at: DateTime<Utc>,
}

/// The workflow state the history determines.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TicketState {
    pub status: Option<TicketStatus>,
    pub priority: Priority,
    pub assignee: Option<UserId>,
    pub tags: TagSet,
}

impl TicketState {
    /// The state after `kind`. Replies and notes change nothing by
    /// themselves: a reply's effects are events of their own.
    pub fn apply(mut self, kind: &EventKind) -> Self {
        match kind {
            EventKind::Created {} => {
                self = TicketState {
                    status: Some(TicketStatus::Unattended),
                    ..TicketState::default()
                }
            }
            EventKind::Replied { .. }
            | EventKind::Noted { .. }
            | EventKind::HeldDismissed { .. } => {}
            EventKind::StatusChanged { to, .. } => self.status = Some(*to),
            EventKind::PriorityChanged { to, .. } => self.priority = *to,
            EventKind::Assigned { to, .. } => self.assignee = *to,
            EventKind::TagsChanged { added, removed } => {
                self.tags = self.tags.applying(added, removed)
            }
        }
        self
    }
}

/// Replays a history from its `created` event.
pub fn replay<'a>(history: impl IntoIterator<Item = &'a EventKind>) -> TicketState {
    history
        .into_iter()
        .fold(TicketState::default(), TicketState::apply)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stored_form_is_type_and_data() {
        let kind = EventKind::Assigned {
            from: None,
            to: Some(UserId(7)),
        };
        let json = serde_json::to_value(&kind).expect("json");
        assert_eq!(
            json,
            serde_json::json!({"type": "assigned", "data": {"from": null, "to": 7}})
        );
        assert_eq!(json["type"], kind.event_type().as_str());
        let created = serde_json::to_value(EventKind::Created {}).expect("json");
        assert_eq!(created, serde_json::json!({"type": "created", "data": {}}));
        let replied = serde_json::to_value(EventKind::Replied { reply_id: 3 }).expect("json");
        assert_eq!(replied["data"], serde_json::json!({"replyId": 3}));
        for kind in [
            kind,
            EventKind::Created {},
            EventKind::TagsChanged {
                added: vec![Tag::parse("vip").expect("tag")],
                removed: vec![],
            },
        ] {
            let back: EventKind =
                serde_json::from_value(serde_json::to_value(&kind).expect("json")).expect("back");
            assert_eq!(back, kind);
        }
    }

    #[test]
    fn replay_follows_each_change() {
        let vip = Tag::parse("vip").expect("tag");
        let history = [
            EventKind::Created {},
            EventKind::PriorityChanged {
                from: Priority::Normal,
                to: Priority::High,
            },
            EventKind::Replied { reply_id: 1 },
            EventKind::StatusChanged {
                from: TicketStatus::Unattended,
                to: TicketStatus::Replied,
            },
            EventKind::Assigned {
                from: None,
                to: Some(UserId(3)),
            },
            EventKind::TagsChanged {
                added: vec![vip.clone()],
                removed: vec![],
            },
        ];
        let state = replay(&history);
        assert_eq!(state.status, Some(TicketStatus::Replied));
        assert_eq!(state.priority, Priority::High);
        assert_eq!(state.assignee, Some(UserId(3)));
        assert_eq!(state.tags, TagSet::from_tags(vec![vip]));
    }
}
