//! The run as a self-contained SVG plot: latency of ok requests over send time, coloured by
//! version, with failures as red marks in a band on top, one row per kind of failure.

use std::fmt::Write;

use super::record::Record;
use super::report::Report;

const WIDTH: f64 = 900.0;
const HEIGHT: f64 = 320.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = 740.0;
const BAND_TOP: f64 = 34.0;
const ROW: f64 = 11.0;
const BOTTOM: f64 = 278.0;
const FAILURE: &str = "#d62728";
const NO_VERSION: &str = "#999999";
const PALETTE: [&str; 6] = [
    "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b",
];

/// The plot of `records`, titled `name` plus a line from `report` (their summary).
pub fn render(name: &str, records: &[Record], report: &Report) -> String {
    let mut svg = String::new();
    let failure_rows = failure_rows(records);
    let band_bottom = BAND_TOP + ROW * failure_rows.len().max(1) as f64;
    let x = TimeAxis::new(records);
    let y = LatencyAxis::new(records, band_bottom + 12.0);

    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="10">
<rect width="100%" height="100%" fill="white"/>
<text x="{LEFT}" y="18" font-size="13" font-weight="bold">{}</text>
"#,
        escape(&title(name, report))
    );

    // Shade the downtime window behind everything.
    if let (Some(first), Some(last)) = (report.first_failure_ms, report.last_failure_ms) {
        let (from, to) = (x.px(first), x.px(last));
        let _ = writeln!(
            svg,
            r#"<rect x="{from:.1}" y="{BAND_TOP}" width="{:.1}" height="{:.1}" fill="{FAILURE}" fill-opacity="0.08"/>"#,
            (to - from).max(1.0),
            BOTTOM - BAND_TOP
        );
    }
    x.draw(&mut svg, y.top);
    y.draw(&mut svg);

    // Failure band: one labelled row per failure label.
    let _ = writeln!(
        svg,
        r##"<rect x="{LEFT}" y="{BAND_TOP}" width="{}" height="{}" fill="none" stroke="#ccc"/>"##,
        RIGHT - LEFT,
        band_bottom - BAND_TOP
    );
    for (row, label) in failure_rows.iter().enumerate() {
        let top = BAND_TOP + ROW * row as f64;
        let _ = writeln!(
            svg,
            r#"<text x="{}" y="{:.1}" fill="{FAILURE}">{}</text>"#,
            RIGHT + 6.0,
            top + ROW - 2.0,
            escape(label)
        );
        for record in records
            .iter()
            .filter(|r| r.failure_label().as_ref() == Some(label))
        {
            let _ = writeln!(
                svg,
                r#"<rect x="{:.1}" y="{:.1}" width="1.5" height="{}" fill="{FAILURE}"/>"#,
                x.px(record.sent_ms),
                top + 1.0,
                ROW - 2.0
            );
        }
    }
    if failure_rows.is_empty() {
        let _ = writeln!(
            svg,
            r#"<text x="{}" y="{:.1}" fill="{NO_VERSION}">no failures</text>"#,
            RIGHT + 6.0,
            BAND_TOP + ROW - 2.0
        );
    }

    if let Some(switch) = report.switch_ms {
        let px = x.px(switch);
        let _ = writeln!(
            svg,
            r##"<line x1="{px:.1}" y1="{:.1}" x2="{px:.1}" y2="{BOTTOM}" stroke="#333" stroke-dasharray="3,3"/>
<text x="{:.1}" y="{:.1}" fill="#333">switch</text>"##,
            y.top,
            px + 3.0,
            y.top + 9.0
        );
    }

    // Ok requests: latency, coloured by the version that answered.
    for record in records.iter().filter(|r| r.is_ok()) {
        let _ = writeln!(
            svg,
            r#"<circle cx="{:.1}" cy="{:.1}" r="1.6" fill="{}"/>"#,
            x.px(record.sent_ms),
            y.px(record.latency_ms),
            colour(&report.versions, record.version.as_deref())
        );
    }

    legend(&mut svg, &report.versions, y.top);
    svg.push_str("</svg>\n");
    svg
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
        .map_or(NO_VERSION, |i| PALETTE[i % PALETTE.len()])
}

fn legend(svg: &mut String, versions: &[String], top: f64) {
    let entries = versions
        .iter()
        .enumerate()
        .map(|(i, v)| (PALETTE[i % PALETTE.len()], shorten(v)))
        .chain([
            (NO_VERSION, "static page (no version)".to_owned()),
            (FAILURE, "failure (band above)".to_owned()),
        ]);
    for (i, (fill, text)) in entries.enumerate() {
        let y = top + 14.0 * i as f64 + 6.0;
        let _ = writeln!(
            svg,
            r#"<circle cx="{}" cy="{y:.1}" r="4" fill="{fill}"/><text x="{}" y="{:.1}">{}</text>"#,
            RIGHT + 10.0,
            RIGHT + 18.0,
            y + 3.5,
            escape(&text)
        );
    }
}

/// Versions can be long; the legend column is not.
fn shorten(text: &str) -> String {
    const MAX: usize = 24;
    if text.chars().count() <= MAX {
        text.to_owned()
    } else {
        text.chars().take(MAX - 1).chain(['…']).collect()
    }
}

/// Seconds since start, linear, with ticks on a round step.
struct TimeAxis {
    end_ms: f64,
    step_s: f64,
}

impl TimeAxis {
    fn new(records: &[Record]) -> TimeAxis {
        let last = records.iter().map(|r| r.sent_ms).fold(0.0, f64::max);
        let end_s = (last / 1000.0).ceil().max(1.0);
        let step_s = [1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0]
            .into_iter()
            .find(|step| end_s / step <= 12.0)
            .unwrap_or(1800.0);
        TimeAxis {
            end_ms: end_s * 1000.0,
            step_s,
        }
    }

    fn px(&self, ms: f64) -> f64 {
        LEFT + (RIGHT - LEFT) * (ms / self.end_ms).clamp(0.0, 1.0)
    }

    fn draw(&self, svg: &mut String, plot_top: f64) {
        let _ = writeln!(
            svg,
            r##"<line x1="{LEFT}" y1="{BOTTOM}" x2="{RIGHT}" y2="{BOTTOM}" stroke="#333"/>
<text x="{}" y="{}" text-anchor="middle">time since start (s)</text>"##,
            (LEFT + RIGHT) / 2.0,
            BOTTOM + 30.0
        );
        let ticks = (self.end_ms / 1000.0 / self.step_s).floor() as usize;
        for tick in 0..=ticks {
            let seconds = tick as f64 * self.step_s;
            let px = self.px(seconds * 1000.0);
            let _ = writeln!(
                svg,
                r##"<line x1="{px:.1}" y1="{plot_top:.1}" x2="{px:.1}" y2="{}" stroke="#eee"/><text x="{px:.1}" y="{}" text-anchor="middle">{seconds}</text>"##,
                BOTTOM + 4.0,
                BOTTOM + 15.0
            );
        }
    }
}

/// Latency in ms on a log scale (ok answers take 1 ms, slow ones seconds), whole decades.
struct LatencyAxis {
    top: f64,
    low_exp: i32,
    high_exp: i32,
}

impl LatencyAxis {
    fn new(records: &[Record], top: f64) -> LatencyAxis {
        let ok = || records.iter().filter(|r| r.is_ok()).map(|r| r.latency_ms);
        let min = ok().fold(f64::INFINITY, f64::min).max(0.01);
        let max = ok().fold(0.0, f64::max);
        let (low_exp, high_exp) = if max > 0.0 {
            let low = min.log10().floor() as i32;
            (low, (max.log10().ceil() as i32).max(low + 1))
        } else {
            (0, 3)
        };
        LatencyAxis {
            top,
            low_exp,
            high_exp,
        }
    }

    fn px(&self, ms: f64) -> f64 {
        let (low, high) = (self.low_exp as f64, self.high_exp as f64);
        let fraction = ((ms.max(1e-3).log10() - low) / (high - low)).clamp(0.0, 1.0);
        BOTTOM - (BOTTOM - self.top) * fraction
    }

    fn draw(&self, svg: &mut String) {
        let _ = writeln!(
            svg,
            r##"<line x1="{LEFT}" y1="{:.1}" x2="{LEFT}" y2="{BOTTOM}" stroke="#333"/>
<text transform="translate(14 {:.1}) rotate(-90)" text-anchor="middle">latency (ms, log)</text>"##,
            self.top,
            (self.top + BOTTOM) / 2.0
        );
        for exp in self.low_exp..=self.high_exp {
            let ms = 10f64.powi(exp);
            let py = self.px(ms);
            let _ = writeln!(
                svg,
                r##"<line x1="{}" y1="{py:.1}" x2="{RIGHT}" y2="{py:.1}" stroke="#eee"/><text x="{}" y="{:.1}" text-anchor="end">{ms}</text>"##,
                LEFT - 4.0,
                LEFT - 6.0,
                py + 3.5
            );
        }
    }
}

/// Text content and attribute values in XML.
pub fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&apos;"),
            c => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::super::record::sample::{error, maintenance, ok};
    use super::super::record::{ErrorKind, Kind};
    use super::super::report::summarize;
    use super::*;

    #[test]
    fn escapes_text() {
        assert_eq!(
            escape(r#"a<b & "c">'"#),
            "a&lt;b &amp; &quot;c&quot;&gt;&apos;"
        );
    }

    #[test]
    fn draws_points_failure_rows_and_legend() {
        let records = vec![
            ok(0, Kind::List, 0.0, "v<1>"),
            maintenance(1, Kind::List, 500.0),
            error(2, Kind::List, 1000.0, ErrorKind::Timeout),
            maintenance(3, Kind::Page, 1500.0),
            ok(4, Kind::List, 2000.0, "v2"),
        ];
        let svg = render("run & <test>", &records, &summarize(&records));
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
        assert_eq!(svg.matches("<text").count(), svg.matches("</text>").count());
    }
}
