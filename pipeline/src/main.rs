//! `spaceport`: the command-line face of the pipeline. Today it reads and converts splat files
//! (PLY, SOG bundle, SOG `meta.json` + WebP); the photogrammetry stages arrive as subcommands.
//! Exit status 0 on success; otherwise non-zero with a one-line reason on stderr.

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context as _};
use clap::{Parser, Subcommand};
use splat::{ply, sog, FormatError, GaussianCloud};

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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Info { file } => info(&file),
        Command::Decompress { input, output } => decompress(&input, &output),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("spaceport: {e:#}");
            ExitCode::FAILURE
        }
    }
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
    // Write beside the target and rename, so a failure never leaves a half-written PLY.
    let tmp = output.with_extension("ply.partial");
    std::fs::write(&tmp, &bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, output).with_context(|| format!("cannot write {}", output.display()))?;
    println!(
        "wrote {} splats (SH degree {}) to {}",
        loaded.cloud.len(),
        loaded.cloud.sh_degree,
        output.display()
    );
    Ok(())
}
