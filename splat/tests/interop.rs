//! Interoperability with PlayCanvas's own converter, `splat-transform` (npm, pinned in
//! `end2end/package.json`; `scripts/test.sh` installs it): a SOG decoded by splat-transform and by
//! us must give the same cloud.

#![allow(clippy::unwrap_used)]

mod common;

use common::{decode_scene, decode_with_splat_transform, max_diff, scene_dir};
use splat::render::{psnr, render, Camera};

#[test]
fn their_decoder_and_ours_agree_on_playcanvas_output() {
    let theirs = decode_with_splat_transform(&scene_dir("playbot-lod2-125k").join("meta.json"));
    let ours = decode_scene("playbot-lod2-125k");

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
}
