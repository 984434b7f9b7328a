//! The run at a glance as text: one character per 250 ms of sending.

use super::record::Record;
use super::report::first_version;

pub const BUCKET_MS: f64 = 250.0;
/// Characters per second, grouped on the line so seconds can be counted.
const PER_SECOND: usize = (1000.0 / BUCKET_MS) as usize;
/// One line per 10 s.
const SECONDS_PER_LINE: usize = 10;

pub const LEGEND: &str =
    "1 char = 250 ms of sends:  . ok  o ok, new version  + ok, both versions  \
                          M maintenance 503  x other failure  (blank: none sent)";

/// One character per bucket of send time, from 0 to the last send.
pub fn chars(records: &[Record]) -> Vec<char> {
    if records.is_empty() {
        return Vec::new();
    }
    let last_ms = records.iter().map(|r| r.sent_ms).fold(0.0, f64::max);
    let mut buckets: Vec<Vec<&Record>> = vec![Vec::new(); (last_ms / BUCKET_MS) as usize + 1];
    for record in records {
        buckets[(record.sent_ms / BUCKET_MS) as usize].push(record);
    }
    let first = first_version(records);
    buckets
        .iter()
        .map(|bucket| bucket_char(bucket, first))
        .collect()
}

/// The worst thing in the bucket: a hard failure, else the maintenance page, else which
/// versions answered.
fn bucket_char(bucket: &[&Record], first: Option<&str>) -> char {
    let failures = || bucket.iter().filter(|r| !r.is_ok());
    if bucket.is_empty() {
        ' '
    } else if failures().any(|r| !r.maintenance) {
        'x'
    } else if failures().next().is_some() {
        'M'
    } else {
        let versions = || bucket.iter().filter_map(|r| r.version.as_deref());
        let old = versions().any(|v| Some(v) == first);
        let new = versions().any(|v| Some(v) != first);
        match (old, new) {
            (_, false) => '.',
            (false, true) => 'o',
            (true, true) => '+',
        }
    }
}

/// The legend, then lines of 10 s labelled with their start, a space between seconds.
pub fn render(records: &[Record]) -> String {
    let chars = chars(records);
    let mut out = format!("{LEGEND}\n");
    for (line, line_chars) in chars.chunks(PER_SECOND * SECONDS_PER_LINE).enumerate() {
        let seconds: Vec<String> = line_chars
            .chunks(PER_SECOND)
            .map(|second| second.iter().collect())
            .collect();
        out.push_str(&format!(
            "{:>5} s  {}\n",
            line * SECONDS_PER_LINE,
            seconds.join(" ")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::record::sample::{error, maintenance, ok};
    use super::super::record::{ErrorKind, Kind};
    use super::*;

    const V1: &str = "1";
    const V2: &str = "2";

    fn text(records: &[Record]) -> String {
        chars(records).into_iter().collect()
    }

    #[test]
    fn one_char_per_bucket() {
        let records = vec![
            ok(0, Kind::List, 0.0, V1),
            ok(1, Kind::Page, 100.0, V1),
            maintenance(2, Kind::List, 300.0),
            ok(3, Kind::List, 400.0, V1),
            maintenance(4, Kind::List, 500.0),
            error(5, Kind::List, 600.0, ErrorKind::Refused),
            ok(6, Kind::List, 800.0, V1),
            ok(7, Kind::List, 900.0, V2),
            ok(8, Kind::List, 1000.0, V2),
            ok(9, Kind::List, 1500.0, V2),
        ];
        assert_eq!(text(&records), ".Mx+o o");
    }

    #[test]
    fn other_failure_statuses_are_x() {
        let mut bad_gateway = maintenance(0, Kind::List, 0.0);
        bad_gateway.maintenance = false;
        bad_gateway.status = Some(502);
        assert_eq!(text(&[bad_gateway]), "x");
        assert_eq!(text(&[]), "");
    }

    #[test]
    fn renders_lines_of_ten_seconds() {
        let records: Vec<Record> = (0..48)
            .map(|i| ok(i, Kind::List, i as f64 * 250.0, V1))
            .collect();
        let out = render(&records);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], LEGEND);
        assert_eq!(lines[1], format!("    0 s  {}", ["...."; 10].join(" ")));
        assert_eq!(lines[2], "   10 s  .... ....");
    }
}
