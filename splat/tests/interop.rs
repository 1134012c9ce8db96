//! Interoperability with PlayCanvas's own converter, `splat-transform` (npm, pinned in
//! `end2end/package.json`; `scripts/test.sh` installs it): a SOG decoded by splat-transform and by
//! us must give the same cloud.

#![allow(clippy::unwrap_used)]

use std::borrow::Cow;
use std::path::PathBuf;
use std::process::Command;

use splat::render::{psnr, render, Camera};
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

    // Rendered by the reference rasterizer, the two clouds are the same picture, and it is a
    // picture of something: a good share of the frame differs from the white background.
    let (lo, hi) = ours.bounds().unwrap();
    let centre: [f32; 3] = std::array::from_fn(|i| f32::midpoint(lo[i], hi[i]));
    let eye = [centre[0], centre[1], centre[2] + 3.5];
    let cam = Camera::look_at(eye, centre, [0.0, -1.0, 0.0], 0.8, 128, 128);
    let a = render(&ours, &cam, [1.0; 3]);
    let b = render(&theirs, &cam, [1.0; 3]);
    let quality = psnr(&a, &b);
    assert!(quality > 50.0, "PSNR {quality:.1} dB");
    let covered = a.rgb.iter().filter(|p| p.iter().any(|&c| c < 0.9)).count();
    assert!(
        covered > a.rgb.len() / 10,
        "only {covered} pixels show the model"
    );
    let _ = std::fs::remove_file(out);
}

fn tempfile_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("spaceport-interop-{}-{name}", std::process::id()))
}
