//! SOG v2 encoding: round trips within the format's quantisation, and PlayCanvas's own decoder
//! reading what we write.

#![allow(
    clippy::unwrap_used,
    clippy::cast_possible_truncation,
    clippy::float_cmp
)]

mod common;

use common::{decode_scene, decode_with_splat_transform, max_diff};
use splat::render::{psnr, render, Camera};
use splat::sog::encode::encode;
use splat::{sog, GaussianCloud};

fn playbot() -> GaussianCloud {
    decode_scene("playbot-lod2-125k")
}

/// The picture quality of `b` against `a` from one viewpoint.
fn render_psnr(a: &GaussianCloud, b: &GaussianCloud) -> f64 {
    let (lo, hi) = a.bounds().unwrap();
    let centre: [f32; 3] = std::array::from_fn(|i| f32::midpoint(lo[i], hi[i]));
    let cam = Camera::look_at(
        [centre[0], centre[1], centre[2] + 3.5],
        centre,
        [0.0, -1.0, 0.0],
        0.8,
        128,
        128,
    );
    psnr(&render(a, &cam, [1.0; 3]), &render(b, &cam, [1.0; 3]))
}

#[test]
fn a_real_scene_round_trips_within_the_quantisation() {
    let original = playbot();
    let mut stages = Vec::new();
    let encoded = encode(&original, |s| stages.push(s)).unwrap();
    assert_eq!(stages, [0, 1, 2, 3, 4, 5], "every stage reports progress");
    assert_eq!(
        encoded.files.last().unwrap().0,
        "meta.json",
        "meta.json comes last"
    );
    let back = sog::decode_bundle(&encoded.bundle().unwrap()).unwrap();
    assert_eq!(
        (back.len(), back.sh_degree),
        (original.len(), original.sh_degree)
    );

    let meta: serde_json::Value = serde_json::from_slice(&encoded.files.last().unwrap().1).unwrap();
    let book = |key: &str| -> [f32; 256] {
        let v: Vec<f32> = meta[key]["codebook"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap() as f32)
            .collect();
        v.try_into().unwrap()
    };
    let (scale_book, dc_book) = (book("scales"), book("sh0"));
    let nearest = |b: &[f32; 256], v: f32| b[usize::from(splat::sog::quantize::nearest(b, v))];
    let mins: Vec<f32> = meta["means"]["mins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect();
    let maxs: Vec<f32> = meta["means"]["maxs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect();
    let log = |v: f32| v.signum() * v.abs().ln_1p();
    let sig = |x: f32| 1.0 / (1.0 + (-x).exp());
    for (t, &i) in encoded.order.iter().enumerate() {
        for a in 0..3 {
            // Means: 16 bits over each axis's log-space range.
            let step = (maxs[a] - mins[a]) / 65535.0;
            let err = (log(back.positions[t][a]) - log(original.positions[i][a])).abs();
            assert!(
                err <= step * 1.01 + 1e-6,
                "splat {i} axis {a}: log-space error {err} > {step}"
            );
            // Scales and colours: exactly the nearest codebook entry.
            assert_eq!(
                back.log_scales[t][a],
                nearest(&scale_book, original.log_scales[i][a])
            );
            assert_eq!(back.sh_dc[t][a], nearest(&dc_book, original.sh_dc[i][a]));
        }
        // Opacity: 8 bits of linear alpha.
        let alpha_err = (sig(back.opacity_logits[t]) - sig(original.opacity_logits[i])).abs();
        assert!(
            alpha_err <= 1.0 / 255.0 + 1e-3,
            "splat {i}: alpha error {alpha_err}"
        );
        // Rotations: 8 bits per smallest component; q and −q are the same rotation.
        let (p, q) = (back.rotations[t], original.rotations[i]);
        let qn = q.iter().map(|c| c * c).sum::<f32>().sqrt();
        let dot: f32 = (0..4).map(|k| p[k] * q[k] / qn).sum();
        assert!(
            dot.abs() > 0.999,
            "splat {i}: rotation drifted (|cos| = {})",
            dot.abs()
        );
    }
    // The whole picture survives a second encode almost unchanged.
    let quality = render_psnr(&original, &back);
    assert!(
        quality > 30.0,
        "render PSNR after re-encoding {quality:.1} dB"
    );
}

#[test]
fn splat_transform_reads_our_sog() {
    let original = playbot();
    let bundle = encode(&original, |_| {}).unwrap().bundle().unwrap();
    let dir = std::env::temp_dir().join(format!("spaceport-encode-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let sog_path = dir.join("ours.sog");
    std::fs::write(&sog_path, &bundle).unwrap();
    let theirs = decode_with_splat_transform(&sog_path);
    let ours = sog::decode_bundle(&bundle).unwrap();
    assert_eq!(
        (theirs.len(), theirs.sh_degree),
        (ours.len(), ours.sh_degree)
    );
    assert!(
        max_diff(
            ours.positions.iter().flatten().copied(),
            theirs.positions.iter().flatten().copied()
        ) < 1e-5
    );
    assert_eq!(ours.log_scales, theirs.log_scales);
    assert_eq!(ours.sh_rest, theirs.sh_rest);
    std::fs::remove_dir_all(dir).unwrap();
}
