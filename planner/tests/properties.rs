//! Properties every plan must have, on random inputs and random terrain, and the old planner's
//! defects pinned as fixed.
#![allow(clippy::unwrap_used)]

use planner::elevation::{Elevation, FlatGround};
use planner::export::{
    dji_kmz, litchi_csv, parse_dji_kmz, parse_litchi_csv, Aircraft, LITCHI_HEADER,
};
use planner::plan::{plan, Inputs, Kind, Plan, RIDGE_CLEARANCE_FT};
use proptest::prelude::*;

/// Rolling hills around the centre: `amplitude_m` metres, a few hundred metres across.
struct Hills {
    lat: f64,
    lon: f64,
    amplitude_m: f64,
    phase: f64,
}

impl Elevation for Hills {
    fn elevation_m(&self, lat: f64, lon: f64) -> Option<f64> {
        let (y, x) = ((lat - self.lat) * 111_000.0, (lon - self.lon) * 75_000.0);
        Some(300.0 + self.amplitude_m * ((x / 180.0 + self.phase).sin() * (y / 240.0).cos()))
    }
}

/// A single ridge running north–south 600 ft east of the centre.
struct Ridge {
    lat: f64,
    lon: f64,
    height_m: f64,
}

impl Elevation for Ridge {
    fn elevation_m(&self, lat: f64, lon: f64) -> Option<f64> {
        let x_ft = (lon - self.lon) * 111_320.0 * self.lat.to_radians().cos() / 0.3048;
        let _ = lat;
        Some(self.height_m * (-((x_ft - 600.0) / 60.0).powi(2)).exp())
    }
}

fn bearing_in_wedge(x: f64, y: f64, start: f64, width: f64) -> bool {
    if width >= std::f64::consts::TAU - 1e-9 {
        return true;
    }
    let rel = (y.atan2(x) - start).rem_euclid(std::f64::consts::TAU);
    rel <= width + 1e-6 || rel >= std::f64::consts::TAU - 1e-6
}

fn check(plan: &Plan) -> Result<(), TestCaseError> {
    let i = &plan.inputs;
    for (k, b) in plan.batteries.iter().enumerate() {
        prop_assert!(b.estimated_minutes <= i.battery_minutes * 0.98 + 1e-9);
        prop_assert!(
            b.path_minutes <= i.battery_minutes,
            "battery {k}: {} min of path",
            b.path_minutes
        );
        for w in &b.waypoints {
            prop_assert!(
                w.agl_ft >= i.min_height_ft - 1e-6 && w.agl_ft <= i.max_height_ft + 1e-6,
                "battery {k} {:?}: {} ft above ground",
                w.kind,
                w.agl_ft
            );
            prop_assert!(
                bearing_in_wedge(w.x_ft, w.y_ft, b.wedge_start, b.wedge_width),
                "{w:?} outside wedge {k}"
            );
        }
        let csv = litchi_csv(plan, b);
        prop_assert!(csv.starts_with(LITCHI_HEADER));
        let from_csv = parse_litchi_csv(&csv).unwrap();
        let from_kmz = parse_dji_kmz(&dji_kmz(plan, b, Aircraft::default()).unwrap()).unwrap();
        prop_assert_eq!(from_csv.len(), b.waypoints.len());
        prop_assert_eq!(from_kmz.len(), b.waypoints.len());
        for ((w, c), z) in b.waypoints.iter().zip(&from_csv).zip(&from_kmz) {
            prop_assert!((w.lat - c.lat).abs() < 1e-6 && (w.lon - c.lon).abs() < 1e-6);
            prop_assert!((w.altitude_ft - c.altitude_ft).abs() <= 0.05 + 1e-9);
            prop_assert!((w.curve_ft - c.curve_ft).abs() <= 0.05 + 1e-9);
            prop_assert!((w.lat - z.lat).abs() < 1e-6 && (w.lon - z.lon).abs() < 1e-6);
            prop_assert!((w.altitude_ft - z.altitude_ft).abs() < 0.05);
            prop_assert!((w.curve_ft - z.curve_ft).abs() < 0.05);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn every_plan_fits_its_battery_band_and_wedges(
        minutes in 6u32..=60,
        batteries in 1u32..=12,
        min_h in 50.0f64..200.0,
        extra in 0.0f64..300.0,
        lat in -60.0f64..60.0,
        lon in -179.0f64..179.0,
        amplitude in 0.0f64..60.0,
        phase in 0.0f64..6.0,
    ) {
        let inputs = Inputs {
            center_lat: lat,
            center_lon: lon,
            battery_minutes: f64::from(minutes),
            batteries,
            min_height_ft: min_h,
            max_height_ft: min_h + extra,
        };
        check(&plan(&inputs, &FlatGround).unwrap())?;
        let hills = Hills { lat, lon, amplitude_m: amplitude, phase };
        check(&plan(&inputs, &hills).unwrap())?;
    }
}

fn inputs(batteries: u32) -> Inputs {
    Inputs {
        center_lat: 39.7392,
        center_lon: -104.9903,
        battery_minutes: 20.0,
        batteries,
        min_height_ft: 120.0,
        max_height_ft: 400.0,
    }
}

#[test]
fn curve_sizes_are_written_in_feet_under_the_feet_header() {
    let p = plan(&inputs(3), &FlatGround).unwrap();
    let b = &p.batteries[0];
    let rows = parse_litchi_csv(&litchi_csv(&p, b)).unwrap();
    let mid = b
        .waypoints
        .iter()
        .position(|w| w.kind == Kind::OutboundMid)
        .unwrap();
    assert!(b.waypoints[mid].curve_ft > 100.0);
    assert!(
        (rows[mid].curve_ft - b.waypoints[mid].curve_ft).abs() < 0.05,
        "curve size must stay in feet"
    );
}

#[test]
fn ridge_safety_waypoints_are_kept_in_every_battery_file() {
    // A 60 m (≈ 200 ft) ridge east of the centre: the second battery's legs cross it.
    let i = inputs(4);
    let ridge = Ridge {
        lat: i.center_lat,
        lon: i.center_lon,
        height_m: 60.0,
    };
    let p = plan(&i, &ridge).unwrap();
    let with_ridge: Vec<_> = p
        .batteries
        .iter()
        .filter(|b| b.waypoints.iter().any(|w| w.kind == Kind::RidgeSafety))
        .collect();
    assert!(!with_ridge.is_empty(), "the ridge was not noticed");
    for b in with_ridge {
        let csv = litchi_csv(&p, b);
        assert_eq!(
            csv.lines().count(),
            b.waypoints.len() + 1,
            "every waypoint, ridge ones included, is in the CSV"
        );
        let kmz = parse_dji_kmz(&dji_kmz(&p, b, Aircraft::default()).unwrap()).unwrap();
        assert_eq!(kmz.len(), b.waypoints.len());
        for w in b.waypoints.iter().filter(|w| w.kind == Kind::RidgeSafety) {
            assert!(w.altitude_ft >= w.ground_ft + RIDGE_CLEARANCE_FT.max(i.min_height_ft) - 1e-6);
        }
        check(&p).unwrap();
    }
}

#[test]
fn one_altitude_frame_heights_above_take_off_bounded_above_the_ground() {
    // Take-off on a hilltop 100 m above a valley: the heights written are above take-off,
    // and the maximum is enforced above the ground under each waypoint — never mixed.
    struct Valley;
    impl Elevation for Valley {
        fn elevation_m(&self, lat: f64, lon: f64) -> Option<f64> {
            let at_takeoff = (lat - 39.7392).abs() < 1e-5 && (lon + 104.9903).abs() < 1e-5;
            Some(if at_takeoff { 1700.0 } else { 1600.0 })
        }
    }
    let i = inputs(3);
    let p = plan(&i, &Valley).unwrap();
    for w in &p.batteries[0].waypoints[1..] {
        assert!(
            (w.ground_ft + 328.08).abs() < 0.1,
            "ground is 100 m below take-off: {}",
            w.ground_ft
        );
        assert!(w.agl_ft <= i.max_height_ft + 1e-6 && w.agl_ft >= i.min_height_ft - 1e-6);
        // In the valley the drone keeps the take-off height rule only as far as the band allows.
        assert!(w.altitude_ft <= w.ground_ft + i.max_height_ft + 1e-6);
    }
}
