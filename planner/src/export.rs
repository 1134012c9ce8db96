//! Mission files: Litchi Mission Hub CSV (feet, as its header says) and DJI WPML in a KMZ
//! (metres, as WPML says). Both per battery; both say exactly the same waypoints.

use std::fmt::Write as _;

use crate::plan::{Battery, Plan, Waypoint, FT_PER_M, PHOTO_INTERVAL_S, SPEED_MPS};

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

/// The aircraft a DJI mission is written for: what its `droneInfo`/`payloadInfo` say, and which
/// app flies it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Aircraft {
    #[default]
    Mini4Pro,
    Mini5Pro,
    Air3,
    Air3S,
    Mavic3Pro,
    Mavic3Enterprise,
    Mavic3Thermal,
    Mavic3Multispectral,
    Matrice3D,
    Matrice3TD,
    Matrice30,
    Matrice30T,
}

impl Aircraft {
    pub const ALL: [Self; 12] = [
        Self::Mini4Pro,
        Self::Mini5Pro,
        Self::Air3,
        Self::Air3S,
        Self::Mavic3Pro,
        Self::Mavic3Enterprise,
        Self::Mavic3Thermal,
        Self::Mavic3Multispectral,
        Self::Matrice3D,
        Self::Matrice3TD,
        Self::Matrice30,
        Self::Matrice30T,
    ];

    /// The name in URLs and on the command line (`mini-4-pro`).
    pub fn slug(self) -> &'static str {
        match self {
            Self::Mini4Pro => "mini-4-pro",
            Self::Mini5Pro => "mini-5-pro",
            Self::Air3 => "air-3",
            Self::Air3S => "air-3s",
            Self::Mavic3Pro => "mavic-3-pro",
            Self::Mavic3Enterprise => "mavic-3e",
            Self::Mavic3Thermal => "mavic-3t",
            Self::Mavic3Multispectral => "mavic-3m",
            Self::Matrice3D => "matrice-3d",
            Self::Matrice3TD => "matrice-3td",
            Self::Matrice30 => "matrice-30",
            Self::Matrice30T => "matrice-30t",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Mini4Pro => "DJI Mini 4 Pro",
            Self::Mini5Pro => "DJI Mini 5 Pro",
            Self::Air3 => "DJI Air 3",
            Self::Air3S => "DJI Air 3S",
            Self::Mavic3Pro => "DJI Mavic 3 Pro",
            Self::Mavic3Enterprise => "DJI Mavic 3 Enterprise",
            Self::Mavic3Thermal => "DJI Mavic 3 Thermal",
            Self::Mavic3Multispectral => "DJI Mavic 3 Multispectral",
            Self::Matrice3D => "DJI Matrice 3D",
            Self::Matrice3TD => "DJI Matrice 3TD",
            Self::Matrice30 => "DJI Matrice 30",
            Self::Matrice30T => "DJI Matrice 30T",
        }
    }

    pub fn parse(slug: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.slug() == slug)
    }

    /// Flown from DJI Fly (consumer aircraft) rather than DJI Pilot 2.
    pub fn is_dji_fly(self) -> bool {
        matches!(
            self,
            Self::Mini4Pro | Self::Mini5Pro | Self::Air3 | Self::Air3S | Self::Mavic3Pro
        )
    }

    /// `droneEnumValue`, `droneSubEnumValue`. DJI publishes them for its enterprise aircraft
    /// (WPML "Common Elements": 77 = Mavic 3 Enterprise series, 91 = Matrice 3D series, 67 =
    /// Matrice 30 series, with sub-types). For DJI Fly aircraft it publishes none and says they
    /// are not checked; missions DJI Fly itself saves for a Mini 4 Pro carry 68/0, which is
    /// what pilots' tools that replace a DJI Fly mission write, so all DJI Fly aircraft get it.
    pub fn drone_enum(self) -> (u16, u16) {
        match self {
            Self::Mini4Pro | Self::Mini5Pro | Self::Air3 | Self::Air3S | Self::Mavic3Pro => (68, 0),
            Self::Mavic3Enterprise => (77, 0),
            Self::Mavic3Thermal => (77, 1),
            Self::Mavic3Multispectral => (77, 2),
            Self::Matrice3D => (91, 0),
            Self::Matrice3TD => (91, 1),
            Self::Matrice30 => (67, 0),
            Self::Matrice30T => (67, 1),
        }
    }

    /// `payloadEnumValue` of the built-in camera (enterprise aircraft only; DJI Fly has none).
    pub fn payload_enum(self) -> Option<u16> {
        match self {
            Self::Mavic3Enterprise => Some(66),
            Self::Mavic3Thermal => Some(67),
            Self::Mavic3Multispectral => Some(68),
            Self::Matrice3D => Some(80),
            Self::Matrice3TD => Some(81),
            Self::Matrice30 => Some(52),
            Self::Matrice30T => Some(53),
            _ => None,
        }
    }
}

/// A waypoint's position, height, speed, heading and turn, as both WPML files write them
/// (`template.kml` says `height`, `waylines.wpml` says `executeHeight`).
fn wpml_waypoint(out: &mut String, plan: &Plan, i: usize, w: &Waypoint, template: bool) {
    let (clat, clon) = (plan.inputs.center_lat, plan.inputs.center_lon);
    let height = w.altitude_ft / FT_PER_M;
    let _ = write!(
        out,
        "<Placemark><Point><coordinates>{:.7},{:.7}</coordinates></Point><wpml:index>{i}</wpml:index>",
        w.lon, w.lat
    );
    if template {
        let _ = write!(
            out,
            "<wpml:useGlobalHeight>0</wpml:useGlobalHeight>\
             <wpml:ellipsoidHeight>{height:.2}</wpml:ellipsoidHeight><wpml:height>{height:.2}</wpml:height>\
             <wpml:useGlobalSpeed>0</wpml:useGlobalSpeed><wpml:waypointSpeed>{SPEED_MPS}</wpml:waypointSpeed>\
             <wpml:useGlobalHeadingParam>0</wpml:useGlobalHeadingParam><wpml:useGlobalTurnParam>0</wpml:useGlobalTurnParam>"
        );
    } else {
        let _ = write!(
            out,
            "<wpml:executeHeight>{height:.2}</wpml:executeHeight><wpml:waypointSpeed>{SPEED_MPS}</wpml:waypointSpeed>"
        );
    }
    // Facing the centre (the point of interest, on the ground where the pilot took off), as
    // Litchi's gimbal mode 2 does.
    let _ = write!(
        out,
        "<wpml:waypointHeadingParam><wpml:waypointHeadingMode>towardPOI</wpml:waypointHeadingMode>\
         <wpml:waypointPoiPoint>{clat:.7},{clon:.7},0.000000</wpml:waypointPoiPoint>\
         <wpml:waypointHeadingPathMode>followBadArc</wpml:waypointHeadingPathMode></wpml:waypointHeadingParam>"
    );
    if w.curve_ft > 0.0 {
        let _ = write!(
            out,
            "<wpml:waypointTurnParam><wpml:waypointTurnMode>toPointAndPassWithContinuityCurvature</wpml:waypointTurnMode>\
             <wpml:waypointTurnDampingDist>{:.2}</wpml:waypointTurnDampingDist></wpml:waypointTurnParam>\
             <wpml:useStraightLine>0</wpml:useStraightLine>",
            w.curve_ft / FT_PER_M
        );
    } else {
        out.push_str(
            "<wpml:waypointTurnParam><wpml:waypointTurnMode>toPointAndStopWithDiscontinuityCurvature</wpml:waypointTurnMode></wpml:waypointTurnParam>",
        );
    }
    if template {
        let _ = write!(
            out,
            "<wpml:gimbalPitchAngle>{:.0}</wpml:gimbalPitchAngle>",
            w.gimbal_pitch_deg
        );
    }
}

/// The actions of waypoint `i`: the gimbal turned to look at the centre when it is reached, and
/// on the first waypoint, a photo every [`PHOTO_INTERVAL_S`] seconds until the last (the Litchi
/// file's `photo_timeinterval`: the same photos, not one per waypoint).
fn wpml_actions(out: &mut String, i: usize, last: usize, w: &Waypoint) {
    if i == 0 {
        let _ = write!(
            out,
            "<wpml:actionGroup><wpml:actionGroupId>0</wpml:actionGroupId>\
             <wpml:actionGroupStartIndex>0</wpml:actionGroupStartIndex><wpml:actionGroupEndIndex>{last}</wpml:actionGroupEndIndex>\
             <wpml:actionGroupMode>sequence</wpml:actionGroupMode>\
             <wpml:actionTrigger><wpml:actionTriggerType>multipleTiming</wpml:actionTriggerType>\
             <wpml:actionTriggerParam>{PHOTO_INTERVAL_S}</wpml:actionTriggerParam></wpml:actionTrigger>\
             <wpml:action><wpml:actionId>0</wpml:actionId><wpml:actionActuatorFunc>takePhoto</wpml:actionActuatorFunc>\
             <wpml:actionActuatorFuncParam><wpml:payloadPositionIndex>0</wpml:payloadPositionIndex></wpml:actionActuatorFuncParam></wpml:action>\
             </wpml:actionGroup>"
        );
    }
    let _ = write!(
        out,
        "<wpml:actionGroup><wpml:actionGroupId>{}</wpml:actionGroupId>\
         <wpml:actionGroupStartIndex>{i}</wpml:actionGroupStartIndex><wpml:actionGroupEndIndex>{i}</wpml:actionGroupEndIndex>\
         <wpml:actionGroupMode>sequence</wpml:actionGroupMode>\
         <wpml:actionTrigger><wpml:actionTriggerType>reachPoint</wpml:actionTriggerType></wpml:actionTrigger>\
         <wpml:action><wpml:actionId>0</wpml:actionId><wpml:actionActuatorFunc>gimbalRotate</wpml:actionActuatorFunc>\
         <wpml:actionActuatorFuncParam><wpml:gimbalHeadingYawBase>aircraft</wpml:gimbalHeadingYawBase>\
         <wpml:gimbalRotateMode>absoluteAngle</wpml:gimbalRotateMode>\
         <wpml:gimbalPitchRotateEnable>1</wpml:gimbalPitchRotateEnable><wpml:gimbalPitchRotateAngle>{:.0}</wpml:gimbalPitchRotateAngle>\
         <wpml:gimbalRollRotateEnable>0</wpml:gimbalRollRotateEnable><wpml:gimbalRollRotateAngle>0</wpml:gimbalRollRotateAngle>\
         <wpml:gimbalYawRotateEnable>0</wpml:gimbalYawRotateEnable><wpml:gimbalYawRotateAngle>0</wpml:gimbalYawRotateAngle>\
         <wpml:gimbalRotateTimeEnable>0</wpml:gimbalRotateTimeEnable><wpml:gimbalRotateTime>0</wpml:gimbalRotateTime>\
         <wpml:payloadPositionIndex>0</wpml:payloadPositionIndex></wpml:actionActuatorFuncParam></wpml:action>\
         </wpml:actionGroup>",
        i + 1,
        w.gimbal_pitch_deg
    );
}

/// `wpml:missionConfig`: fly to the first waypoint safely, come home at the end or when the
/// remote's link is lost, and the aircraft (and, for enterprise aircraft, its camera).
fn mission_config(aircraft: Aircraft) -> String {
    let (drone, sub) = aircraft.drone_enum();
    let payload = aircraft.payload_enum().map_or_else(String::new, |p| {
        format!(
            "<wpml:payloadInfo><wpml:payloadEnumValue>{p}</wpml:payloadEnumValue>\
             <wpml:payloadSubEnumValue>0</wpml:payloadSubEnumValue>\
             <wpml:payloadPositionIndex>0</wpml:payloadPositionIndex></wpml:payloadInfo>"
        )
    });
    format!(
        "<wpml:missionConfig><wpml:flyToWaylineMode>safely</wpml:flyToWaylineMode>\
         <wpml:finishAction>goHome</wpml:finishAction><wpml:exitOnRCLost>executeLostAction</wpml:exitOnRCLost>\
         <wpml:executeRCLostAction>goBack</wpml:executeRCLostAction>\
         <wpml:takeOffSecurityHeight>20</wpml:takeOffSecurityHeight>\
         <wpml:globalTransitionalSpeed>{SPEED_MPS}</wpml:globalTransitionalSpeed>\
         <wpml:droneInfo><wpml:droneEnumValue>{drone}</wpml:droneEnumValue>\
         <wpml:droneSubEnumValue>{sub}</wpml:droneSubEnumValue></wpml:droneInfo>{payload}</wpml:missionConfig>"
    )
}

/// One battery as a DJI WPML mission (`wpmz/template.kml` + `wpmz/waylines.wpml` in a KMZ) for
/// `aircraft`: heights in metres above the take-off point, heading and gimbal towards the
/// centre, curved turns where the Litchi file curves, and a photo every [`PHOTO_INTERVAL_S`]
/// seconds along the whole path.
pub fn dji_kmz(
    plan: &Plan,
    battery: &Battery,
    aircraft: Aircraft,
) -> Result<Vec<u8>, splat::FormatError> {
    let head = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<kml xmlns=\"http://www.opengis.net/kml/2.2\" xmlns:wpml=\"http://www.dji.com/wpmz/1.0.2\">\n<Document>\n";
    let config = mission_config(aircraft);
    let last = battery.waypoints.len().saturating_sub(1);
    let placemarks = |template: bool| {
        let mut out = String::with_capacity(battery.waypoints.len() * 2400);
        for (i, w) in battery.waypoints.iter().enumerate() {
            wpml_waypoint(&mut out, plan, i, w, template);
            wpml_actions(&mut out, i, last, w);
            out.push_str("</Placemark>\n");
        }
        out
    };
    let first_height = battery
        .waypoints
        .first()
        .map_or(0.0, |w| w.altitude_ft / FT_PER_M);
    let (clat, clon) = (plan.inputs.center_lat, plan.inputs.center_lon);
    let template = format!(
        "{head}<wpml:author>Spaceport</wpml:author>{config}\n<Folder><wpml:templateType>waypoint</wpml:templateType>\
         <wpml:templateId>0</wpml:templateId><wpml:waylineCoordinateSysParam><wpml:coordinateMode>WGS84</wpml:coordinateMode>\
         <wpml:heightMode>relativeToStartPoint</wpml:heightMode></wpml:waylineCoordinateSysParam>\
         <wpml:autoFlightSpeed>{SPEED_MPS}</wpml:autoFlightSpeed><wpml:globalHeight>{first_height:.2}</wpml:globalHeight>\
         <wpml:caliFlightEnable>0</wpml:caliFlightEnable><wpml:gimbalPitchMode>usePointSetting</wpml:gimbalPitchMode>\
         <wpml:globalWaypointHeadingParam><wpml:waypointHeadingMode>towardPOI</wpml:waypointHeadingMode>\
         <wpml:waypointPoiPoint>{clat:.7},{clon:.7},0.000000</wpml:waypointPoiPoint>\
         <wpml:waypointHeadingPathMode>followBadArc</wpml:waypointHeadingPathMode></wpml:globalWaypointHeadingParam>\
         <wpml:globalWaypointTurnMode>toPointAndPassWithContinuityCurvature</wpml:globalWaypointTurnMode>\
         <wpml:globalUseStraightLine>0</wpml:globalUseStraightLine>\n{}</Folder>\n</Document>\n</kml>\n",
        placemarks(true)
    );
    let waylines = format!(
        "{head}{config}\n<Folder><wpml:templateId>0</wpml:templateId>\
         <wpml:executeHeightMode>relativeToStartPoint</wpml:executeHeightMode>\
         <wpml:waylineId>0</wpml:waylineId><wpml:autoFlightSpeed>{SPEED_MPS}</wpml:autoFlightSpeed>\n{}</Folder>\n</Document>\n</kml>\n",
        placemarks(false)
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
            // Absent where the aircraft stops at the waypoint.
            let damping = between(
                pm,
                "<wpml:waypointTurnDampingDist>",
                "</wpml:waypointTurnDampingDist>",
            )
            .unwrap_or_else(|| "0".to_owned());
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
