//! What several test modules share.

use foobar_tools::site::Account;
use foobar_tools::stack::guestbook;

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

/// Runs `act` (a tool that writes as users of its own and removes what it wrote) and asserts it
/// left the guestbook as it found it: the same posts and accounts, row for row (ids, authors,
/// contents), not only as many. Returns what `act` returned.
pub fn leaving_the_guestbook_as_found<T>(what: &str, act: impl FnOnce() -> T) -> T {
    let before = guestbook().unwrap_or_else(|e| panic!("read the guestbook before {what}: {e:#}"));
    let result = act();
    let changes = guestbook()
        .unwrap_or_else(|e| panic!("read the guestbook after {what}: {e:#}"))
        .changes_since(&before);
    assert!(
        changes.is_empty(),
        "{what} left the guestbook as it found it; it did not:\n{}",
        changes.join("\n")
    );
    result
}
