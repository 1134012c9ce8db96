//! Interoperability with PlayCanvas's own converter, `splat-transform` (npm, pinned in
//! `end2end/package.json`; `scripts/test.sh` installs it): a SOG decoded by splat-transform and by
//! us must give the same cloud.

#![allow(clippy::unwrap_used)]

use std::borrow::Cow;
use std::path::PathBuf;
use std::process::Command;

use splat::{ply, sog};

fn splat_transform() -> PathBuf {
    let path = std::env::var_os("SPLAT_TRANSFORM").map_or_else(
        || {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../end2end/node_modules/.bin/splat-transform")
        },
        PathBuf::from,
    );
    assert!(
        path.exists(),
        "splat-transform is missing at {}: run `npm ci` in end2end/ (scripts/test.sh does)",
        path.display()
    );
    path
}

fn max_diff(a: impl IntoIterator<Item = f32>, b: impl IntoIterator<Item = f32>) -> f32 {
    a.into_iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn their_decoder_and_ours_agree_on_playcanvas_output() {
    let dir =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/splats/playbot-lod2-125k");
    let out = tempfile_path("theirs.ply");
    let status = Command::new(splat_transform())
        .arg(dir.join("meta.json"))
        .arg(&out)
        .arg("-w")
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let theirs = ply::read(&std::fs::read(&out).unwrap()).unwrap();

    let meta = std::fs::read(dir.join("meta.json")).unwrap();
    let ours = sog::decode(&meta, |f| {
        Ok(Cow::Owned(std::fs::read(dir.join(f)).unwrap()))
    })
    .unwrap();

    assert_eq!(
        (ours.len(), ours.sh_degree),
        (theirs.len(), theirs.sh_degree)
    );
    // Both decode the same bytes with the same formulas: float rounding is all that may differ.
    assert!(
        max_diff(
            ours.positions.iter().flatten().copied(),
            theirs.positions.iter().flatten().copied()
        ) < 1e-5
    );
    assert!(
        max_diff(
            ours.rotations.iter().flatten().copied(),
            theirs.rotations.iter().flatten().copied()
        ) < 1e-5
    );
    assert_eq!(ours.log_scales, theirs.log_scales);
    assert_eq!(ours.sh_dc, theirs.sh_dc);
    assert_eq!(ours.sh_rest, theirs.sh_rest);
    let sigmoid = |x: f32| 1.0 / (1.0 + (-x).exp());
    assert!(
        max_diff(
            ours.opacity_logits.iter().map(|&x| sigmoid(x)),
            theirs.opacity_logits.iter().map(|&x| sigmoid(x))
        ) < 1e-5
    );
    let _ = std::fs::remove_file(out);
}

fn tempfile_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("spaceport-interop-{}-{name}", std::process::id()))
}
