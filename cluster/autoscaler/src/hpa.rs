//! Kubernetes' HorizontalPodAutoscaler algorithm, as its documentation states it
//! (kubernetes.io, "Horizontal Pod Autoscaling", "Algorithm details" and "Configurable scaling
//! behavior"), for tasks in place of pods. Pure: time and observations come in, a decision
//! comes out, so the tests can replay the document's cases.
//!
//! 1. `desired = ceil(current × metric / target)`, nothing within the tolerance (0.1) of 1.
//! 2. Tasks without a metric, or not yet ready, are set aside; if any were, the ratio is
//!    computed again assuming the missing ones use 100% of the target when scaling down and
//!    0% when scaling up, and the not-ready ones 0% (scaling up only). If that reverses the
//!    direction or falls within the tolerance, nothing changes.
//! 3. Stabilization: the result is the highest recommendation of the scale-down window (300 s)
//!    and the lowest of the scale-up window (0 s), so it scales up at once and down only when
//!    every recommendation of the window agreed.
//! 4. Rate limits per period: up by the larger of 100% and 4 tasks per 15 s, down by 100% per
//!    15 s; then within min and max.

use std::fmt;
use std::time::{Duration, Instant};

/// How far the scale may change within a period.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Policy {
    /// This many tasks per period.
    Tasks { value: u32, period: Duration },
    /// This percentage of the tasks at the start of the period.
    Percent { value: u32, period: Duration },
}

impl Policy {
    fn period(&self) -> Duration {
        match *self {
            Policy::Tasks { period, .. } | Policy::Percent { period, .. } => period,
        }
    }
}

/// Which policy wins when several apply: the one allowing the most change (HPA's `Max`, its
/// default), the least (`Min`), or none: no change in that direction (`Disabled`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Select {
    Max,
    Min,
    Disabled,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Behavior {
    pub stabilization: Duration,
    pub policies: Vec<Policy>,
    pub select: Select,
}

impl Behavior {
    /// HPA's default for scaling up: no window; 100% or 4 tasks per 15 s, whichever is more.
    pub fn default_up() -> Self {
        let period = Duration::from_secs(15);
        Behavior {
            stabilization: Duration::ZERO,
            policies: vec![
                Policy::Percent { value: 100, period },
                Policy::Tasks { value: 4, period },
            ],
            select: Select::Max,
        }
    }

    /// HPA's default for scaling down: a 300 s window; 100% per 15 s.
    pub fn default_down() -> Self {
        Behavior {
            stabilization: Duration::from_secs(300),
            policies: vec![Policy::Percent {
                value: 100,
                period: Duration::from_secs(15),
            }],
            select: Select::Max,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Spec {
    pub min: u32,
    pub max: u32,
    /// The metric's target per task (for CPU: the share of its quota, 0.6 = 60%).
    pub target: f64,
    pub tolerance: f64,
    pub up: Behavior,
    pub down: Behavior,
}

/// One task as observed: whether it is ready (Swarm runs it and its health check passed) and
/// its metric, if there is one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Task {
    pub ready: bool,
    pub metric: Option<f64>,
}

/// What step 1–2 made of the observations.
#[derive(Debug, Clone, PartialEq)]
pub struct Recommendation {
    /// The tasks' mean metric over those that have one and are ready (what step 1 uses).
    pub metric: Option<f64>,
    /// metric / target, before and after the set-aside tasks were counted in.
    pub ratio: Option<f64>,
    pub adjusted_ratio: Option<f64>,
    pub replicas: u32,
    pub reason: &'static str,
}

/// Steps 1 and 2: the replica count the metric asks for, before stabilization and limits.
pub fn recommend(current: u32, tasks: &[Task], target: f64, tolerance: f64) -> Recommendation {
    let measured: Vec<f64> = tasks
        .iter()
        .filter(|t| t.ready)
        .filter_map(|t| t.metric)
        .collect();
    let missing = tasks.iter().filter(|t| t.metric.is_none()).count();
    let unready = tasks
        .iter()
        .filter(|t| !t.ready && t.metric.is_some())
        .count();
    if measured.is_empty() {
        // HPA does not scale on no data at all: it reports the error and keeps the scale.
        return Recommendation {
            metric: None,
            ratio: None,
            adjusted_ratio: None,
            replicas: current,
            reason: "no ready task has a metric: scale kept",
        };
    }
    let sum: f64 = measured.iter().sum();
    let mean = sum / measured.len() as f64;
    let ratio = mean / target;
    let keep = |adjusted: Option<f64>, reason| Recommendation {
        metric: Some(mean),
        ratio: Some(ratio),
        adjusted_ratio: adjusted,
        replicas: current,
        reason,
    };
    let scale_up_with_unready = unready > 0 && ratio > 1.0;
    if !scale_up_with_unready && missing == 0 {
        if (1.0 - ratio).abs() <= tolerance {
            return keep(None, "within the tolerance");
        }
        return Recommendation {
            metric: Some(mean),
            ratio: Some(ratio),
            adjusted_ratio: None,
            replicas: (ratio * measured.len() as f64).ceil() as u32,
            reason: "metric / target",
        };
    }
    // Step 2: count the set-aside tasks in, each at the value that argues against the move.
    let mut adjusted_sum = sum;
    let mut counted = measured.len();
    if missing > 0 && ratio != 1.0 {
        if ratio < 1.0 {
            adjusted_sum += target * missing as f64;
        }
        counted += missing;
    }
    if scale_up_with_unready {
        counted += unready;
    }
    let adjusted = adjusted_sum / counted as f64 / target;
    if (1.0 - adjusted).abs() <= tolerance {
        return keep(
            Some(adjusted),
            "within the tolerance once the set-aside tasks count",
        );
    }
    if (ratio < 1.0 && adjusted > 1.0) || (ratio > 1.0 && adjusted < 1.0) {
        return keep(Some(adjusted), "the set-aside tasks reverse the direction");
    }
    let replicas = (adjusted * counted as f64).ceil() as u32;
    if (adjusted < 1.0 && replicas > current) || (adjusted > 1.0 && replicas < current) {
        return keep(Some(adjusted), "the set-aside tasks reverse the direction");
    }
    Recommendation {
        metric: Some(mean),
        ratio: Some(ratio),
        adjusted_ratio: Some(adjusted),
        replicas,
        reason: "metric / target, set-aside tasks counted in",
    }
}

/// One decision with every input it was made from (logged, and exported as metrics).
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub current: u32,
    pub recommendation: Recommendation,
    /// After the stabilization windows.
    pub stabilized: u32,
    /// After the rate limits and min/max: what to scale to.
    pub desired: u32,
    pub limited_by: Option<&'static str>,
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = &self.recommendation;
        let pct = |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("{:.0}%", v * 100.0));
        write!(
            f,
            "current {} metric {} ratio {} adjusted {} -> recommended {} ({}), stabilized {}, desired {}",
            self.current,
            pct(r.metric),
            r.ratio.map_or("-".to_owned(), |v| format!("{v:.2}")),
            r.adjusted_ratio.map_or("-".to_owned(), |v| format!("{v:.2}")),
            r.replicas,
            r.reason,
            self.stabilized,
            self.desired
        )?;
        if let Some(limit) = self.limited_by {
            write!(f, " (limited: {limit})")?;
        }
        Ok(())
    }
}

/// The controller's memory: past recommendations (stabilization) and scale events (rates).
#[derive(Debug)]
pub struct Autoscaler {
    pub spec: Spec,
    recommendations: Vec<(Instant, u32)>,
    /// (when, tasks added or removed: positive up, negative down)
    events: Vec<(Instant, i64)>,
}

impl Autoscaler {
    /// As HPA does when it starts with a scale-down window: the current scale counts as a
    /// recommendation made now, so a restarted controller does not scale down at once.
    pub fn new(spec: Spec, now: Instant, current: u32) -> Self {
        let recommendations = if spec.down.stabilization > Duration::ZERO {
            vec![(now, current)]
        } else {
            Vec::new()
        };
        Autoscaler {
            spec,
            recommendations,
            events: Vec::new(),
        }
    }

    /// One pass of the loop: what to scale to now. Call `scaled` once the change is made.
    pub fn decide(&mut self, now: Instant, current: u32, tasks: &[Task]) -> Decision {
        let spec = &self.spec;
        if current > spec.max || current < spec.min {
            let desired = current.clamp(spec.min, spec.max);
            return Decision {
                current,
                recommendation: Recommendation {
                    metric: None,
                    ratio: None,
                    adjusted_ratio: None,
                    replicas: desired,
                    reason: "outside min..max",
                },
                stabilized: desired,
                desired,
                limited_by: None,
            };
        }
        let recommendation = recommend(current, tasks, spec.target, spec.tolerance);
        let stabilized = self.stabilize(now, current, recommendation.replicas);
        let (desired, limited_by) = self.limit(now, current, stabilized);
        Decision {
            current,
            recommendation,
            stabilized,
            desired,
            limited_by,
        }
    }

    /// Records a change of scale made at `now`, for the rate limits.
    pub fn scaled(&mut self, now: Instant, from: u32, to: u32) {
        if from != to {
            self.events.push((now, i64::from(to) - i64::from(from)));
        }
        let longest = self
            .spec
            .up
            .policies
            .iter()
            .chain(&self.spec.down.policies)
            .map(Policy::period)
            .max()
            .unwrap_or_default();
        self.events
            .retain(|&(at, _)| now.saturating_duration_since(at) < longest);
    }

    fn stabilize(&mut self, now: Instant, current: u32, recommended: u32) -> u32 {
        let within = |at: Instant, window: Duration| now.saturating_duration_since(at) < window;
        let (up_window, down_window) = (self.spec.up.stabilization, self.spec.down.stabilization);
        let mut up = recommended;
        let mut down = recommended;
        for &(at, replicas) in &self.recommendations {
            if within(at, up_window) {
                up = up.min(replicas);
            }
            if within(at, down_window) {
                down = down.max(replicas);
            }
        }
        self.recommendations
            .retain(|&(at, _)| within(at, up_window) || within(at, down_window));
        self.recommendations.push((now, recommended));
        current.max(up).min(down)
    }

    /// Tasks added (positive) or removed (negative) within `period` before `now`.
    fn changed_within(&self, now: Instant, period: Duration, up: bool) -> i64 {
        self.events
            .iter()
            .filter(|&&(at, change)| {
                now.saturating_duration_since(at) < period && (change > 0) == up
            })
            .map(|&(_, change)| change.abs())
            .sum()
    }

    fn limit(&self, now: Instant, current: u32, desired: u32) -> (u32, Option<&'static str>) {
        let spec = &self.spec;
        let cur = i64::from(current);
        let start = |period| {
            cur - self.changed_within(now, period, true) + self.changed_within(now, period, false)
        };
        if desired > current {
            let proposals = spec.up.policies.iter().map(|p| match *p {
                Policy::Tasks { value, period } => start(period) + i64::from(value),
                Policy::Percent { value, period } => {
                    (start(period) as f64 * (1.0 + f64::from(value) / 100.0)).ceil() as i64
                }
            });
            let limit = match spec.up.select {
                Select::Max => proposals.max(),
                Select::Min => proposals.min(),
                Select::Disabled => None,
            }
            .unwrap_or(cur)
            .max(cur);
            let (allowed, why) = if i64::from(spec.max) > limit {
                (limit, "the scale-up rate")
            } else {
                (i64::from(spec.max), "max")
            };
            if i64::from(desired) > allowed {
                return (allowed as u32, Some(why));
            }
            (desired, None)
        } else if desired < current {
            let proposals = spec.down.policies.iter().map(|p| match *p {
                Policy::Tasks { value, period } => start(period) - i64::from(value),
                Policy::Percent { value, period } => {
                    (start(period) as f64 * (1.0 - f64::from(value) / 100.0)) as i64
                }
            });
            // The policy allowing the most change is the one with the lowest floor.
            let limit = match spec.down.select {
                Select::Max => proposals.min(),
                Select::Min => proposals.max(),
                Select::Disabled => None,
            }
            .unwrap_or(cur)
            .min(cur);
            let (allowed, why) = if i64::from(spec.min) < limit {
                (limit, "the scale-down rate")
            } else {
                (i64::from(spec.min), "min")
            };
            if i64::from(desired) < allowed {
                return (allowed as u32, Some(why));
            }
            (desired, None)
        } else {
            (desired, None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOLERANCE: f64 = 0.1;

    fn ready(metric: f64) -> Task {
        Task {
            ready: true,
            metric: Some(metric),
        }
    }

    fn spec(min: u32, max: u32) -> Spec {
        Spec {
            min,
            max,
            target: 0.5,
            tolerance: TOLERANCE,
            up: Behavior::default_up(),
            down: Behavior::default_down(),
        }
    }

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    // "if the current metric value is 200m, and the desired value is 100m, the number of
    // replicas will be doubled ... If the current value is instead 50m, you'll halve the number
    // of replicas"
    #[test]
    fn the_ratio_of_metric_to_target_multiplies_the_replicas() {
        assert_eq!(
            recommend(2, &[ready(0.2), ready(0.2)], 0.1, TOLERANCE).replicas,
            4
        );
        assert_eq!(recommend(4, &[ready(0.05); 4], 0.1, TOLERANCE).replicas, 2);
    }

    #[test]
    fn the_result_is_rounded_up() {
        // 3 × 0.6 / 0.5 = 3.6
        assert_eq!(recommend(3, &[ready(0.6); 3], 0.5, TOLERANCE).replicas, 4);
    }

    #[test]
    fn a_ratio_within_the_tolerance_changes_nothing() {
        let within = recommend(2, &[ready(0.54), ready(0.54)], 0.5, TOLERANCE);
        assert_eq!(
            (within.replicas, within.reason),
            (2, "within the tolerance")
        );
        // 0.56 / 0.5 = 1.12: beyond 0.1, so 2 × 1.12 = 2.24 -> 3.
        assert_eq!(
            recommend(2, &[ready(0.56), ready(0.56)], 0.5, TOLERANCE).replicas,
            3
        );
        assert_eq!(
            recommend(2, &[ready(0.46), ready(0.46)], 0.5, TOLERANCE).replicas,
            2
        );
    }

    #[test]
    fn missing_metrics_count_as_the_full_target_when_scaling_down() {
        // Two ready tasks at 10% of a 50% target would halve... (ratio 0.2), the third has no
        // metric: counted at 100% of the target, the ratio is (0.1 + 0.1 + 0.5) / 3 / 0.5.
        let tasks = [
            ready(0.1),
            ready(0.1),
            Task {
                ready: true,
                metric: None,
            },
        ];
        let r = recommend(3, &tasks, 0.5, TOLERANCE);
        let adjusted = 0.7 / 3.0 / 0.5;
        assert_eq!(r.adjusted_ratio, Some(adjusted));
        assert_eq!(r.replicas, (adjusted * 3.0).ceil() as u32);
        assert_eq!(r.replicas, 2);
    }

    #[test]
    fn missing_metrics_count_as_zero_when_scaling_up() {
        // 1.0 / 0.5 = 2 on the two measured; with the missing one at 0: 2.0 / 3 / 0.5 = 1.33.
        let tasks = [
            ready(1.0),
            ready(1.0),
            Task {
                ready: true,
                metric: None,
            },
        ];
        let r = recommend(3, &tasks, 0.5, TOLERANCE);
        assert_eq!(r.replicas, 4);
    }

    #[test]
    fn not_ready_tasks_count_as_zero_when_scaling_up_and_are_ignored_when_scaling_down() {
        let starting = Task {
            ready: false,
            metric: Some(0.9),
        };
        // Up: (0.75 + 0) / 2 / 0.5 = 0.75: the direction reverses, so nothing changes.
        let up = recommend(2, &[ready(0.75), starting], 0.5, TOLERANCE);
        assert_eq!(up.replicas, 2);
        assert_eq!(up.reason, "the set-aside tasks reverse the direction");
        // Down: the not-ready task is left out: 0.1 / 0.5 on one task -> 1.
        assert_eq!(
            recommend(2, &[ready(0.1), starting], 0.5, TOLERANCE).replicas,
            1
        );
    }

    #[test]
    fn set_aside_tasks_that_bring_the_ratio_within_the_tolerance_change_nothing() {
        // 0.6 / 0.5 = 1.2 alone; with a missing one at 0: 0.6 / 2 / 0.5 = 0.6 reverses. With
        // 0.55 × 2 + 0 over 3: 0.733 reverses too; a case landing within: 1.05 × 2 / 4 / 0.5.
        let tasks = [
            ready(1.05),
            ready(1.05),
            Task {
                ready: true,
                metric: None,
            },
            Task {
                ready: true,
                metric: None,
            },
        ];
        let r = recommend(4, &tasks, 0.5, TOLERANCE);
        assert_eq!(r.replicas, 4);
        assert_eq!(
            r.reason,
            "within the tolerance once the set-aside tasks count"
        );
    }

    #[test]
    fn no_metric_at_all_keeps_the_scale() {
        let none = [Task {
            ready: true,
            metric: None,
        }; 2];
        assert_eq!(recommend(2, &none, 0.5, TOLERANCE).replicas, 2);
        assert_eq!(recommend(2, &[], 0.5, TOLERANCE).replicas, 2);
    }

    #[test]
    fn scales_up_at_once() {
        let t0 = Instant::now();
        let mut hpa = Autoscaler::new(spec(1, 10), t0, 1);
        let d = hpa.decide(t0 + secs(15), 1, &[ready(1.0)]);
        assert_eq!(d.desired, 2);
    }

    #[test]
    fn scales_down_only_to_the_highest_recommendation_of_the_window() {
        let t0 = Instant::now();
        let mut hpa = Autoscaler::new(spec(1, 10), t0, 3);
        // The load falls at once; every recommendation of the last 300 s says 3 until the
        // start-up one is 300 s old.
        let low = [ready(0.1); 3];
        let mut scale = 3;
        let mut down_at = None;
        for s in (15..=600).step_by(15) {
            let now = t0 + secs(s);
            let d = hpa.decide(now, scale, &low);
            if d.desired != scale {
                hpa.scaled(now, scale, d.desired);
                down_at.get_or_insert(s);
                scale = d.desired;
            }
        }
        assert_eq!(down_at, Some(300));
        assert_eq!(scale, 1);
    }

    #[test]
    fn a_short_peak_within_the_window_holds_the_scale_up() {
        let t0 = Instant::now();
        let mut hpa = Autoscaler::new(spec(1, 10), t0, 2);
        hpa.decide(t0 + secs(100), 2, &[ready(1.0); 2]); // recommends 4: taken as 4
        let later = hpa.decide(t0 + secs(200), 4, &[ready(0.1); 4]);
        assert_eq!(later.stabilized, 4, "the 4 of 100 s ago is within 300 s");
        let after = hpa.decide(t0 + secs(401), 4, &[ready(0.1); 4]);
        assert_eq!(after.desired, 1);
    }

    #[test]
    fn scale_up_is_at_most_double_or_four_more_per_fifteen_seconds() {
        let t0 = Instant::now();
        let mut hpa = Autoscaler::new(spec(1, 100), t0, 1);
        // From 1: max(1 × 2, 1 + 4) = 5.
        let d = hpa.decide(t0, 1, &[ready(5.0)]);
        assert_eq!((d.desired, d.limited_by), (5, Some("the scale-up rate")));
        hpa.scaled(t0, 1, 5);
        // 10 s later the period began at 1: still 5 at most.
        let d = hpa.decide(t0 + secs(10), 5, &[ready(5.0); 5]);
        assert_eq!(d.desired, 5);
        // Once the period is over, from 5: max(10, 9) = 10.
        let d = hpa.decide(t0 + secs(15), 5, &[ready(5.0); 5]);
        assert_eq!(d.desired, 10);
    }

    // The document's example: "if there are 80 replicas and the target has to be scaled down
    // to 10 replicas then during the first step 8 replicas will be reduced. In the next
    // iteration when the number of replicas is 72, 10% of the pods is 7.2 but the number is
    // rounded up to 8."
    #[test]
    fn scale_down_policies_follow_the_documents_example() {
        let t0 = Instant::now();
        let mut s = spec(1, 100);
        s.down = Behavior {
            stabilization: Duration::ZERO,
            policies: vec![
                Policy::Tasks {
                    value: 4,
                    period: secs(60),
                },
                Policy::Percent {
                    value: 10,
                    period: secs(60),
                },
            ],
            select: Select::Max,
        };
        let mut hpa = Autoscaler::new(s, t0, 80);
        let low = vec![ready(0.0625); 80]; // 80 × 0.0625 / 0.5 = 10
        let d = hpa.decide(t0, 80, &low);
        assert_eq!(d.desired, 72);
        hpa.scaled(t0, 80, 72);
        let d = hpa.decide(t0 + secs(60), 72, &low[..72]);
        assert_eq!(d.desired, 64);
    }

    #[test]
    fn min_and_max_bound_the_scale() {
        let t0 = Instant::now();
        let mut s = spec(1, 3);
        s.down.stabilization = Duration::ZERO;
        let mut hpa = Autoscaler::new(s, t0, 2);
        let d = hpa.decide(t0, 2, &[ready(2.0); 2]);
        assert_eq!((d.desired, d.limited_by), (3, Some("max")));
        let d = hpa.decide(t0 + secs(15), 2, &[ready(0.0); 2]);
        assert_eq!((d.desired, d.limited_by), (1, Some("min")));
        // A scale already beyond the bounds is brought back within them.
        assert_eq!(hpa.decide(t0 + secs(30), 5, &[ready(0.5); 5]).desired, 3);
        assert_eq!(hpa.decide(t0 + secs(45), 0, &[]).desired, 1);
    }

    #[test]
    fn a_disabled_direction_never_moves() {
        let t0 = Instant::now();
        let mut s = spec(1, 10);
        s.down = Behavior {
            stabilization: Duration::ZERO,
            policies: vec![],
            select: Select::Disabled,
        };
        let mut hpa = Autoscaler::new(s, t0, 4);
        assert_eq!(hpa.decide(t0, 4, &[ready(0.0); 4]).desired, 4);
    }
}
