//! The plan as pictures: a top view of every battery's path around the centre with a scale bar
//! and north arrow, and an altitude profile of one battery over the ground under it. Plain SVG
//! strings, so the server and the browser draw the same thing.

use std::fmt::Write as _;

use crate::plan::{Kind, Plan};

/// One colour per battery, distinguishable and readable on white.
const COLOURS: [&str; 12] = [
    "#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#be185d", "#4d7c0f",
    "#7c3aed", "#b45309", "#0f766e", "#475569",
];

pub fn battery_colour(index: usize) -> &'static str {
    COLOURS[index % COLOURS.len()]
}

/// A round length (1, 2 or 5 × 10ⁿ) close to `target`.
fn nice_length(target: f64) -> f64 {
    let magnitude = 10f64.powf(target.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .rfind(|&v| v <= target)
        .unwrap_or(magnitude)
}

fn format_ft(ft: f64) -> String {
    if ft >= 5280.0 && (ft / 5280.0).fract() < 1e-9 {
        format!("{} mi", ft / 5280.0)
    } else {
        format!("{ft:.0} ft")
    }
}

/// The top view, north up, 400×400 user units.
pub fn top_view(plan: &Plan) -> String {
    let extent = plan
        .batteries
        .iter()
        .flat_map(|b| &b.waypoints)
        .map(|w| w.x_ft.abs().max(w.y_ft.abs()))
        .fold(1.0, f64::max);
    let size = 400.0;
    let scale = (size / 2.0 - 30.0) / extent;
    let (cx, cy) = (size / 2.0, size / 2.0);
    let total: usize = plan.batteries.iter().map(|b| b.waypoints.len()).sum();
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {size} {size}\" role=\"img\" \
         data-testid=\"plan-top-view\" data-batteries=\"{}\" data-waypoints=\"{total}\" \
         aria-label=\"Top view of {} battery paths reaching {:.0} ft from the centre\">",
        plan.batteries.len(),
        plan.batteries.len(),
        extent
    );
    let _ = write!(
        s,
        "<rect width=\"{size}\" height=\"{size}\" fill=\"#f8fafc\"/>"
    );
    for (i, b) in plan.batteries.iter().enumerate() {
        let points: Vec<String> = b
            .waypoints
            .iter()
            .map(|w| format!("{:.1},{:.1}", cx + w.x_ft * scale, cy - w.y_ft * scale))
            .collect();
        let colour = battery_colour(i);
        let _ = write!(
            s,
            "<polyline points=\"{}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"1.6\" stroke-linejoin=\"round\"><title>Battery {}</title></polyline>",
            points.join(" "),
            i + 1
        );
        for w in b.waypoints.iter().filter(|w| w.kind == Kind::RidgeSafety) {
            let _ = write!(
                s,
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"#facc15\" stroke=\"#000\"><title>Ridge clearance waypoint</title></circle>",
                cx + w.x_ft * scale,
                cy - w.y_ft * scale
            );
        }
        if let Some(hold) = b.waypoints.iter().find(|w| w.kind == Kind::HoldMid) {
            let (hx, hy) = (hold.x_ft * scale, hold.y_ft * scale);
            let norm = hx.hypot(hy).max(1.0);
            let _ = write!(
                s,
                "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"13\" font-weight=\"bold\" fill=\"{colour}\" text-anchor=\"middle\" dominant-baseline=\"middle\">{}</text>",
                cx + hx + 12.0 * hx / norm,
                cy - hy - 12.0 * hy / norm,
                i + 1
            );
        }
    }
    let _ = write!(
        s,
        "<path d=\"M{} {cy}h10M{cx} {}v10\" stroke=\"#111\" stroke-width=\"2\"/><title>Take-off (centre)</title>",
        cx - 5.0,
        cy - 5.0
    );
    // Scale bar (about a quarter of the width) and north arrow.
    let bar_ft = nice_length(size * 0.25 / scale);
    let bar = bar_ft * scale;
    let _ = write!(
        s,
        "<g data-testid=\"scale-bar\"><path d=\"M16 {y}v-6M16 {y}h{bar:.1}v-6\" stroke=\"#111\" stroke-width=\"2\" fill=\"none\"/>\
         <text x=\"{:.1}\" y=\"{}\" font-size=\"12\" text-anchor=\"middle\">{}</text></g>",
        16.0 + bar / 2.0,
        size - 26.0,
        format_ft(bar_ft),
        y = size - 14.0,
    );
    let _ = write!(
        s,
        "<g><path d=\"M{x} 34l-7 14h14z\" fill=\"#111\"/><text x=\"{x}\" y=\"28\" font-size=\"12\" text-anchor=\"middle\">N</text></g></svg>",
        x = size - 24.0
    );
    s
}

/// Altitude (above take-off) along battery `index`'s path, with the ground under it and the
/// height band; 600×200 user units.
pub fn altitude_profile(plan: &Plan, index: usize) -> String {
    let Some(b) = plan.batteries.get(index) else {
        return String::new();
    };
    let (w, h, left, bottom) = (600.0, 200.0, 44.0, 22.0);
    let mut along = vec![0.0];
    for pair in b.waypoints.windows(2) {
        let last = along.last().copied().unwrap_or(0.0);
        along.push(last + (pair[1].x_ft - pair[0].x_ft).hypot(pair[1].y_ft - pair[0].y_ft));
    }
    let length = along.last().copied().unwrap_or(1.0).max(1.0);
    let low = b.waypoints.iter().map(|p| p.ground_ft).fold(0.0, f64::min);
    let high = b
        .waypoints
        .iter()
        .map(|p| p.altitude_ft)
        .fold(plan.inputs.max_height_ft, f64::max);
    let span = (high - low).max(1.0);
    let px = |d: f64| left + d / length * (w - left - 8.0);
    let py = |alt: f64| 8.0 + (high - alt) / span * (h - bottom - 8.0);
    let colour = battery_colour(index);
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {h}\" role=\"img\" data-testid=\"plan-profile\" \
         aria-label=\"Altitude profile of battery {}\"><rect width=\"{w}\" height=\"{h}\" fill=\"#f8fafc\"/>",
        index + 1
    );
    let ground: Vec<String> = b
        .waypoints
        .iter()
        .zip(&along)
        .map(|(p, d)| format!("{:.1},{:.1}", px(*d), py(p.ground_ft)))
        .collect();
    let _ = write!(
        s,
        "<polygon points=\"{:.1},{:.1} {} {:.1},{:.1}\" fill=\"#d6d3d1\"><title>Ground</title></polygon>",
        px(0.0),
        h - bottom,
        ground.join(" "),
        px(length),
        h - bottom
    );
    let path: Vec<String> = b
        .waypoints
        .iter()
        .zip(&along)
        .map(|(p, d)| format!("{:.1},{:.1}", px(*d), py(p.altitude_ft)))
        .collect();
    let _ = write!(
        s,
        "<polyline points=\"{}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\"/>",
        path.join(" ")
    );
    for (label, alt) in [
        ("0", 0.0),
        (
            &*format!("{:.0}", plan.inputs.max_height_ft),
            plan.inputs.max_height_ft,
        ),
    ] {
        let _ = write!(
            s,
            "<path d=\"M{left} {y:.1}H{:.1}\" stroke=\"#94a3b8\" stroke-dasharray=\"4 3\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"end\">{label}</text>",
            w - 8.0,
            left - 4.0,
            py(alt) + 4.0,
            y = py(alt)
        );
    }
    let _ = write!(
        s,
        "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"middle\">{} along the path · ft above take-off</text></svg>",
        f64::midpoint(left, w),
        h - 6.0,
        format_ft(length.round())
    );
    s
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn scale_bars_use_round_lengths() {
        assert!((nice_length(730.0) - 500.0).abs() < 1e-9);
        assert!((nice_length(2100.0) - 2000.0).abs() < 1e-9);
        assert!((nice_length(99.0) - 50.0).abs() < 1e-9);
        assert_eq!(format_ft(5280.0), "1 mi");
        assert_eq!(format_ft(500.0), "500 ft");
    }
}
