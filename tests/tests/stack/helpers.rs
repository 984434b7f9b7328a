//! What several test modules share.

use foobar_tools::site::Account;

/// A name no one has: `PREFIX-` and 8 random hex digits, as the tools make theirs.
pub fn fresh_name(prefix: &str) -> String {
    Account::random(prefix)
        .expect("random bytes for a name")
        .username
}

/// Now, as `docker compose logs --since` takes it (RFC 3339, UTC).
pub fn utc_now() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}
