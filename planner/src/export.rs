//! Mission files: Litchi Mission Hub CSV (feet, as its header says) and DJI WPML in a KMZ
//! (metres, as WPML says). Both per battery; both say exactly the same waypoints.

use std::fmt::Write as _;

use crate::plan::{Battery, Plan, FT_PER_M, PHOTO_INTERVAL_S, SPEED_MPS};

pub const LITCHI_HEADER: &str = "latitude,longitude,altitude(ft),heading(deg),curvesize(ft),rotationdir,gimbalmode,gimbalpitchangle,altitudemode,speed(m/s),poi_latitude,poi_longitude,poi_altitude(ft),poi_altitudemode,photo_timeinterval,photo_distinterval";

/// One battery as a Litchi CSV. Altitudes are above the take-off point (altitude mode 0); the
/// gimbal follows the point of interest, the centre at take-off height (gimbal mode 2).
pub fn litchi_csv(plan: &Plan, battery: &Battery) -> String {
    let mut out = String::with_capacity(battery.waypoints.len() * 140);
    out.push_str(LITCHI_HEADER);
    out.push('\n');
    for w in &battery.waypoints {
        let _ = writeln!(
            out,
            "{:.7},{:.7},{:.1},{:.0},{:.1},0,2,{:.0},0,{SPEED_MPS},{:.7},{:.7},0,0,{PHOTO_INTERVAL_S},0",
            w.lat,
            w.lon,
            w.altitude_ft,
            w.heading_deg,
            w.curve_ft,
            w.gimbal_pitch_deg,
            plan.inputs.center_lat,
            plan.inputs.center_lon,
        );
    }
    out
}

/// A waypoint as read back from a mission file (feet, degrees).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ParsedWaypoint {
    pub lat: f64,
    pub lon: f64,
    pub altitude_ft: f64,
    pub curve_ft: f64,
}

/// Reads a Litchi CSV (ours or one written by Litchi with the same columns).
pub fn parse_litchi_csv(text: &str) -> Result<Vec<ParsedWaypoint>, String> {
    let mut lines = text.lines();
    let header = lines.next().ok_or("empty file")?;
    let columns: Vec<&str> = header.split(',').collect();
    let col = |name: &str| {
        columns
            .iter()
            .position(|c| c.trim() == name)
            .ok_or_else(|| format!("no {name} column"))
    };
    let (lat, lon, alt, curve) = (
        col("latitude")?,
        col("longitude")?,
        col("altitude(ft)")?,
        col("curvesize(ft)")?,
    );
    lines
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, line)| {
            let cells: Vec<&str> = line.split(',').collect();
            let num = |c: usize| {
                cells
                    .get(c)
                    .and_then(|v| v.trim().parse::<f64>().ok())
                    .ok_or_else(|| {
                        format!("row {}: bad or missing value in column {}", i + 1, c + 1)
                    })
            };
            Ok(ParsedWaypoint {
                lat: num(lat)?,
                lon: num(lon)?,
                altitude_ft: num(alt)?,
                curve_ft: num(curve)?,
            })
        })
        .collect()
}

fn wpml_placemarks(plan: &Plan, battery: &Battery, template: bool) -> String {
    let mut out = String::new();
    let (clat, clon) = (plan.inputs.center_lat, plan.inputs.center_lon);
    for (i, w) in battery.waypoints.iter().enumerate() {
        let height_tag = if template { "height" } else { "executeHeight" };
        let _ = write!(
            out,
            "<Placemark><Point><coordinates>{:.7},{:.7}</coordinates></Point>\
             <wpml:index>{i}</wpml:index>\
             <wpml:{height_tag}>{:.2}</wpml:{height_tag}>\
             <wpml:waypointSpeed>{SPEED_MPS}</wpml:waypointSpeed>\
             <wpml:waypointHeadingParam><wpml:waypointHeadingMode>towardPOI</wpml:waypointHeadingMode>\
             <wpml:waypointPoiPoint>{clat:.7},{clon:.7},0.000000</wpml:waypointPoiPoint></wpml:waypointHeadingParam>\
             <wpml:waypointTurnParam><wpml:waypointTurnMode>{}</wpml:waypointTurnMode>\
             <wpml:waypointTurnDampingDist>{:.2}</wpml:waypointTurnDampingDist></wpml:waypointTurnParam>",
            w.lon,
            w.lat,
            w.altitude_ft / FT_PER_M,
            if w.curve_ft > 0.0 {
                "toPointAndPassWithContinuityCurvature"
            } else {
                "toPointAndStopWithDiscontinuityCurvature"
            },
            w.curve_ft / FT_PER_M,
        );
        if !template {
            let _ = write!(
                out,
                "<wpml:actionGroup><wpml:actionGroupId>{i}</wpml:actionGroupId>\
                 <wpml:actionGroupStartIndex>{i}</wpml:actionGroupStartIndex>\
                 <wpml:actionGroupEndIndex>{i}</wpml:actionGroupEndIndex>\
                 <wpml:actionGroupMode>sequence</wpml:actionGroupMode>\
                 <wpml:actionTrigger><wpml:actionTriggerType>reachPoint</wpml:actionTriggerType></wpml:actionTrigger>\
                 <wpml:action><wpml:actionId>0</wpml:actionId><wpml:actionActuatorFunc>gimbalRotate</wpml:actionActuatorFunc>\
                 <wpml:actionActuatorFuncParam><wpml:gimbalRotateMode>absoluteAngle</wpml:gimbalRotateMode>\
                 <wpml:gimbalPitchRotateEnable>1</wpml:gimbalPitchRotateEnable>\
                 <wpml:gimbalPitchRotateAngle>{:.0}</wpml:gimbalPitchRotateAngle>\
                 <wpml:payloadPositionIndex>0</wpml:payloadPositionIndex></wpml:actionActuatorFuncParam></wpml:action>\
                 <wpml:action><wpml:actionId>1</wpml:actionId><wpml:actionActuatorFunc>takePhoto</wpml:actionActuatorFunc>\
                 <wpml:actionActuatorFuncParam><wpml:payloadPositionIndex>0</wpml:payloadPositionIndex></wpml:actionActuatorFuncParam></wpml:action>\
                 </wpml:actionGroup>",
                w.gimbal_pitch_deg
            );
        }
        out.push_str("</Placemark>\n");
    }
    out
}

const MISSION_CONFIG: &str = "<wpml:missionConfig><wpml:flyToWaylineMode>safely</wpml:flyToWaylineMode>\
<wpml:finishAction>goHome</wpml:finishAction><wpml:exitOnRCLost>executeLostAction</wpml:exitOnRCLost>\
<wpml:executeRCLostAction>goBack</wpml:executeRCLostAction>\
<wpml:takeOffSecurityHeight>20</wpml:takeOffSecurityHeight>\
<wpml:globalTransitionalSpeed>8.85</wpml:globalTransitionalSpeed></wpml:missionConfig>";

/// One battery as a DJI WPML mission (`wpmz/template.kml` + `wpmz/waylines.wpml` in a KMZ):
/// heights in metres relative to the take-off point, heading towards the centre, a gimbal
/// angle and a photo at every waypoint.
pub fn dji_kmz(plan: &Plan, battery: &Battery) -> Result<Vec<u8>, splat::FormatError> {
    let head = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<kml xmlns=\"http://www.opengis.net/kml/2.2\" xmlns:wpml=\"http://www.dji.com/wpmz/1.0.2\">\n<Document>\n";
    let template = format!(
        "{head}<wpml:author>Spaceport</wpml:author>{MISSION_CONFIG}\n<Folder><wpml:templateType>waypoint</wpml:templateType>\
         <wpml:templateId>0</wpml:templateId><wpml:waylineCoordinateSysParam><wpml:coordinateMode>WGS84</wpml:coordinateMode>\
         <wpml:heightMode>relativeToStartPoint</wpml:heightMode></wpml:waylineCoordinateSysParam>\
         <wpml:autoFlightSpeed>{SPEED_MPS}</wpml:autoFlightSpeed>\n{}</Folder>\n</Document>\n</kml>\n",
        wpml_placemarks(plan, battery, true)
    );
    let waylines = format!(
        "{head}{MISSION_CONFIG}\n<Folder><wpml:templateId>0</wpml:templateId>\
         <wpml:executeHeightMode>relativeToStartPoint</wpml:executeHeightMode>\
         <wpml:waylineId>0</wpml:waylineId><wpml:autoFlightSpeed>{SPEED_MPS}</wpml:autoFlightSpeed>\n{}</Folder>\n</Document>\n</kml>\n",
        wpml_placemarks(plan, battery, false)
    );
    splat::zip::write_stored(&[
        ("wpmz/template.kml", template.as_bytes()),
        ("wpmz/waylines.wpml", waylines.as_bytes()),
    ])
}

/// Reads the waypoints back out of a KMZ written by [`dji_kmz`] (heights converted to feet).
pub fn parse_dji_kmz(bytes: &[u8]) -> Result<Vec<ParsedWaypoint>, String> {
    let entries = splat::zip::read_entries(bytes).map_err(|e| e.to_string())?;
    let wpml = entries
        .iter()
        .find(|(name, _)| name == "wpmz/waylines.wpml")
        .ok_or("no wpmz/waylines.wpml in the KMZ")?;
    let text = std::str::from_utf8(wpml.1).map_err(|_| "waylines.wpml is not UTF-8")?;
    let between = |s: &str, open: &str, close: &str| -> Option<String> {
        let a = s.find(open)? + open.len();
        let b = s[a..].find(close)? + a;
        Some(s[a..b].to_string())
    };
    text.split("<Placemark>")
        .skip(1)
        .map(|pm| {
            let coords = between(pm, "<coordinates>", "</coordinates>").ok_or("no coordinates")?;
            let (lon, lat) = coords.split_once(',').ok_or("bad coordinates")?;
            let height = between(pm, "<wpml:executeHeight>", "</wpml:executeHeight>")
                .ok_or("no executeHeight")?;
            let damping = between(
                pm,
                "<wpml:waypointTurnDampingDist>",
                "</wpml:waypointTurnDampingDist>",
            )
            .ok_or("no turn damping distance")?;
            let num = |s: &str| {
                s.trim()
                    .parse::<f64>()
                    .map_err(|_| format!("bad number {s}"))
            };
            Ok(ParsedWaypoint {
                lat: num(lat)?,
                lon: num(lon)?,
                altitude_ft: num(&height)? * FT_PER_M,
                curve_ft: num(&damping)? * FT_PER_M,
            })
        })
        .collect()
}
