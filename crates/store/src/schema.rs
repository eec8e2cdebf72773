//! Diesel's view of the tables, in types both backends share.

diesel::table! {
    users (id) {
        id -> BigInt,
        username -> Text,
        pin_hash -> Text,
        role -> Text,
        active -> Bool,
        failed_logins -> Integer,
        locked_until -> Nullable<Timestamp>,
        session_epoch -> BigInt,
        device_failed_logins -> Integer,
        device_locked_until -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        last_failed_login_at -> Nullable<Timestamp>,
        device_last_failed_login_at -> Nullable<Timestamp>,
        email -> Nullable<Text>,
    }
}

diesel::table! {
    /// The login records of usernames no account has.
    unknown_username_logins (username) {
        username -> Text,
        failed_logins -> Integer,
        locked_until -> Nullable<Timestamp>,
        last_failed_login_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    /// Each client address's budget of failed logins: when it is whole again.
    address_login_budgets (address) {
        address -> Text,
        full_at -> Timestamp,
    }
}

diesel::table! {
    tickets (id) {
        id -> BigInt,
        subject -> Nullable<Text>,
        body -> Text,
        status -> Text,
        author_id -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        resolved_at -> Nullable<Timestamp>,
        priority -> Integer,
        assignee_id -> Nullable<BigInt>,
        first_response_at -> Nullable<Timestamp>,
        first_response_due_at -> Timestamp,
        resolution_due_at -> Timestamp,
        sla_breach_at -> Nullable<Timestamp>,
        first_response_breach_noticed_at -> Nullable<Timestamp>,
        resolution_breach_noticed_at -> Nullable<Timestamp>,
        follow_up_of -> Nullable<BigInt>,
    }
}

diesel::table! {
    /// Every inbound mail taken, with its outcome.
    inbound_messages (id) {
        id -> BigInt,
        message_key -> Text,
        received_at -> Timestamp,
        sender_address -> Text,
        sender_id -> Nullable<BigInt>,
        subject -> Text,
        body -> Text,
        outcome -> Text,
        reason -> Nullable<Text>,
        ticket_id -> Nullable<BigInt>,
        reply_id -> Nullable<BigInt>,
        dismissed_at -> Nullable<Timestamp>,
        dismissed_by -> Nullable<BigInt>,
    }
}

diesel::table! {
    /// The words a ticket is found by; each backend indexes them its own way
    /// (an FTS5 table over it on SQLite, a generated `tsvector` on
    /// PostgreSQL), which only `search.rs` knows.
    ticket_search_words (ticket_id) {
        ticket_id -> BigInt,
        public_words -> Text,
        note_words -> Text,
    }
}

diesel::table! {
    /// Tickets whose search words and breach time are still to compute.
    ticket_reindex (ticket_id) {
        ticket_id -> BigInt,
    }
}

diesel::table! {
    replies (id) {
        id -> BigInt,
        ticket_id -> BigInt,
        author_id -> BigInt,
        body -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        internal -> Bool,
    }
}

diesel::table! {
    ticket_tags (ticket_id, tag) {
        ticket_id -> BigInt,
        tag -> Text,
    }
}

diesel::table! {
    events (id) {
        id -> BigInt,
        ticket_id -> BigInt,
        kind -> Text,
        actor_id -> BigInt,
        at -> Timestamp,
        data -> Text,
    }
}

diesel::table! {
    /// Signed-in browsers: the SHA-256 of each session cookie's secret.
    web_sessions (secret_digest) {
        secret_digest -> Text,
        user_id -> BigInt,
        session_epoch -> BigInt,
        created_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    /// Programs' API tokens: the SHA-256 of each, never the token.
    api_tokens (id) {
        id -> BigInt,
        user_id -> BigInt,
        name -> Text,
        secret_digest -> Text,
        read_only -> Bool,
        created_at -> Timestamp,
        expires_at -> Nullable<Timestamp>,
        last_used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    /// PIN resets by mail: the SHA-256 of each link's token, never the token.
    pin_resets (id) {
        id -> BigInt,
        user_id -> BigInt,
        token_digest -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
        voided_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    /// Where webhooks go, what they subscribe to, and the secrets that sign them.
    webhook_endpoints (id) {
        id -> BigInt,
        url -> Text,
        description -> Text,
        events -> Text,
        enabled -> Bool,
        secret -> Text,
        previous_secret -> Nullable<Text>,
        previous_secret_until -> Nullable<Timestamp>,
        failing_since -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// Idempotency keys: each request's fingerprint and, once answered,
    /// its answer.
    idempotency_keys (id) {
        id -> BigInt,
        owner -> Text,
        method -> Text,
        path -> Text,
        idempotency_key -> Text,
        fingerprint -> Text,
        created_at -> Timestamp,
        claimed_at -> Timestamp,
        status -> Nullable<Integer>,
        body -> Nullable<Text>,
    }
}

diesel::table! {
    /// Things to deliver, of any channel: written with the change that
    /// causes them, claimed and delivered by the workers.
    outbox (id) {
        id -> BigInt,
        channel -> Text,
        recipient -> Text,
        message_id -> Text,
        payload -> Text,
        state -> Text,
        attempts -> Integer,
        due_at -> Timestamp,
        leased_until -> Nullable<Timestamp>,
        created_at -> Timestamp,
        finished_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    /// Each attempt to deliver an outbox row, as it went.
    outbox_attempts (id) {
        id -> BigInt,
        outbox_id -> BigInt,
        channel -> Text,
        recipient -> Text,
        at -> Timestamp,
        duration_ms -> BigInt,
        status_code -> Nullable<Integer>,
        error -> Nullable<Text>,
        response -> Nullable<Text>,
        succeeded -> Bool,
    }
}

diesel::table! {
    /// An account's choice of notifications; without a row, its role's
    /// defaults.
    notification_preferences (user_id) {
        user_id -> BigInt,
        ticket_created -> Bool,
        public_reply -> Bool,
        customer_reply -> Bool,
        internal_note -> Bool,
        status_changed -> Bool,
        assigned -> Bool,
        sla_breached -> Bool,
    }
}

diesel::table! {
    /// An inbound message's original bytes, in parts.
    inbound_originals (message_id, part) {
        message_id -> BigInt,
        part -> Integer,
        bytes -> Binary,
    }
}

diesel::joinable!(inbound_originals -> inbound_messages (message_id));
diesel::joinable!(outbox_attempts -> outbox (outbox_id));
diesel::joinable!(notification_preferences -> users (user_id));
diesel::joinable!(web_sessions -> users (user_id));
diesel::joinable!(api_tokens -> users (user_id));
diesel::joinable!(pin_resets -> users (user_id));
diesel::joinable!(replies -> users (author_id));
diesel::joinable!(replies -> tickets (ticket_id));
diesel::joinable!(ticket_tags -> tickets (ticket_id));
diesel::joinable!(events -> tickets (ticket_id));
diesel::joinable!(ticket_search_words -> tickets (ticket_id));
diesel::allow_tables_to_appear_in_same_query!(
    users,
    unknown_username_logins,
    address_login_budgets,
    tickets,
    replies,
    ticket_tags,
    events,
    ticket_search_words,
    ticket_reindex,
    web_sessions,
    api_tokens,
    pin_resets,
    idempotency_keys,
    webhook_endpoints,
    outbox,
    outbox_attempts,
    notification_preferences,
    inbound_messages,
    inbound_originals
);
