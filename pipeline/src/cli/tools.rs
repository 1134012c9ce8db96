//! Tools around the pipeline: measuring a reconstruction against ground truth (`eval-sfm`),
//! scoring any trained model on a job's held-out photos (`eval-model`),
//! planning a flight (`plan`), rendering a splat file with the viewer's renderer (`render`), and
//! making a synthetic drone orbit with exact cameras (`synth-orbit`).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};
use pipeline::colmap_model::Reconstruction;
use pipeline::compress::load;
use pipeline::eval;
use pipeline::job::JobDir;
use planner::elevation::{Elevation, FlatGround, HgtTile, HgtTiles};

pub fn eval_model(a: &EvalModel) -> anyhow::Result<()> {
    let cloud = load(&a.model)?.cloud;
    let e = pipeline::train::evaluate_model(
        &JobDir::new(&a.job),
        &cloud,
        a.max_size,
        a.background,
        a.centred_principal_point,
        &a.pictures,
    )?;
    for (name, psnr, ssim) in &e.views {
        println!("{name}: psnr={psnr:.2} ssim={ssim:.4}");
    }
    println!(
        "psnr={:.2} ssim={:.4} gaussians={}",
        e.psnr,
        e.ssim,
        cloud.len()
    );
    Ok(())
}

#[derive(clap::Args)]
pub struct EvalSfm {
    job: PathBuf,
    truth: PathBuf,
}

/// Scores a 3DGS model (a PLY or SOG in the job's COLMAP frame: ours, or a peer's) on the job's
/// held-out photos, as `train` scores its own; prints `psnr=… ssim=… gaussians=…`.
#[derive(clap::Args)]
pub struct EvalModel {
    job: PathBuf,
    model: PathBuf,
    /// Longest side of the held-out photos, pixels (as `train --max-size`).
    #[arg(long)]
    max_size: Option<u32>,
    /// Where the side-by-side pictures (photo | render) go.
    #[arg(long)]
    pictures: PathBuf,
    /// The background the model was trained over, "R,G,B" in 0–1 (ours: black; OpenSplat's:
    /// Nerfstudio's 0.613,0.0101,0.3984).
    #[arg(long, default_value = "0,0,0", value_parser = parse_rgb)]
    background: [f32; 3],
    /// The model's trainer ignored the principal point (OpenSplat's CPU projection is a
    /// symmetric frustum): render it through centred cameras, as it was trained.
    #[arg(long)]
    centred_principal_point: bool,
}

fn parse_rgb(text: &str) -> Result<[f32; 3], String> {
    let v: Vec<f32> = text
        .split(',')
        .map(|c| c.trim().parse::<f32>())
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{e}"))?;
    match v[..] {
        [r, g, b] if v.iter().all(|c| (0.0..=1.0).contains(c)) => Ok([r, g, b]),
        _ => Err("expected R,G,B with each in 0–1".into()),
    }
}

#[derive(clap::Args)]
pub struct Plan {
    /// "LAT, LON" in decimal degrees.
    #[arg(long, allow_hyphen_values = true)]
    center: String,
    #[arg(long)]
    minutes: f64,
    #[arg(long)]
    batteries: u32,
    /// Lowest height above the ground, feet.
    #[arg(long)]
    min_height: f64,
    /// Highest height above the ground, feet.
    #[arg(long, default_value_t = 400.0)]
    max_height: f64,
    #[arg(long)]
    out: PathBuf,
    /// A folder of SRTM .hgt tiles for terrain following (default: flat ground).
    #[arg(long)]
    dem: Option<PathBuf>,
    /// The DJI aircraft the KMZ files are for: mini-4-pro, mini-5-pro, air-3, air-3s,
    /// mavic-3-pro, mavic-3e, mavic-3t, mavic-3m, matrice-3d, matrice-3td, matrice-30,
    /// matrice-30t.
    #[arg(long, default_value = "mini-4-pro", value_parser = parse_aircraft)]
    aircraft: planner::export::Aircraft,
}

fn parse_aircraft(text: &str) -> Result<planner::export::Aircraft, String> {
    planner::export::Aircraft::parse(text).ok_or_else(|| {
        let known: Vec<&str> = planner::export::Aircraft::ALL
            .iter()
            .map(|a| a.slug())
            .collect();
        format!("unknown aircraft; one of {}", known.join(", "))
    })
}

#[derive(clap::Args)]
pub struct Render {
    scene: PathBuf,
    output: PathBuf,
    #[arg(long, default_value_t = 1280)]
    width: u32,
    #[arg(long, default_value_t = 720)]
    height: u32,
    /// The scene's up axis: -y (3DGS/COLMAP scenes), y, or z (Spaceport's georegistered models).
    #[arg(long, default_value = "-y", allow_hyphen_values = true)]
    up: String,
    /// Turn the start view around the up axis, degrees.
    #[arg(long, default_value_t = 0.0, allow_hyphen_values = true)]
    yaw: f32,
}

#[derive(clap::Args)]
pub struct SynthOrbit {
    out: PathBuf,
    #[arg(long, default_value_t = 24)]
    images: usize,
    #[arg(long, default_value_t = 800)]
    width: u32,
    #[arg(long, default_value_t = 600)]
    height: u32,
    /// Standard deviation of the noise added to the EXIF GPS positions, in metres.
    #[arg(long, default_value_t = 0.0)]
    gps_noise: f64,
}

pub fn render(a: &Render) -> anyhow::Result<()> {
    let (scene, output, width, height, up, yaw_degrees) =
        (&a.scene, &a.output, a.width, a.height, a.up.as_str(), a.yaw);
    if !(16..=8192).contains(&width) || !(16..=8192).contains(&height) {
        bail!("--width and --height must be between 16 and 8192 pixels");
    }
    let up = viewer::camera::UpAxis::parse(up)
        .with_context(|| format!("--up must be -y, y or z, not '{up}'"))?;
    let cloud = load(scene)?.cloud;
    let mut orbit = viewer::camera::OrbitCamera::framing(&cloud.positions, up);
    orbit.yaw += yaw_degrees.to_radians();
    let camera = orbit.camera(width, height);
    let mut gpu = viewer::headless::Headless::new()?;
    gpu.set_cloud(&cloud)?;
    let (image, times) = gpu.render(&camera, [0.0; 3])?;
    image::save_buffer(
        output,
        &image.to_rgb8(),
        width,
        height,
        image::ExtendedColorType::Rgb8,
    )
    .with_context(|| format!("cannot write {}", output.display()))?;
    println!(
        "rendered {} splats on {} in {:.1} ms (sort {:.1} ms) -> {}",
        cloud.len(),
        gpu.adapter_name,
        (times.sort + times.gpu).as_secs_f64() * 1e3,
        times.sort.as_secs_f64() * 1e3,
        output.display()
    );
    Ok(())
}

pub fn eval_sfm(a: &EvalSfm) -> anyhow::Result<()> {
    let (job, truth) = (a.job.as_path(), a.truth.as_path());
    let model_dir = if job.join("cameras.bin").exists() {
        job.to_path_buf()
    } else {
        JobDir::new(job).sparse()
    };
    let model = Reconstruction::read(&model_dir).with_context(|| {
        format!(
            "no reconstruction in {} (run `spaceport sfm` first)",
            job.display()
        )
    })?;
    if truth.join("truth.json").exists() {
        geo_eval(job, &model, &truth.join("truth.json"))?;
    }
    let truth_dir = if truth.join("cameras").is_dir() {
        truth.join("cameras")
    } else {
        truth.to_path_buf()
    };
    let truth = eval::read_strecha_dir(&truth_dir)?;
    let e = eval::evaluate(&model, &truth)?;
    for (name, centre, rot) in &e.per_image {
        println!(
            "{name}: centre {:.1} mm, rotation {rot:.3}°",
            centre * 1000.0
        );
    }
    if let Some((est, real)) = e.focal {
        println!(
            "focal {est:.1} px (truth {real:.1} px, {:+.3} %)",
            100.0 * (est - real) / real
        );
    }
    println!(
        "centre error mean {:.1} mm, max {:.1} mm over a {:.2} m extent; rotation mean {:.3}°, max {:.3}°",
        e.centre_err_mean * 1000.0,
        e.centre_err_max * 1000.0,
        e.extent,
        e.rot_err_mean_deg,
        e.rot_err_max_deg
    );
    println!(
        "registered={}/{} centre_err_pct={:.3} rot_err_deg={:.3}",
        e.registered,
        e.total,
        e.centre_err_pct(),
        e.rot_err_mean_deg
    );
    Ok(())
}

pub fn synth_orbit(a: &SynthOrbit) -> anyhow::Result<()> {
    let (out, images, width, height, gps_noise) =
        (a.out.as_path(), a.images, a.width, a.height, a.gps_noise);
    if images < 3 || width < 64 || height < 64 {
        bail!("an orbit needs at least 3 images of at least 64×64 pixels");
    }
    let opts = pipeline::synth::OrbitOptions {
        images,
        width,
        height,
        gps_noise_m: gps_noise,
        ..pipeline::synth::OrbitOptions::default()
    };
    let truth = pipeline::synth::write_orbit(out, &opts)?;
    println!(
        "images={} focal_px={:.1} out={}",
        truth.views.len(),
        truth.focal_px,
        out.display()
    );
    Ok(())
}

/// For a synthetic orbit: the georegistered camera centres against the true positions, in
/// metres, with no alignment of our own (the georegistration is what is being measured).
fn geo_eval(job: &Path, model: &Reconstruction, truth_json: &Path) -> anyhow::Result<()> {
    let truth: pipeline::synth::Truth = serde_json::from_slice(&std::fs::read(truth_json)?)
        .with_context(|| format!("{} is not a synthetic orbit's truth", truth_json.display()))?;
    let report: pipeline::sfm::SfmReport = serde_json::from_slice(
        &std::fs::read(JobDir::new(job).sfm_report()).context("no sfm/report.json in the job")?,
    )?;
    let Some(geo) = report.georegistration else {
        bail!("the reconstruction is not georegistered");
    };
    let errors = pipeline::eval::georegistration_errors(model, &truth, geo.origin);
    let max = errors.iter().map(|e| e.1).fold(0.0, f64::max);
    #[allow(clippy::cast_precision_loss)]
    let mean = errors.iter().map(|e| e.1).sum::<f64>() / errors.len().max(1) as f64;
    println!(
        "georegistered: {} cameras, ENU position error mean {:.3} m, max {:.3} m (origin {:.6}, {:.6}, {:.1} m)",
        errors.len(),
        mean,
        max,
        geo.origin.lat,
        geo.origin.lon,
        geo.origin.alt
    );
    Ok(())
}

pub fn plan(a: &Plan) -> anyhow::Result<()> {
    let (center, minutes, batteries, min_height, max_height, out, dem) = (
        a.center.as_str(),
        a.minutes,
        a.batteries,
        a.min_height,
        a.max_height,
        a.out.as_path(),
        a.dem.as_deref(),
    );
    let (lat, lon) = center
        .split_once(',')
        .and_then(|(a, b)| Some((a.trim().parse::<f64>().ok()?, b.trim().parse::<f64>().ok()?)))
        .context("--center must be \"LAT, LON\" in decimal degrees, e.g. \"47.6205, -122.3493\"")?;
    let inputs = planner::plan::Inputs {
        center_lat: lat,
        center_lon: lon,
        battery_minutes: minutes,
        batteries,
        min_height_ft: min_height,
        max_height_ft: max_height,
    };
    let mut tiles = HgtTiles::default();
    if let Some(dir) = dem {
        for entry in
            std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))?
        {
            let path = entry?.path();
            let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            if name.to_ascii_lowercase().ends_with(".hgt") {
                tiles.insert(HgtTile::parse(name, &std::fs::read(&path)?)?);
            }
        }
        if tiles.is_empty() {
            bail!("no .hgt tiles in {}", dir.display());
        }
    }
    let elevation: &dyn Elevation = if dem.is_some() { &tiles } else { &FlatGround };
    let plan = planner::plan::plan(&inputs, elevation)?;
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    for (i, battery) in plan.batteries.iter().enumerate() {
        let n = i + 1;
        std::fs::write(
            out.join(format!("battery-{n}.csv")),
            planner::export::litchi_csv(&plan, battery),
        )?;
        std::fs::write(
            out.join(format!("battery-{n}.kmz")),
            planner::export::dji_kmz(&plan, battery, a.aircraft)?,
        )?;
        println!(
            "battery {n}: {} waypoints, {:.0} ft, {:.1} min of path",
            battery.waypoints.len(),
            battery.length_ft,
            battery.path_minutes
        );
    }
    println!(
        "bounces={} hold_radius_ft={:.0} est_minutes={:.2}",
        plan.params.bounces, plan.params.r_hold_ft, plan.estimated_minutes
    );
    Ok(())
}
