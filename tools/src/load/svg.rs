//! The ramps as a self-contained SVG: two panels against the offered rate, achieved throughput
//! on top and p99 below, one line per endpoint, knees ringed. All axes are logarithmic: the
//! rates double from step to step and latencies span milliseconds to seconds.

use std::fmt::Write;

use super::ramp::{Ramp, Step, KNEE_P99_MS};
use super::LoadReport;
use crate::probe::svg::escape;

const WIDTH: f64 = 940.0;
const HEIGHT: f64 = 600.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 700.0;
/// Top and bottom of the throughput panel, then of the latency panel.
const THROUGHPUT: (f64, f64) = (60.0, 280.0);
const LATENCY: (f64, f64) = (320.0, 540.0);
const GUIDE: &str = "#888888";
const PALETTE: [&str; 6] = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#17becf", "#8c564b",
];

/// The plot of `report`'s ramps.
pub fn render(report: &LoadReport) -> String {
    let ramps = &report.ramps;
    let offered = ramps.iter().flat_map(|r| &r.steps).map(|s| s.offered_rps);
    let achieved = ramps
        .iter()
        .flat_map(|r| &r.steps)
        .map(|s| s.measured.achieved_rps);
    // One range for both axes of the top panel, so that "achieved = offered" is the diagonal.
    let rates = Scale::spanning(offered.clone().chain(achieved));
    let x = Axis::new(rates, LEFT, RIGHT);
    let throughput = Axis::new(rates, THROUGHPUT.1, THROUGHPUT.0);
    let p99s = ramps
        .iter()
        .flat_map(|r| &r.steps)
        .filter_map(|s| s.measured.p99_ms);
    let latency = Axis::new(
        Scale::spanning(p99s.chain([KNEE_P99_MS])),
        LATENCY.1,
        LATENCY.0,
    );

    let mut svg = String::new();
    let c = &report.comparison;
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="10">
<rect width="100%" height="100%" fill="white"/>
<text x="{LEFT}" y="18" font-size="13" font-weight="bold">foobar.com under load: {} cores shared by oha and the stack, {} s steps</text>
<text x="{LEFT}" y="34">GET /api/posts/{{id}} at concurrency {}: full stack {:.0} req/s = {:.2} × straight to the app, {:.2} × pgbench -S</text>
"#,
        report.cores,
        report.plan.step_secs,
        c.concurrency,
        c.full_stack.achieved_rps,
        c.full_stack_over_direct,
        c.full_stack_over_pgbench,
    );

    x.draw_horizontal(&mut svg, THROUGHPUT, "");
    x.draw_horizontal(&mut svg, LATENCY, "offered rate (req/s, log)");
    throughput.draw_vertical(&mut svg, "achieved (req/s, log)");
    latency.draw_vertical(&mut svg, "p99 (ms, log)");
    let (from, to) = (rates.low(), rates.high());
    guide(
        &mut svg,
        (x.px(from), throughput.px(from)),
        (x.px(to), throughput.px(to)),
        "achieved = offered",
    );
    let knee_line = latency.px(KNEE_P99_MS);
    guide(
        &mut svg,
        (LEFT, knee_line),
        (RIGHT, knee_line),
        &format!("knee: p99 {KNEE_P99_MS} ms"),
    );

    for (i, ramp) in ramps.iter().enumerate() {
        let colour = PALETTE[i % PALETTE.len()];
        series(&mut svg, ramp, colour, (&x, &throughput), |s| {
            Some(s.measured.achieved_rps)
        });
        series(&mut svg, ramp, colour, (&x, &latency), |s| {
            s.measured.p99_ms
        });
        legend(&mut svg, i, colour, ramp);
    }
    let y = legend_y(ramps.len());
    let _ = writeln!(
        svg,
        r#"<circle cx="{}" cy="{y:.1}" r="6" fill="none" stroke="{GUIDE}" stroke-width="1.5"/><text x="{}" y="{:.1}">knee</text>"#,
        RIGHT + 20.0,
        RIGHT + 32.0,
        y + 3.5
    );
    svg.push_str("</svg>\n");
    svg
}

/// `ramp` as a polyline of `value` against the offered rate, a dot on each step, a ring on the
/// knee. Steps without a value (no p99 when nothing answered) are left out.
fn series(
    svg: &mut String,
    ramp: &Ramp,
    colour: &str,
    (x, y): (&Axis, &Axis),
    value: impl Fn(&Step) -> Option<f64>,
) {
    let points: Vec<(f64, f64, &Step)> = ramp
        .steps
        .iter()
        .filter_map(|step| Some((x.px(step.offered_rps), y.px(value(step)?), step)))
        .collect();
    let path: Vec<String> = points
        .iter()
        .map(|(x, y, _)| format!("{x:.1},{y:.1}"))
        .collect();
    let _ = writeln!(
        svg,
        r#"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="1.5"/>"#,
        path.join(" ")
    );
    for (x, y, step) in points {
        let _ = writeln!(
            svg,
            r#"<circle cx="{x:.1}" cy="{y:.1}" r="2.5" fill="{colour}"/>"#
        );
        if ramp.knee_rps == Some(step.offered_rps) {
            let _ = writeln!(
                svg,
                r#"<circle cx="{x:.1}" cy="{y:.1}" r="6" fill="none" stroke="{colour}" stroke-width="1.5"/>"#
            );
        }
    }
}

fn guide(svg: &mut String, (x1, y1): (f64, f64), (x2, y2): (f64, f64), label: &str) {
    let _ = writeln!(
        svg,
        r#"<line x1="{x1:.1}" y1="{y1:.1}" x2="{x2:.1}" y2="{y2:.1}" stroke="{GUIDE}" stroke-dasharray="4,3"/>
<text x="{:.1}" y="{:.1}" text-anchor="end" fill="{GUIDE}">{}</text>"#,
        x2 - 4.0,
        y2 - 4.0,
        escape(label)
    );
}

fn legend_y(row: usize) -> f64 {
    THROUGHPUT.0 + 16.0 * row as f64
}

fn legend(svg: &mut String, row: usize, colour: &str, ramp: &Ramp) {
    let y = legend_y(row);
    let knee = ramp
        .knee_rps
        .map_or("no knee".into(), |rps| format!("knee {rps:.0}/s"));
    let _ = writeln!(
        svg,
        r#"<line x1="{}" y1="{y:.1}" x2="{}" y2="{y:.1}" stroke="{colour}" stroke-width="2"/><text x="{}" y="{:.1}">{} ({knee})</text>"#,
        RIGHT + 12.0,
        RIGHT + 28.0,
        RIGHT + 32.0,
        y + 3.5,
        escape(&ramp.endpoint)
    );
}

/// Whole decades covering some positive values (zeros, as in "nothing achieved", are left out).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Scale {
    low_exp: i32,
    high_exp: i32,
}

impl Scale {
    fn spanning(values: impl Iterator<Item = f64>) -> Scale {
        let (min, max) = values
            .filter(|v| *v > 0.0)
            .fold((f64::INFINITY, 0.0_f64), |(min, max), v| {
                (min.min(v), max.max(v))
            });
        if max == 0.0 {
            return Scale {
                low_exp: 0,
                high_exp: 1,
            };
        }
        let low_exp = min.log10().floor() as i32;
        Scale {
            low_exp,
            high_exp: (max.log10().ceil() as i32).max(low_exp + 1),
        }
    }

    fn low(self) -> f64 {
        10f64.powi(self.low_exp)
    }

    fn high(self) -> f64 {
        10f64.powi(self.high_exp)
    }

    /// 1, 2 and 5 times each power of ten in range.
    fn ticks(self) -> impl Iterator<Item = f64> {
        (self.low_exp..=self.high_exp)
            .flat_map(|exp| [1.0, 2.0, 5.0].map(|m| m * 10f64.powi(exp)))
            .filter(move |v| *v <= self.high())
    }
}

/// A [`Scale`] laid out between two pixel positions (`to` < `from` for a vertical axis).
struct Axis {
    scale: Scale,
    from: f64,
    to: f64,
}

impl Axis {
    fn new(scale: Scale, from: f64, to: f64) -> Axis {
        Axis { scale, from, to }
    }

    fn px(&self, value: f64) -> f64 {
        let (low, high) = (self.scale.low_exp as f64, self.scale.high_exp as f64);
        let fraction = ((value.max(1e-9).log10() - low) / (high - low)).clamp(0.0, 1.0);
        self.from + (self.to - self.from) * fraction
    }

    /// Along the bottom of a panel spanning `(top, bottom)`, with vertical grid lines.
    fn draw_horizontal(&self, svg: &mut String, (top, bottom): (f64, f64), title: &str) {
        let _ = writeln!(
            svg,
            r##"<line x1="{LEFT}" y1="{bottom}" x2="{RIGHT}" y2="{bottom}" stroke="#333"/>
<text x="{}" y="{}" text-anchor="middle">{}</text>"##,
            (LEFT + RIGHT) / 2.0,
            bottom + 28.0,
            escape(title)
        );
        for tick in self.scale.ticks() {
            let px = self.px(tick);
            let _ = writeln!(
                svg,
                r##"<line x1="{px:.1}" y1="{top}" x2="{px:.1}" y2="{}" stroke="#eee"/><text x="{px:.1}" y="{}" text-anchor="middle">{}</text>"##,
                bottom + 4.0,
                bottom + 14.0,
                number(tick)
            );
        }
    }

    /// Along the left of the panel it spans, with horizontal grid lines.
    fn draw_vertical(&self, svg: &mut String, title: &str) {
        let _ = writeln!(
            svg,
            r##"<line x1="{LEFT}" y1="{:.1}" x2="{LEFT}" y2="{:.1}" stroke="#333"/>
<text transform="translate(14 {:.1}) rotate(-90)" text-anchor="middle">{}</text>"##,
            self.to,
            self.from,
            (self.from + self.to) / 2.0,
            escape(title)
        );
        for tick in self.scale.ticks() {
            let py = self.px(tick);
            let _ = writeln!(
                svg,
                r##"<line x1="{}" y1="{py:.1}" x2="{RIGHT}" y2="{py:.1}" stroke="#eee"/><text x="{}" y="{:.1}" text-anchor="end">{}</text>"##,
                LEFT - 4.0,
                LEFT - 6.0,
                py + 3.5,
                number(tick)
            );
        }
    }
}

/// Tick labels: 0.5, 20, 5k, 10k.
fn number(value: f64) -> String {
    if value >= 1000.0 {
        format!("{}k", value / 1000.0)
    } else {
        format!("{value}")
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::report;
    use super::*;

    #[test]
    fn scale_covers_the_values_in_whole_decades() {
        let scale = Scale::spanning([0.0, 150.0, 3200.0].into_iter());
        assert_eq!(
            scale,
            Scale {
                low_exp: 2,
                high_exp: 4
            }
        );
        let ticks: Vec<f64> = scale.ticks().collect();
        assert_eq!(
            ticks,
            [100.0, 200.0, 500.0, 1000.0, 2000.0, 5000.0, 10000.0]
        );
        assert_eq!(
            Scale::spanning([0.0].into_iter()),
            Scale {
                low_exp: 0,
                high_exp: 1
            }
        );
    }

    #[test]
    fn axis_maps_decades_evenly() {
        let axis = Axis::new(
            Scale {
                low_exp: 2,
                high_exp: 4,
            },
            500.0,
            100.0,
        );
        assert_eq!(axis.px(100.0), 500.0);
        assert_eq!(axis.px(1000.0), 300.0);
        assert_eq!(axis.px(1e9), 100.0, "clamped to the axis");
    }

    #[test]
    fn draws_both_panels_with_a_line_per_endpoint_and_the_knee() {
        let svg = render(&report());
        assert!(svg.starts_with("<svg ") && svg.ends_with("</svg>\n"));
        assert_eq!(
            svg.matches("<polyline").count(),
            2,
            "throughput and p99 lines"
        );
        assert_eq!(
            svg.matches(r#"r="2.5""#).count(),
            6,
            "a dot per step and panel"
        );
        assert_eq!(
            svg.matches(r#"r="6""#).count(),
            3,
            "the knee in both panels, and the legend's ring"
        );
        assert!(svg.contains("GET /api/posts/{id} (knee 400/s)"));
        assert!(svg.contains("knee: p99 50 ms"));
        assert_eq!(svg.matches("<text").count(), svg.matches("</text>").count());
    }
}
