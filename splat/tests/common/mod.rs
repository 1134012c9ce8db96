//! Helpers shared by the splat integration tests: the real scenes in `../shared/splats`, and
//! PlayCanvas's `splat-transform` (npm, pinned in `end2end/package.json`) as a reference decoder.

// Each test binary uses a different subset of these.
#![allow(dead_code, clippy::unwrap_used)]

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::process::Command;

use splat::{ply, sog, GaussianCloud};

/// A scene folder of `../shared/splats`, which CI keeps beside the checkout.
pub fn scene_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/splats")
        .join(name);
    assert!(
        dir.is_dir(),
        "the shared scenes must sit beside the checkout: {} is missing",
        dir.display()
    );
    dir
}

/// Decodes an unbundled scene with our decoder.
pub fn decode_scene(name: &str) -> GaussianCloud {
    let dir = scene_dir(name);
    let meta = std::fs::read(dir.join("meta.json")).unwrap();
    sog::decode(&meta, |f| {
        Ok(Cow::Owned(std::fs::read(dir.join(f)).unwrap()))
    })
    .unwrap()
}

/// Decodes `input` (anything splat-transform reads) with splat-transform, via a temporary PLY.
pub fn decode_with_splat_transform(input: &Path) -> GaussianCloud {
    let tool = std::env::var_os("SPLAT_TRANSFORM").map_or_else(
        || {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../end2end/node_modules/.bin/splat-transform")
        },
        PathBuf::from,
    );
    assert!(
        tool.exists(),
        "splat-transform is missing at {}: run `npm ci` in end2end/ (scripts/test.sh does)",
        tool.display()
    );
    let stem = input.file_stem().unwrap_or_default().to_string_lossy();
    let out = std::env::temp_dir().join(format!("spaceport-st-{}-{stem}.ply", std::process::id()));
    let run = Command::new(tool)
        .arg(input)
        .arg(&out)
        .arg("-w")
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let cloud = ply::read(&std::fs::read(&out).unwrap()).unwrap();
    let _ = std::fs::remove_file(out);
    cloud
}

pub fn max_diff(a: impl IntoIterator<Item = f32>, b: impl IntoIterator<Item = f32>) -> f32 {
    a.into_iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}
