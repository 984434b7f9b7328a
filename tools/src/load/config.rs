//! The harness's settings: command-line options, and part of its JSON report.

use std::path::PathBuf;

use clap::Args;
use serde::{Deserialize, Serialize};

use crate::cli::{above_one, positive};
use crate::site::StackUrls;

/// What to load and how hard.
#[derive(Debug, Clone, Args, Serialize, Deserialize)]
pub struct Config {
    #[command(flatten)]
    #[serde(flatten)]
    pub urls: StackUrls,

    /// Quick preset for CI: fewer, shorter steps (the options below still override it).
    #[arg(long)]
    pub short: bool,

    /// Offered rate of the first step, requests a second.
    #[arg(long, default_value_t = 250.0, value_parser = positive)]
    pub start_rate: f64,

    /// Each step offers this many times the rate of the one before [default: 1.5, --short: 4].
    #[arg(long, value_parser = above_one)]
    pub factor: Option<f64>,

    /// Seconds each step lasts, and each run of the comparison [default: 10, --short: 2].
    #[arg(long, value_parser = positive)]
    pub step_secs: Option<f64>,

    /// Most steps per endpoint, if it does not saturate first [default: 12, --short: 3].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_steps: Option<u32>,

    /// Connections oha may use at a fixed rate: enough never to hold the rate back.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..))]
    pub connections: u32,

    /// Concurrency C of the comparison: oha's connections, and pgbench's clients.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..))]
    pub concurrency: u32,

    /// Posts to create through the site first, so that the reads find real rows.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..))]
    pub seed_posts: u32,

    /// Directory of the report (load.json, .md, .svg; load-https.* over HTTPS)
    /// [default: $REPORTS, else <repo>/target/reports].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// The ramp's shape, with the --short preset applied.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub start_rate: f64,
    pub factor: f64,
    pub step_secs: f64,
    pub max_steps: u32,
}

impl Plan {
    /// A tool's preset from `start_rate` with `(factor, step_secs, max_steps)`, each replaced
    /// by the command line's value where one was given (`given`, in the same order).
    pub fn preset(
        start_rate: f64,
        (factor, step_secs, max_steps): (f64, f64, u32),
        given: (Option<f64>, Option<f64>, Option<u32>),
    ) -> Plan {
        Plan {
            start_rate,
            factor: given.0.unwrap_or(factor),
            step_secs: given.1.unwrap_or(step_secs),
            max_steps: given.2.unwrap_or(max_steps),
        }
    }
}

impl Config {
    pub fn plan(&self) -> Plan {
        // --short: three steps, 2 s each, a factor 4 apart still cover 250 to 4000 req/s.
        // Otherwise 1.5 apart, so the knee is found within a third of its rate.
        let preset = if self.short {
            (4.0, 2.0, 3)
        } else {
            (1.5, 10.0, 12)
        };
        let given = (self.factor, self.step_secs, self.max_steps);
        Plan::preset(self.start_rate, preset, given)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::try_parse;

    fn plan(args: &[&str]) -> Plan {
        try_parse::<Config>(args).unwrap().plan()
    }

    #[test]
    fn short_preset_and_overrides() {
        assert_eq!(
            plan(&[]),
            Plan {
                start_rate: 250.0,
                factor: 1.5,
                step_secs: 10.0,
                max_steps: 12
            }
        );
        assert_eq!(
            plan(&["--short", "--step-secs", "3"]),
            Plan {
                start_rate: 250.0,
                factor: 4.0,
                step_secs: 3.0,
                max_steps: 3
            }
        );
    }

    #[test]
    fn rejects_a_factor_that_does_not_ramp() {
        assert!(try_parse::<Config>(&["--factor", "1"]).is_err());
    }
}
