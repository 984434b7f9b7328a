//! Password hashing and session tokens: the cryptography of accounts, apart from HTTP.

use std::sync::Arc;
use std::time::Duration;

use std::cell::RefCell;

use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
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

type Job = Box<dyn FnOnce() + Send>;

/// Hashes and verifies passwords on `concurrency` threads of its own, never on the async
/// workers: each hash takes 19 MiB and a core for tens of milliseconds, so a flood of sign-ins
/// queues here instead of starving reads. Each thread allocates its 19 MiB once and reuses it
/// ([`with_blocks`]), so memory stays at `concurrency` × 19 MiB. (Allocating per hash, as the
/// crate's `PasswordHasher` does, on the shared blocking pool took the app past its 256 MiB
/// limit within twenty sign-ins: the allocator kept a freed block in every thread's arena.)
/// A request that waits longer than `wait` for a turn gets [`HashError::Busy`].
pub struct Hasher {
    permits: Arc<Semaphore>,
    jobs: std::sync::mpsc::Sender<Job>,
    concurrency: usize,
    wait: Duration,
    /// Requests refused because every hasher stayed busy for the whole wait.
    rejected: prometheus::IntCounter,
    /// Verified against when the account does not exist, so that takes as long as a wrong
    /// password for an existing one.
    dummy_hash: String,
}

impl Hasher {
    /// Starts the threads and hashes a random password once on one of them, for
    /// [`Hasher::verify`]'s unknown-account case.
    pub fn new(concurrency: usize, wait: Duration) -> Self {
        let (jobs, queue) = std::sync::mpsc::channel::<Job>();
        let queue = Arc::new(std::sync::Mutex::new(queue));
        for n in 0..concurrency {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("hasher-{n}"))
                .spawn(move || {
                    lower_priority();
                    loop {
                        // The lock is held only while taking a job; the sender lives as long
                        // as the Hasher, and its drop ends the thread.
                        let job = queue.lock().map(|queue| queue.recv());
                        match job {
                            Ok(Ok(job)) => job(),
                            _ => break,
                        }
                    }
                })
                .expect("start a hasher thread");
        }
        let mut random = [0u8; 32];
        OsRng.fill_bytes(&mut random);
        let (answer, answered) = std::sync::mpsc::channel();
        jobs.send(Box::new(move || {
            let _ = answer.send(hash_now(&URL_SAFE_NO_PAD.encode(random)));
        }))
        .expect("hasher threads run");
        let dummy_hash = answered
            .recv()
            .expect("a hasher thread answers")
            .expect("hash a password");
        Hasher {
            permits: Arc::new(Semaphore::new(concurrency)),
            jobs,
            concurrency,
            wait,
            rejected: prometheus::IntCounter::new(
                "app_hasher_rejected_total",
                "Sign-ins and sign-ups answered 503 because every password hasher stayed busy",
            )
            .expect("a valid metric name"),
            dummy_hash,
        }
    }

    /// Hashers at work right now.
    pub fn busy(&self) -> usize {
        self.concurrency - self.permits.available_permits()
    }

    pub fn threads(&self) -> usize {
        self.concurrency
    }

    /// The counter behind `app_hasher_rejected_total`, for the metrics registry.
    pub fn rejected_counter(&self) -> prometheus::IntCounter {
        self.rejected.clone()
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
            .run(move || verify_now(password.expose(), &phc))
            .await?
            .map_err(|e| HashError::Failed(e.to_string()))?;
        Ok(matches && exists)
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, HashError> {
        let busy = || {
            self.rejected.inc();
            HashError::Busy {
                permits: self.concurrency,
                wait: self.wait,
            }
        };
        let permit = tokio::time::timeout(self.wait, self.permits.clone().acquire_owned())
            .await
            .map_err(|_| busy())?
            .map_err(|_| busy())?;
        let (answer, answered) = tokio::sync::oneshot::channel();
        self.jobs
            .send(Box::new(move || {
                let out = work();
                // Free the permit before answering: the caller, once answered, may read
                // `busy()` and must not see its own finished hash still counted.
                drop(permit);
                let _ = answer.send(out);
            }))
            .map_err(|_| HashError::Failed("the hasher threads are gone".to_owned()))?;
        answered
            .await
            .map_err(|_| HashError::Failed("a hasher thread panicked".to_owned()))
    }
}

/// Niceness of the hasher threads. When sign-ins and other requests compete for the cores,
/// the scheduler gives a nice-10 thread about a tenth of a nice-0 one's share: the hashes
/// wait, not the reads, yet still progress under a read flood (`SCHED_IDLE` would starve
/// them; it measured no better for reads). Lowering one's own priority needs no privilege.
const HASHER_NICENESS: libc::c_int = 10;

/// Lowers the calling thread's priority to [`HASHER_NICENESS`] (on Linux `nice` is per
/// thread). A failure only costs the preference, so it is logged, not fatal.
fn lower_priority() {
    // SAFETY: gettid and setpriority take and return plain integers and touch no memory of ours.
    let result = unsafe {
        libc::setpriority(
            libc::PRIO_PROCESS,
            libc::gettid() as libc::id_t,
            HASHER_NICENESS,
        )
    };
    if result != 0 {
        log::warn!(
            "cannot lower the priority of a hasher thread: {}",
            std::io::Error::last_os_error()
        );
    }
}

/// Runs `argon` into `out` with this thread's memory blocks, grown to the size `argon` needs
/// once and reused by every later hash on the thread. argon2 overwrites every block it uses,
/// so nothing carries over from one hash to the next.
fn with_blocks(
    argon: &Argon2,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
) -> argon2::password_hash::Result<()> {
    thread_local! {
        static BLOCKS: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
    }
    BLOCKS.with_borrow_mut(|blocks| {
        let needed = argon.params().block_count();
        if blocks.len() < needed {
            blocks.resize(needed, Block::default());
        }
        argon
            .hash_password_into_with_memory(password, salt, out, &mut blocks[..needed])
            .map_err(Into::into)
    })
}

fn hash_now(password: &str) -> Result<String, HashError> {
    let failed = |e: argon2::password_hash::Error| HashError::Failed(e.to_string());
    let salt = SaltString::generate(&mut OsRng);
    let mut salt_bytes = [0u8; 64];
    let salt_bytes = salt.as_salt().decode_b64(&mut salt_bytes).map_err(failed)?;
    let argon = argon2();
    let hash = Output::init_with(Params::DEFAULT_OUTPUT_LEN, |out| {
        with_blocks(&argon, password.as_bytes(), salt_bytes, out)
    })
    .map_err(failed)?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(argon.params()).map_err(failed)?,
        salt: Some(salt.as_salt()),
        hash: Some(hash),
    };
    Ok(phc.to_string())
}

/// Whether `password` hashes to the PHC string `phc`, with the parameters `phc` names (so
/// hashes made with older settings still verify).
fn verify_now(password: &str, phc: &str) -> argon2::password_hash::Result<bool> {
    use argon2::password_hash::Error;
    let parsed = PasswordHash::new(phc)?;
    let algorithm = Algorithm::try_from(parsed.algorithm)?;
    let version = parsed
        .version
        .map(Version::try_from)
        .transpose()?
        .unwrap_or_default();
    let argon = Argon2::new(algorithm, version, Params::try_from(&parsed)?);
    let salt = parsed.salt.ok_or(Error::SaltInvalid(
        argon2::password_hash::errors::InvalidValue::Malformed,
    ))?;
    let expected = parsed.hash.ok_or(Error::Password)?;
    let mut salt_bytes = [0u8; 64];
    let salt_bytes = salt.decode_b64(&mut salt_bytes)?;
    let computed = Output::init_with(expected.len(), |out| {
        with_blocks(&argon, password.as_bytes(), salt_bytes, out)
    })?;
    // Output's equality is constant-time.
    Ok(computed == expected)
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
    /// Sessions one user may have at once; signing in once more revokes the oldest. Bounds
    /// the rows every sign-in looks at, whatever a script does with one account.
    pub const MAX_PER_USER: i64 = 32;

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

    #[test]
    fn hashes_of_the_crate_verify_here_and_ours_there() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        let salt = SaltString::generate(&mut OsRng);
        let theirs = argon2()
            .hash_password(b"pass phrase", &salt)
            .unwrap()
            .to_string();
        assert!(verify_now("pass phrase", &theirs).unwrap());
        assert!(!verify_now("pass phrasE", &theirs).unwrap());
        let ours = hash_now("pass phrase").unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(argon2().verify_password(b"pass phrase", &parsed).is_ok());
    }

    #[actix_web::test]
    async fn hashers_yield_the_cores_to_other_work() {
        let hasher = Hasher::new(1, Duration::from_secs(5));
        // SAFETY: as in lower_priority.
        let niceness = hasher
            .run(|| unsafe { libc::getpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t) })
            .await
            .unwrap();
        assert_eq!(niceness, HASHER_NICENESS);
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
