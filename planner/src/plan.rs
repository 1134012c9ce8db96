//! From inputs to waypoints: the spiral geometry of each battery's wedge, the altitude rules
//! (climb outbound, descend inbound, follow rising terrain, stay within the height band, clear
//! ridges), and what the camera does at each waypoint.

use std::f64::consts::{PI, TAU};

use serde::{Deserialize, Serialize};

use crate::elevation::Elevation;
use crate::optimise::{
    growth_rates, minimum_minutes, optimise, outbound_radii, Optimised, SpiralParams, EARLY_SHARE,
};

pub const FT_PER_M: f64 = 1.0 / 0.3048;
/// Climb per foot flown away from the start, outbound (the old product's later tuning).
pub const CLIMB_FT_PER_FT: f64 = 0.20;
/// Descent per foot flown back towards the centre, inbound.
pub const DESCENT_FT_PER_FT: f64 = 0.10;
/// Legs longer than this are checked for ridges between their ends.
pub const RIDGE_CHECK_FT: f64 = 300.0;
/// A ridge is cleared by this much (within the height band).
pub const RIDGE_CLEARANCE_FT: f64 = 100.0;
/// Horizontal speed flown, m/s (19.8 mph).
pub const SPEED_MPS: f64 = 8.85;
/// Seconds between photos.
pub const PHOTO_INTERVAL_S: f64 = 3.0;

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Inputs {
    pub center_lat: f64,
    pub center_lon: f64,
    pub battery_minutes: f64,
    pub batteries: u32,
    pub min_height_ft: f64,
    pub max_height_ft: f64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error(
        "no elevation for {lat:.5}, {lon:.5}: the terrain data does not cover the flight area"
    )]
    NoElevation { lat: String, lon: String },
}

fn invalid(field: &'static str, message: impl Into<String>) -> PlanError {
    PlanError::Invalid {
        field,
        message: message.into(),
    }
}

impl Inputs {
    pub fn validate(&self) -> Result<(), PlanError> {
        if !(self.center_lat.is_finite() && self.center_lat.abs() <= 85.0) {
            return Err(invalid("center", "latitude must be between -85 and 85"));
        }
        if !(self.center_lon.is_finite() && self.center_lon.abs() <= 180.0) {
            return Err(invalid("center", "longitude must be between -180 and 180"));
        }
        if !(1.0..=60.0).contains(&self.battery_minutes) {
            return Err(invalid("battery_minutes", "battery minutes must be 1–60"));
        }
        if !(1..=12).contains(&self.batteries) {
            return Err(invalid("batteries", "batteries must be 1–12"));
        }
        if !(self.min_height_ft.is_finite() && self.min_height_ft >= 10.0) {
            return Err(invalid(
                "min_height_ft",
                "the minimum height must be at least 10 ft",
            ));
        }
        if !(self.max_height_ft.is_finite() && self.max_height_ft >= self.min_height_ft) {
            return Err(invalid(
                "max_height_ft",
                "the maximum height must be at least the minimum height",
            ));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Start,
    OutboundMid,
    OutboundBounce,
    HoldMid,
    HoldEnd,
    InboundMid,
    InboundBounce,
    /// Extra point on a long arc (single-battery missions: keeps legs off the centre).
    Via,
    /// Inserted above a ridge found between two waypoints.
    RidgeSafety,
}

impl Kind {
    fn is_mid(self) -> bool {
        matches!(self, Self::OutboundMid | Self::HoldMid | Self::InboundMid)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Waypoint {
    pub kind: Kind,
    /// Feet east and north of the centre.
    pub x_ft: f64,
    pub y_ft: f64,
    pub lat: f64,
    pub lon: f64,
    /// Above the take-off point (the centre): what Litchi and DJI fly.
    pub altitude_ft: f64,
    /// Above the ground under the waypoint.
    pub agl_ft: f64,
    /// Ground under the waypoint relative to take-off.
    pub ground_ft: f64,
    /// Towards the next waypoint, degrees clockwise from north.
    pub heading_deg: f64,
    /// Turn radius, feet (0 at the first and last waypoint).
    pub curve_ft: f64,
    /// Camera tilt towards the centre, degrees (negative is down).
    pub gimbal_pitch_deg: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Battery {
    pub waypoints: Vec<Waypoint>,
    /// This wedge spans [start, start + width] in radians, counter-clockwise from east.
    pub wedge_start: f64,
    pub wedge_width: f64,
    /// The time model's estimate, minutes.
    pub estimated_minutes: f64,
    /// The planned 3-D path length at the model's speed, plus the same overhead, minutes.
    pub path_minutes: f64,
    pub length_ft: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub inputs: Inputs,
    pub params: SpiralParams,
    pub estimated_minutes: f64,
    pub batteries: Vec<Battery>,
}

/// The spiral's radius at parameter `t` (radians of travel).
fn radius(p: &SpiralParams, t: f64) -> f64 {
    let (_, early, late) = growth_rates(p);
    let dphi = TAU / f64::from(p.slices);
    let t_out = f64::from(p.bounces) * dphi;
    let (r_split, r_max) = outbound_radii(p);
    if t <= EARLY_SHARE * t_out {
        p.r0_ft * (early * t).exp()
    } else if t <= t_out {
        r_split * (late * (t - EARLY_SHARE * t_out)).exp()
    } else if t <= t_out + dphi {
        r_max
    } else {
        // Back to the start radius over the inbound leg.
        let inbound = (r_max / p.r0_ft).ln() / t_out;
        r_max * (-inbound * (t - t_out - dphi)).exp()
    }
}

/// The zig-zag: the angle runs up and down a triangle wave inside the wedge [0, dφ].
fn wedge_angle(dphi: f64, t: f64) -> f64 {
    let phase = (t / dphi).rem_euclid(2.0);
    if phase <= 1.0 {
        phase * dphi
    } else {
        (2.0 - phase) * dphi
    }
}

/// Wedge `k`'s rotation: the first points north, the rest follow counter-clockwise.
fn wedge_offset(p: &SpiralParams, k: u32) -> f64 {
    PI / 2.0 + f64::from(k) * TAU / f64::from(p.slices)
}

/// The horizontal path of battery `k`: (kind, x east ft, y north ft) — 4N+3 waypoints: start;
/// a mid and a bounce per outbound bounce; hold mid and end; the inbound mids and bounces.
/// A half-bounce wider than 90° (one battery: 180°) gets a via point per extra quarter, so no
/// straight leg cuts across the centre.
pub fn horizontal_path(p: &SpiralParams, k: u32) -> Vec<(Kind, f64, f64)> {
    let dphi = TAU / f64::from(p.slices);
    let t_out = f64::from(p.bounces) * dphi;
    let mut stations = vec![(Kind::Start, 0.0)];
    for b in 1..=p.bounces {
        let b = f64::from(b);
        stations.push((Kind::OutboundMid, (b - 0.5) * dphi));
        stations.push((Kind::OutboundBounce, b * dphi));
    }
    stations.push((Kind::HoldMid, t_out + dphi / 2.0));
    stations.push((Kind::HoldEnd, t_out + dphi));
    stations.push((Kind::InboundMid, t_out + 1.5 * dphi));
    for b in 1..=p.bounces {
        stations.push((Kind::InboundBounce, t_out + dphi + f64::from(b) * dphi));
        if b < p.bounces {
            stations.push((Kind::InboundMid, t_out + dphi + (f64::from(b) + 0.5) * dphi));
        }
    }
    let half = dphi / 2.0;
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // 1 or 2
    let splits = (half / (PI / 2.0) - 1e-9).ceil().max(1.0) as u32;
    let mut with_via = Vec::with_capacity(stations.len() * splits as usize);
    for (i, &(kind, t)) in stations.iter().enumerate() {
        if i > 0 && splits > 1 {
            let prev = stations[i - 1].1;
            for s in 1..splits {
                with_via.push((
                    Kind::Via,
                    prev + (t - prev) * f64::from(s) / f64::from(splits),
                ));
            }
        }
        with_via.push((kind, t));
    }
    let offset = wedge_offset(p, k);
    with_via
        .into_iter()
        .map(|(kind, t)| {
            let (r, a) = (radius(p, t), wedge_angle(dphi, t) + offset);
            (kind, r * a.cos(), r * a.sin())
        })
        .collect()
}

/// Local feet east/north → latitude/longitude (spherical Earth: a few km from the centre the
/// error is centimetres).
fn to_lat_lon(center_lat: f64, center_lon: f64, x_ft: f64, y_ft: f64) -> (f64, f64) {
    const R_M: f64 = 6_378_137.0;
    let (x, y) = (x_ft / FT_PER_M, y_ft / FT_PER_M);
    let lat = center_lat + (y / R_M).to_degrees();
    let lon = center_lon + (x / (R_M * center_lat.to_radians().cos())).to_degrees();
    (lat, lon)
}

/// Ground height relative to take-off at a local point, feet.
fn ground_ft(
    inputs: &Inputs,
    elevation: &dyn Elevation,
    takeoff_m: f64,
    x: f64,
    y: f64,
) -> Result<f64, PlanError> {
    let (lat, lon) = to_lat_lon(inputs.center_lat, inputs.center_lon, x, y);
    let h = elevation
        .elevation_m(lat, lon)
        .ok_or_else(|| PlanError::NoElevation {
            lat: format!("{lat}"),
            lon: format!("{lon}"),
        })?;
    Ok((h - takeoff_m) * FT_PER_M)
}

/// Height above take-off for a desired height above ground: follow rising terrain (never dive
/// into valleys below take-off), then keep within [min, max] above the actual ground.
fn altitude_for(inputs: &Inputs, desired_agl: f64, ground: f64) -> f64 {
    let alt = ground.max(0.0) + desired_agl;
    alt.clamp(ground + inputs.min_height_ft, ground + inputs.max_height_ft)
}

/// Plans every battery's mission.
pub fn plan(inputs: &Inputs, elevation: &dyn Elevation) -> Result<Plan, PlanError> {
    inputs.validate()?;
    let Optimised {
        params,
        estimated_minutes,
    } = optimise(inputs.battery_minutes, inputs.batteries).ok_or_else(|| {
        invalid(
            "battery_minutes",
            format!(
                "a {}-minute battery is too short to fly a mission split {} ways (take-off and landing alone take 1.5 minutes); use at least {} minutes",
                inputs.battery_minutes,
                inputs.batteries,
                minimum_minutes(inputs.batteries)
            ),
        )
    })?;
    let takeoff_m = elevation
        .elevation_m(inputs.center_lat, inputs.center_lon)
        .ok_or_else(|| PlanError::NoElevation {
            lat: format!("{}", inputs.center_lat),
            lon: format!("{}", inputs.center_lon),
        })?;
    let batteries = (0..params.slices)
        .map(|k| battery(inputs, &params, k, elevation, takeoff_m, estimated_minutes))
        .collect::<Result<_, _>>()?;
    Ok(Plan {
        inputs: *inputs,
        params,
        estimated_minutes,
        batteries,
    })
}

#[allow(clippy::many_single_char_names)] // k: battery, i: waypoint, a/b: leg ends, as in the docs
fn battery(
    inputs: &Inputs,
    params: &SpiralParams,
    k: u32,
    elevation: &dyn Elevation,
    takeoff_m: f64,
    estimated_minutes: f64,
) -> Result<Battery, PlanError> {
    let path = horizontal_path(params, k);
    // Desired height above ground along the path (the old rules, in one reference frame).
    let first_dist = path[0].1.hypot(path[0].2);
    let (mut top_agl, mut top_dist) = (inputs.min_height_ft, first_dist);
    let mut inbound = false;
    let mut points: Vec<(Kind, f64, f64, f64, f64)> = Vec::with_capacity(path.len()); // kind x y alt ground
    for &(kind, x, y) in &path {
        let d = x.hypot(y);
        inbound |= matches!(kind, Kind::InboundMid | Kind::InboundBounce);
        let desired = if inbound {
            (top_agl - DESCENT_FT_PER_FT * (top_dist - d).max(0.0)).max(inputs.min_height_ft)
        } else {
            let agl = inputs.min_height_ft + CLIMB_FT_PER_FT * (d - first_dist).max(0.0);
            if agl > top_agl {
                (top_agl, top_dist) = (agl, d);
            }
            agl
        };
        let ground = ground_ft(inputs, elevation, takeoff_m, x, y)?;
        points.push((kind, x, y, altitude_for(inputs, desired, ground), ground));
    }
    // Ridges between waypoints: sample long legs; where the straight leg would pass below the
    // minimum height, insert a waypoint clearing the highest ground by the ridge clearance.
    let mut i = 0;
    while i + 1 < points.len() {
        let (a, b) = (points[i], points[i + 1]);
        let leg = (b.1 - a.1).hypot(b.2 - a.2);
        if leg > RIDGE_CHECK_FT {
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let samples = (leg / 50.0).ceil() as usize;
            let mut worst: Option<(f64, f64, f64, f64)> = None; // (shortfall, x, y, ground)
            for s in 1..samples {
                #[allow(clippy::cast_precision_loss)]
                let f = s as f64 / samples as f64;
                let (x, y) = (a.1 + (b.1 - a.1) * f, a.2 + (b.2 - a.2) * f);
                let ground = ground_ft(inputs, elevation, takeoff_m, x, y)?;
                let line = a.3 + (b.3 - a.3) * f;
                let shortfall = ground + inputs.min_height_ft - line;
                if shortfall > 0.0 && worst.is_none_or(|w| ground > w.3) {
                    worst = Some((shortfall, x, y, ground));
                }
            }
            if let Some((_, x, y, ground)) = worst {
                let clearance =
                    RIDGE_CLEARANCE_FT.clamp(inputs.min_height_ft, inputs.max_height_ft);
                points.insert(i + 1, (Kind::RidgeSafety, x, y, ground + clearance, ground));
                continue; // re-check the first half of the split leg
            }
        }
        i += 1;
    }

    let n = points.len();
    let mut length = 0.0;
    let waypoints = (0..n)
        .map(|i| {
            let (kind, x, y, alt, ground) = points[i];
            let next = points
                .get(i + 1)
                .or(if i > 0 { points.get(i - 1) } else { None });
            let heading = next.map_or(0.0, |nx| {
                let (dx, dy) = if i + 1 < n {
                    (nx.1 - x, nx.2 - y)
                } else {
                    (x - nx.1, y - nx.2)
                };
                dx.atan2(dy).to_degrees().rem_euclid(360.0)
            });
            let leg = |j: usize| (points[j].1 - x).hypot(points[j].2 - y);
            if i + 1 < n {
                let dz = points[i + 1].3 - alt;
                length += leg(i + 1).hypot(dz);
            }
            let d = x.hypot(y);
            let curve = if i == 0 || i + 1 == n {
                0.0
            } else {
                let wanted = if kind.is_mid() {
                    (50.0 + 1.2 * d).min(1500.0)
                } else {
                    (40.0 + 0.05 * d).min(160.0)
                }
                .max(30.0);
                // Litchi refuses a curve wider than half the leg on either side.
                wanted.min(0.5 * leg(i - 1).min(leg(i + 1)))
            };
            let (lat, lon) = to_lat_lon(inputs.center_lat, inputs.center_lon, x, y);
            Waypoint {
                kind,
                x_ft: x,
                y_ft: y,
                lat,
                lon,
                altitude_ft: alt,
                agl_ft: alt - ground,
                ground_ft: ground,
                heading_deg: heading,
                curve_ft: curve,
                gimbal_pitch_deg: -alt.atan2(d).to_degrees().clamp(0.0, 90.0),
            }
        })
        .collect();
    let feet_per_minute = 25.0 * 5280.0 / 60.0;
    Ok(Battery {
        waypoints,
        wedge_start: wedge_offset(params, k),
        wedge_width: TAU / f64::from(params.slices),
        estimated_minutes,
        path_minutes: length / feet_per_minute + 1.5,
        length_ft: length,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::elevation::FlatGround;

    fn inputs(minutes: f64, batteries: u32) -> Inputs {
        Inputs {
            center_lat: 47.6205,
            center_lon: -122.3493,
            battery_minutes: minutes,
            batteries,
            min_height_ft: 120.0,
            max_height_ft: 400.0,
        }
    }

    #[test]
    fn every_battery_has_4n_plus_3_waypoints_starting_north() {
        let plan = plan(&inputs(20.0, 3), &FlatGround).unwrap();
        assert_eq!(plan.params.bounces, 9);
        assert_eq!(plan.batteries.len(), 3);
        for b in &plan.batteries {
            assert_eq!(b.waypoints.len(), 4 * 9 + 3);
            assert_eq!(b.waypoints[0].kind, Kind::Start);
        }
        let first = plan.batteries[0].waypoints[0];
        assert!(
            first.x_ft.abs() < 1e-9 && (first.y_ft - 200.0).abs() < 1e-9,
            "{first:?}"
        );
        let last = plan.batteries[0].waypoints.last().unwrap();
        assert!((last.x_ft.hypot(last.y_ft) - 200.0).abs() < 1e-6);
    }

    #[test]
    fn one_battery_flies_a_full_circle_without_crossing_the_centre() {
        let plan = plan(&inputs(20.0, 1), &FlatGround).unwrap();
        let b = &plan.batteries[0];
        assert!(plan.params.r_hold_ft > 400.0, "{:?}", plan.params);
        assert!(b.path_minutes <= 20.0 * 0.98);
        for w in b.waypoints.windows(2) {
            // The leg's closest approach to the centre stays near the spiral, never through it.
            let (ax, ay, bx, by) = (w[0].x_ft, w[0].y_ft, w[1].x_ft, w[1].y_ft);
            let (dx, dy) = (bx - ax, by - ay);
            let t = (-(ax * dx + ay * dy) / (dx * dx + dy * dy)).clamp(0.0, 1.0);
            let closest = (ax + t * dx).hypot(ay + t * dy);
            assert!(
                closest > 0.6 * ax.hypot(ay).min(bx.hypot(by)),
                "leg through the centre"
            );
        }
        let bearings: Vec<f64> = b.waypoints.iter().map(|w| w.y_ft.atan2(w.x_ft)).collect();
        let spread = bearings.iter().fold(f64::MIN, |a, &b| a.max(b))
            - bearings.iter().fold(f64::MAX, |a, &b| a.min(b));
        assert!(spread > 5.0, "covers every direction: {spread}");
    }

    #[test]
    fn altitude_climbs_outbound_and_descends_inbound_within_the_band() {
        let plan = plan(&inputs(20.0, 3), &FlatGround).unwrap();
        let w = &plan.batteries[1].waypoints;
        assert!((w[0].altitude_ft - 120.0).abs() < 1e-9);
        let top = w.iter().map(|p| p.altitude_ft).fold(0.0, f64::max);
        assert!(top > 300.0 && top <= 400.0, "{top}");
        assert!(w.last().unwrap().altitude_ft >= 120.0);
        assert!(w
            .iter()
            .all(|p| p.agl_ft >= 120.0 - 1e-9 && p.agl_ft <= 400.0 + 1e-9));
    }

    #[test]
    fn bad_inputs_name_their_field() {
        let field = |i: Inputs| match plan(&i, &FlatGround) {
            Err(PlanError::Invalid { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            field(Inputs {
                batteries: 0,
                ..inputs(20.0, 3)
            }),
            "batteries"
        );
        assert_eq!(
            field(Inputs {
                batteries: 13,
                ..inputs(20.0, 3)
            }),
            "batteries"
        );
        assert_eq!(field(inputs(0.5, 3)), "battery_minutes");
        assert_eq!(field(inputs(61.0, 3)), "battery_minutes");
        assert_eq!(field(inputs(1.0, 3)), "battery_minutes");
        assert_eq!(
            field(Inputs {
                max_height_ft: 100.0,
                ..inputs(20.0, 3)
            }),
            "max_height_ft"
        );
        assert_eq!(
            field(Inputs {
                center_lat: f64::NAN,
                ..inputs(20.0, 3)
            }),
            "center"
        );
    }
}
