//! The probe's settings: command-line options, and part of its JSON report.

use std::path::PathBuf;

use clap::Args;
use serde::{Deserialize, Serialize};

use crate::cli::{non_negative, positive};
use crate::site::default_site_url;

/// How to probe. A `clap::Args`, so other tools can flatten it into their own options.
#[derive(Debug, Clone, Args, Serialize, Deserialize)]
pub struct Config {
    /// Base URL of the site, through nginx (requests carry `Host: www.foobar.com`).
    /// By default where Compose publishes web (HTTP_BIND and HTTP_PORT, from the environment or
    /// .env).
    #[arg(long, env = "FOOBAR_URL", default_value_t = default_site_url())]
    pub url: String,

    /// Requests per second, sent on schedule however slow the answers are.
    #[arg(long, default_value_t = 50.0, value_parser = positive)]
    pub rate: f64,

    /// Time allowed for each request, answer body included.
    #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(u64).range(1..))]
    pub deadline_ms: u64,

    /// Also create posts: one request in five is a POST /api/posts, as a user the probe signs
    /// up first (probe-XXXXXXXX). Once stopped, the probe reads each acknowledged post back,
    /// then deletes the posts it wrote and its account (in the db container).
    #[arg(long)]
    pub writes: bool,

    /// Send a write that was not acknowledged again, with the same Idempotency-Key, for up to
    /// this many seconds (waits doubling from 250 ms to 2 s), as a client that must not lose a
    /// post does. The record keeps the first attempt's answer, and how many retries it took.
    #[arg(long, value_name = "SECS", requires = "writes", value_parser = positive)]
    #[serde(default)]
    pub retry_writes: Option<f64>,

    /// Leave the posts written with --writes, and their account, in the guestbook.
    #[arg(long, requires = "writes")]
    #[serde(default)]
    pub keep_writes: bool,

    /// Longest run, in seconds.
    #[arg(long = "duration", default_value_t = 120.0, value_parser = positive)]
    pub duration_secs: f64,

    /// Stop once a new version answers and has served everything for --settle-secs; exit 3
    /// if --duration passes first.
    #[arg(long)]
    pub until_new_version: bool,

    /// How long the new version must have answered every request, for --until-new-version.
    #[arg(long = "settle-secs", default_value_t = 3.0, value_parser = non_negative)]
    pub settle_secs: f64,

    /// Requests to send at least before --until-new-version may stop.
    #[arg(long, default_value_t = 0)]
    pub min_requests: u64,

    /// Stop when this file exists.
    #[arg(long, value_name = "PATH")]
    pub stop_file: Option<PathBuf>,

    /// Moments to draw on the plot: a JSON array of `{"at": RFC 3339 time, "label": text}`,
    /// read when the run ends (a drill writes it meanwhile); no file, no moments.
    #[arg(long, value_name = "PATH")]
    pub marks: Option<PathBuf>,

    /// Name of the run: the report files are NAME.json and NAME.svg.
    #[arg(long, default_value = "probe", value_parser = file_name)]
    pub name: String,

    /// Directory of the report files [default: <repo>/target/reports].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,

    /// No progress line on stderr each second.
    #[arg(long)]
    pub quiet: bool,
}

/// The name becomes a file name under --out: no directories.
fn file_name(text: &str) -> Result<String, String> {
    let valid = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        && !text.starts_with('.');
    if valid {
        Ok(text.to_owned())
    } else {
        Err("use letters, digits, '-', '_' and '.' (not first)".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::try_parse;

    #[test]
    fn writes_are_removed_unless_kept_and_keeping_needs_writes() {
        assert!(!try_parse::<Config>(&["--writes"]).unwrap().keep_writes);
        assert!(
            try_parse::<Config>(&["--writes", "--keep-writes"])
                .unwrap()
                .keep_writes
        );
        assert!(try_parse::<Config>(&["--keep-writes"]).is_err());
    }

    #[test]
    fn numbers_are_validated() {
        for args in [["--rate=-1"], ["--duration=0"], ["--settle-secs=-1"]] {
            assert!(try_parse::<Config>(&args).is_err(), "{args:?}");
        }
    }

    #[test]
    fn reports_from_before_keep_writes_still_read() {
        let mut json = serde_json::to_value(try_parse::<Config>(&[]).unwrap()).unwrap();
        json.as_object_mut().unwrap().remove("keep_writes");
        let config: Config = serde_json::from_value(json).unwrap();
        assert!(!config.keep_writes);
    }
}
