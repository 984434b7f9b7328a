use std::collections::HashSet;
use std::sync::OnceLock;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use super::{DomainError, Field};

/// An account name: 3–32 characters of `a-z 0-9 _ -`. Upper-case ASCII letters are accepted
/// and stored lower-case, so `Alice` and `alice` are one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    pub const MIN_CHARS: usize = 3;
    pub const MAX_CHARS: usize = 32;

    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let chars = raw.chars().count();
        if !(Self::MIN_CHARS..=Self::MAX_CHARS).contains(&chars) {
            return Err(DomainError::new(
                Field::Username,
                format!(
                    "must be {} to {} characters long, not {chars}",
                    Self::MIN_CHARS,
                    Self::MAX_CHARS
                ),
            ));
        }
        let name = raw.to_ascii_lowercase();
        if !name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'-'))
        {
            return Err(DomainError::new(
                Field::Username,
                "may contain only letters a-z, digits, _ and -",
            ));
        }
        Ok(Username(name))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A password as a client typed it. It never prints (`Debug` shows `[REDACTED]`) and its
/// length is checked before anything else, so an oversized one never reaches the hasher.
#[derive(Debug, Clone)]
pub struct Password(SecretString);

impl Password {
    pub const MIN_CHARS: usize = 10;
    pub const MAX_CHARS: usize = 256;

    /// A password offered to sign in (or to confirm one): any text up to the maximum length.
    /// The rules for new passwords are not applied: they may change after it was chosen.
    pub fn given(field: Field, raw: String) -> Result<Self, DomainError> {
        let chars = raw.chars().count();
        if chars == 0 {
            return Err(DomainError::new(field, "must not be empty"));
        }
        if chars > Self::MAX_CHARS {
            return Err(too_long(field, chars));
        }
        Ok(Password(raw.into()))
    }

    /// A password being chosen for `username`: 10–256 characters, not the username, not one
    /// of the very common passwords in `data/common-passwords.txt`.
    pub fn new_for(field: Field, raw: String, username: &Username) -> Result<Self, DomainError> {
        let chars = raw.chars().count();
        if chars > Self::MAX_CHARS {
            return Err(too_long(field, chars));
        }
        if chars < Self::MIN_CHARS {
            return Err(DomainError::new(
                field,
                format!("must be at least {} characters long", Self::MIN_CHARS),
            ));
        }
        let folded = raw.to_lowercase();
        if folded == username.as_str() {
            return Err(DomainError::new(field, "must not be the username"));
        }
        if is_common(&folded) {
            return Err(DomainError::new(
                field,
                "is one of the most common passwords: choose another",
            ));
        }
        Ok(Password(raw.into()))
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

fn too_long(field: Field, chars: usize) -> DomainError {
    DomainError::new(
        field,
        format!(
            "is {chars} characters long, at most {} are allowed",
            Password::MAX_CHARS
        ),
    )
}

/// Whether `folded` (lower-cased) is on the list shipped in `data/common-passwords.txt` (see
/// `data/README.md` for where it comes from). Compared lower-cased, as the list is.
fn is_common(folded: &str) -> bool {
    static LIST: OnceLock<HashSet<&'static str>> = OnceLock::new();
    LIST.get_or_init(|| {
        include_str!("../../data/common-passwords.txt")
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty())
            .collect()
    })
    .contains(folded.trim())
}

/// How hard repeated failed sign-ins to one account name are slowed down. The first
/// [`LoginThrottle::FREE_FAILURES`] failures cost nothing (typos); each later one makes the
/// name wait twice as long as the one before, 1 s, 2 s, 4 s ... up to
/// [`LoginThrottle::MAX_WAIT`]. A real user is never locked out for longer than that; an
/// attacker gets about one guess a minute per name (per-address limits are nginx's job).
/// A run of failures is forgotten once [`LoginThrottle::forget_after`] has passed since its last.
#[derive(Debug, Clone)]
pub struct LoginThrottle {
    /// The window (`AUTH_FAILURE_WINDOW_SECS`, 15 minutes by default): a failure this long
    /// after the previous one counts from one again. Below [`LoginThrottle::MAX_WAIT`] it
    /// lets a guesser in sooner than the doubling would.
    pub forget_after: Duration,
}

impl LoginThrottle {
    pub const FREE_FAILURES: i32 = 5;
    pub const MAX_WAIT: Duration = Duration::from_secs(60);

    /// How long after the last of `failures` consecutive failures the next attempt must wait.
    pub fn wait_after(failures: i32) -> Duration {
        if failures < Self::FREE_FAILURES {
            return Duration::ZERO;
        }
        let doublings = (failures - Self::FREE_FAILURES).min(16) as u32;
        Duration::from_secs(1 << doublings).min(Self::MAX_WAIT)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(raw: &str) -> Username {
        Username::parse(raw).unwrap()
    }

    #[test]
    fn usernames_are_lower_cased_and_keep_to_their_alphabet() {
        assert_eq!(name("Alice_Smith-2").as_str(), "alice_smith-2");
        assert_eq!(name("abc").as_str(), "abc");
        assert_eq!(name(&"x".repeat(32)).as_str(), "x".repeat(32));
        for bad in [
            "ab",
            &"x".repeat(33),
            "al ice",
            "alice!",
            "ålice",
            "",
            "bob\n",
            "İbob",
        ] {
            let err = Username::parse(bad).unwrap_err();
            assert_eq!(err.field, Field::Username, "{bad:?}");
        }
    }

    #[test]
    fn new_passwords_keep_to_the_rules() {
        let alice = name("alice");
        let ok = |raw: &str| Password::new_for(Field::Password, raw.to_owned(), &alice);
        assert!(ok("correct horse battery").is_ok());
        assert!(ok(&"é".repeat(256)).is_ok(), "characters, not bytes");
        for (bad, why) in [
            ("short1234", "at least 10"),
            (&"x".repeat(257) as &str, "at most 256"),
            ("1234567890", "common"),
            ("QWERTYUIOP", "common"),
        ] {
            let err = ok(bad).unwrap_err();
            assert!(err.reason.contains(why) || why == "common", "{bad}: {err}");
            assert_eq!(err.field, Field::Password);
        }
        let long_name = name("longusername");
        let err = Password::new_for(Field::NewPassword, "LongUserName".to_owned(), &long_name)
            .unwrap_err();
        assert_eq!(err.reason, "must not be the username");
        assert_eq!(err.field, Field::NewPassword);
    }

    #[test]
    fn a_given_password_is_only_checked_for_length() {
        assert!(Password::given(Field::Password, "x".to_owned()).is_ok());
        assert!(Password::given(Field::Password, String::new()).is_err());
        assert!(Password::given(Field::Password, "x".repeat(257)).is_err());
    }

    #[test]
    fn passwords_never_print() {
        let password = Password::given(Field::Password, "hunter2-secret".to_owned()).unwrap();
        assert!(!format!("{password:?}").contains("hunter2"));
    }

    #[test]
    fn the_common_password_list_is_loaded() {
        assert!(is_common("1q2w3e4r5t"));
        assert!(!is_common("a sentence nobody would guess"));
    }

    #[test]
    fn the_throttle_waits_double_after_the_free_failures_up_to_a_minute() {
        let waits: Vec<u64> = (1..=13)
            .map(|n| LoginThrottle::wait_after(n).as_secs())
            .collect();
        assert_eq!(waits, [0, 0, 0, 0, 1, 2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(LoginThrottle::wait_after(i32::MAX), LoginThrottle::MAX_WAIT);
    }
}
