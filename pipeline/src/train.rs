//! The training stage: the undistorted SfM model (PINHOLE cameras, photos, sparse points) in;
//! a 3DGS PLY, an evaluation report and side-by-side pictures of the held-out views out.
//! Every 8th photo (by name) is held out for evaluation, the standard protocol. Checkpoints let
//! an interrupted job resume.

use std::path::Path;

use anyhow::{bail, Context as _};
use trainer::model::Gaussians;
use trainer::raster::{Cpu, Rasterizer};
use trainer::state::State;
use trainer::train::{train_from, Report, TrainConfig, View};

use crate::colmap_model::Reconstruction;
use crate::job::{write_atomic, JobDir};
use domain::job::{DeliveredFile, Stage};

use crate::progress::{Event, Progress};

/// Where the rasterizer runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Backend {
    /// A hardware GPU when wgpu finds one, else the CPU.
    #[default]
    Auto,
    /// rayon on every core: the reference, and what machines without a GPU use.
    Cpu,
    /// wgpu compute shaders on the first adapter found, even a software one.
    Wgpu,
}

impl Backend {
    /// The rasterizer; `Wgpu` fails with a sentence when there is no adapter.
    pub fn rasterizer(self) -> anyhow::Result<Box<dyn Rasterizer>> {
        Ok(match self {
            Self::Cpu => Box::new(Cpu),
            Self::Wgpu => Box::new(trainer::gpu::Gpu::new()?),
            Self::Auto => match trainer::gpu::Gpu::new() {
                Ok(gpu) if !gpu.is_software() => Box::new(gpu),
                _ => Box::new(Cpu),
            },
        })
    }
}

#[derive(Debug, Clone)]
pub struct TrainOptions {
    pub backend: Backend,
    pub iterations: u32,
    pub max_gaussians: usize,
    /// Highest SH degree learnt (0–3).
    pub sh_degree: u8,
    /// Longest side of the training images (None: as undistorted).
    pub max_size: Option<u32>,
    pub resume: bool,
    pub report_every: u32,
    pub checkpoint_every: u32,
}

impl Default for TrainOptions {
    fn default() -> Self {
        Self {
            backend: Backend::Auto,
            iterations: 3000,
            max_gaussians: 500_000,
            sh_degree: 3,
            max_size: None,
            resume: false,
            report_every: 25,
            checkpoint_every: 500,
        }
    }
}

/// Loads the photos as training views, optionally downscaled (intrinsics scaled to match).
fn load_views(
    job: &JobDir,
    model: &Reconstruction,
    max_size: Option<u32>,
) -> anyhow::Result<Vec<View>> {
    let images = job.undistorted().join("images");
    model
        .images
        .iter()
        .map(|image| {
            let path = images.join(&image.name);
            let mut img = image::open(&path)
                .with_context(|| format!("cannot read {}", path.display()))?
                .to_rgb8();
            let mut camera = model.render_camera(image);
            if (img.width(), img.height()) != (camera.width, camera.height) {
                bail!(
                    "{} is {}×{} but its camera says {}×{}",
                    image.name,
                    img.width(),
                    img.height(),
                    camera.width,
                    camera.height
                );
            }
            if let Some(limit) = max_size {
                let (w, h) = camera.fit_within(limit);
                if (w, h) != (camera.width, camera.height) {
                    img =
                        image::imageops::resize(&img, w, h, image::imageops::FilterType::Triangle);
                    camera = camera.resized(w, h);
                }
            }
            let rgb = img
                .pixels()
                .map(|p| p.0.map(|c| f32::from(c) / 255.0))
                .collect();
            Ok(View {
                name: image.name.clone(),
                camera,
                image: rgb,
            })
        })
        .collect()
}

/// Every 8th photo (by name) is held out when there are at least 8: (training, held out).
fn split(views: Vec<View>) -> (Vec<View>, Vec<View>) {
    let enough = views.len() >= 8;
    let (held, trained): (Vec<_>, Vec<_>) = views
        .into_iter()
        .enumerate()
        .partition(|(i, _)| enough && i % 8 == 0);
    let strip = |v: Vec<(usize, View)>| v.into_iter().map(|(_, v)| v).collect();
    (strip(trained), strip(held))
}

fn undistorted_model(job: &JobDir) -> anyhow::Result<Reconstruction> {
    let sparse = job.undistorted().join("sparse");
    Reconstruction::read(&sparse).with_context(|| {
        format!(
            "no undistorted model in {} (run `spaceport sfm` first)",
            sparse.display()
        )
    })
}

/// Scores any 3DGS model (ours, or a peer's PLY in the same frame) on the job's held-out
/// photos at `max_size`, exactly as training scores its own, and writes the side-by-side
/// pictures (photo | render) to `pictures`. `background` is the colour the model was trained
/// over (ours: black); `centred` says its trainer ignored the principal point.
pub fn evaluate_model(
    job: &JobDir,
    cloud: &splat::GaussianCloud,
    max_size: Option<u32>,
    background: [f32; 3],
    centred: bool,
    pictures: &Path,
) -> anyhow::Result<trainer::train::Evaluation> {
    let model = undistorted_model(job)?;
    let (_, mut test_views) = split(load_views(job, &model, max_size)?);
    if centred {
        // A trainer that projects through a symmetric frustum (OpenSplat on the CPU) learns its
        // model for cameras whose principal point is the image centre, whatever COLMAP found:
        // render it through the cameras it was trained with.
        for v in &mut test_views {
            #[allow(clippy::cast_precision_loss)]
            let (w, h) = (v.camera.width as f32, v.camera.height as f32);
            v.camera.cx = 0.5 * w;
            v.camera.cy = 0.5 * h;
        }
    }
    if test_views.is_empty() {
        bail!("the job has fewer than 8 photos: none is held out");
    }
    let g = Gaussians::from_cloud(cloud);
    let evaluation = trainer::train::evaluate(&Cpu, &g, &test_views, cloud.sh_degree, background)?
        .context("nothing to evaluate")?;
    write_side_by_side(&Cpu, &g, cloud.sh_degree, &test_views, background, pictures)?;
    Ok(evaluation)
}

/// `dir/NAME.png` for each view: the photo left, the render right.
fn write_side_by_side(
    raster: &dyn Rasterizer,
    g: &Gaussians,
    degree: u8,
    views: &[View],
    background: [f32; 3],
    dir: &Path,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    for v in views {
        let (w, h) = (v.camera.width, v.camera.height);
        let frame = raster.forward(
            &trainer::raster::project_all(g, &v.camera, degree),
            w as usize,
            h as usize,
            background,
        )?;
        let mut side = image::RgbImage::new(2 * w, h);
        image::imageops::replace(&mut side, &to_png(&v.image, w, h), 0, 0);
        image::imageops::replace(&mut side, &to_png(&frame.image, w, h), i64::from(w), 0);
        side.save(dir.join(Path::new(&v.name).with_extension("png")))?;
    }
    Ok(())
}

fn to_png(rgb: &[[f32; 3]], w: u32, h: u32) -> image::RgbImage {
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    image::RgbImage::from_fn(w, h, |x, y| {
        image::Rgb(rgb[(y * w + x) as usize].map(|c| (c.clamp(0.0, 1.0) * 255.0 + 0.5) as u8))
    })
}

/// Trains on a job's SfM output. Writes `train/point_cloud.ply`, `train/report.json` and
/// `train/eval/NAME.png` (photo left, render right) for each held-out view.
pub fn run(
    job: &JobDir,
    opts: &TrainOptions,
    progress: &mut dyn Progress,
) -> anyhow::Result<Report> {
    let model = undistorted_model(job)?;
    if model.images.len() < 2 {
        bail!(
            "training needs at least 2 registered photos, the model has {}",
            model.images.len()
        );
    }
    if model.points.is_empty() {
        bail!("the SfM model has no points to start from");
    }
    let (train_views, test_views) = split(load_views(job, &model, opts.max_size)?);
    let dir = job.train();
    std::fs::create_dir_all(&dir)?;
    let checkpoint = job.checkpoint();
    // Checkpoints of builds before the whole state was saved cannot resume a run exactly.
    for legacy in ["checkpoint.ply", "checkpoint.json"] {
        let _ = std::fs::remove_file(dir.join(legacy));
    }
    let survey = job
        .delivered(DeliveredFile::Geo)
        .exists()
        .then(|| survey_cap(&model))
        .flatten();
    #[allow(clippy::cast_possible_truncation)] // metres
    let config = TrainConfig {
        max_gaussians: opts.max_gaussians,
        max_sh_degree: opts.sh_degree.min(3),
        max_scale: survey.map(|s| s.cap_m as f32),
        ..TrainConfig::for_iterations(opts.iterations)
    };
    let resumed = if opts.resume && checkpoint.exists() {
        let bytes = std::fs::read(&checkpoint)
            .with_context(|| format!("cannot read {}", checkpoint.display()))?;
        match State::from_bytes(&bytes, train_views.len()) {
            Ok(state) if state.iterations() != opts.iterations => bail!(
                "the checkpoint is of a {}-iteration run; resume with --iterations {}",
                state.iterations(),
                state.iterations()
            ),
            Ok(state) => Some(state),
            // Written atomically, a checkpoint is damaged only by the disk or by hand: training
            // from the start is slower but sure, where failing would fail every retry too.
            Err(e) => {
                progress.report(Event::new(
                    Stage::Train,
                    "checkpoint",
                    None,
                    format!("the checkpoint cannot be used ({e}); training starts over"),
                ));
                None
            }
        }
    } else {
        None
    };
    let from_points = || {
        #[allow(clippy::cast_possible_truncation)]
        let points: Vec<[f32; 3]> = model
            .points
            .iter()
            .map(|p| p.xyz.map(|v| v as f32))
            .collect();
        let colours: Vec<[f32; 3]> = model
            .points
            .iter()
            .map(|p| p.rgb.map(|c| f32::from(c) / 255.0))
            .collect();
        State::new(Gaussians::from_points(&points, &colours), config.seed)
    };
    let state = resumed.unwrap_or_else(from_points);
    let (w, h) = train_views
        .first()
        .map_or((0, 0), |v| (v.camera.width, v.camera.height));
    let raster = opts.backend.rasterizer()?;
    progress.report(Event::new(
        Stage::Train,
        "start",
        Some(0.0),
        format!(
            "{} Gaussians {}, {} training and {} held-out photos at {w}×{h}, {} iterations on {}{}",
            state.gaussians.len(),
            match state.iteration() {
                0 => "from SfM".to_string(),
                it => format!("from the checkpoint at iteration {it}"),
            },
            train_views.len(),
            test_views.len(),
            opts.iterations,
            raster.name(),
            survey.map_or_else(String::new, |s| format!(
                "; a nadir survey flown {:.0} m above the ground: no Gaussian grows past {:.1} m",
                s.height_m, s.cap_m
            )),
        ),
    ));
    let mut checkpoint_error = None;
    let mut saved_at = state.iteration();
    let (g, report) = train_from(
        raster.as_ref(),
        state,
        &train_views,
        &test_views,
        &config,
        opts.report_every,
        &mut |p, state| {
            let mut e = Event::new(
                Stage::Train,
                "iteration",
                Some(f64::from(p.iteration) / f64::from(p.iterations)),
                match p.held_out_psnr {
                    Some(psnr) => format!(
                        "iteration {}/{} · held-out PSNR {psnr:.2} dB · {} Gaussians · about {:.0} s left",
                        p.iteration, p.iterations, p.gaussians, p.eta_s
                    ),
                    None => format!(
                        "iteration {}/{} · loss {:.4} · {} Gaussians · about {:.0} s left",
                        p.iteration, p.iterations, p.loss, p.gaussians, p.eta_s
                    ),
                },
            );
            e.data = Some(serde_json::json!({
                "iteration": p.iteration,
                "iterations": p.iterations,
                "loss": p.loss,
                "psnr": p.psnr,
                "gaussians": p.gaussians,
                "sh_degree": p.sh_degree,
                "elapsed_s": p.elapsed_s,
                "eta_s": p.eta_s,
                "held_out_psnr": p.held_out_psnr,
            }));
            progress.report(e);
            // At the first report past each multiple of `checkpoint_every` (reports come every
            // `report_every` iterations, which need not divide it).
            if opts.checkpoint_every > 0
                && p.iteration / opts.checkpoint_every > saved_at / opts.checkpoint_every
                && p.iteration < p.iterations
            {
                if let Err(e) = write_checkpoint(&checkpoint, state) {
                    checkpoint_error = Some(e);
                    return false;
                }
                saved_at = p.iteration;
            }
            true
        },
    )?;
    if let Some(e) = checkpoint_error {
        return Err(e.context("cannot write a training checkpoint"));
    }
    write_atomic(
        &job.delivered(DeliveredFile::Ply),
        &splat::ply::write(&g.to_cloud(report.sh_degree)),
    )?;
    write_atomic(
        &job.delivered(DeliveredFile::Report),
        &serde_json::to_vec_pretty(&report)?,
    )?;
    write_side_by_side(
        raster.as_ref(),
        &g,
        report.sh_degree,
        &test_views,
        config.background,
        &job.eval(),
    )?;
    if !report.cancelled {
        let _ = std::fs::remove_file(&checkpoint);
    }
    let eval = report.evaluation.as_ref();
    progress.report(Event::new(
        Stage::Train,
        "done",
        Some(1.0),
        format!(
            "{} Gaussians; held-out PSNR {:.2} dB, SSIM {:.3}; {:.1} iterations/s",
            report.gaussians,
            eval.map_or(f64::NAN, |e| e.psnr),
            eval.map_or(f64::NAN, |e| e.ssim),
            report.iterations_per_second
        ),
    ));
    Ok(report)
}

/// A nadir survey: the photos of a georegistered (east-north-up) model look down.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SurveyCap {
    /// The cameras' median height above the median of the SfM points.
    pub height_m: f64,
    /// The largest a Gaussian may grow ([`TrainConfig::max_scale`]).
    pub cap_m: f64,
}

/// A survey's photos look at most this far from straight down (the median photo). Most photos
/// of the planner's spirals look toward the centre from far out (a 20-minute battery's median
/// waypoint looks 71° off vertical, its steepest 31°), and an object orbit looks sideways:
/// neither is capped.
const NADIR_DEGREES: f64 = 20.0;

/// The cap as a fraction of the height flown. Trained uncapped, a nadir survey fills the photos'
/// edges (seen by one or two photos) with blobs tens of metres across under the ground, and every
/// viewpoint but straight down sees them as fog. Caliterra (flown 47 m up, preview preset): no
/// cap 32.58 dB held out and fog; 3.9 m (this) 31.46 dB, 2 m 31.30 dB, neither with fog
/// (docs/decisions.md, "The fog around a drone survey"). A fraction of the scene's extent instead
/// would also cap an orbit's background walls (fountain-P11: 14.55 dB against 21.98).
const SURVEY_CAP_OF_HEIGHT: f64 = 1.0 / 12.0;

/// The size cap of a georegistered model, when its photos make a nadir survey (see
/// [`NADIR_DEGREES`]); None for any other flight.
pub fn survey_cap(model: &Reconstruction) -> Option<SurveyCap> {
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied()
    };
    let (mut off_down, mut heights) = (Vec::new(), Vec::new());
    for image in &model.images {
        // The optical axis in the world: the camera's +z.
        let axis = image.rotation().transpose() * nalgebra::Vector3::z();
        off_down.push((-axis.z).clamp(-1.0, 1.0).acos().to_degrees());
        heights.push(image.centre().z);
    }
    let ground = median(model.points.iter().map(|p| p.xyz[2]).collect())?;
    let height_m = median(heights)? - ground;
    (median(off_down)? <= NADIR_DEGREES && height_m > 0.0).then_some(SurveyCap {
        height_m,
        cap_m: height_m * SURVEY_CAP_OF_HEIGHT,
    })
}

/// Writes the run's whole state beside the model, atomically: a kill mid-write leaves the
/// previous checkpoint in place.
fn write_checkpoint(path: &Path, state: &State) -> anyhow::Result<()> {
    let tmp = path.with_extension("tmp");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&tmp)?);
    state.write_to(&mut file)?;
    file.into_inner()
        .map_err(std::io::IntoInnerError::into_error)?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::colmap_model::{Point3D, RegisteredImage};
    use nalgebra::{Matrix3, Rotation3, UnitQuaternion, Vector3};

    /// Cameras on a 4×4 grid 10 m apart at `altitude`, each looking `tilt` degrees off straight
    /// down, over points on the ground (z from 0 to 2 m).
    fn flight(altitude: f64, tilt: f64) -> Reconstruction {
        // World → camera for a camera looking straight down: x stays, y and z flip.
        let down = Matrix3::new(1.0, 0.0, 0.0, 0.0, -1.0, 0.0, 0.0, 0.0, -1.0);
        let tilted = Rotation3::from_axis_angle(&Vector3::x_axis(), tilt.to_radians()).into_inner();
        let r = tilted * down;
        let q = UnitQuaternion::from_matrix(&r);
        let images = (0..16u32)
            .map(|k| {
                let centre =
                    Vector3::new(f64::from(k % 4) * 10.0, f64::from(k / 4) * 10.0, altitude);
                let t = -(r * centre);
                RegisteredImage {
                    id: k + 1,
                    camera_id: 1,
                    name: format!("{k:02}.jpg"),
                    qvec: [q.w, q.i, q.j, q.k],
                    tvec: [t.x, t.y, t.z],
                    observations: 100,
                }
            })
            .collect();
        let points = (0..100u32)
            .map(|k| Point3D {
                xyz: [
                    f64::from(k % 10) * 3.0,
                    f64::from(k / 10) * 3.0,
                    f64::from(k % 3),
                ],
                rgb: [128; 3],
                error: 0.5,
                track_len: 3,
            })
            .collect();
        Reconstruction {
            images,
            points,
            ..Reconstruction::default()
        }
    }

    #[test]
    fn a_nadir_survey_is_capped_by_the_height_it_was_flown() {
        let cap = survey_cap(&flight(49.0, 5.0)).expect("a nadir survey");
        assert!((cap.height_m - 48.0).abs() < 1e-6, "{cap:?}");
        assert!((cap.cap_m - 4.0).abs() < 1e-6, "{cap:?}");
    }

    #[test]
    fn oblique_flights_and_models_upside_down_are_not_capped() {
        // The planner's spiral looks 30° or more off vertical; an object orbit, sideways.
        assert_eq!(survey_cap(&flight(49.0, 35.0)), None);
        assert_eq!(survey_cap(&flight(49.0, 90.0)), None);
        // Cameras under the points: not a frame whose z is up.
        assert_eq!(survey_cap(&flight(-20.0, 0.0)), None);
        assert_eq!(survey_cap(&Reconstruction::default()), None);
    }
}
