//! The run as a self-contained SVG plot: latency of ok requests over send time, coloured by
//! version, with failures as red marks in a band on top, one row per kind of failure.

use std::fmt::Write;

use super::record::Record;
use super::report::Report;
use super::Mark;
use crate::plot::{self, Plot, Scale, Svg, Swatch, FAILURE, FRAME, INK, MUTED};

const WIDTH: f64 = 900.0;
const HEIGHT: f64 = 320.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = 740.0;
const BAND_TOP: f64 = 34.0;
const ROW: f64 = 11.0;
const BOTTOM: f64 = 278.0;

/// The plot of `records`, titled `name` plus a line from `report` (their summary), with
/// `marks` as labelled dashed lines.
pub fn render(name: &str, records: &[Record], report: &Report, marks: &[Mark]) -> String {
    let rows = failure_rows(records);
    let band_bottom = BAND_TOP + ROW * rows.len().max(1) as f64;
    let ok = || records.iter().filter(|r| r.is_ok());
    let last_ms = (records.iter().map(|r| r.sent_ms))
        .chain(marks.iter().map(|m| m.at_ms))
        .fold(0.0, f64::max);
    let x = Scale::seconds(last_ms / 1000.0);
    let y = Scale::log(ok().map(|r| r.latency_ms));
    let plot = Plot::new((LEFT, RIGHT), (band_bottom + 12.0, BOTTOM), x, y);
    let x = |ms: f64| plot.px(ms / 1000.0);
    let mut svg = Svg::new(WIDTH, HEIGHT, LEFT, &[&title(name, report)]);

    // Shade the downtime window behind everything.
    if let (Some(first), Some(last)) = (report.first_failure_ms, report.last_failure_ms) {
        let size = ((x(last) - x(first)).max(1.0), BOTTOM - BAND_TOP);
        let fill = format!(r#"fill="{FAILURE}" fill-opacity="0.08""#);
        svg.rect((x(first), BAND_TOP), size, &fill);
    }
    svg.axes(&plot, "time since start (s)", "latency (ms, log)");

    // Failure band: one labelled row per failure label.
    let frame = format!(r#"fill="none" stroke="{FRAME}""#);
    svg.rect(
        (LEFT, BAND_TOP),
        (RIGHT - LEFT, band_bottom - BAND_TOP),
        &frame,
    );
    let red = format!(r#"fill="{FAILURE}""#);
    for (row, label) in rows.iter().enumerate() {
        let top = BAND_TOP + ROW * row as f64;
        svg.text((RIGHT + 6.0, top + ROW - 2.0), &red, label);
        for record in records
            .iter()
            .filter(|r| r.failure_label().as_ref() == Some(label))
        {
            svg.rect((x(record.sent_ms), top + 1.0), (1.5, ROW - 2.0), &red);
        }
    }
    if rows.is_empty() {
        let grey = format!(r#"fill="{MUTED}""#);
        svg.text((RIGHT + 6.0, BAND_TOP + ROW - 2.0), &grey, "no failures");
    }

    if let Some(switch) = report.switch_ms {
        let px = x(switch);
        let dashed = format!(r#"stroke="{INK}" stroke-dasharray="3,3""#);
        svg.line((px, plot.top), (px, BOTTOM), &dashed);
        svg.text(
            (px + 3.0, plot.top + 9.0),
            &format!(r#"fill="{INK}""#),
            "switch",
        );
    }

    // Moments from outside (a drill's): each label on a line of its own, as they can be close.
    let dashed = format!(r#"stroke="{MUTED}" stroke-dasharray="2,3""#);
    for (i, mark) in marks.iter().enumerate() {
        let px = x(mark.at_ms);
        let y = plot.top + 9.0 + 11.0 * i as f64;
        svg.line((px, plot.top), (px, BOTTOM), &dashed);
        svg.text((px + 3.0, y), &format!(r#"fill="{INK}""#), &mark.label);
    }

    // Ok requests: latency, coloured by the version that answered.
    for record in ok() {
        let at = (x(record.sent_ms), plot.py(record.latency_ms));
        svg.dot(at, 1.6, colour(&report.versions, record.version.as_deref()));
    }

    let legend: Vec<(Swatch, String)> = (report.versions.iter().enumerate())
        .map(|(i, v)| (Swatch::Dot(plot::series(i)), v.clone()))
        .chain([
            (Swatch::Dot(MUTED), "static page, no version".into()),
            (Swatch::Dot(FAILURE), "failure (band above)".into()),
        ])
        .collect();
    svg.legend((RIGHT + 2.0, plot.top + 6.0), &legend);
    svg.finish()
}

fn title(name: &str, report: &Report) -> String {
    let seconds = |ms: f64| format!("{:.2} s", ms / 1000.0);
    let mut title = format!(
        "{name}: {} sent, {} failed, downtime {}",
        report.sent,
        report.failed,
        seconds(report.downtime_ms)
    );
    if let Some(p99) = report.p99_ms {
        let _ = write!(title, ", p99 {p99:.1} ms");
    }
    match (&report.version_before, &report.version_after) {
        (Some(before), Some(after)) if before != after => {
            let _ = write!(title, ", {before} → {after}");
        }
        (Some(version), _) => {
            let _ = write!(title, ", {version}");
        }
        _ => {}
    }
    title
}

/// Distinct failure labels in the order they first happened.
fn failure_rows(records: &[Record]) -> Vec<String> {
    let mut failures: Vec<&Record> = records.iter().filter(|r| !r.is_ok()).collect();
    failures.sort_by_key(|r| r.seq);
    let mut rows: Vec<String> = Vec::new();
    for label in failures.iter().filter_map(|r| r.failure_label()) {
        if !rows.contains(&label) {
            rows.push(label);
        }
    }
    rows
}

fn colour(versions: &[String], version: Option<&str>) -> &'static str {
    version
        .and_then(|v| versions.iter().position(|known| known == v))
        .map_or(MUTED, plot::series)
}

#[cfg(test)]
mod tests {
    use super::super::record::sample::{error, maintenance, ok};
    use super::super::record::{ErrorKind, Kind};
    use super::super::report::summarize;
    use super::*;

    #[test]
    fn draws_points_failure_rows_and_legend() {
        let records = vec![
            ok(0, Kind::List, 0.0, "v<1>"),
            maintenance(1, Kind::List, 500.0),
            error(2, Kind::List, 1000.0, ErrorKind::Timeout),
            maintenance(3, Kind::Page, 1500.0),
            ok(4, Kind::List, 2000.0, "v2"),
        ];
        let marks = [Mark {
            at_ms: 700.0,
            label: "db1 <killed>".into(),
        }];
        let svg = render("run & <test>", &records, &summarize(&records), &marks);
        assert!(svg.starts_with("<svg ") && svg.ends_with("</svg>\n"));
        assert!(svg.contains("run &amp; &lt;test&gt;: 5 sent, 3 failed"));
        assert_eq!(
            svg.matches(r#"r="1.6""#).count(),
            2,
            "one point per ok request"
        );
        assert_eq!(
            svg.matches(r#"width="1.5""#).count(),
            3,
            "one mark per failure"
        );
        assert!(svg.contains(">503 maintenance</text>") && svg.contains(">timeout</text>"));
        assert!(svg.contains(">v&lt;1&gt;</text>") && svg.contains(">switch</text>"));
        assert!(svg.contains(">db1 &lt;killed&gt;</text>"), "a mark's label");
        assert_eq!(svg.matches("<text").count(), svg.matches("</text>").count());
    }
}
