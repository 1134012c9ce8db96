//! The DJI missions checked against the published WPML structure (DJI Cloud API, "DJI WPML":
//! template.kml, waylines.wpml and their common elements, version 1.0.2), by a real XML parser
//! and a table of rules written from that specification — element names and where they may
//! appear, required fields, enumerations and value ranges — rather than by our own reader.
#![allow(
    clippy::unwrap_used,
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)]

use std::collections::{BTreeMap, BTreeSet};

use planner::elevation::FlatGround;
use planner::export::{dji_kmz, litchi_csv, Aircraft};
use planner::plan::{plan, Inputs, Plan, PHOTO_INTERVAL_S, SPEED_MPS};
use roxmltree::{Document, Node};

const KML: &str = "http://www.opengis.net/kml/2.2";
const WPML: &str = "http://www.dji.com/wpmz/1.0.2";

/// Every `wpml:` element a waypoint mission of ours may contain, by the parent it may appear in
/// (the specification's element tables).
fn allowed() -> BTreeMap<&'static str, &'static [&'static str]> {
    BTreeMap::from([
        (
            "Document",
            &["author", "createTime", "updateTime", "missionConfig"][..],
        ),
        (
            "missionConfig",
            &[
                "flyToWaylineMode",
                "finishAction",
                "exitOnRCLost",
                "executeRCLostAction",
                "takeOffSecurityHeight",
                "takeOffRefPoint",
                "takeOffRefPointAGLHeight",
                "globalTransitionalSpeed",
                "globalRTHHeight",
                "droneInfo",
                "payloadInfo",
            ][..],
        ),
        ("droneInfo", &["droneEnumValue", "droneSubEnumValue"][..]),
        (
            "payloadInfo",
            &[
                "payloadEnumValue",
                "payloadSubEnumValue",
                "payloadPositionIndex",
            ][..],
        ),
        (
            "Folder",
            &[
                "templateType",
                "templateId",
                "waylineId",
                "executeHeightMode",
                "waylineCoordinateSysParam",
                "autoFlightSpeed",
                "globalHeight",
                "caliFlightEnable",
                "gimbalPitchMode",
                "globalWaypointHeadingParam",
                "globalWaypointTurnMode",
                "globalUseStraightLine",
                "payloadParam",
            ][..],
        ),
        (
            "waylineCoordinateSysParam",
            &["coordinateMode", "heightMode", "positioningType"][..],
        ),
        (
            "Placemark",
            &[
                "index",
                "useGlobalHeight",
                "ellipsoidHeight",
                "height",
                "executeHeight",
                "useGlobalSpeed",
                "waypointSpeed",
                "useGlobalHeadingParam",
                "waypointHeadingParam",
                "useGlobalTurnParam",
                "waypointTurnParam",
                "useStraightLine",
                "gimbalPitchAngle",
                "actionGroup",
                "isRisky",
            ][..],
        ),
        (
            "waypointHeadingParam",
            &[
                "waypointHeadingMode",
                "waypointHeadingAngle",
                "waypointPoiPoint",
                "waypointHeadingPathMode",
                "waypointHeadingPoiIndex",
            ][..],
        ),
        (
            "globalWaypointHeadingParam",
            &[
                "waypointHeadingMode",
                "waypointHeadingAngle",
                "waypointPoiPoint",
                "waypointHeadingPathMode",
            ][..],
        ),
        (
            "waypointTurnParam",
            &["waypointTurnMode", "waypointTurnDampingDist"][..],
        ),
        (
            "actionGroup",
            &[
                "actionGroupId",
                "actionGroupStartIndex",
                "actionGroupEndIndex",
                "actionGroupMode",
                "actionTrigger",
                "action",
            ][..],
        ),
        (
            "actionTrigger",
            &["actionTriggerType", "actionTriggerParam"][..],
        ),
        (
            "action",
            &["actionId", "actionActuatorFunc", "actionActuatorFuncParam"][..],
        ),
        (
            "actionActuatorFuncParam",
            &[
                "payloadPositionIndex",
                "fileSuffix",
                "payloadLensIndex",
                "useGlobalPayloadLensIndex",
                "gimbalHeadingYawBase",
                "gimbalRotateMode",
                "gimbalPitchRotateEnable",
                "gimbalPitchRotateAngle",
                "gimbalRollRotateEnable",
                "gimbalRollRotateAngle",
                "gimbalYawRotateEnable",
                "gimbalYawRotateAngle",
                "gimbalRotateTimeEnable",
                "gimbalRotateTime",
            ][..],
        ),
    ])
}

/// The text of the `wpml:` child `name` of `node`.
fn field<'a>(node: Node<'a, '_>, name: &str) -> Option<&'a str> {
    node.children()
        .find(|c| c.tag_name().namespace() == Some(WPML) && c.tag_name().name() == name)
        .and_then(|c| c.text())
        .map(str::trim)
}

fn child<'a, 'i>(node: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    node.children()
        .find(|c| c.tag_name().namespace() == Some(WPML) && c.tag_name().name() == name)
}

struct Check<'e> {
    errors: &'e mut Vec<String>,
    file: &'static str,
}

impl Check<'_> {
    fn fail(&mut self, what: String) {
        self.errors.push(format!("{}: {what}", self.file));
    }

    /// A required field whose value is one of `values`.
    fn one_of(&mut self, node: Node<'_, '_>, name: &str, values: &[&str]) -> Option<String> {
        match field(node, name) {
            None => {
                self.fail(format!("{} lacks required {name}", node.tag_name().name()));
                None
            }
            Some(v) if !values.contains(&v) => {
                self.fail(format!("{name} = {v:?}, not one of {values:?}"));
                None
            }
            Some(v) => Some(v.to_owned()),
        }
    }

    /// A required number within [lo, hi].
    fn number(&mut self, node: Node<'_, '_>, name: &str, lo: f64, hi: f64) -> Option<f64> {
        match field(node, name).map(str::parse::<f64>) {
            None => {
                self.fail(format!("{} lacks required {name}", node.tag_name().name()));
                None
            }
            Some(Ok(v)) if v.is_finite() && (lo..=hi).contains(&v) => Some(v),
            Some(v) => {
                self.fail(format!("{name} = {v:?}, outside {lo}..={hi}"));
                None
            }
        }
    }
}

const TURN_MODES: &[&str] = &[
    "coordinateTurn",
    "toPointAndStopWithDiscontinuityCurvature",
    "toPointAndStopWithContinuityCurvature",
    "toPointAndPassWithContinuityCurvature",
];
const HEADING_MODES: &[&str] = &[
    "followWayline",
    "manually",
    "fixed",
    "smoothTransition",
    "towardPOI",
];

/// Checks one file of a KMZ (`template` says which) and returns what breaks the specification.
#[allow(clippy::too_many_lines)]
fn validate(xml: &str, template: bool) -> Vec<String> {
    let mut errors = Vec::new();
    let mut c = Check {
        errors: &mut errors,
        file: if template {
            "template.kml"
        } else {
            "waylines.wpml"
        },
    };
    let doc = match Document::parse(xml) {
        Ok(d) => d,
        Err(e) => return vec![format!("not well-formed XML: {e}")],
    };
    let root = doc.root_element();
    if root.tag_name().namespace() != Some(KML) || root.tag_name().name() != "kml" {
        c.fail("the root is not KML 2.2's <kml>".into());
    }
    // Every wpml: element sits where the specification allows it.
    let allowed = allowed();
    for n in doc.descendants().filter(Node::is_element) {
        if n.tag_name().namespace() != Some(WPML) {
            continue;
        }
        let parent = n.parent_element().map_or("", |p| p.tag_name().name());
        let ok = allowed
            .get(parent)
            .is_some_and(|names| names.contains(&n.tag_name().name()));
        if !ok {
            c.fail(format!(
                "wpml:{} may not appear in {parent}",
                n.tag_name().name()
            ));
        }
    }
    let Some(document) = root.children().find(|n| n.has_tag_name((KML, "Document"))) else {
        c.fail("no Document".into());
        return errors;
    };
    let Some(config) = child(document, "missionConfig") else {
        c.fail("no missionConfig".into());
        return errors;
    };
    c.one_of(config, "flyToWaylineMode", &["safely", "pointToPoint"]);
    c.one_of(
        config,
        "finishAction",
        &["goHome", "noAction", "autoLand", "gotoFirstWaypoint"],
    );
    if c.one_of(config, "exitOnRCLost", &["goContinue", "executeLostAction"])
        .as_deref()
        == Some("executeLostAction")
    {
        c.one_of(
            config,
            "executeRCLostAction",
            &["goBack", "landing", "hover"],
        );
    }
    c.number(config, "takeOffSecurityHeight", 1.2, 1500.0);
    c.number(config, "globalTransitionalSpeed", 0.1, 15.0);
    let speed_max = 15.0;
    match child(config, "droneInfo") {
        None => c.fail("missionConfig lacks droneInfo".into()),
        Some(d) => {
            // Published enterprise values, and 68 (what DJI Fly writes for its aircraft).
            let drone = c.number(d, "droneEnumValue", 0.0, 65535.0).unwrap_or(-1.0);
            if ![60.0, 67.0, 68.0, 77.0, 89.0, 91.0].contains(&drone) {
                c.fail(format!(
                    "droneEnumValue {drone} is not a published aircraft"
                ));
            }
            let sub = field(d, "droneSubEnumValue").map(str::parse::<u32>);
            match (drone as u32, sub) {
                (67, Some(Ok(0 | 1))) | (77 | 91, Some(Ok(0..=2))) | (60 | 68 | 89, _) => {}
                (67, None) => c.fail("droneSubEnumValue is required for 67".into()),
                (_, s) => c.fail(format!("droneSubEnumValue {s:?} is not one of {drone}'s")),
            }
        }
    }
    if let Some(p) = child(config, "payloadInfo") {
        let payload = c
            .number(p, "payloadEnumValue", 0.0, 65535.0)
            .unwrap_or(-1.0);
        if ![
            42.0, 43.0, 52.0, 53.0, 61.0, 66.0, 67.0, 68.0, 80.0, 81.0, 82.0, 83.0,
        ]
        .contains(&payload)
        {
            c.fail(format!(
                "payloadEnumValue {payload} is not a published camera"
            ));
        }
        c.number(p, "payloadPositionIndex", 0.0, 2.0);
    }
    let folders: Vec<_> = document
        .children()
        .filter(|n| n.has_tag_name((KML, "Folder")))
        .collect();
    if folders.len() != 1 {
        c.fail(format!("{} Folders, expected one wayline", folders.len()));
        return errors;
    }
    let folder = folders[0];
    c.number(folder, "templateId", 0.0, 65535.0);
    let mut point_pitch = false;
    if template {
        c.one_of(
            folder,
            "templateType",
            &["waypoint", "mapping2d", "mapping3d", "mappingStrip"],
        );
        match child(folder, "waylineCoordinateSysParam") {
            None => c.fail("no waylineCoordinateSysParam".into()),
            Some(s) => {
                c.one_of(s, "coordinateMode", &["WGS84"]);
                c.one_of(
                    s,
                    "heightMode",
                    &[
                        "EGM96",
                        "relativeToStartPoint",
                        "aboveGroundLevel",
                        "realTimeFollowSurface",
                    ],
                );
            }
        }
        c.number(folder, "globalHeight", -1500.0, 1500.0);
        point_pitch = c
            .one_of(folder, "gimbalPitchMode", &["manual", "usePointSetting"])
            .as_deref()
            == Some("usePointSetting");
        match child(folder, "globalWaypointHeadingParam") {
            None => c.fail("no globalWaypointHeadingParam".into()),
            Some(h) => {
                c.one_of(h, "waypointHeadingMode", HEADING_MODES);
            }
        }
        let turn = c.one_of(folder, "globalWaypointTurnMode", TURN_MODES);
        if turn.is_some_and(|t| t.contains("WithContinuity")) {
            c.number(folder, "globalUseStraightLine", 0.0, 1.0);
        }
    } else {
        c.number(folder, "waylineId", 0.0, 65535.0);
        c.one_of(
            folder,
            "executeHeightMode",
            &["WGS84", "relativeToStartPoint", "realTimeFollowSurface"],
        );
    }
    c.number(folder, "autoFlightSpeed", 0.1, speed_max);

    let placemarks: Vec<_> = folder
        .children()
        .filter(|n| n.has_tag_name((KML, "Placemark")))
        .collect();
    if placemarks.len() < 2 {
        c.fail(format!(
            "{} waypoints: a wayline needs two",
            placemarks.len()
        ));
    }
    let mut group_ids = BTreeSet::new();
    for (i, pm) in placemarks.iter().enumerate() {
        let coords = pm
            .descendants()
            .find(|n| n.has_tag_name((KML, "coordinates")))
            .and_then(|n| n.text())
            .unwrap_or("");
        let lon_lat: Vec<f64> = coords
            .trim()
            .split(',')
            .filter_map(|v| v.trim().parse().ok())
            .collect();
        match lon_lat[..] {
            [lon, lat] if (-180.0..=180.0).contains(&lon) && (-90.0..=90.0).contains(&lat) => {}
            _ => c.fail(format!(
                "waypoint {i}: coordinates {coords:?} are not lon,lat"
            )),
        }
        if c.number(*pm, "index", 0.0, 65535.0) != Some(i as f64) {
            c.fail(format!("waypoint {i}: index out of order"));
        }
        if template {
            if c.number(*pm, "useGlobalHeight", 0.0, 1.0) == Some(0.0) {
                c.number(*pm, "height", -1500.0, 1500.0);
                c.number(*pm, "ellipsoidHeight", -1500.0, 1500.0);
            }
            if c.number(*pm, "useGlobalSpeed", 0.0, 1.0) == Some(0.0) {
                c.number(*pm, "waypointSpeed", 0.0, speed_max);
            }
            if point_pitch {
                c.number(*pm, "gimbalPitchAngle", -90.0, 35.0);
            }
        } else {
            c.number(*pm, "executeHeight", -1500.0, 1500.0);
            c.number(*pm, "waypointSpeed", 0.0, speed_max);
        }
        let global_heading = template && field(*pm, "useGlobalHeadingParam") == Some("1");
        match child(*pm, "waypointHeadingParam") {
            None if !global_heading => c.fail(format!("waypoint {i}: no waypointHeadingParam")),
            Some(h)
                if c.one_of(h, "waypointHeadingMode", HEADING_MODES).as_deref()
                    == Some("towardPOI") =>
            {
                let poi: Vec<f64> = field(h, "waypointPoiPoint")
                    .unwrap_or("")
                    .split(',')
                    .filter_map(|v| v.trim().parse().ok())
                    .collect();
                let fits = matches!(poi[..], [lat, lon, _]
                    if (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon));
                if !fits {
                    c.fail(format!("waypoint {i}: waypointPoiPoint is not lat,lon,alt"));
                }
            }
            _ => {}
        }
        match child(*pm, "waypointTurnParam") {
            None => c.fail(format!("waypoint {i}: no waypointTurnParam")),
            Some(t) => {
                let mode = c
                    .one_of(t, "waypointTurnMode", TURN_MODES)
                    .unwrap_or_default();
                if mode == "coordinateTurn" || mode == "toPointAndPassWithContinuityCurvature" {
                    c.number(t, "waypointTurnDampingDist", 0.1, 1000.0);
                }
                if mode.contains("WithContinuity") {
                    c.number(*pm, "useStraightLine", 0.0, 1.0);
                }
            }
        }
        for g in pm
            .children()
            .filter(|n| n.has_tag_name((WPML, "actionGroup")))
        {
            let id = c.number(g, "actionGroupId", 0.0, 65535.0);
            if let Some(id) = id {
                if !group_ids.insert(id as u32) {
                    c.fail(format!("actionGroupId {id} is used twice"));
                }
            }
            let last = placemarks.len().saturating_sub(1) as f64;
            let start = c.number(g, "actionGroupStartIndex", 0.0, last);
            let end = c.number(g, "actionGroupEndIndex", 0.0, last);
            if start != Some(i as f64) || end < start {
                c.fail(format!(
                    "waypoint {i}: action group {id:?} spans {start:?}..{end:?}"
                ));
            }
            c.one_of(g, "actionGroupMode", &["sequence"]);
            match child(g, "actionTrigger") {
                None => c.fail("an actionGroup lacks actionTrigger".into()),
                Some(t) => {
                    let kind = c.one_of(
                        t,
                        "actionTriggerType",
                        &[
                            "reachPoint",
                            "betweenAdjacentPoints",
                            "multipleTiming",
                            "multipleDistance",
                        ],
                    );
                    if kind.is_some_and(|k| k.starts_with("multiple")) {
                        c.number(t, "actionTriggerParam", 0.1, 3600.0);
                    }
                }
            }
            for a in g.children().filter(|n| n.has_tag_name((WPML, "action"))) {
                c.number(a, "actionId", 0.0, 65535.0);
                let func = c.one_of(
                    a,
                    "actionActuatorFunc",
                    &[
                        "takePhoto",
                        "startRecord",
                        "stopRecord",
                        "focus",
                        "zoom",
                        "customDirName",
                        "gimbalRotate",
                        "rotateYaw",
                        "hover",
                        "gimbalEvenlyRotate",
                        "orientedShoot",
                        "panoShot",
                        "recordPointCloud",
                    ],
                );
                let Some(p) = child(a, "actionActuatorFuncParam") else {
                    c.fail("an action lacks actionActuatorFuncParam".into());
                    continue;
                };
                c.number(p, "payloadPositionIndex", 0.0, 2.0);
                if func.as_deref() == Some("gimbalRotate") {
                    c.one_of(p, "gimbalRotateMode", &["absoluteAngle"]);
                    c.one_of(p, "gimbalHeadingYawBase", &["north", "aircraft"]);
                    for axis in ["Pitch", "Roll", "Yaw", "RotateTime"] {
                        let enable = if axis == "RotateTime" {
                            "gimbalRotateTimeEnable".to_owned()
                        } else {
                            format!("gimbal{axis}RotateEnable")
                        };
                        c.number(p, &enable, 0.0, 1.0);
                    }
                    c.number(p, "gimbalPitchRotateAngle", -90.0, 35.0);
                    c.number(p, "gimbalRollRotateAngle", -90.0, 60.0);
                    c.number(p, "gimbalYawRotateAngle", -180.0, 180.0);
                    c.number(p, "gimbalRotateTime", 0.0, 100.0);
                }
            }
        }
    }
    errors
}

fn files(kmz: &[u8]) -> (String, String) {
    let entries = splat::zip::read_entries(kmz).unwrap();
    let get = |name: &str| {
        let (_, bytes) = entries.iter().find(|(n, _)| n == name).unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    };
    (get("wpmz/template.kml"), get("wpmz/waylines.wpml"))
}

fn sample() -> Plan {
    let inputs = Inputs {
        center_lat: 47.6205,
        center_lon: -122.3493,
        battery_minutes: 20.0,
        batteries: 3,
        min_height_ft: 120.0,
        max_height_ft: 350.0,
    };
    plan(&inputs, &FlatGround).unwrap()
}

#[test]
fn every_aircraft_gets_a_mission_the_specification_accepts() {
    let p = sample();
    for aircraft in Aircraft::ALL {
        for b in &p.batteries {
            let (template, waylines) = files(&dji_kmz(&p, b, aircraft).unwrap());
            let mut errors = validate(&template, true);
            errors.extend(validate(&waylines, false));
            assert!(errors.is_empty(), "{}: {errors:#?}", aircraft.name());
            let drone = format!(
                "<wpml:droneEnumValue>{}</wpml:droneEnumValue><wpml:droneSubEnumValue>{}</wpml:droneSubEnumValue>",
                aircraft.drone_enum().0,
                aircraft.drone_enum().1
            );
            assert!(waylines.contains(&drone), "{}", aircraft.name());
            assert_eq!(
                waylines.contains("<wpml:payloadInfo>"),
                !aircraft.is_dji_fly(),
                "{}: DJI Fly aircraft name no camera, enterprise ones do",
                aircraft.name()
            );
        }
    }
}

#[test]
fn the_validator_catches_what_breaks_the_specification() {
    let p = sample();
    let (template, waylines) =
        files(&dji_kmz(&p, &p.batteries[0], Aircraft::Mavic3Enterprise).unwrap());
    assert!(validate(&waylines, false).is_empty());
    for (broken, what) in [
        (
            waylines.replacen("wpml:executeHeight>", "wpml:executeHieght>", 2),
            "a misspelt element",
        ),
        (
            waylines.replacen(">multipleTiming<", ">everyFewSeconds<", 1),
            "an unknown trigger",
        ),
        (
            waylines.replacen("<wpml:droneEnumValue>77<", "<wpml:droneEnumValue>12<", 1),
            "an unknown aircraft",
        ),
        (
            waylines.replacen(
                "<wpml:index>3</wpml:index>",
                "<wpml:index>4</wpml:index>",
                1,
            ),
            "indices out of order",
        ),
        (
            waylines.replacen("</Placemark>", "", 1),
            "XML that is not well-formed",
        ),
    ] {
        assert!(!validate(&broken, false).is_empty(), "{what} passed");
    }
    let no_pitch = {
        let a = template.find("<wpml:gimbalPitchAngle>").unwrap();
        let b = template[a..].find("</wpml:gimbalPitchAngle>").unwrap() + a;
        format!(
            "{}{}",
            &template[..a],
            &template[b + "</wpml:gimbalPitchAngle>".len()..]
        )
    };
    assert!(
        !validate(&no_pitch, true).is_empty(),
        "a missing point pitch passed"
    );
}

#[test]
fn the_kmz_photographs_as_often_as_the_litchi_file_and_looks_at_the_centre() {
    let p = sample();
    let b = &p.batteries[1];
    let (_, waylines) = files(&dji_kmz(&p, b, Aircraft::Air3).unwrap());
    let doc = Document::parse(&waylines).unwrap();
    let groups: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name((WPML, "actionGroup")))
        .collect();
    // One timed photo group over the whole path, and one gimbal turn per waypoint.
    let photos: Vec<_> = groups
        .iter()
        .filter(|g| g.descendants().any(|n| n.text() == Some("takePhoto")))
        .collect();
    assert_eq!(photos.len(), 1, "photos are timed, not one per waypoint");
    let g = photos[0];
    let trigger = child(*g, "actionTrigger").unwrap();
    assert_eq!(field(trigger, "actionTriggerType"), Some("multipleTiming"));
    let interval: f64 = field(trigger, "actionTriggerParam")
        .unwrap()
        .parse()
        .unwrap();
    // Litchi's photo_timeinterval column is the same number.
    let csv = litchi_csv(&p, b);
    let column = csv
        .lines()
        .next()
        .unwrap()
        .split(',')
        .position(|c| c == "photo_timeinterval")
        .unwrap();
    for row in csv.lines().skip(1) {
        let v: f64 = row.split(',').nth(column).unwrap().parse().unwrap();
        assert!((v - interval).abs() < 1e-9 && (interval - PHOTO_INTERVAL_S).abs() < 1e-9);
    }
    assert_eq!(field(*g, "actionGroupStartIndex"), Some("0"));
    assert_eq!(
        field(*g, "actionGroupEndIndex"),
        Some((b.waypoints.len() - 1).to_string().as_str())
    );
    // About one photo per 26.5 m of path, as the Litchi file takes them.
    let photos_taken = b.length_ft / 3.2808 / (SPEED_MPS * interval);
    assert!(photos_taken > 100.0, "{photos_taken:.0} photos per battery");
    let pitches: Vec<f64> = groups
        .iter()
        .filter_map(|g| {
            g.descendants()
                .find(|n| n.has_tag_name((WPML, "gimbalPitchRotateAngle")))
        })
        .map(|n| n.text().unwrap().parse().unwrap())
        .collect();
    assert_eq!(pitches.len(), b.waypoints.len());
    for (w, pitch) in b.waypoints.iter().zip(&pitches) {
        assert!((w.gimbal_pitch_deg.round() - pitch).abs() < 1e-9);
        // Toward the centre on the ground: the tangent of the depression is height over distance.
        let d = w.x_ft.hypot(w.y_ft);
        let expected = -(w.altitude_ft.atan2(d).to_degrees());
        assert!(
            (pitch - expected).abs() <= 0.5 + 1e-9,
            "{pitch} vs {expected}"
        );
    }
}
