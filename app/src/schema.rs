// @generated automatically by Diesel CLI.

diesel::table! {
    login_failures (username) {
        #[max_length = 32]
        username -> Varchar,
        failures -> Int4,
        last_failure_at -> Timestamptz,
    }
}

diesel::table! {
    posts (id) {
        id -> Int8,
        #[max_length = 50]
        author -> Varchar,
        #[max_length = 200]
        title -> Varchar,
        body -> Text,
        created_at -> Timestamptz,
        #[max_length = 100]
        idempotency_key -> Nullable<Varchar>,
        user_id -> Int8,
    }
}

diesel::table! {
    sessions (token_hash) {
        token_hash -> Bytea,
        user_id -> Int8,
        created_at -> Timestamptz,
        last_seen_at -> Timestamptz,
    }
}

diesel::table! {
    users (id) {
        id -> Int8,
        #[max_length = 32]
        username -> Varchar,
        password_hash -> Nullable<Text>,
        created_at -> Timestamptz,
    }
}

diesel::joinable!(posts -> users (user_id));
diesel::joinable!(sessions -> users (user_id));

diesel::allow_tables_to_appear_in_same_query!(login_failures, posts, sessions, users,);
