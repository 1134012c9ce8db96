//! Flight plans: the same planner runs in the browser (the live picture, on flat ground) and on
//! the server (the mission files, with terrain when the server has elevation data).

use domain::FlightInputs;
use planner::plan::{Inputs, Plan, PlanError};

use crate::error::AppError;

/// Plans a mission from validated inputs; planner refusals become field errors.
pub fn plan_for(
    inputs: &FlightInputs,
    elevation: &dyn planner::elevation::Elevation,
) -> Result<Plan, AppError> {
    let inputs = Inputs {
        center_lat: inputs.center_lat,
        center_lon: inputs.center_lon,
        battery_minutes: f64::from(inputs.battery_minutes),
        batteries: inputs.batteries,
        min_height_ft: inputs.min_height_ft,
        max_height_ft: inputs.max_height_ft,
    };
    planner::plan::plan(&inputs, elevation).map_err(|e| match e {
        PlanError::Invalid { field, message } => AppError::Invalid {
            field: field.to_owned(),
            message,
        },
        PlanError::NoElevation { .. } => AppError::Invalid {
            field: "center".to_owned(),
            message: e.to_string(),
        },
    })
}

/// Which file of which battery a download asks for: `battery-2.csv`, `battery-1.kmz`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MissionFile {
    LitchiCsv(usize),
    DjiKmz(usize),
}

impl MissionFile {
    pub fn parse(name: &str) -> Option<Self> {
        let rest = name.strip_prefix("battery-")?;
        let (n, ext) = rest.split_once('.')?;
        let n: usize = n.parse().ok().filter(|n| (1..=12).contains(n))?;
        match ext {
            "csv" => Some(Self::LitchiCsv(n)),
            "kmz" => Some(Self::DjiKmz(n)),
            _ => None,
        }
    }

    pub fn url(project_id: &str, battery: usize, ext: &str, query: &str) -> String {
        format!("/api/projects/{project_id}/flight/battery-{battery}.{ext}?{query}")
    }
}

/// The inputs as a query string for the download links (what the form shows is what downloads).
pub fn query_string(
    center: &str,
    minutes: &str,
    batteries: &str,
    min_h: &str,
    max_h: &str,
) -> String {
    let enc = |s: &str| -> String {
        s.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_') {
                    char::from(b).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect()
    };
    format!(
        "center={}&battery_minutes={}&batteries={}&min_height_ft={}&max_height_ft={}",
        enc(center),
        enc(minutes),
        enc(batteries),
        enc(min_h),
        enc(max_h)
    )
}

/// The ground under a plan, as the server's terrain source gives it: what the browser plans on
/// so the picture is the download.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct GroundHeights {
    /// (latitude, longitude, metres above sea level) of every point the plan asked about.
    pub heights: Vec<(f64, f64, Option<f64>)>,
    /// Why the plan is on flat ground, when it is (no source, or the source did not answer).
    pub flat: Option<String>,
}

impl GroundHeights {
    /// The heights as the planner's elevation source.
    pub fn elevation(&self) -> planner::elevation::Prefetched {
        let mut cache = planner::elevation::Prefetched::default();
        for &(lat, lon, h) in &self.heights {
            cache.insert(lat, lon, h);
        }
        cache
    }
}

/// The ground under the plan of these inputs (a signed-in pilot's; the inputs as typed).
#[leptos::server(prefix = "/api", endpoint = "flight_ground")]
pub async fn flight_ground(
    center: String,
    battery_minutes: String,
    batteries: String,
    min_height_ft: String,
    max_height_ft: String,
) -> Result<GroundHeights, AppError> {
    let (svc, _, _) = crate::services::require_user().await?;
    let inputs = FlightInputs::parse(
        &center,
        &battery_minutes,
        &batteries,
        &min_height_ft,
        &max_height_ft,
    )?;
    Ok(server_side::ground(&svc, &inputs, true).await?.1)
}

#[cfg(feature = "ssr")]
pub use server_side::*;

#[cfg(feature = "ssr")]
mod server_side {
    use domain::ports::SessionToken;
    use domain::{FlightInputs, ProjectId, ProjectStatus};
    use planner::export::Aircraft;

    use super::{plan_for, MissionFile};
    use crate::error::AppError;
    use crate::services::Services;

    /// The query of a download request: the form's fields, as typed.
    #[derive(Debug, serde::Deserialize)]
    pub struct FlightQuery {
        pub center: String,
        pub battery_minutes: String,
        pub batteries: String,
        pub min_height_ft: String,
        pub max_height_ft: String,
        /// The DJI aircraft a KMZ is for (`Aircraft::slug`); a Mini 4 Pro when absent.
        #[serde(default)]
        pub aircraft: Option<String>,
    }

    /// Plans on the server's terrain. The planner asks for heights point by point; a web
    /// service answers in batches, so plan, fetch what it asked for, and plan again until
    /// nothing new is asked (two or three passes). A server with no terrain source plans on
    /// flat ground and says so. When its source cannot answer, a download is refused (a file
    /// planned on flat ground by accident is a risk to the aircraft); the page (`lenient`) is
    /// shown the flat plan with the reason.
    pub(crate) async fn ground(
        svc: &Services,
        inputs: &FlightInputs,
        lenient: bool,
    ) -> Result<(planner::plan::Plan, super::GroundHeights), AppError> {
        let flat = |why: String| -> Result<_, AppError> {
            let plan = plan_for(inputs, &planner::elevation::FlatGround)?;
            let ground = super::GroundHeights {
                heights: Vec::new(),
                flat: Some(why),
            };
            Ok((plan, ground))
        };
        if let Some(why) = svc.terrain.flat_because() {
            return flat(why.to_owned());
        }
        let mut cache = planner::elevation::Prefetched::default();
        let mut heights = Vec::new();
        for _ in 0..8 {
            let plan = plan_for(inputs, &cache);
            let missing = cache.take_missing();
            if missing.is_empty() {
                let ground = super::GroundHeights {
                    heights,
                    flat: None,
                };
                return Ok((plan?, ground));
            }
            match svc.terrain.elevations_m(&missing).await {
                Ok(found) => {
                    for ((lat, lon), h) in missing.into_iter().zip(found) {
                        cache.insert(lat, lon, h);
                        heights.push((lat, lon, h));
                    }
                }
                Err(why) if lenient => {
                    return flat(format!(
                        "{why}; the mission files can be downloaded once it answers"
                    ));
                }
                Err(why) => return Err(AppError::BadRequest(why)),
            }
        }
        Err(AppError::internal(
            "terrain lookups did not settle after 8 passes",
        ))
    }

    pub struct Download {
        pub content_type: &'static str,
        pub file_name: String,
        pub bytes: Vec<u8>,
    }

    /// A battery's mission file for the owner of the project. Downloading a plan moves a draft
    /// project to "flight plan downloaded".
    pub async fn mission_file(
        svc: &Services,
        token: Option<SessionToken>,
        project: &str,
        file: &str,
        q: &FlightQuery,
    ) -> Result<Download, AppError> {
        let user = svc.require_signed_in(token.as_ref()).await?;
        let id = ProjectId::parse(project).map_err(|_| AppError::NotFound)?;
        let which = MissionFile::parse(file).ok_or(AppError::NotFound)?;
        let p = svc.projects.get(&user.id, &id).await?; // another user's project is NotFound
        let inputs = FlightInputs::parse(
            &q.center,
            &q.battery_minutes,
            &q.batteries,
            &q.min_height_ft,
            &q.max_height_ft,
        )?;
        let (plan, _) = ground(svc, &inputs, false).await?;
        let (n, ext) = match which {
            MissionFile::LitchiCsv(n) | MissionFile::DjiKmz(n) => (n, file.rsplit('.').next()),
        };
        let battery = plan.batteries.get(n - 1).ok_or_else(|| {
            AppError::BadRequest(format!(
                "this plan has {} batteries; there is no battery {n}",
                plan.batteries.len()
            ))
        })?;
        let bytes = match which {
            MissionFile::LitchiCsv(_) => planner::export::litchi_csv(&plan, battery).into_bytes(),
            MissionFile::DjiKmz(_) => {
                let aircraft = match q.aircraft.as_deref() {
                    None => Aircraft::default(),
                    Some(slug) => Aircraft::parse(slug).ok_or_else(|| {
                        AppError::BadRequest(format!(
                            "no aircraft is called \"{slug}\"; choose one of {}",
                            Aircraft::ALL.map(Aircraft::slug).join(", ")
                        ))
                    })?,
                };
                planner::export::dji_kmz(&plan, battery, aircraft).map_err(AppError::internal)?
            }
        };
        // What was flown is what the project remembers, even if the form had not saved yet.
        if p.flight.as_ref() != Some(&inputs) {
            svc.projects
                .set_flight_inputs(&user.id, &id, &inputs)
                .await?;
        }
        if p.status == ProjectStatus::Draft {
            svc.projects
                .set_status(&user.id, &id, ProjectStatus::PathDownloaded)
                .await?;
        }
        let slug: String = p
            .title
            .to_string()
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .collect();
        let slug = slug.trim_matches('-');
        Ok(Download {
            content_type: if matches!(which, MissionFile::LitchiCsv(_)) {
                "text/csv; charset=utf-8"
            } else {
                "application/vnd.google-earth.kmz"
            },
            file_name: format!(
                "{}battery-{n}.{}",
                if slug.is_empty() {
                    String::new()
                } else {
                    format!("{slug}-")
                },
                ext.unwrap_or("csv")
            ),
            bytes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_parse_strictly() {
        assert_eq!(
            MissionFile::parse("battery-2.csv"),
            Some(MissionFile::LitchiCsv(2))
        );
        assert_eq!(
            MissionFile::parse("battery-12.kmz"),
            Some(MissionFile::DjiKmz(12))
        );
        assert_eq!(MissionFile::parse("battery-0.csv"), None);
        assert_eq!(MissionFile::parse("battery-13.csv"), None);
        assert_eq!(MissionFile::parse("battery-1.exe"), None);
        assert_eq!(MissionFile::parse("../battery-1.csv"), None);
    }

    #[test]
    fn query_values_are_escaped() {
        assert_eq!(
            query_string("47.6, -122.3", "20", "3", "120", "400"),
            "center=47.6%2C%20-122.3&battery_minutes=20&batteries=3&min_height_ft=120&max_height_ft=400"
        );
    }
}
