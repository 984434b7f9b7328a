//! The benchmark's settings: command-line options, and part of its JSON report.

use std::path::PathBuf;

use clap::Args;
use serde::{Deserialize, Serialize};

use crate::site::StackUrls;

#[derive(Debug, Clone, Args, Serialize, Deserialize)]
pub struct Config {
    #[command(flatten)]
    #[serde(flatten)]
    pub urls: StackUrls,

    /// The site's HTTPS (requests name www.foobar.com, for SNI and Host). By default the site's
    /// host at HTTPS_PORT (from the environment or .env).
    #[arg(long, env = "FOOBAR_TLS_URL", default_value_t = crate::site::default_tls_url())]
    pub tls_url: String,

    /// Quick preset for CI: fewer, shorter runs (the options below still override it).
    #[arg(long)]
    pub short: bool,

    /// Runs of each figure; the report gives their median and spread [default: 5, --short: 3].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub rounds: Option<u32>,

    /// Seconds each run lasts (wrk takes whole seconds) [default: 5, --short: 1].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub secs: Option<u32>,

    /// wrk's connections for the page.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..))]
    pub page_connections: u32,

    /// wrk's connections for `GET /api/posts/{id}`, and pgbench's clients.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..))]
    pub read_connections: u32,

    /// wrk's threads (and pgbench's), one per core of a 2-core host.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..))]
    pub threads: u32,

    /// Directory of bench.json [default: $REPORTS, else <repo>/target/reports].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

impl Config {
    /// (rounds, seconds per run), with the --short preset applied.
    pub fn plan(&self) -> (u32, u32) {
        let (rounds, secs) = if self.short { (3, 1) } else { (5, 5) };
        (self.rounds.unwrap_or(rounds), self.secs.unwrap_or(secs))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::try_parse;

    #[test]
    fn short_preset_and_overrides() {
        assert_eq!(try_parse::<Config>(&[]).unwrap().plan(), (5, 5));
        assert_eq!(try_parse::<Config>(&["--short"]).unwrap().plan(), (3, 1));
        let config = try_parse::<Config>(&["--short", "--rounds", "7"]).unwrap();
        assert_eq!(config.plan(), (7, 1));
    }

    #[test]
    fn rejects_zero_rounds() {
        assert!(try_parse::<Config>(&["--rounds", "0"]).is_err());
    }
}
