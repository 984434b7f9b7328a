use super::{DomainError, Field};

/// A client-chosen key that makes a write safe to retry: 1–100 visible ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub const MAX_LEN: usize = 100;

    /// Takes bytes because that is what a header carries; anything but visible ASCII is refused.
    pub fn parse(raw: &[u8]) -> Result<Self, DomainError> {
        let valid =
            (1..=Self::MAX_LEN).contains(&raw.len()) && raw.iter().all(u8::is_ascii_graphic);
        match std::str::from_utf8(raw) {
            Ok(key) if valid => Ok(IdempotencyKey(key.to_owned())),
            _ => Err(DomainError::new(
                Field::IdempotencyKey,
                format!("must be 1 to {} visible ASCII characters", Self::MAX_LEN),
            )),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idempotency_keys_are_short_visible_ascii() {
        assert!(IdempotencyKey::parse(b"probe-1f3a-000042").is_ok());
        assert!(IdempotencyKey::parse(&[b'k'; 100]).is_ok());
        for bad in [
            &b""[..],
            &[b'k'; 101],
            b"has space",
            b"tab\t",
            "é".as_bytes(),
        ] {
            assert!(IdempotencyKey::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn rejected_key_says_what_a_key_must_be() {
        let err = IdempotencyKey::parse(b"").unwrap_err();
        assert_eq!(
            err.to_string(),
            "Idempotency-Key must be 1 to 100 visible ASCII characters"
        );
    }
}
