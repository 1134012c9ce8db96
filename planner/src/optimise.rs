//! The optimiser: how many bounces, and how far out the spiral may reach, for the estimated
//! flight time to fit the battery. The time model is the old product's, kept because pilots'
//! expectations (and our reference figures) were set by it; `plan.rs` checks it against the
//! length of the path actually planned.

use serde::{Deserialize, Serialize};

/// Radius of the first waypoint, feet.
pub const START_RADIUS_FT: f64 = 200.0;
/// Search range and tolerance of the hold radius, feet.
const MAX_RADIUS_FT: f64 = 50_000.0;
const TOLERANCE_FT: f64 = 25.0;
/// Horizontal speed assumed by the time model: 25 mph in feet per minute.
const SPEED_FT_PER_MIN: f64 = 25.0 * 5280.0 / 60.0;
/// Take-off, climb to the first waypoint, return and landing.
const OVERHEAD_MIN: f64 = 1.5;
/// Use at most this share of the battery (the rest is the pilot's reserve)…
pub const MAX_BATTERY_SHARE: f64 = 0.98;
/// …and if the best plan uses less than this share, try one more bounce.
const MIN_BATTERY_SHARE: f64 = 0.85;
pub const MIN_BOUNCES: u32 = 3;
pub const MAX_BOUNCES: u32 = 15;

/// The shape of a mission: `slices` wedges (one per battery), `bounces` zig-zags outbound and
/// inbound, from `r0_ft` out to about `r_hold_ft`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SpiralParams {
    pub slices: u32,
    pub bounces: u32,
    pub r0_ft: f64,
    pub r_hold_ft: f64,
}

/// The bounce count the old planner aimed for, by battery minutes.
pub fn target_bounces(minutes: f64) -> u32 {
    let n = if minutes <= 12.0 {
        7
    } else if minutes <= 18.0 {
        8
    } else if minutes <= 25.0 {
        9
    } else if minutes <= 35.0 {
        10
    } else if minutes <= 45.0 {
        12
    } else {
        15
    };
    n.clamp(MIN_BOUNCES, MAX_BOUNCES)
}

/// Growth rates of the spiral: (nominal α, outbound early α, outbound late α). The outbound leg
/// grows faster for its first 40 % and slower after, which spends more of the flight far out.
pub fn growth_rates(p: &SpiralParams) -> (f64, f64, f64) {
    let dphi = std::f64::consts::TAU / f64::from(p.slices);
    let alpha = (p.r_hold_ft / p.r0_ft).ln() / (f64::from(p.bounces) * dphi);
    let ratio = p.r_hold_ft / p.r0_ft;
    let (early, late) = if ratio > 20.0 {
        (1.02, 0.80)
    } else if ratio > 10.0 {
        (1.05, 0.85)
    } else {
        (1.0, 0.90)
    };
    (alpha, alpha * early, alpha * late)
}

/// Share of the outbound leg flown at the early growth rate.
pub const EARLY_SHARE: f64 = 0.4;

/// Arc length of a logarithmic spiral of growth rate `alpha` between radii `a` and `b`
/// (a circle's arc over `dt` radians when it does not grow).
fn spiral_arc(a: f64, b: f64, alpha: f64, dt: f64) -> f64 {
    if alpha.abs() < 1e-12 {
        a * dt
    } else {
        (b - a).abs() / alpha * (1.0 + alpha * alpha).sqrt()
    }
}

/// (radius after the early part, largest radius reached).
pub fn outbound_radii(p: &SpiralParams) -> (f64, f64) {
    let (_, early, late) = growth_rates(p);
    let t_out = f64::from(p.bounces) * std::f64::consts::TAU / f64::from(p.slices);
    let r_split = p.r0_ft * (early * EARLY_SHARE * t_out).exp();
    (
        r_split,
        r_split * (late * (1.0 - EARLY_SHARE) * t_out).exp(),
    )
}

/// Estimated minutes for one battery's mission under the time model.
pub fn estimate_minutes(p: &SpiralParams) -> f64 {
    let (_, early, late) = growth_rates(p);
    let dphi = std::f64::consts::TAU / f64::from(p.slices);
    let t_out = f64::from(p.bounces) * dphi;
    let (r_split, r_max) = outbound_radii(p);
    let outbound = spiral_arc(p.r0_ft, r_split, early, EARLY_SHARE * t_out)
        + spiral_arc(r_split, r_max, late, (1.0 - EARLY_SHARE) * t_out);
    let hold = r_max * dphi;
    let inbound = spiral_arc(r_max, p.r0_ft, late, t_out);
    (outbound + hold + inbound) / SPEED_FT_PER_MIN + OVERHEAD_MIN
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Optimised {
    pub params: SpiralParams,
    pub estimated_minutes: f64,
}

/// The largest hold radius whose estimate fits `limit` minutes, by bisection; None when even
/// the smallest spiral does not fit.
fn search_radius(slices: u32, bounces: u32, limit: f64) -> Option<Optimised> {
    let params = |r| SpiralParams {
        slices,
        bounces,
        r0_ft: START_RADIUS_FT,
        r_hold_ft: r,
    };
    let (mut lo, mut hi) = (START_RADIUS_FT, MAX_RADIUS_FT);
    let mut best = None;
    for _ in 0..30 {
        if hi - lo < TOLERANCE_FT {
            break;
        }
        let mid = f64::midpoint(lo, hi);
        let minutes = estimate_minutes(&params(mid));
        if minutes <= limit {
            best = Some(Optimised {
                params: params(mid),
                estimated_minutes: minutes,
            });
            lo = mid;
        } else {
            hi = mid;
        }
    }
    if best.is_none() {
        // The search never probed just above the start radius; a tiny spiral may still fit.
        let p = params(START_RADIUS_FT + TOLERANCE_FT);
        let minutes = estimate_minutes(&p);
        if minutes <= limit {
            best = Some(Optimised {
                params: p,
                estimated_minutes: minutes,
            });
        }
    }
    best
}

/// The mission for `batteries` batteries of `minutes` each: the target bounce count, the
/// largest hold radius that keeps the estimate within 98 % of the battery, and one more bounce
/// while the result would use less than 85 % of it.
pub fn optimise(minutes: f64, batteries: u32) -> Option<Optimised> {
    let limit = minutes * MAX_BATTERY_SHARE;
    let mut bounces = target_bounces(minutes);
    // A short battery may not fit the target bounce count at all: fewer bounces, then.
    let mut best = loop {
        if let Some(found) = search_radius(batteries, bounces, limit) {
            break found;
        }
        if bounces == MIN_BOUNCES {
            return None;
        }
        bounces -= 1;
    };
    while best.estimated_minutes < minutes * MIN_BATTERY_SHARE && bounces < MAX_BOUNCES {
        bounces += 1;
        match search_radius(batteries, bounces, limit) {
            Some(next) => best = next,
            None => break,
        }
    }
    Some(best)
}

/// The shortest battery (whole minutes) that can fly any mission split `batteries` ways.
pub fn minimum_minutes(batteries: u32) -> u32 {
    let smallest = SpiralParams {
        slices: batteries,
        bounces: MIN_BOUNCES,
        r0_ft: START_RADIUS_FT,
        r_hold_ft: START_RADIUS_FT + TOLERANCE_FT,
    };
    let minutes = (estimate_minutes(&smallest) / MAX_BATTERY_SHARE).ceil();
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // a few minutes
    let minutes = minutes as u32;
    minutes
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// The old optimiser's published results.
    #[test]
    fn reproduces_the_reference_missions() {
        for (minutes, batteries, bounces, radius, est) in [
            (20.0, 3, 9, 2753.0, 19.6),
            (20.0, 4, 9, 4699.0, 19.6),
            (30.0, 2, 10, 2510.0, 29.4),
        ] {
            let o = optimise(minutes, batteries).unwrap();
            assert_eq!(o.params.bounces, bounces, "{minutes}×{batteries}");
            assert!(
                (o.params.r_hold_ft - radius).abs() <= TOLERANCE_FT,
                "{minutes}×{batteries}: {} ft",
                o.params.r_hold_ft
            );
            assert!(
                (o.estimated_minutes - est).abs() < 0.1,
                "{}",
                o.estimated_minutes
            );
        }
    }

    #[test]
    fn bounce_targets_follow_the_minutes() {
        let got: Vec<u32> = [5.0, 12.0, 13.0, 18.0, 25.0, 30.0, 40.0, 60.0]
            .iter()
            .map(|&m| target_bounces(m))
            .collect();
        assert_eq!(got, [7, 7, 8, 8, 9, 10, 12, 15]);
    }

    #[test]
    fn a_battery_too_short_for_take_off_and_landing_has_no_plan() {
        assert!(optimise(1.0, 3).is_none());
        let short = optimise(4.0, 3).unwrap();
        assert!(short.params.bounces < target_bounces(4.0));
        assert!(short.estimated_minutes <= 4.0 * MAX_BATTERY_SHARE);
        for batteries in 1..=12 {
            let m = minimum_minutes(batteries);
            assert!(
                optimise(f64::from(m), batteries).is_some(),
                "{batteries}: {m}"
            );
            assert!(
                optimise(f64::from(m - 1), batteries).is_none(),
                "{batteries}: {m}"
            );
        }
    }
}
