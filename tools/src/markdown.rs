//! Every report also as markdown (`NAME.md` beside `NAME.json`): its headline tables as the
//! docs show them, under a line saying when, at which commit and on what machine the run was
//! made, so that the docs' figures are copied from a run rather than by hand.

use std::path::Path;
use std::process::Command;

/// A report the tools write, as a markdown page.
pub trait Page: serde::Serialize {
    fn title(&self) -> String;

    /// When the run started (RFC 3339), if the report says; else the page is dated when written.
    fn started_at(&self) -> Option<&str> {
        None
    }

    /// The headline tables.
    fn markdown(&self) -> String;
}

/// `report`'s page: the title, the run's date, commit and machine, the tables.
pub fn page(report: &impl Page) -> String {
    let started = (report.started_at())
        .and_then(|at| chrono::DateTime::parse_from_rfc3339(at).ok())
        .map_or_else(chrono::Utc::now, |at| at.to_utc());
    format!(
        "# {}\n\nRun {} · commit {} · {}\n\n{}\n",
        report.title(),
        started.format("%Y-%m-%d %H:%M UTC"),
        commit(),
        machine(),
        report.markdown().trim_end()
    )
}

/// `git rev-parse --short HEAD` of the checkout, `-dirty` with uncommitted changes to tracked
/// files (as `git describe --dirty`); `unknown` without git or a checkout.
fn commit() -> String {
    let Ok(root) = crate::repo_root() else {
        return "unknown".into();
    };
    let git = |args: &[&str]| {
        let output = Command::new("git")
            .arg("-C")
            .arg(&root)
            .args(args)
            .output()
            .ok()?;
        output
            .status
            .success()
            .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
    };
    match (
        git(&["rev-parse", "--short", "HEAD"]),
        git(&["status", "--porcelain", "--untracked-files=no"]),
    ) {
        (Some(head), Some(changes)) if changes.is_empty() => head,
        (Some(head), Some(_)) => format!("{head}-dirty"),
        _ => "unknown".into(),
    }
}

/// Cores, memory and kernel of this machine, e.g. `2 cores, 7.8 GiB, Linux 6.1.0-18-amd64`.
fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let read = |path: &str| std::fs::read_to_string(Path::new(path)).ok();
    let memory = read("/proc/meminfo")
        .and_then(|meminfo| memory_gib(&meminfo))
        .map_or("? GiB".into(), |gib| format!("{gib:.1} GiB"));
    let kernel = read("/proc/sys/kernel/osrelease").unwrap_or_else(|| "?".into());
    format!("{cores} cores, {memory}, Linux {}", kernel.trim())
}

/// `MemTotal` of `/proc/meminfo`, in GiB.
fn memory_gib(meminfo: &str) -> Option<f64> {
    let kib = meminfo
        .lines()
        .find_map(|line| line.strip_prefix("MemTotal:"))?
        .trim()
        .strip_suffix("kB")?
        .trim()
        .parse::<f64>()
        .ok()?;
    Some(kib / (1024.0 * 1024.0))
}

/// A table of `header` and `rows`, followed by a blank line.
pub fn table(header: &[&str], rows: impl IntoIterator<Item = Vec<String>>) -> String {
    let line = |cells: &[String]| format!("| {} |\n", cells.join(" | "));
    let header: Vec<String> = header.iter().map(|cell| cell.to_string()).collect();
    let mut text = line(&header);
    text += &line(&vec!["---".into(); header.len()]);
    for row in rows {
        text += &line(&row);
    }
    text + "\n"
}

/// A whole number with a space between thousands, as the docs write figures: `14 416`.
pub fn count(value: f64) -> String {
    let digits = format!("{:.0}", value.abs());
    let mut grouped = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(' ');
        }
        grouped.push(digit);
    }
    if value.round() < 0.0 {
        grouped.insert(0, '-');
    }
    grouped
}

/// A latency: `0.12 ms`, `25.2 ms`, `3.1 s`; `-` when nothing answered.
pub fn latency(ms: Option<f64>) -> String {
    match ms {
        None => "-".into(),
        Some(ms) if ms < 1.0 => format!("{ms:.2} ms"),
        Some(ms) if ms < 1000.0 => format!("{ms:.1} ms"),
        Some(ms) => format!("{:.1} s", ms / 1000.0),
    }
}

/// A ratio to two decimals, `-` when unknown.
pub fn ratio(value: Option<f64>) -> String {
    value.map_or("-".into(), |value| format!("{value:.2}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_rows_of_cells_under_a_rule() {
        let text = table(
            &["endpoint", "knee"],
            [vec!["`GET /`".into(), "**14 416 req/s**".into()]],
        );
        assert_eq!(
            text,
            "| endpoint | knee |\n| --- | --- |\n| `GET /` | **14 416 req/s** |\n\n"
        );
    }

    #[test]
    fn figures_are_written_as_the_docs_write_them() {
        assert_eq!(count(14416.4), "14 416");
        assert_eq!(count(107012.0), "107 012");
        assert_eq!(count(999.6), "1 000");
        assert_eq!(count(51.0), "51");
        assert_eq!(count(-1234.0), "-1 234");
        assert_eq!(latency(Some(0.123)), "0.12 ms");
        assert_eq!(latency(Some(46.06)), "46.1 ms");
        assert_eq!(latency(Some(3140.0)), "3.1 s");
        assert_eq!(latency(None), "-");
    }

    #[test]
    fn memory_is_memtotal() {
        let meminfo = "MemTotal:        8039528 kB\nMemFree:          512000 kB\n";
        let gib = memory_gib(meminfo).unwrap();
        assert!((gib - 7.67).abs() < 0.01, "{gib}");
        assert_eq!(memory_gib("MemFree: 1 kB\n"), None);
    }

    #[derive(serde::Serialize)]
    struct Sample;

    impl Page for Sample {
        fn title(&self) -> String {
            "Sample".into()
        }

        fn started_at(&self) -> Option<&str> {
            Some("2026-11-23T14:02:03.456Z")
        }

        fn markdown(&self) -> String {
            table(&["a"], [vec!["1".into()]])
        }
    }

    #[test]
    fn a_page_says_when_at_which_commit_and_where() {
        let text = page(&Sample);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "# Sample");
        assert!(
            lines[2].starts_with("Run 2026-11-23 14:02 UTC · commit "),
            "{text}"
        );
        assert!(lines[2].contains(" cores, ") && lines[2].contains(", Linux "));
        assert!(!lines[2].contains("commit  "), "{text}");
        assert_eq!(lines[4], "| a |");
    }
}
