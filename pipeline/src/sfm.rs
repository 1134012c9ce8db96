//! Structure-from-Motion with COLMAP: features → matching (chosen from the data) → incremental
//! mapping → a final bundle adjustment that also refines the principal point → georegistration
//! to GPS (a local east-north-up frame in metres) → undistortion to PINHOLE for training. The
//! result is checked (how many photos registered) and, when it falls short, explained from the
//! feature and match counts in COLMAP's database.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use anyhow::{bail, Context as _};
use serde::{Deserialize, Serialize};

use crate::colmap::{arg, parse_progress, parse_registered, Colmap};
use crate::colmap_model::{CameraKind, Reconstruction};
use crate::geo::{EnuFrame, GeoPoint};
use crate::ingest::{Manifest, Photo};
use crate::job::{write_atomic, JobDir};
use domain::job::{DeliveredFile, Stage};

use crate::progress::{Event, Progress};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Matcher {
    /// Every pair: best for small sets without GPS.
    Exhaustive,
    /// Nearest neighbours by GPS position: drone flights.
    Spatial,
    /// Each frame with the next few: video-like sequences.
    Sequential,
}

#[derive(Debug, Clone)]
pub struct SfmOptions {
    pub colmap: std::path::PathBuf,
    /// Force a matcher instead of choosing from the data.
    pub matcher: Option<Matcher>,
    /// Worker threads for COLMAP (None: all cores).
    pub threads: Option<usize>,
    /// Refine the principal point in the final bundle adjustment (off only for comparison).
    pub refine_principal_point: bool,
    /// The model must register at least this fraction of the photos.
    pub min_registered_fraction: f64,
}

impl Default for SfmOptions {
    fn default() -> Self {
        Self {
            colmap: "colmap".into(),
            matcher: None,
            threads: None,
            refine_principal_point: true,
            min_registered_fraction: 0.5,
        }
    }
}

/// Picks the matcher from the photos: GPS → spatial; a long numbered sequence without GPS
/// (frames from a video) → sequential; otherwise exhaustive, which is exact and, below a few
/// hundred photos, affordable.
pub fn choose_matcher(photos: &[Photo]) -> (Matcher, String) {
    let gps: Vec<_> = photos.iter().filter_map(|p| p.exif.gps).collect();
    if gps.len() >= 3 && gps.len() * 10 >= photos.len() * 9 {
        let frame = EnuFrame::new(gps[0]);
        let spread = gps
            .iter()
            .map(|g| {
                let l = frame.to_local(g);
                l[0].hypot(l[1])
            })
            .fold(0.0, f64::max);
        if spread > 1.0 {
            return (
                Matcher::Spatial,
                format!("{} of {} photos have GPS", gps.len(), photos.len()),
            );
        }
    }
    if photos.len() >= 40 && is_numbered_sequence(photos) {
        return (
            Matcher::Sequential,
            format!("{} numbered frames without GPS", photos.len()),
        );
    }
    (
        Matcher::Exhaustive,
        format!("{} photos without usable GPS", photos.len()),
    )
}

/// Names like `frame_0001.jpg`, `frame_0002.jpg`, … with at most small gaps.
fn is_numbered_sequence(photos: &[Photo]) -> bool {
    let mut numbers: Vec<u64> = photos
        .iter()
        .filter_map(|p| {
            let stem = p.name.rsplit_once('.').map_or(p.name.as_str(), |s| s.0);
            let digits: String = stem
                .chars()
                .rev()
                .take_while(char::is_ascii_digit)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            digits.parse().ok()
        })
        .collect();
    if numbers.len() != photos.len() {
        return false;
    }
    numbers.sort_unstable();
    numbers.windows(2).all(|w| w[1] > w[0] && w[1] - w[0] <= 3)
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Step {
    pub name: String,
    pub seconds: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Georegistration {
    /// The origin of the local east-north-up frame the model is expressed in.
    pub origin: GeoPoint,
    /// RMS distance between registered camera centres and the positions they were fitted to
    /// (metres): GPS, or GPS levelled when `gps_altitudes` is false.
    pub rms_error_m: f64,
    /// The same, east and north only (None in reports written before it was measured).
    #[serde(default)]
    pub horizontal_rms_m: Option<f64>,
    /// Whether the GPS altitudes were used, or found inconsistent with the photos' geometry
    /// and replaced by one height (a survey flown level).
    #[serde(default)]
    pub gps_altitudes: Option<bool>,
    pub photos_used: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CameraSummary {
    pub model: String,
    pub width: u32,
    pub height: u32,
    pub params: Vec<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SfmReport {
    pub matcher: Matcher,
    pub matcher_reason: String,
    pub photos: usize,
    pub registered: usize,
    pub unregistered: Vec<String>,
    pub points: usize,
    pub mean_track_length: f64,
    pub mean_reprojection_error_px: f64,
    pub cameras: Vec<CameraSummary>,
    pub georegistration: Option<Georegistration>,
    /// Why there is no georegistration, when there is none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub georegistration_skipped: Option<String>,
    pub steps: Vec<Step>,
}

/// Weights of each step in the stage's overall progress fraction.
const PHASES: [(&str, f64, f64); 6] = [
    ("features", 0.0, 0.3),
    ("matching", 0.3, 0.55),
    ("mapping", 0.55, 0.85),
    ("refine", 0.85, 0.9),
    ("georegister", 0.9, 0.92),
    ("undistort", 0.92, 1.0),
];

fn phase_fraction(step: &str, within: f64) -> f64 {
    PHASES
        .iter()
        .find(|p| p.0 == step)
        .map_or(0.0, |&(_, a, b)| a + (b - a) * within.clamp(0.0, 1.0))
}

fn progress_event(step: &str, within: f64, message: impl Into<String>) -> Event {
    Event::new(
        Stage::Sfm,
        step,
        Some(phase_fraction(step, within)),
        message,
    )
}

/// Runs SfM on an ingested job. Writes `sfm/` (replacing an earlier run) and `sfm/report.json`.
pub fn run(
    job: &JobDir,
    opts: &SfmOptions,
    progress: &mut dyn Progress,
) -> anyhow::Result<SfmReport> {
    let manifest = Manifest::read(job)?;
    let photos = &manifest.photos;
    let sfm = job.sfm();
    if sfm.exists() {
        std::fs::remove_dir_all(&sfm).with_context(|| format!("cannot clear {}", sfm.display()))?;
    }
    std::fs::create_dir_all(&sfm)?;
    let colmap = Colmap {
        exe: opts.colmap.clone(),
        log: sfm.join("colmap.log"),
    };
    let db = sfm.join("database.db");
    let threads = opts
        .threads
        .map_or_else(|| "-1".to_string(), |t| t.to_string());
    let mut steps = Vec::new();
    let total = photos.len();

    let (matcher, matcher_reason) = match opts.matcher {
        Some(m) => (m, "chosen by the caller".to_string()),
        None => choose_matcher(photos),
    };
    // A survey's photos each overlap a dozen neighbours or more, so a few thousand features
    // each are plenty, and CPU matching costs the product of two photos' feature counts: on the
    // 75-photo caliterra survey COLMAP's default of 8,192 spent 10 of the SfM's 15 minutes
    // matching (docs/decisions.md).
    let max_features = if matcher == Matcher::Spatial {
        4096
    } else {
        8192
    };

    // 1. Features. One shared camera when every photo comes from the same camera at the same
    // size and zoom: fewer unknowns, better intrinsics.
    let same_camera = photos.windows(2).all(|w| {
        let (a, b) = (&w[0], &w[1]);
        (
            a.working_width,
            a.working_height,
            &a.exif.make,
            &a.exif.model,
            a.exif.focal_mm,
        ) == (
            b.working_width,
            b.working_height,
            &b.exif.make,
            &b.exif.model,
            b.exif.focal_mm,
        )
    });
    progress.report(progress_event(
        "features",
        0.0,
        format!("extracting SIFT features from {total} photos"),
    ));
    let seconds = colmap.run(
        "feature_extractor",
        &[
            ("database_path", arg(&db)),
            ("image_path", arg(&job.images())),
            ("ImageReader.camera_model", "SIMPLE_RADIAL".into()),
            (
                "ImageReader.single_camera",
                u8::from(same_camera).to_string(),
            ),
            ("SiftExtraction.use_gpu", "0".into()),
            ("SiftExtraction.num_threads", threads.clone()),
            ("SiftExtraction.max_num_features", max_features.to_string()),
        ],
        |line| {
            if let Some((done, n)) = parse_progress(line) {
                #[allow(clippy::cast_precision_loss)]
                progress.report(progress_event(
                    "features",
                    done as f64 / n as f64,
                    format!("photo {done}/{n}"),
                ));
            }
        },
    )?;
    steps.push(Step {
        name: "features".into(),
        seconds,
    });

    // 2. Matching.
    progress.report(progress_event(
        "matching",
        0.0,
        format!(
            "{} matching ({matcher_reason})",
            format!("{matcher:?}").to_lowercase()
        ),
    ));
    let mut match_args = vec![
        ("database_path", arg(&db)),
        ("SiftMatching.use_gpu", "0".to_string()),
        ("SiftMatching.num_threads", threads.clone()),
    ];
    let command = match matcher {
        Matcher::Exhaustive => "exhaustive_matcher",
        Matcher::Spatial => {
            match_args.extend([
                ("SpatialMatching.is_gps", "1".to_string()),
                ("SpatialMatching.ignore_z", "0".to_string()),
                ("SpatialMatching.max_num_neighbors", "20".to_string()),
                // Drone surveys spread wider than COLMAP's 100 m default.
                ("SpatialMatching.max_distance", "500".to_string()),
            ]);
            "spatial_matcher"
        }
        Matcher::Sequential => {
            match_args.push(("SequentialMatching.overlap", "15".to_string()));
            "sequential_matcher"
        }
    };
    let seconds = colmap.run(command, &match_args, |line| {
        if let Some((done, n)) = parse_progress(line) {
            #[allow(clippy::cast_precision_loss)]
            progress.report(progress_event(
                "matching",
                done as f64 / n as f64,
                format!("{done}/{n}"),
            ));
        }
    })?;
    steps.push(Step {
        name: "matching".into(),
        seconds,
    });

    // 3. Incremental mapping.
    let models = sfm.join("models");
    std::fs::create_dir_all(&models)?;
    progress.report(progress_event("mapping", 0.0, "incremental mapping"));
    let mapped = colmap.run(
        "mapper",
        &[
            ("database_path", arg(&db)),
            ("image_path", arg(&job.images())),
            ("output_path", arg(&models)),
            ("Mapper.num_threads", threads.clone()),
        ],
        |line| {
            if let Some(n) = parse_registered(line) {
                #[allow(clippy::cast_precision_loss)]
                progress.report(progress_event(
                    "mapping",
                    n as f64 / total as f64,
                    format!("{n}/{total} photos registered"),
                ));
            }
        },
    );
    // The mapper exits with an error when it cannot start any model: that is the "too few
    // photos registered" case, to be explained, not a crash to report.
    let best = largest_model(&models)?;
    match mapped {
        Ok(seconds) => steps.push(Step {
            name: "mapping".into(),
            seconds,
        }),
        Err(e) if best.is_some() => return Err(e),
        Err(_) => {}
    }
    let registered = best.as_ref().map_or(0, |(_, m)| m.images.len());
    #[allow(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss
    )]
    let needed = ((total as f64 * opts.min_registered_fraction).ceil() as usize).max(3);
    let Some((best_dir, mapped)) = best.filter(|_| registered >= needed) else {
        bail!("{}", diagnose(&db, photos, registered, needed));
    };

    // 4. Final bundle adjustment, refining the principal point too: the mapper holds it at the
    // image centre, which costs ~0.4° of rotation accuracy on real lenses. It is only
    // well-determined with enough views per camera.
    let refined = sfm.join("refined");
    std::fs::create_dir_all(&refined)?;
    let views_per_camera = mapped.images.len() / mapped.cameras.len().max(1);
    let refine_pp = opts.refine_principal_point && views_per_camera >= 5;
    progress.report(progress_event(
        "refine",
        0.0,
        if refine_pp {
            "bundle adjustment with principal point refinement"
        } else {
            "bundle adjustment"
        },
    ));
    let seconds = colmap.run(
        "bundle_adjuster",
        &[
            ("input_path", arg(&best_dir)),
            ("output_path", arg(&refined)),
            (
                "BundleAdjustment.refine_principal_point",
                u8::from(refine_pp).to_string(),
            ),
        ],
        |_| {},
    )?;
    steps.push(Step {
        name: "refine".into(),
        seconds,
    });

    // 5. Georegistration to GPS.
    let sparse = job.sparse();
    std::fs::create_dir_all(&sparse)?;
    let (georegistration, georegistration_skipped) = georegister(
        &colmap, job, &refined, &sparse, &mapped, photos, &mut steps, progress,
    )?;
    if georegistration.is_none() {
        for f in ["cameras.bin", "images.bin", "points3D.bin"] {
            std::fs::copy(refined.join(f), sparse.join(f))?;
        }
    }

    // 6. Undistortion to PINHOLE for the trainer.
    progress.report(progress_event(
        "undistort",
        0.0,
        "undistorting photos to a pinhole model",
    ));
    let undistorted = job.undistorted();
    let seconds = colmap.run(
        "image_undistorter",
        &[
            ("image_path", arg(&job.images())),
            ("input_path", arg(&sparse)),
            ("output_path", arg(&undistorted)),
            ("output_type", "COLMAP".into()),
        ],
        |_| {},
    )?;
    steps.push(Step {
        name: "undistort".into(),
        seconds,
    });
    let model = Reconstruction::read(&undistorted.join("sparse"))
        .context("COLMAP's undistorted model is unreadable")?;
    if let Some(c) = model
        .cameras
        .values()
        .find(|c| c.kind != CameraKind::Pinhole)
    {
        bail!(
            "the undistorted model has a {:?} camera, expected PINHOLE",
            c.kind
        );
    }

    let final_model = Reconstruction::read(&sparse)?;
    let names: std::collections::HashSet<_> =
        final_model.images.iter().map(|i| i.name.as_str()).collect();
    let unregistered: Vec<String> = photos
        .iter()
        .filter(|p| !names.contains(p.name.as_str()))
        .map(|p| p.name.clone())
        .collect();
    #[allow(clippy::cast_precision_loss)]
    let n_points = final_model.points.len().max(1) as f64;
    #[allow(clippy::cast_precision_loss)]
    let report = SfmReport {
        matcher,
        matcher_reason,
        photos: total,
        registered: final_model.images.len(),
        unregistered,
        points: final_model.points.len(),
        mean_track_length: final_model
            .points
            .iter()
            .map(|p| p.track_len as f64)
            .sum::<f64>()
            / n_points,
        mean_reprojection_error_px: final_model.points.iter().map(|p| p.error).sum::<f64>()
            / n_points,
        cameras: final_model
            .cameras
            .values()
            .map(|c| CameraSummary {
                model: format!("{:?}", c.kind),
                width: c.width,
                height: c.height,
                params: c.params.clone(),
            })
            .collect(),
        georegistration,
        georegistration_skipped,
        steps,
    };
    write_atomic(&job.sfm_report(), &serde_json::to_vec_pretty(&report)?)?;
    // The intermediate models are reproducible from the database; keep the job small.
    let _ = std::fs::remove_dir_all(&models);
    let _ = std::fs::remove_dir_all(&refined);
    progress.report(Event::new(
        Stage::Sfm,
        "done",
        Some(1.0),
        format!(
            "{}/{} photos registered, {} points{}",
            report.registered,
            report.photos,
            report.points,
            match &report.georegistration {
                Some(g) if g.gps_altitudes == Some(false) => {
                    ", georegistered (east-north-up, metres; level: the GPS altitudes \
                     disagreed with the photos)"
                }
                Some(_) => ", georegistered (east-north-up, metres)",
                None => "",
            }
        ),
    ));
    Ok(report)
}

/// The model folder under `models/` with the most registered images.
fn largest_model(models: &Path) -> anyhow::Result<Option<(std::path::PathBuf, Reconstruction)>> {
    let mut best: Option<(std::path::PathBuf, Reconstruction)> = None;
    for entry in std::fs::read_dir(models)? {
        let dir = entry?.path();
        if !dir.join("images.bin").exists() {
            continue;
        }
        let model = Reconstruction::read(&dir)?;
        if best
            .as_ref()
            .is_none_or(|(_, b)| model.images.len() > b.images.len())
        {
            best = Some((dir, model));
        }
    }
    Ok(best)
}

/// Aligns the model to the photos' GPS positions in a local east-north-up frame centred on
/// their centroid, using COLMAP's robust (RANSAC) similarity alignment.
#[allow(clippy::too_many_arguments)]
fn georegister(
    colmap: &Colmap,
    job: &JobDir,
    input: &Path,
    output: &Path,
    model: &Reconstruction,
    photos: &[Photo],
    steps: &mut Vec<Step>,
    progress: &mut dyn Progress,
) -> anyhow::Result<(Option<Georegistration>, Option<String>)> {
    let registered: BTreeMap<&str, _> = model.images.iter().map(|i| (i.name.as_str(), i)).collect();
    let with_gps: Vec<(&Photo, GeoPoint)> = photos
        .iter()
        .filter(|p| registered.contains_key(p.name.as_str()))
        .filter_map(|p| p.exif.gps.map(|g| (p, g)))
        .collect();
    if with_gps.len() < 3 {
        return Ok((
            None,
            Some(format!(
                "{} registered photos have GPS; 3 are needed",
                with_gps.len()
            )),
        ));
    }
    #[allow(clippy::cast_precision_loss)]
    let n = with_gps.len() as f64;
    let origin = GeoPoint {
        lat: with_gps.iter().map(|(_, g)| g.lat).sum::<f64>() / n,
        lon: with_gps.iter().map(|(_, g)| g.lon).sum::<f64>() / n,
        alt: with_gps.iter().map(|(_, g)| g.alt).sum::<f64>() / n,
    };
    let frame = EnuFrame::new(origin);
    let local: Vec<(&str, [f64; 3])> = with_gps
        .iter()
        .map(|(p, g)| (p.name.as_str(), frame.to_local(g)))
        .collect();
    let spread = local
        .iter()
        .map(|(_, l)| (l[0] * l[0] + l[1] * l[1] + l[2] * l[2]).sqrt())
        .fold(0.0, f64::max);
    if spread < 2.0 {
        return Ok((
            None,
            Some(format!(
                "the GPS positions lie within {spread:.1} m of each other, too close to fix scale and orientation"
            )),
        ));
    }
    progress.report(progress_event(
        "georegister",
        0.0,
        format!("aligning to the GPS positions of {} photos", local.len()),
    ));
    // Two references: the GPS positions as they are, and the same with every altitude at the
    // centroid's. Consumer GPS altitude can drift by tens of metres over one flight (on the
    // caliterra survey it climbs 113 m, monotonically, over a flight at one height); fitted
    // as truth, that tilts the whole model (27° there) and pulls the horizontal fit with it.
    // For a survey flown at one height the level reference is the truth. The fit that lands
    // the cameras closer to their GPS positions horizontally (where GPS is good) wins; the
    // level one only when clearly better, so true altitude changes (terrain following, orbits
    // at several heights) keep the altitudes.
    let as_measured = align_to(colmap, job, input, output, &local, "gps-enu.txt", false)?;
    let levelled = job.sfm().join("levelled");
    let level = align_to(
        colmap,
        job,
        input,
        &levelled,
        &local,
        "gps-enu-level.txt",
        true,
    )?;
    let chosen = match (as_measured, level) {
        (Some(a), Some(l)) if l.horizontal_rms < 0.8 * a.horizontal_rms => {
            replace_dir(&levelled, output)?;
            Some(l)
        }
        (Some(a), _) => Some(a),
        (None, Some(l)) => {
            replace_dir(&levelled, output)?;
            Some(l)
        }
        (None, None) => None,
    };
    let _ = std::fs::remove_dir_all(&levelled);
    let Some(fit) = chosen else {
        return Ok((
            None,
            Some(
                "COLMAP could not align the model to the GPS positions (see sfm/colmap.log)".into(),
            ),
        ));
    };
    steps.push(Step {
        name: "georegister".into(),
        seconds: fit.seconds,
    });
    write_atomic(
        &job.delivered(DeliveredFile::Geo),
        &serde_json::to_vec_pretty(&serde_json::json!({
            "frame": "east-north-up, metres",
            "origin": origin,
        }))?,
    )?;
    Ok((
        Some(Georegistration {
            origin,
            rms_error_m: fit.rms,
            horizontal_rms_m: Some(fit.horizontal_rms),
            gps_altitudes: Some(!fit.level),
            photos_used: fit.photos,
        }),
        None,
    ))
}

/// One alignment of the model to GPS: errors of the registered camera centres against the
/// reference it was fitted to, and horizontally against GPS.
struct Fit {
    rms: f64,
    horizontal_rms: f64,
    photos: usize,
    level: bool,
    seconds: f64,
}

/// Runs COLMAP's robust similarity alignment of `input` to the photos' local positions
/// (altitudes replaced by the centroid's when `level`) into `output`. None when COLMAP finds no
/// alignment.
fn align_to(
    colmap: &Colmap,
    job: &JobDir,
    input: &Path,
    output: &Path,
    local: &[(&str, [f64; 3])],
    file: &str,
    level: bool,
) -> anyhow::Result<Option<Fit>> {
    let reference = job.sfm().join(file);
    let target = |l: &[f64; 3]| [l[0], l[1], if level { 0.0 } else { l[2] }];
    let text = local.iter().fold(String::new(), |mut text, (name, l)| {
        let t = target(l);
        let _ = writeln!(text, "{name} {:.4} {:.4} {:.4}", t[0], t[1], t[2]);
        text
    });
    std::fs::write(&reference, text)?;
    std::fs::create_dir_all(output)?;
    let seconds = colmap.run(
        "model_aligner",
        &[
            ("input_path", arg(input)),
            ("output_path", arg(output)),
            ("ref_images_path", arg(&reference)),
            ("ref_is_gps", "0".into()),
            ("alignment_type", "custom".into()),
            ("robust_alignment", "1".into()),
            // Consumer drone GPS is good to a few metres; outliers beyond that are rejected.
            ("robust_alignment_max_error", "5".into()),
        ],
        |_| {},
    );
    let seconds = match seconds {
        Ok(s) if output.join("images.bin").exists() => s,
        Ok(_) | Err(_) => return Ok(None),
    };
    let aligned = Reconstruction::read(output)?;
    let truth: BTreeMap<&str, [f64; 3]> = local.iter().copied().collect();
    let errors: Vec<(f64, f64)> = aligned
        .images
        .iter()
        .filter_map(|i| {
            let t = target(truth.get(i.name.as_str())?);
            let c = i.centre();
            let horizontal = (c.x - t[0]).powi(2) + (c.y - t[1]).powi(2);
            Some((horizontal + (c.z - t[2]).powi(2), horizontal))
        })
        .collect();
    #[allow(clippy::cast_precision_loss)]
    let n = errors.len().max(1) as f64;
    Ok(Some(Fit {
        rms: (errors.iter().map(|e| e.0).sum::<f64>() / n).sqrt(),
        horizontal_rms: (errors.iter().map(|e| e.1).sum::<f64>() / n).sqrt(),
        photos: errors.len(),
        level,
        seconds,
    }))
}

/// Replaces directory `to` with `from`.
fn replace_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    if to.exists() {
        std::fs::remove_dir_all(to)?;
    }
    std::fs::rename(from, to)
}

/// Explains a reconstruction that registered too few photos, from COLMAP's database: how many
/// features each photo had and how many other photos it matched.
fn diagnose(db: &Path, photos: &[Photo], registered: usize, needed: usize) -> String {
    let total = photos.len();
    let head = format!(
        "only {registered} of {total} photos could be placed in one model (at least {needed} needed)"
    );
    let Ok(stats) = match_stats(db) else {
        return format!("{head}; see sfm/colmap.log");
    };
    let mut features: Vec<usize> = stats.values().map(|s| s.0).collect();
    features.sort_unstable();
    let median = features.get(features.len() / 2).copied().unwrap_or(0);
    let isolated = stats.values().filter(|s| s.1 == 0).count();
    let cause = if total < 5 {
        format!("too few photos: {total}; take at least 20 with 70–80 % overlap between neighbours")
    } else if median < 300 {
        format!(
            "the photos have little detail to match (median {median} features per photo): blur, motion, fog, over-exposure or a featureless subject"
        )
    } else if registered == 0 {
        "no pair of photos could start a model: neighbouring photos are too far apart (aim for 70–80 % overlap, about 15° between viewpoints around the subject)".to_owned()
    } else if isolated * 2 >= total {
        format!(
            "{isolated} of {total} photos match no other photo: too little overlap between them (aim for 70–80 % overlap) or they show different subjects"
        )
    } else {
        format!(
            "the photos match in groups that do not connect ({isolated} match nothing); add photos that bridge the groups"
        )
    };
    format!("{head}; likely cause: {cause}")
}

/// Per image: (features, number of other images it shares verified matches with).
fn match_stats(db: &Path) -> rusqlite::Result<BTreeMap<i64, (usize, usize)>> {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let mut stats = BTreeMap::new();
    let mut q = conn.prepare(
        "SELECT images.image_id, COALESCE(keypoints.rows, 0) FROM images \
         LEFT JOIN keypoints ON keypoints.image_id = images.image_id",
    )?;
    for row in q.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))? {
        let (id, rows) = row?;
        stats.insert(id, (usize::try_from(rows).unwrap_or(0), 0));
    }
    // COLMAP packs an image pair as id1 · 2147483647 + id2 (id1 < id2).
    let mut q = conn.prepare("SELECT pair_id FROM two_view_geometries WHERE rows >= 15")?;
    for row in q.query_map([], |r| r.get::<_, i64>(0))? {
        let pair = row?;
        let (a, b) = (pair / 2_147_483_647, pair % 2_147_483_647);
        for id in [a, b] {
            if let Some(s) = stats.get_mut(&id) {
                s.1 += 1;
            }
        }
    }
    Ok(stats)
}
