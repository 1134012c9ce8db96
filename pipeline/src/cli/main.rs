//! `spaceport`: the command-line face of the pipeline, split by subject: the pipeline's stages
//! and the one entry the job runners use ([`stages`]), splat files ([`formats`]), and tools for
//! measuring, planning and rendering ([`tools`]). Exit status 0 on success; otherwise non-zero
//! with a one-line reason on stderr (`spaceport: …`), which the job runners show the user.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod formats;
mod stages;
mod tools;

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
    Info(formats::Info),
    /// Decode a SOG (a .sog bundle, a meta.json, or its folder) — or re-write a PLY — as a
    /// standard 3DGS PLY.
    Decompress(formats::Decompress),
    /// Compress a PLY (or re-encode a SOG) as SOG v2: OUT.sog for a bundle, any other path for a
    /// folder of meta.json + WebP. Progress as JSON lines, then a report: size, bytes per splat,
    /// render PSNR.
    Compress(formats::Compress),
    /// Render two splat files (same scene) from 8 viewpoints around it and print the PSNR of the
    /// second against the first.
    Compare(formats::Compare),
    /// Accept photos (a zip or a folder of JPEG/PNG) into a job directory: validate each, read
    /// its EXIF, keep the original and write a downscaled working copy and manifest.json.
    Ingest(stages::Ingest),
    /// Structure-from-Motion with COLMAP on an ingested job: cameras and sparse points into
    /// JOB/sfm (georegistered when the photos carry GPS). Progress as JSON lines.
    Sfm(stages::Sfm),
    /// Train 3D Gaussians on a job's SfM output: `JOB/train/point_cloud.ply`, `report.json` and
    /// `eval/` pictures; prints `psnr=… ssim=… gaussians=… seconds=…` last.
    Train(stages::Train),
    /// Photos to a compressed model in one go: ingest → sfm → train → compress (JOB/model.sog),
    /// with a quality preset's settings.
    Run(stages::RunAll),
    /// Run one stage of a job as the job runners do, with the job's parameters as JSON: the
    /// pipeline's one entry (the local runner starts it for every stage; each cloud container
    /// runs it).
    RunStage(stages::RunStage),
    /// Compare a job's reconstruction (or a COLMAP sparse model folder) with ground-truth
    /// cameras (a folder of Strecha `.camera` files): similarity-align the camera centres, then
    /// print the centre error (% of the camera extent) and rotation error.
    EvalSfm(tools::EvalSfm),
    /// Score a trained model (PLY or SOG, ours or a peer's, in the job's COLMAP frame) on the
    /// job's held-out photos, as `train` scores its own.
    EvalModel(tools::EvalModel),
    /// Plan a battery-aware spiral mission: writes battery-N.csv (Litchi) and battery-N.kmz (DJI)
    /// into OUT and prints `bounces=N hold_radius_ft=R est_minutes=T`.
    Plan(tools::Plan),
    /// Render a splat file (PLY or SOG) with the viewer's GPU renderer from its default start
    /// view into a PNG. Prints the adapter and the frame time.
    Render(tools::Render),
    /// Render a synthetic drone orbit (textured ground and blocks) into OUT/images, as JPEGs
    /// with GPS EXIF, with the exact cameras in OUT/cameras and OUT/truth.json.
    SynthOrbit(tools::SynthOrbit),
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Info(a) => formats::info(&a),
        Command::Decompress(a) => formats::decompress(&a),
        Command::Compress(a) => formats::compress(&a),
        Command::Compare(a) => formats::compare(&a),
        Command::Ingest(a) => stages::ingest(&a),
        Command::Sfm(a) => stages::sfm(&a),
        Command::Train(a) => stages::train(&a),
        Command::Run(a) => stages::run_all(&a),
        Command::RunStage(a) => stages::run_stage(&a),
        Command::EvalSfm(a) => tools::eval_sfm(&a),
        Command::EvalModel(a) => tools::eval_model(&a),
        Command::Plan(a) => tools::plan(&a),
        Command::Render(a) => tools::render(&a),
        Command::SynthOrbit(a) => tools::synth_orbit(&a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("spaceport: {e:#}");
            ExitCode::FAILURE
        }
    }
}
