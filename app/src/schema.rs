// @generated automatically by Diesel CLI.

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
    }
}
