//! Decodes PlayCanvas's own SOG output (`../shared/splats/`, written by splat-transform).

#![allow(clippy::unwrap_used)]

mod common;

use std::borrow::Cow;

use common::{decode_scene as decode_dir, scene_dir};
use splat::{sog, zip, FormatError};

#[test]
fn playbot_125k_decodes_to_a_plausible_cloud() {
    let cloud = decode_dir("playbot-lod2-125k");
    assert_eq!(cloud.len(), 125_000);
    assert_eq!(cloud.sh_degree, 2);
    assert!(cloud.is_consistent());
    for q in &cloud.rotations {
        let norm = q.iter().map(|c| c * c).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 0.02, "quaternion norm {norm}");
    }
    assert!(cloud.positions.iter().flatten().all(|v| v.is_finite()));
    let (lo, hi) = cloud.bounds().unwrap();
    let extent: f32 = (0..3).map(|a| (hi[a] - lo[a]).powi(2)).sum::<f32>().sqrt();
    assert!((0.1..1000.0).contains(&extent), "scene extent {extent}");
    // A character model: most splats are visible and small.
    let opaque = cloud.opacity_logits.iter().filter(|&&o| o > 0.0).count();
    assert!(opaque > cloud.len() / 4, "{opaque} visible splats");
}

#[test]
fn a_bundle_decodes_like_its_files() {
    let dir = scene_dir("playbot-lod2-125k");
    let meta = std::fs::read(dir.join("meta.json")).unwrap();
    let names = [
        "means_l.webp",
        "means_u.webp",
        "quats.webp",
        "scales.webp",
        "sh0.webp",
        "shN_centroids.webp",
        "shN_labels.webp",
    ];
    let files: Vec<(String, Vec<u8>)> = names
        .iter()
        .map(|n| ((*n).to_owned(), std::fs::read(dir.join(n)).unwrap()))
        .collect();
    let mut entries: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(n, d)| (n.as_str(), d.as_slice()))
        .collect();
    entries.push(("meta.json", &meta));
    let bundle = zip::write_stored(&entries).unwrap();
    assert_eq!(
        sog::decode_bundle(&bundle).unwrap(),
        decode_dir("playbot-lod2-125k")
    );

    // Truncated bundles and images of the wrong size are errors, not panics.
    assert!(sog::decode_bundle(&bundle[..bundle.len() / 2]).is_err());
    let wrong = sog::decode(&meta, |f| {
        let name = if f == "quats.webp" {
            "shN_centroids.webp"
        } else {
            f
        };
        Ok(Cow::Owned(std::fs::read(dir.join(name)).unwrap()))
    });
    assert!(matches!(wrong, Err(FormatError::BadSog(m)) if m.contains("quats")));
    let garbage = sog::decode(&meta, |_| Ok(Cow::Borrowed(&b"RIFF\0\0\0\0WEBPnope"[..])));
    assert!(matches!(garbage, Err(FormatError::BadImage { .. })));
}
