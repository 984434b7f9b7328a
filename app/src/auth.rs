//! Password hashing and session tokens: the cryptography of accounts, apart from HTTP.

use std::sync::Arc;
use std::time::Duration;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use rand::rngs::OsRng;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;

use crate::db::sessions::{Expiry, TokenHash};
use crate::domain::Password;

/// argon2id with OWASP's first recommended setting: 19 MiB of memory, 2 passes, 1 lane.
fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// Every hasher stayed busy for the whole wait: the server is flooded with sign-ins.
    #[error("all {permits} password hashers stayed busy for {wait:?}")]
    Busy { permits: usize, wait: Duration },
    #[error("password hashing failed: {0}")]
    Failed(String),
}

/// Hashes and verifies passwords on the blocking thread pool, never on the async workers,
/// and at most `concurrency` at once: each one takes 19 MiB and a core for tens of
/// milliseconds, so a flood of sign-ins queues here instead of starving reads or memory.
/// A request that waits longer than `wait` for a turn gets [`HashError::Busy`].
pub struct Hasher {
    permits: Arc<Semaphore>,
    concurrency: usize,
    wait: Duration,
    /// Verified against when the account does not exist, so that takes as long as a wrong
    /// password for an existing one.
    dummy_hash: String,
}

impl Hasher {
    /// Hashes a random password once, for [`Hasher::verify`]'s unknown-account case.
    pub fn new(concurrency: usize, wait: Duration) -> Self {
        let mut random = [0u8; 32];
        OsRng.fill_bytes(&mut random);
        let dummy_hash = hash_now(&URL_SAFE_NO_PAD.encode(random)).expect("hash a password");
        Hasher {
            permits: Arc::new(Semaphore::new(concurrency)),
            concurrency,
            wait,
            dummy_hash,
        }
    }

    /// The PHC string (`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`) to store.
    pub async fn hash(&self, password: Password) -> Result<String, HashError> {
        self.run(move || hash_now(password.expose())).await?
    }

    /// Whether `password` matches `stored`. With no stored hash (no such account, or one
    /// nobody may sign in to) it does the same work and answers false.
    pub async fn verify(
        &self,
        password: Password,
        stored: Option<String>,
    ) -> Result<bool, HashError> {
        let (phc, exists) = match stored {
            Some(phc) => (phc, true),
            None => (self.dummy_hash.clone(), false),
        };
        let matches = self
            .run(move || {
                let parsed =
                    PasswordHash::new(&phc).map_err(|e| HashError::Failed(e.to_string()))?;
                Ok::<_, HashError>(
                    argon2()
                        .verify_password(password.expose().as_bytes(), &parsed)
                        .is_ok(),
                )
            })
            .await??;
        Ok(matches && exists)
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, HashError> {
        let busy = || HashError::Busy {
            permits: self.concurrency,
            wait: self.wait,
        };
        let permit = tokio::time::timeout(self.wait, self.permits.clone().acquire_owned())
            .await
            .map_err(|_| busy())?
            .map_err(|_| busy())?;
        actix_web::web::block(move || {
            let result = work();
            drop(permit);
            result
        })
        .await
        .map_err(|e| HashError::Failed(e.to_string()))
    }
}

fn hash_now(password: &str) -> Result<String, HashError> {
    let salt = SaltString::generate(&mut OsRng);
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| HashError::Failed(e.to_string()))
}

/// The secret a session cookie carries: 256 random bits, base64url (43 characters). Only its
/// SHA-256 is stored, and it never prints.
pub struct SessionToken(SecretString);

impl SessionToken {
    const ENCODED_LEN: usize = 43;

    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        OsRng.fill_bytes(&mut bytes);
        SessionToken(URL_SAFE_NO_PAD.encode(bytes).into())
    }

    /// A cookie value that could be a token; anything else cannot match a session.
    pub fn parse(value: &str) -> Option<Self> {
        (value.len() == Self::ENCODED_LEN && URL_SAFE_NO_PAD.decode(value).is_ok())
            .then(|| SessionToken(value.to_owned().into()))
    }

    pub fn hash(&self) -> TokenHash {
        Sha256::digest(self.0.expose_secret().as_bytes()).into()
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl std::fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionToken([REDACTED])")
    }
}

/// How long sessions last, and how their cookie is sent.
#[derive(Debug, Clone)]
pub struct SessionPolicy {
    /// A session unused this long is over.
    pub idle_timeout: Duration,
    /// A session this old is over, however much it is used.
    pub lifetime: Duration,
    /// Send the cookie only over HTTPS.
    pub secure_cookie: bool,
}

impl SessionPolicy {
    pub fn expiry(&self, now: DateTime<Utc>) -> Expiry {
        Expiry {
            idle_before: now - self.idle_timeout,
            created_before: now - self.lifetime,
        }
    }

    /// A session's last use is written at most this often: a write per request would cost
    /// more than the read, and the idle timeout needs no finer clock.
    pub fn touch_interval(&self) -> Duration {
        (self.idle_timeout / 10).min(Duration::from_secs(60))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Field;

    fn password(raw: &str) -> Password {
        Password::given(Field::Password, raw.to_owned()).unwrap()
    }

    #[actix_web::test]
    async fn a_hash_verifies_its_password_and_no_other() {
        let hasher = Hasher::new(1, Duration::from_secs(5));
        let phc = hasher.hash(password("correct horse")).await.unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(hasher
            .verify(password("correct horse"), Some(phc.clone()))
            .await
            .unwrap());
        assert!(!hasher
            .verify(password("wrong horse"), Some(phc))
            .await
            .unwrap());
    }

    #[actix_web::test]
    async fn no_stored_hash_never_matches() {
        let hasher = Hasher::new(1, Duration::from_secs(5));
        assert!(!hasher
            .verify(password("anything at all"), None)
            .await
            .unwrap());
    }

    #[actix_web::test]
    async fn a_flood_waits_its_turn_then_is_refused() {
        let hasher = Arc::new(Hasher::new(1, Duration::from_millis(1)));
        let held = hasher.permits.clone().acquire_owned().await.unwrap();
        let err = hasher.hash(password("a password")).await.unwrap_err();
        assert!(matches!(err, HashError::Busy { permits: 1, .. }), "{err}");
        drop(held);
        assert!(hasher.hash(password("a password")).await.is_ok());
    }

    #[test]
    fn tokens_are_random_base64url_and_hash_to_sha256() {
        let a = SessionToken::generate();
        let b = SessionToken::generate();
        assert_eq!(a.expose().len(), 43);
        assert_ne!(a.expose(), b.expose());
        let parsed = SessionToken::parse(a.expose()).unwrap();
        assert_eq!(parsed.hash(), a.hash());
        assert_eq!(a.hash().len(), 32);
        assert!(!format!("{a:?}").contains(a.expose()));
        for bad in ["", "short", &"!".repeat(43), &"a".repeat(44)] {
            assert!(SessionToken::parse(bad).is_none(), "{bad}");
        }
    }
}
