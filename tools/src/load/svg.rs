//! The ramps as a self-contained SVG: two panels against the offered rate, achieved throughput
//! on top and p99 below, one line per endpoint, knees ringed. All axes are logarithmic: the
//! rates double from step to step and latencies span milliseconds to seconds.

use super::ramp::{Ramp, Step, KNEE_P99_MS};
use super::LoadReport;
use crate::plot::{self, Plot, Scale, Svg, Swatch, MUTED};

const WIDTH: f64 = 940.0;
const HEIGHT: f64 = 600.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 700.0;

/// The plot of `report`'s ramps.
pub fn render(report: &LoadReport) -> String {
    let c = &report.comparison;
    let title = format!(
        "foobar.com under load: {} cores shared by oha and the stack, {} s steps",
        report.cores, report.plan.step_secs
    );
    let subtitle = format!(
        "GET /api/posts/{{id}} at concurrency {}: full stack {:.0} req/s = {:.2} × straight to the app, {:.2} × pgbench -S",
        c.concurrency, c.full_stack.achieved_rps, c.full_stack_over_direct, c.full_stack_over_pgbench,
    );
    render_ramps(&title, &subtitle, &report.ramps)
}

/// `ramps` under `title` and `subtitle`, a line each, labelled by its `endpoint`.
pub fn render_ramps(title: &str, subtitle: &str, ramps: &[Ramp]) -> String {
    let steps = || ramps.iter().flat_map(|r| &r.steps);
    // One range for both axes of the top panel, so that "achieved = offered" is the diagonal.
    let rates = Scale::log(steps().flat_map(|s| [s.offered_rps, s.measured.achieved_rps]));
    let p99s = steps().filter_map(|s| s.measured.p99_ms);
    let p99s = Scale::log(p99s.chain([KNEE_P99_MS]));
    let panel = |top_bottom, y| Plot::new((LEFT, RIGHT), top_bottom, rates, y);
    let (throughput, latency) = (panel((60.0, 280.0), rates), panel((320.0, 540.0), p99s));

    let mut svg = Svg::new(WIDTH, HEIGHT, LEFT, &[title, subtitle]);
    svg.axes(&throughput, "", "achieved (req/s, log)");
    svg.axes(&latency, "offered rate (req/s, log)", "p99 (ms, log)");
    let (low, high) = (rates.low, rates.high);
    let (from, to) = (throughput.at(low, low), throughput.at(high, high));
    svg.guide(from, to, MUTED, "achieved = offered");
    let knee = latency.py(KNEE_P99_MS);
    let label = format!("knee: p99 {KNEE_P99_MS} ms");
    svg.guide((LEFT, knee), (RIGHT, knee), MUTED, &label);

    let mut legend = Vec::new();
    for (i, ramp) in ramps.iter().enumerate() {
        let colour = plot::series(i);
        series(&mut svg, ramp, colour, &throughput, |s| {
            Some(s.measured.achieved_rps)
        });
        series(&mut svg, ramp, colour, &latency, |s| s.measured.p99_ms);
        let knee = (ramp.knee_rps).map_or("no knee".into(), |rps| format!("knee {rps:.0}/s"));
        legend.push((Swatch::Line(colour), format!("{} ({knee})", ramp.endpoint)));
    }
    legend.push((Swatch::Ring(MUTED), "knee".into()));
    svg.legend((RIGHT + 12.0, throughput.top), &legend);
    svg.finish()
}

/// `ramp` as a polyline of `value` against the offered rate, a dot on each step, a ring on the
/// knee. Steps without a value (no p99 when nothing answered) are left out.
fn series(
    svg: &mut Svg,
    ramp: &Ramp,
    colour: &'static str,
    plot: &Plot,
    value: impl Fn(&Step) -> Option<f64>,
) {
    let points: Vec<(f64, (f64, f64))> = (ramp.steps.iter())
        .filter_map(|step| Some((step.offered_rps, plot.at(step.offered_rps, value(step)?))))
        .collect();
    svg.polyline(
        &points.iter().map(|(_, at)| *at).collect::<Vec<_>>(),
        colour,
    );
    for (rps, at) in points {
        svg.dot(at, 2.5, colour);
        if ramp.knee_rps == Some(rps) {
            svg.ring(at, colour);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::report;
    use super::*;

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

    #[test]
    fn escapes_endpoints() {
        let mut report = report();
        report.ramps[0].endpoint = "GET /a?b=1&c=<2>".into();
        assert!(render(&report).contains(">GET /a?b=1&amp;c=&lt;2&gt; (knee 400/s)</text>"));
    }

    /// Both charts draw from the one palette: their first series (the first version answering
    /// ok, the first endpoint) is the same colour, and no other colour sneaks in.
    #[test]
    fn probe_and_load_share_the_palette() {
        use crate::probe::record::sample::{error, ok};
        use crate::probe::record::{ErrorKind, Kind};
        use crate::probe::report::summarize;

        let records = [
            ok(0, Kind::List, 0.0, "v1"),
            error(1, Kind::List, 500.0, ErrorKind::Refused),
        ];
        let probe = crate::probe::svg::render("run", &records, &summarize(&records), &[]);
        let load = render(&report());
        let first = format!(r#"fill="{}""#, plot::SERIES[0]);
        assert!(probe.contains(&format!("r=\"1.6\" {first}")));
        assert!(load.contains(&format!("r=\"2.5\" {first}")));
        for svg in [&probe, &load] {
            for colour in svg.split('"').filter(|v| v.starts_with('#')) {
                let known = [
                    plot::FAILURE,
                    plot::MUTED,
                    plot::INK,
                    plot::FRAME,
                    plot::GRID,
                ];
                assert!(
                    plot::SERIES.contains(&colour) || known.contains(&colour),
                    "{colour}"
                );
            }
        }
    }
}
