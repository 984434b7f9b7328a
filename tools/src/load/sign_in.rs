//! Sign-ins under load: what one costs, how many a second the app takes (the knee of their
//! ramp), and what a flood of them at that rate does to reads.
//!
//! Sign-ins go straight to the app: through nginx every local client shares one address, and
//! nginx lets one address sign in once a second (`nginx/conf.d/rate-limits.conf`). What is
//! measured here is the app's cost, the CPU of password hashing.

use std::time::Duration;

use anyhow::Result;
use serde::{Deserialize, Serialize};

use super::oha::{self, Measurement, Pacing, Request};
use crate::interrupt::Interrupt;

/// The sign-in ramp's name in the report.
pub const LABEL: &str = "POST /api/session (app)";

/// Sign-in ramps start this many times lower than the others: each costs a hash.
pub const START_DIVISOR: f64 = 25.0;

/// What reads suffer during a flood of sign-ins may be at most this many times their p99
/// without it (printed beside the ratio, not asserted).
pub const READ_P99_TARGET: f64 = 2.0;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SignIns {
    /// Sign-ins one at a time (closed loop, one connection) straight to the app: one argon2id
    /// verify and three small queries each.
    pub one_at_a_time: Measurement,
    /// `GET /api/posts/{id}` the same way: a request with one small query and no hash. The
    /// difference of the two p50s is about the cost of one hash.
    pub read_one_at_a_time: Measurement,
    /// The flood's sign-ins a second: the knee of the sign-in ramp (its first step without one).
    pub flood_rps: f64,
    pub flood: Measurement,
    /// `GET /api/posts/{id}` through the whole stack at `read_rps`, alone and during the flood.
    pub read_rps: f64,
    pub read_alone: Measurement,
    pub read_during_flood: Measurement,
}

impl SignIns {
    /// p50 of a sign-in minus p50 of a one-query read: about the hash's share.
    pub fn hash_ms(&self) -> Option<f64> {
        Some(self.one_at_a_time.p50_ms? - self.read_one_at_a_time.p50_ms?)
    }

    /// Read p99 during the flood over read p99 without it.
    pub fn read_p99_ratio(&self) -> Option<f64> {
        Some(self.read_during_flood.p99_ms? / self.read_alone.p99_ms?)
    }
}

/// The requests a sign-in measurement sends.
pub struct Requests {
    pub sign_in: Request,
    /// `GET /api/posts/{id}` straight to the app.
    pub direct_read: Request,
    /// `GET /api/posts/{id}` through the whole stack.
    pub read: Request,
}

/// Measures one-at-a-time costs, then `read_rps` reads alone and during a flood of
/// `flood_rps` sign-ins, each for `duration`.
pub fn measure(
    requests: &Requests,
    flood_rps: f64,
    read_rps: f64,
    duration: Duration,
    interrupt: &Interrupt,
) -> Result<SignIns> {
    let one = Pacing::Closed { connections: 1 };
    let one_at_a_time = super::measure(&requests.sign_in, one, duration, interrupt)?;
    let read_one_at_a_time = super::measure(&requests.direct_read, one, duration, interrupt)?;
    let reads = Pacing::Fixed {
        rps: read_rps,
        connections: 16,
    };
    let read_alone = super::measure(&requests.read, reads, duration, interrupt)?;
    let flooding = Pacing::Fixed {
        rps: flood_rps,
        connections: 64,
    };
    eprint!(
        "{} at {read_rps:.0} req/s during {flood_rps:.0} sign-ins/s: ",
        requests.read.url
    );
    let (flood, read_during_flood) = std::thread::scope(|scope| {
        let flood = scope.spawn(|| oha::run(&requests.sign_in, flooding, duration, interrupt));
        let read = oha::run(&requests.read, reads, duration, interrupt);
        (flood.join().expect("the flood thread ends"), read)
    });
    let (flood, read_during_flood) = (flood?, read_during_flood?);
    eprintln!(
        "p99 {} ms ({} errors); the flood: {:.0} sign-ins/s, {} errors",
        super::ms(read_during_flood.p99_ms),
        read_during_flood.errors,
        flood.achieved_rps,
        flood.errors
    );
    Ok(SignIns {
        one_at_a_time,
        read_one_at_a_time,
        flood_rps,
        flood,
        read_rps,
        read_alone,
        read_during_flood,
    })
}
