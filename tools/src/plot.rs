//! The one place the tools draw their reports: a palette, scales, and the SVG primitives
//! (document, axes, legend, marks). Hand-written rather than a plotting crate because the charts
//! are small and this keeps them self-contained SVG with nothing to pull in. The charts
//! themselves are `probe::svg` (a run over time) and `load::svg` (latency against rate).

use std::fmt::Write;

/// Series in order: versions of a probe run, endpoints of a load run.
pub const SERIES: [&str; 6] = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#17becf", "#8c564b",
];
/// Failures only, so that red always means something went wrong.
pub const FAILURE: &str = "#d62728";
/// Guides and things outside the series (answers without a version).
pub const MUTED: &str = "#888888";
pub const INK: &str = "#333333";
pub const FRAME: &str = "#cccccc";
pub const GRID: &str = "#eeeeee";

/// The colour of the `i`th series, cycling when there are more series than colours.
pub fn series(i: usize) -> &'static str {
    SERIES[i % SERIES.len()]
}

/// How values map to [0, 1] along an axis, and where its ticks go.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scale {
    pub low: f64,
    pub high: f64,
    /// Whole decades: latencies span milliseconds to seconds and load rates double per step.
    pub log: bool,
}

impl Scale {
    /// Seconds from 0 to `max` rounded up.
    pub fn seconds(max: f64) -> Scale {
        let high = max.ceil().max(1.0);
        Scale {
            low: 0.0,
            high,
            log: false,
        }
    }

    /// Whole decades covering the positive `values` (zeros, as in "nothing achieved", are left
    /// out; with none, 1 to 10).
    pub fn log(values: impl IntoIterator<Item = f64>) -> Scale {
        let (min, max) = (values.into_iter().filter(|v| *v > 0.0))
            .fold((f64::INFINITY, 0.0_f64), |(min, max), v| {
                (min.min(v), max.max(v))
            });
        let (low, high) = if max == 0.0 {
            (0, 1)
        } else {
            let low = min.log10().floor() as i32;
            (low, (max.log10().ceil() as i32).max(low + 1))
        };
        Scale {
            low: 10f64.powi(low),
            high: 10f64.powi(high),
            log: true,
        }
    }

    /// Where `value` falls, clamped to the axis.
    fn fraction(self, value: f64) -> f64 {
        let f = |v: f64| if self.log { v.max(1e-9).log10() } else { v };
        ((f(value) - f(self.low)) / (f(self.high) - f(self.low))).clamp(0.0, 1.0)
    }

    /// Seconds: on a step that reads well in seconds and minutes. Log: 1, 2 and 5 times each
    /// power of ten, or only the powers of ten when more than three decades would crowd them.
    pub fn ticks(self) -> Vec<f64> {
        if !self.log {
            let step = [1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0]
                .into_iter()
                .find(|step| self.high / step <= 12.0)
                .unwrap_or(1800.0);
            let count = (self.high / step).floor() as usize;
            return (0..=count).map(|i| i as f64 * step).collect();
        }
        let (low, high) = (
            self.low.log10().round() as i32,
            self.high.log10().round() as i32,
        );
        let multiples: &[f64] = if high - low <= 3 {
            &[1.0, 2.0, 5.0]
        } else {
            &[1.0]
        };
        (low..=high)
            .flat_map(|exp| multiples.iter().map(move |m| m * 10f64.powi(exp)))
            .filter(|v| *v <= self.high)
            .collect()
    }
}

/// A plotting area in pixels with a scale on each axis.
pub struct Plot {
    pub left: f64,
    pub right: f64,
    pub top: f64,
    pub bottom: f64,
    pub x: Scale,
    pub y: Scale,
}

impl Plot {
    pub fn new((left, right): (f64, f64), (top, bottom): (f64, f64), x: Scale, y: Scale) -> Plot {
        Plot {
            left,
            right,
            top,
            bottom,
            x,
            y,
        }
    }

    pub fn px(&self, x: f64) -> f64 {
        self.left + (self.right - self.left) * self.x.fraction(x)
    }

    pub fn py(&self, y: f64) -> f64 {
        self.bottom - (self.bottom - self.top) * self.y.fraction(y)
    }

    pub fn at(&self, x: f64, y: f64) -> (f64, f64) {
        (self.px(x), self.py(y))
    }
}

/// What a legend entry shows next to its text.
pub enum Swatch {
    Dot(&'static str),
    Line(&'static str),
    Ring(&'static str),
}

/// An SVG document being written; [`Svg::finish`] closes it.
pub struct Svg {
    out: String,
    width: f64,
}

impl Svg {
    /// A white page with `titles` at `left`: the first bold, the others as lines under it.
    pub fn new(width: f64, height: f64, left: f64, titles: &[&str]) -> Svg {
        let mut svg = Svg {
            out: format!(
                r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="10">
<rect width="100%" height="100%" fill="white"/>
"#
            ),
            width,
        };
        for (i, title) in titles.iter().enumerate() {
            let attrs = if i == 0 {
                r#"font-size="13" font-weight="bold""#
            } else {
                ""
            };
            svg.text((left, 18.0 + 16.0 * i as f64), attrs, title);
        }
        svg
    }

    pub fn finish(mut self) -> String {
        self.out.push_str("</svg>\n");
        self.out
    }

    /// `text`, escaped, at `(x, y)` with extra `attrs` (anchor, fill, font).
    pub fn text(&mut self, (x, y): (f64, f64), attrs: &str, text: &str) {
        let _ = writeln!(
            self.out,
            r#"<text x="{x:.1}" y="{y:.1}" {attrs}>{}</text>"#,
            escape(text)
        );
    }

    pub fn line(&mut self, (x1, y1): (f64, f64), (x2, y2): (f64, f64), attrs: &str) {
        let _ = writeln!(
            self.out,
            r#"<line x1="{x1:.1}" y1="{y1:.1}" x2="{x2:.1}" y2="{y2:.1}" {attrs}/>"#
        );
    }

    pub fn rect(&mut self, (x, y): (f64, f64), (width, height): (f64, f64), attrs: &str) {
        let _ = writeln!(
            self.out,
            r#"<rect x="{x:.1}" y="{y:.1}" width="{width:.1}" height="{height:.1}" {attrs}/>"#
        );
    }

    pub fn dot(&mut self, (x, y): (f64, f64), r: f64, fill: &str) {
        let _ = writeln!(
            self.out,
            r#"<circle cx="{x:.1}" cy="{y:.1}" r="{r}" fill="{fill}"/>"#
        );
    }

    /// A ring around a point that stands out, such as a knee.
    pub fn ring(&mut self, (x, y): (f64, f64), stroke: &str) {
        let _ = writeln!(
            self.out,
            r#"<circle cx="{x:.1}" cy="{y:.1}" r="6" fill="none" stroke="{stroke}" stroke-width="1.5"/>"#
        );
    }

    pub fn polyline(&mut self, points: &[(f64, f64)], stroke: &str) {
        let points: Vec<String> = points
            .iter()
            .map(|(x, y)| format!("{x:.1},{y:.1}"))
            .collect();
        let _ = writeln!(
            self.out,
            r#"<polyline points="{}" fill="none" stroke="{stroke}" stroke-width="1.5"/>"#,
            points.join(" ")
        );
    }

    /// A dashed reference line labelled at its end (`to`).
    pub fn guide(&mut self, from: (f64, f64), to: (f64, f64), colour: &str, label: &str) {
        self.line(
            from,
            to,
            &format!(r#"stroke="{colour}" stroke-dasharray="4,3""#),
        );
        let attrs = format!(r#"text-anchor="end" fill="{colour}""#);
        self.text((to.0 - 4.0, to.1 - 4.0), &attrs, label);
    }

    /// Both axes of `plot` with grid lines and tick labels; an empty title is left out (a panel
    /// sharing the x axis of the one below).
    pub fn axes(&mut self, plot: &Plot, x_title: &str, y_title: &str) {
        let (left, right, top, bottom) = (plot.left, plot.right, plot.top, plot.bottom);
        for tick in plot.x.ticks() {
            let px = plot.px(tick);
            self.line(
                (px, top),
                (px, bottom + 4.0),
                &format!(r#"stroke="{GRID}""#),
            );
            self.text(
                (px, bottom + 14.0),
                r#"text-anchor="middle""#,
                &number(tick),
            );
        }
        for tick in plot.y.ticks() {
            let py = plot.py(tick);
            self.line(
                (left - 4.0, py),
                (right, py),
                &format!(r#"stroke="{GRID}""#),
            );
            self.text(
                (left - 6.0, py + 3.5),
                r#"text-anchor="end""#,
                &number(tick),
            );
        }
        let ink = format!(r#"stroke="{INK}""#);
        self.line((left, bottom), (right, bottom), &ink);
        self.line((left, top), (left, bottom), &ink);
        if !x_title.is_empty() {
            let at = ((left + right) / 2.0, bottom + 28.0);
            self.text(at, r#"text-anchor="middle""#, x_title);
        }
        if !y_title.is_empty() {
            let _ = writeln!(
                self.out,
                r#"<text transform="translate(14 {:.1}) rotate(-90)" text-anchor="middle">{}</text>"#,
                (top + bottom) / 2.0,
                escape(y_title)
            );
        }
    }

    /// One row per entry from `(x, y)` down, text cut to fit the page's right margin.
    pub fn legend(&mut self, (x, y): (f64, f64), entries: &[(Swatch, String)]) {
        // A generous character width at font-size 10, so that text stays on the page.
        let max_chars = ((self.width - x - 20.0) / 6.0) as usize;
        for (row, (swatch, text)) in entries.iter().enumerate() {
            let y = y + 16.0 * row as f64;
            match *swatch {
                Swatch::Dot(fill) => self.dot((x + 8.0, y), 4.0, fill),
                Swatch::Line(stroke) => self.line(
                    (x, y),
                    (x + 16.0, y),
                    &format!(r#"stroke="{stroke}" stroke-width="2""#),
                ),
                Swatch::Ring(stroke) => self.ring((x + 8.0, y), stroke),
            }
            self.text((x + 20.0, y + 3.5), "", &shorten(text, max_chars));
        }
    }
}

fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        text.chars()
            .take(max.saturating_sub(1))
            .chain(['…'])
            .collect()
    }
}

/// Tick labels: 0.01, 0.5, 20, 5k, 10k.
pub fn number(value: f64) -> String {
    // Rounded so that 10^-2 and friends do not print their binary error.
    let round = |v: f64| (v * 1e6).round() / 1e6;
    if value >= 1000.0 {
        format!("{}k", round(value / 1000.0))
    } else {
        format!("{}", round(value))
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
    use super::*;

    #[test]
    fn escapes_text() {
        assert_eq!(
            escape(r#"a<b & "c">'"#),
            "a&lt;b &amp; &quot;c&quot;&gt;&apos;"
        );
        let mut svg = Svg::new(100.0, 100.0, 0.0, &["<t&t>"]);
        svg.legend((0.0, 0.0), &[(Swatch::Dot(SERIES[0]), "a<b".into())]);
        let svg = svg.finish();
        assert!(svg.contains(">&lt;t&amp;t&gt;</text>") && svg.contains(">a&lt;b</text>"));
    }

    #[test]
    fn log_scale_covers_the_values_in_whole_decades() {
        let scale = Scale::log([0.0, 150.0, 3200.0]);
        assert_eq!((scale.low, scale.high, scale.log), (100.0, 10000.0, true));
        let ticks = [100.0, 200.0, 500.0, 1000.0, 2000.0, 5000.0, 10000.0];
        assert_eq!(scale.ticks(), ticks);
        assert_eq!(
            Scale::log([0.0]).ticks(),
            [1.0, 2.0, 5.0, 10.0],
            "1 to 10 for nothing"
        );
        let wide = Scale::log([0.5, 5000.0]).ticks();
        let labels: Vec<String> = wide.into_iter().map(number).collect();
        assert_eq!(labels, ["0.1", "1", "10", "100", "1k", "10k"]);
    }

    #[test]
    fn seconds_tick_on_a_round_step() {
        let ticks = [0.0, 5.0, 10.0, 15.0, 20.0, 25.0, 30.0];
        assert_eq!(Scale::seconds(29.2).ticks(), ticks);
        assert_eq!(Scale::seconds(0.0).ticks(), [0.0, 1.0]);
    }

    #[test]
    fn plot_maps_decades_evenly_and_clamps() {
        let (x, y) = (Scale::seconds(10.0), Scale::log([100.0, 10000.0]));
        let plot = Plot::new((0.0, 200.0), (100.0, 500.0), x, y);
        assert_eq!(plot.at(5.0, 100.0), (100.0, 500.0));
        assert_eq!(plot.py(1000.0), 300.0);
        assert_eq!(plot.at(99.0, 1e9), (200.0, 100.0), "clamped to the axes");
    }

    #[test]
    fn legend_cuts_long_text_to_the_page() {
        let mut svg = Svg::new(200.0, 100.0, 0.0, &[]);
        svg.legend((120.0, 10.0), &[(Swatch::Line(MUTED), "x".repeat(40))]);
        assert!(svg
            .finish()
            .contains(&format!(">{}…</text>", "x".repeat(9))));
    }
}
