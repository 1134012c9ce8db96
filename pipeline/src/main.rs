//! `spaceport`: the command-line face of the pipeline. Today it reads and converts splat files
//! (PLY, SOG bundle, SOG `meta.json` + WebP); the photogrammetry stages arrive as subcommands.
//! Exit status 0 on success; otherwise non-zero with a one-line reason on stderr.

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context as _};
use clap::{Parser, Subcommand};
use pipeline::colmap_model::Reconstruction;
use pipeline::eval;
use pipeline::ingest::{self, IngestOptions};
use pipeline::job::JobDir;
use pipeline::progress::JsonLines;
use pipeline::sfm;
use splat::render::{psnr, render, Camera};
use splat::sog::encode::{encode, STAGES};
use splat::{ply, sog, FormatError, GaussianCloud};
use std::time::Instant;

#[derive(Parser)]
#[command(
    name = "spaceport",
    version,
    about = "Spaceport's pipeline and splat tools"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Splat count, SH degree, bounds and bytes per splat of a PLY or SOG.
    Info { file: PathBuf },
    /// Decode a SOG (a .sog bundle, a meta.json, or its folder) — or re-write a PLY — as a
    /// standard 3DGS PLY.
    Decompress { input: PathBuf, output: PathBuf },
    /// Compress a PLY (or re-encode a SOG) as SOG v2: OUT.sog for a bundle, any other path for a
    /// folder of meta.json + WebP. Prints a report: size, bytes per splat, render PSNR.
    Compress {
        input: PathBuf,
        output: PathBuf,
        /// Skip the quality report (rendering 8 views of both clouds).
        #[arg(long)]
        no_report: bool,
    },
    /// Render two splat files (same scene) from a ring of 8 viewpoints and print the PSNR of the
    /// second against the first.
    Compare {
        reference: PathBuf,
        candidate: PathBuf,
    },
    /// Compare a job's reconstruction (or a COLMAP sparse model folder) with ground-truth
    /// cameras (a folder of Strecha `.camera` files): similarity-align the camera centres, then
    /// print the centre error (% of the camera extent) and rotation error.
    EvalSfm { job: PathBuf, truth: PathBuf },
    /// Accept photos (a zip or a folder of JPEG/PNG) into a job directory: validate each, read
    /// its EXIF, keep the original and write a downscaled working copy and manifest.json.
    Ingest {
        source: PathBuf,
        job: PathBuf,
        /// Longest side of the working copies, in pixels.
        #[arg(long, default_value_t = 1600, value_parser = clap::value_parser!(u32).range(256..=16384))]
        max_size: u32,
        /// Largest accepted photo, in MiB.
        #[arg(long, default_value_t = 200)]
        max_file_mib: u64,
    },
    /// Structure-from-Motion with COLMAP on an ingested job: cameras and sparse points into
    /// JOB/sfm (georegistered when the photos carry GPS). Progress as JSON lines.
    Sfm {
        job: PathBuf,
        /// Override the matcher chosen from the data.
        #[arg(long, value_enum)]
        matcher: Option<sfm::Matcher>,
        /// COLMAP worker threads (default: all cores).
        #[arg(long)]
        threads: Option<usize>,
        /// Keep the principal point at the image centre (COLMAP's default; less accurate).
        #[arg(long)]
        fixed_principal_point: bool,
    },
    /// Plan a battery-aware spiral mission: writes battery-N.csv (Litchi) and battery-N.kmz (DJI)
    /// into OUT and prints `bounces=N hold_radius_ft=R est_minutes=T`.
    Plan {
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
    },
    /// Train 3D Gaussians on a job's SfM output: `JOB/train/point_cloud.ply`, `report.json` and
    /// `eval/` pictures; prints `psnr=… ssim=… gaussians=… seconds=…` last.
    Train {
        job: PathBuf,
        #[arg(long, value_enum, default_value_t = Backend::Auto)]
        backend: Backend,
        #[arg(long, default_value_t = 3000)]
        iterations: u32,
        #[arg(long, default_value_t = 500_000)]
        max_gaussians: usize,
        /// Highest spherical-harmonics degree to learn (0–3).
        #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u8).range(0..=3))]
        sh_degree: u8,
        /// Longest side of the training images, pixels (default: the working copies' size).
        #[arg(long)]
        max_size: Option<u32>,
        /// Continue from JOB/train/checkpoint.ply (written every 500 iterations).
        #[arg(long)]
        resume: bool,
    },
    /// Photos to a compressed model in one go: ingest → sfm → train → compress (JOB/model.sog).
    Run {
        source: PathBuf,
        job: PathBuf,
        #[arg(long, value_enum, default_value_t = Preset::Preview)]
        preset: Preset,
    },
    /// Run one stage of a job as the job runners do, from the job's parameters as JSON (what a
    /// cloud container is given): the same command line the local runner builds.
    RunStage {
        stage: String,
        job: PathBuf,
        /// The job's parameters (`JobParams` as JSON).
        #[arg(long)]
        params: String,
        /// The uploaded photo archive (ingest only).
        #[arg(long, default_value = "")]
        archive: String,
        /// Also append the stage's progress lines (and, if it fails, why) to this file, one
        /// JSON object per line: how a stage in the cloud reports progress.
        #[arg(long)]
        progress: Option<PathBuf>,
    },
    /// Render a splat file (PLY or SOG) with the viewer's GPU renderer from its default start
    /// view into a PNG. Prints the adapter and the frame time.
    Render {
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
    },
    /// Render a synthetic drone orbit (textured ground and blocks) into OUT/images, as JPEGs
    /// with GPS EXIF, with the exact cameras in OUT/cameras and OUT/truth.json.
    SynthOrbit {
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
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Info { file } => info(&file),
        Command::Decompress { input, output } => decompress(&input, &output),
        Command::Compress {
            input,
            output,
            no_report,
        } => compress(&input, &output, !no_report),
        Command::Compare {
            reference,
            candidate,
        } => compare(&reference, &candidate),
        Command::EvalSfm { job, truth } => eval_sfm(&job, &truth),
        Command::Ingest {
            source,
            job,
            max_size,
            max_file_mib,
        } => ingest_cmd(&source, &job, max_size, max_file_mib),
        Command::Sfm {
            job,
            matcher,
            threads,
            fixed_principal_point,
        } => sfm_cmd(&job, matcher, threads, !fixed_principal_point),
        Command::Plan {
            center,
            minutes,
            batteries,
            min_height,
            max_height,
            out,
            dem,
        } => plan_cmd(
            &center,
            minutes,
            batteries,
            min_height,
            max_height,
            &out,
            dem.as_deref(),
        ),
        Command::Train {
            job,
            backend,
            iterations,
            max_gaussians,
            sh_degree,
            max_size,
            resume,
        } => train_cmd(
            &job,
            backend,
            &pipeline::train::TrainOptions {
                iterations,
                max_gaussians,
                sh_degree,
                max_size,
                resume,
                ..pipeline::train::TrainOptions::default()
            },
        ),
        Command::Run {
            source,
            job,
            preset,
        } => run_cmd(&source, &job, preset),
        Command::RunStage {
            stage,
            job,
            params,
            archive,
            progress,
        } => run_stage_cmd(&stage, &job, &params, &archive, progress.as_deref()),
        Command::Render {
            scene,
            output,
            width,
            height,
            up,
            yaw,
        } => render_cmd(&scene, &output, width, height, &up, yaw),
        Command::SynthOrbit {
            out,
            images,
            width,
            height,
            gps_noise,
        } => synth_cmd(&out, images, width, height, gps_noise),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("spaceport: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run_stage_cmd(
    stage: &str,
    job: &Path,
    params: &str,
    archive: &str,
    progress: Option<&Path>,
) -> anyhow::Result<()> {
    use std::io::{BufRead as _, Write as _};
    let params: domain::ports::JobParams = serde_json::from_str(params)
        .map_err(|e| anyhow::anyhow!("--params is not a job's parameters: {e}"))?;
    let args = domain::ports::stage_args(stage, &params, archive, &job.display().to_string())
        .ok_or_else(|| {
            anyhow::anyhow!(
                "no stage '{stage}' (stages: {})",
                domain::ports::STAGES.join(", ")
            )
        })?;
    if stage == "ingest" && archive.is_empty() {
        anyhow::bail!("ingest needs --archive (the uploaded photos)");
    }
    let mut log = match progress {
        Some(path) => {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            Some(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)?,
            )
        }
        None => None,
    };
    let mut child = std::process::Command::new(std::env::current_exe()?)
        .args(&args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()?;
    // stderr on its own thread (echoed, last line kept for the failure), stdout here (echoed and
    // appended to the progress file line by line, so an upload of the file mid-stage is whole).
    let stderr = child
        .stderr
        .take()
        .ok_or_else(|| anyhow::anyhow!("no stderr"))?;
    let errors = std::thread::spawn(move || {
        let mut last = String::new();
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            eprintln!("{line}");
            if !line.trim().is_empty() {
                last = line;
            }
        }
        last
    });
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| anyhow::anyhow!("no stdout"))?;
    for line in std::io::BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
    {
        println!("{line}");
        if let Some(f) = log.as_mut() {
            writeln!(f, "{line}")?;
            f.flush()?;
        }
    }
    let status = child.wait()?;
    let last = errors.join().unwrap_or_default();
    if status.success() {
        return Ok(());
    }
    let reason = last.trim_start_matches("spaceport: ").to_owned();
    if let Some(f) = log.as_mut() {
        let line = serde_json::json!({"step": "failed", "fraction": null, "message": reason});
        writeln!(f, "{line}")?;
    }
    if reason.is_empty() {
        anyhow::bail!("stage {stage} failed ({status})")
    }
    anyhow::bail!("{reason}")
}

/// What a path turned out to hold.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Ply,
    SogBundle,
    SogFiles,
}

struct Loaded {
    cloud: GaussianCloud,
    kind: Kind,
    /// Bytes on disk (for a SOG folder: meta.json and every image it names).
    bytes: u64,
}

fn load(path: &Path) -> anyhow::Result<Loaded> {
    let meta_path = if path.is_dir() {
        path.join("meta.json")
    } else {
        path.to_path_buf()
    };
    let data = std::fs::read(&meta_path)
        .with_context(|| format!("cannot read {}", meta_path.display()))?;
    let bytes = data.len() as u64;
    if data.starts_with(b"ply") {
        return Ok(Loaded {
            cloud: ply::read(&data)?,
            kind: Kind::Ply,
            bytes,
        });
    }
    if data.starts_with(b"PK") {
        return Ok(Loaded {
            cloud: sog::decode_bundle(&data)?,
            kind: Kind::SogBundle,
            bytes,
        });
    }
    if data.first() == Some(&b'{') {
        let dir = meta_path.parent().unwrap_or(Path::new(".")).to_path_buf();
        let read_bytes = std::cell::Cell::new(bytes);
        let cloud = sog::decode(&data, |name| {
            let file = dir.join(name);
            let content = std::fs::read(&file)
                .map_err(|e| FormatError::BadSog(format!("cannot read {}: {e}", file.display())))?;
            read_bytes.set(read_bytes.get() + content.len() as u64);
            Ok(Cow::Owned(content))
        })?;
        return Ok(Loaded {
            cloud,
            kind: Kind::SogFiles,
            bytes: read_bytes.get(),
        });
    }
    bail!(
        "{} is not a splat file (expected a PLY, a .sog bundle or a SOG meta.json)",
        path.display()
    )
}

fn render_cmd(
    scene: &Path,
    output: &Path,
    width: u32,
    height: u32,
    up: &str,
    yaw_degrees: f32,
) -> anyhow::Result<()> {
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

fn info(path: &Path) -> anyhow::Result<()> {
    let loaded = load(path)?;
    let c = &loaded.cloud;
    let kind = match loaded.kind {
        Kind::Ply => "PLY (3DGS)",
        Kind::SogBundle => "SOG v2 bundle",
        Kind::SogFiles => "SOG v2 (meta.json + WebP)",
    };
    println!("format: {kind}");
    println!("splats: {}", c.len());
    println!("sh_degree: {}", c.sh_degree);
    if let Some(([x0, y0, z0], [x1, y1, z1])) = c.bounds() {
        println!("bounds: min [{x0:.3}, {y0:.3}, {z0:.3}] max [{x1:.3}, {y1:.3}, {z1:.3}]");
    }
    #[allow(clippy::cast_precision_loss)]
    let per_splat = if c.is_empty() {
        0.0
    } else {
        loaded.bytes as f64 / c.len() as f64
    };
    println!("bytes: {} ({per_splat:.2} per splat)", loaded.bytes);
    Ok(())
}

fn decompress(input: &Path, output: &Path) -> anyhow::Result<()> {
    let loaded = load(input)?;
    let bytes = ply::write(&loaded.cloud);
    write_atomically(output, &bytes)?;
    println!(
        "wrote {} splats (SH degree {}) to {}",
        loaded.cloud.len(),
        loaded.cloud.sh_degree,
        output.display()
    );
    Ok(())
}

fn compress(input: &Path, output: &Path, report: bool) -> anyhow::Result<()> {
    let loaded = load(input)?;
    let cloud = &loaded.cloud;
    let started = Instant::now();
    let bar = stage_bar(STAGES.len());
    let encoded = encode(cloud, |stage| {
        if bar.is_hidden() {
            // Not a terminal (a log, the job runner): one plain line per stage.
            eprintln!(
                "[{}/{}] {} ({:.1} s)",
                stage + 1,
                STAGES.len(),
                STAGES[stage],
                started.elapsed().as_secs_f64()
            );
        }
        bar.set_position(stage as u64);
        bar.set_message(STAGES[stage]);
    })?;
    bar.finish_and_clear();
    let encode_secs = started.elapsed().as_secs_f64();
    let bundled = output
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("sog"));
    let bytes = if bundled {
        let bundle = encoded.bundle()?;
        write_atomically(output, &bundle)?;
        bundle.len()
    } else {
        std::fs::create_dir_all(output)
            .with_context(|| format!("cannot create {}", output.display()))?;
        for (name, data) in &encoded.files {
            write_atomically(&output.join(name), data)?;
        }
        encoded.total_bytes()
    };
    #[allow(clippy::cast_precision_loss)]
    let per_splat = bytes as f64 / cloud.len().max(1) as f64;
    println!(
        "wrote {} splats to {} in {encode_secs:.1} s: {bytes} bytes, {per_splat:.2} bytes per splat",
        cloud.len(),
        output.display()
    );
    if report {
        // Decode exactly the files written, through the same path a reader takes.
        let (_, meta) = encoded.files.last().context("the encoder wrote no files")?;
        let decoded = sog::decode(meta, |name| {
            encoded
                .files
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, d)| Cow::Borrowed(d.as_slice()))
                .ok_or_else(|| FormatError::BadSog(format!("the encoder wrote no {name}")))
        })?;
        let (mean, worst) = ring_psnr(cloud, &decoded);
        println!("quality: render PSNR over 8 views mean {mean:.2} dB, worst {worst:.2} dB");
    }
    Ok(())
}

/// A progress bar over `stages` steps on stderr; hidden (drawing nothing) when stderr is not a
/// terminal.
fn stage_bar(stages: usize) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(stages as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:30.cyan/blue} {pos}/{len} {msg} ({elapsed})")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    bar
}

fn compare(reference: &Path, candidate: &Path) -> anyhow::Result<()> {
    let (a, b) = (load(reference)?.cloud, load(candidate)?.cloud);
    if a.len() != b.len() {
        eprintln!("note: {} vs {} splats", a.len(), b.len());
    }
    let (mean, worst) = ring_psnr(&a, &b);
    println!("render PSNR over 8 views: mean {mean:.2} dB, worst {worst:.2} dB");
    Ok(())
}

/// Renders both clouds from 8 viewpoints on a ring around the scene and compares them.
fn ring_psnr(a: &GaussianCloud, b: &GaussianCloud) -> (f64, f64) {
    let Some((lo, hi)) = a.bounds() else {
        return (f64::INFINITY, f64::INFINITY);
    };
    let centre: [f32; 3] = std::array::from_fn(|i| f32::midpoint(lo[i], hi[i]));
    let radius = (0..3).map(|i| hi[i] - lo[i]).fold(0.0f32, f32::max) * 1.2;
    let scores: Vec<f64> = (0..8u8)
        .map(|k| {
            let angle = f32::from(k) * std::f32::consts::TAU / 8.0;
            let eye = [
                centre[0] + radius * angle.cos(),
                centre[1],
                centre[2] + radius * angle.sin(),
            ];
            let cam = Camera::look_at(eye, centre, [0.0, -1.0, 0.0], 0.9, 256, 256);
            psnr(&render(a, &cam, [0.0; 3]), &render(b, &cam, [0.0; 3]))
        })
        .collect();
    #[allow(clippy::cast_precision_loss)]
    let mean = scores.iter().sum::<f64>() / scores.len() as f64;
    (mean, scores.iter().copied().fold(f64::INFINITY, f64::min))
}

/// Writes beside the target and renames, so a failure never leaves a half-written file.
fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let tmp = path.with_extension("partial");
    std::fs::write(&tmp, bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))
}

fn eval_sfm(job: &Path, truth: &Path) -> anyhow::Result<()> {
    let model_dir = if job.join("cameras.bin").exists() {
        job.to_path_buf()
    } else {
        job.join("sfm").join("sparse")
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

fn ingest_cmd(source: &Path, job: &Path, max_size: u32, max_file_mib: u64) -> anyhow::Result<()> {
    let mut opts = IngestOptions {
        working_max_size: max_size,
        ..IngestOptions::default()
    };
    opts.limits.max_file_bytes = max_file_mib << 20;
    let manifest = ingest::ingest(source, &JobDir::new(job), &opts, &mut JsonLines)?;
    println!(
        "photos={} gps={} refused={}",
        manifest.photos.len(),
        manifest.with_gps(),
        manifest.rejected.len()
    );
    Ok(())
}

fn sfm_cmd(
    job: &Path,
    matcher: Option<sfm::Matcher>,
    threads: Option<usize>,
    refine_principal_point: bool,
) -> anyhow::Result<()> {
    let opts = sfm::SfmOptions {
        matcher,
        threads,
        refine_principal_point,
        ..sfm::SfmOptions::default()
    };
    let started = Instant::now();
    let report = sfm::run(&JobDir::new(job), &opts, &mut JsonLines)?;
    let steps: Vec<String> = report
        .steps
        .iter()
        .map(|s| format!("{}={:.1}s", s.name, s.seconds))
        .collect();
    println!(
        "registered={}/{} points={} georegistered={} seconds={:.1} {}",
        report.registered,
        report.photos,
        report.points,
        report.georegistration.is_some(),
        started.elapsed().as_secs_f64(),
        steps.join(" ")
    );
    Ok(())
}

fn synth_cmd(
    out: &Path,
    images: usize,
    width: u32,
    height: u32,
    gps_noise: f64,
) -> anyhow::Result<()> {
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
    let report: sfm::SfmReport = serde_json::from_slice(
        &std::fs::read(job.join("sfm").join("report.json"))
            .context("no sfm/report.json in the job")?,
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

fn plan_cmd(
    center: &str,
    minutes: f64,
    batteries: u32,
    min_height: f64,
    max_height: f64,
    out: &Path,
    dem: Option<&Path>,
) -> anyhow::Result<()> {
    use planner::elevation::{Elevation, FlatGround, HgtTile, HgtTiles};
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
            planner::export::dji_kmz(&plan, battery)?,
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

#[derive(Clone, Copy, clap::ValueEnum)]
enum Backend {
    /// A hardware GPU when there is one, else the CPU.
    Auto,
    /// Every CPU core (rayon).
    Cpu,
    /// wgpu compute on the first adapter found, even a software one (lavapipe).
    Wgpu,
}

/// Quality presets: (working size of the photos, training iterations, training image size).
#[derive(Clone, Copy, clap::ValueEnum)]
enum Preset {
    Preview,
    Standard,
    High,
}

impl Preset {
    fn settings(self) -> (u32, u32, u32) {
        match self {
            Self::Preview => (1200, 2000, 800),
            Self::Standard => (1600, 7000, 1200),
            Self::High => (1600, 30_000, 1600),
        }
    }
}

fn train_cmd(
    job: &Path,
    backend: Backend,
    opts: &pipeline::train::TrainOptions,
) -> anyhow::Result<()> {
    let opts = pipeline::train::TrainOptions {
        backend: match backend {
            Backend::Auto => pipeline::train::Backend::Auto,
            Backend::Cpu => pipeline::train::Backend::Cpu,
            Backend::Wgpu => pipeline::train::Backend::Wgpu,
        },
        ..opts.clone()
    };
    let report = pipeline::train::run(&JobDir::new(job), &opts, &mut JsonLines)?;
    println!("{}", train_summary(&report));
    Ok(())
}

/// `psnr=… ssim=… gaussians=… seconds=…`, the training commands' last line.
fn train_summary(report: &trainer::train::Report) -> String {
    let (psnr, ssim) = report
        .evaluation
        .as_ref()
        .map_or((f64::NAN, f64::NAN), |e| (e.psnr, e.ssim));
    format!(
        "psnr={psnr:.2} ssim={ssim:.4} gaussians={} seconds={:.1}",
        report.gaussians, report.seconds
    )
}

fn run_cmd(source: &Path, job: &Path, preset: Preset) -> anyhow::Result<()> {
    let (working, iterations, train_size) = preset.settings();
    let dir = JobDir::new(job);
    let ingest_opts = IngestOptions {
        working_max_size: working,
        ..IngestOptions::default()
    };
    ingest::ingest(source, &dir, &ingest_opts, &mut JsonLines)?;
    sfm::run(&dir, &sfm::SfmOptions::default(), &mut JsonLines)?;
    let opts = pipeline::train::TrainOptions {
        iterations,
        max_size: Some(train_size),
        ..pipeline::train::TrainOptions::default()
    };
    let report = pipeline::train::run(&dir, &opts, &mut JsonLines)?;
    compress(
        &pipeline::train::ply_path(&dir),
        &job.join("model.sog"),
        true,
    )?;
    println!(
        "{} model={}",
        train_summary(&report),
        job.join("model.sog").display()
    );
    Ok(())
}
