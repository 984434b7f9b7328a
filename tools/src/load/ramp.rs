//! Ramping the offered load up in steps until the stack saturates, and finding the knee.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::oha::Measurement;

/// The knee: the p99 a step must stay under, with no errors.
pub const KNEE_P99_MS: f64 = 50.0;

/// Saturation: a step is the last of its ramp when the stack falls this short of the offered
/// rate, fails this often, or answers this slowly.
const MIN_ACHIEVED_SHARE: f64 = 0.9;
const MAX_ERROR_RATE: f64 = 0.01;
const MAX_P99_MS: f64 = 1000.0;

/// The offered rates: `start`, then `factor` times the one before, `steps` of them, rounded to
/// whole requests a second.
pub fn rates(start: f64, factor: f64, steps: u32) -> impl Iterator<Item = f64> {
    (0..steps).map(move |i| (start * factor.powi(i as i32)).round())
}

/// One step of a ramp: a fixed offered rate and what the stack made of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    pub offered_rps: f64,
    #[serde(flatten)]
    pub measured: Measurement,
}

/// Why a step counts as saturated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Saturation {
    /// Achieved less than 90% of the offered rate.
    Throughput,
    /// More than 1% errors.
    Errors,
    /// p99 over 1 s (or nothing answered at all).
    Latency,
}

impl fmt::Display for Saturation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Saturation::Throughput => "achieved < 90% of offered",
            Saturation::Errors => "errors > 1%",
            Saturation::Latency => "p99 > 1 s",
        })
    }
}

impl Step {
    /// Whether the stack stopped keeping up at this step, and how it shows first.
    pub fn saturation(&self) -> Option<Saturation> {
        let m = &self.measured;
        let answered_in_time = m.p99_ms.is_some_and(|p99| p99 <= MAX_P99_MS);
        if m.error_rate() > MAX_ERROR_RATE {
            Some(Saturation::Errors)
        } else if !answered_in_time {
            Some(Saturation::Latency)
        } else if m.achieved_rps < MIN_ACHIEVED_SHARE * self.offered_rps {
            Some(Saturation::Throughput)
        } else {
            None
        }
    }

    /// Served in full, without an error, with p99 under [`KNEE_P99_MS`].
    pub fn within_target(&self) -> bool {
        self.saturation().is_none()
            && self.measured.errors == 0
            && self.measured.p99_ms.is_some_and(|p99| p99 < KNEE_P99_MS)
    }
}

/// The ramp of one endpoint.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Ramp {
    /// `METHOD PATH`, as in the table.
    pub endpoint: String,
    pub steps: Vec<Step>,
    /// How the last step saturated; none if the ramp ran out of steps first.
    pub saturation: Option<Saturation>,
    /// The highest offered rate within target (see [`knee`]).
    pub knee_rps: Option<f64>,
}

impl Ramp {
    /// Runs `measure` at each of `rates` in turn, and stops after the first saturated step:
    /// going further only piles more on a stack already past its limit.
    pub fn run(
        endpoint: &str,
        rates: impl IntoIterator<Item = f64>,
        mut measure: impl FnMut(f64) -> Result<Step, super::Error>,
    ) -> Result<Ramp, super::Error> {
        let mut steps = Vec::new();
        let mut saturation = None;
        for rate in rates {
            let step = measure(rate)?;
            saturation = step.saturation();
            steps.push(step);
            if saturation.is_some() {
                break;
            }
        }
        Ok(Ramp {
            endpoint: endpoint.to_owned(),
            knee_rps: knee(&steps).map(|step| step.offered_rps),
            steps,
            saturation,
        })
    }
}

/// The knee: the step with the highest offered rate [within target](Step::within_target).
/// The highest anywhere, not the last before the first miss, so that one noisy step low in
/// the ramp does not hide what the stack sustains; the table shows every step.
pub fn knee(steps: &[Step]) -> Option<&Step> {
    steps
        .iter()
        .filter(|step| step.within_target())
        .max_by(|a, b| a.offered_rps.total_cmp(&b.offered_rps))
}

#[cfg(test)]
pub(crate) mod sample {
    use super::*;

    /// A step at `offered` that achieved `achieved` with `errors` in 1000 requests.
    pub fn step(offered: f64, achieved: f64, p99_ms: f64, errors: u64) -> Step {
        Step {
            offered_rps: offered,
            measured: Measurement {
                achieved_rps: achieved,
                requests: 1000,
                errors,
                p50_ms: Some(p99_ms / 10.0),
                p99_ms: Some(p99_ms),
                p99_9_ms: Some(p99_ms * 2.0),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::sample::step;
    use super::*;

    #[test]
    fn rates_grow_by_the_factor() {
        let doubling: Vec<f64> = rates(200.0, 2.0, 5).collect();
        assert_eq!(doubling, [200.0, 400.0, 800.0, 1600.0, 3200.0]);
        let slower: Vec<f64> = rates(100.0, 1.5, 4).collect();
        assert_eq!(slower, [100.0, 150.0, 225.0, 338.0]);
    }

    #[test]
    fn saturation_by_throughput_errors_or_latency() {
        assert_eq!(step(1000.0, 995.0, 800.0, 10).saturation(), None);
        assert_eq!(
            step(1000.0, 899.0, 5.0, 0).saturation(),
            Some(Saturation::Throughput)
        );
        assert_eq!(
            step(1000.0, 1000.0, 5.0, 11).saturation(),
            Some(Saturation::Errors)
        );
        assert_eq!(
            step(1000.0, 1000.0, 1001.0, 0).saturation(),
            Some(Saturation::Latency)
        );
        let mut nothing_answered = step(1000.0, 0.0, 1.0, 0);
        nothing_answered.measured.p99_ms = None;
        assert_eq!(nothing_answered.saturation(), Some(Saturation::Latency));
    }

    #[test]
    fn knee_is_the_highest_rate_under_50_ms_without_errors() {
        let steps = [
            step(200.0, 200.0, 2.0, 0),
            step(400.0, 400.0, 60.0, 0), // a noisy step
            step(800.0, 800.0, 9.0, 0),
            step(1600.0, 1600.0, 30.0, 1), // one error
            step(3200.0, 2500.0, 900.0, 0),
        ];
        assert_eq!(knee(&steps).map(|s| s.offered_rps), Some(800.0));
        assert_eq!(knee(&steps[1..2]), None);
        assert_eq!(knee(&[]), None);
    }

    #[test]
    fn ramp_stops_after_the_first_saturated_step() {
        let mut asked = Vec::new();
        let ramp = Ramp::run("GET /", rates(100.0, 2.0, 10), |rate| {
            asked.push(rate);
            Ok(step(rate, rate.min(500.0), 3.0, 0))
        })
        .unwrap();
        assert_eq!(asked, [100.0, 200.0, 400.0, 800.0]);
        assert_eq!(ramp.steps.len(), 4);
        assert_eq!(ramp.saturation, Some(Saturation::Throughput));
        assert_eq!(ramp.knee_rps, Some(400.0));
    }

    #[test]
    fn ramp_without_saturation_runs_every_step() {
        let ramp = Ramp::run("GET /", rates(100.0, 2.0, 3), |rate| {
            Ok(step(rate, rate, 3.0, 0))
        })
        .unwrap();
        assert_eq!((ramp.steps.len(), ramp.saturation), (3, None));
        assert_eq!(ramp.knee_rps, Some(400.0));
    }
}
