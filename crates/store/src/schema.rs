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
    }
}

diesel::joinable!(tickets -> users (author_id));
diesel::joinable!(replies -> users (author_id));
diesel::joinable!(replies -> tickets (ticket_id));
diesel::allow_tables_to_appear_in_same_query!(users, tickets, replies);
