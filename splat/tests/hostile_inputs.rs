//! A deterministic mutation fuzzer that runs in the normal test suite: every parser gets thousands
//! of corrupted variants of a valid input (flipped bytes, cut-offs, spliced garbage, lying
//! numbers) and must answer each with `Ok` or `Err`, never a panic or a runaway allocation.
//! (Coverage-guided fuzzing needs a nightly toolchain this machine does not have.)

#![allow(
    clippy::unwrap_used,
    clippy::cast_possible_truncation,
    clippy::cast_precision_loss
)]

mod common;

use std::borrow::Cow;

use splat::{ply, sog, zip, GaussianCloud};

/// xorshift64*: a tiny, seedable generator, so any failure reproduces exactly.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn mutate(rng: &mut Rng, input: &[u8]) -> Vec<u8> {
    let mut b = input.to_vec();
    for _ in 0..=rng.below(4) {
        match rng.below(5) {
            0 if !b.is_empty() => {
                let i = rng.below(b.len());
                b[i] ^= 1 << rng.below(8);
            }
            1 => b.truncate(rng.below(b.len() + 1)),
            2 if !b.is_empty() => {
                // Overwrite 4 bytes with an extreme little-endian number.
                let i = rng.below(b.len());
                let v = [0u32, 1, 0x7FFF_FFFF, 0xFFFF_FFFF, 0xFFFF][rng.below(5)].to_le_bytes();
                for (k, byte) in v.iter().enumerate() {
                    if let Some(slot) = b.get_mut(i + k) {
                        *slot = *byte;
                    }
                }
            }
            3 => {
                let i = rng.below(b.len() + 1);
                let junk: Vec<u8> = (0..rng.below(16)).map(|_| rng.next() as u8).collect();
                b.splice(i..i, junk);
            }
            _ if !b.is_empty() => {
                let i = rng.below(b.len());
                b.remove(i);
            }
            _ => {}
        }
    }
    b
}

fn small_cloud() -> GaussianCloud {
    let n = 20;
    GaussianCloud {
        positions: (0..n).map(|i| [i as f32, 0.5, -1.0]).collect(),
        log_scales: vec![[-2.0; 3]; n],
        rotations: vec![[1.0, 0.0, 0.0, 0.0]; n],
        opacity_logits: vec![0.5; n],
        sh_dc: vec![[0.1, 0.2, 0.3]; n],
        sh_degree: 1,
        sh_rest: vec![0.01; n * 9],
    }
}

#[test]
fn ply_reader_survives_mutations() {
    let valid = ply::write(&small_cloud());
    let mut rng = Rng(0x5EED_0001);
    for _ in 0..20_000 {
        let input = mutate(&mut rng, &valid);
        if let Ok(cloud) = ply::read(&input) {
            assert!(cloud.is_consistent());
        }
    }
}

#[test]
fn zip_reader_survives_mutations() {
    let valid = zip::write_stored(&[
        ("means_l.webp", b"0123456789"),
        ("meta.json", b"{\"version\":2}"),
    ])
    .unwrap();
    let mut rng = Rng(0x5EED_0002);
    for _ in 0..20_000 {
        let input = mutate(&mut rng, &valid);
        if let Ok(entries) = zip::read_entries(&input) {
            assert!(entries.iter().all(|(_, data)| data.len() <= input.len()));
        }
        let _ = sog::decode_bundle(&input);
    }
}

#[test]
fn sog_decoder_survives_mutated_metadata_and_images() {
    let dir = common::scene_dir("playbot-lod2-125k");
    let meta = std::fs::read(dir.join("meta.json")).unwrap();
    // The smallest real images keep each attempt fast; the rest are served unchanged.
    let sh0 = std::fs::read(dir.join("sh0.webp")).unwrap();
    let files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap())
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    let mut rng = Rng(0x5EED_0003);
    for round in 0..300 {
        let bad_meta = if round % 2 == 0 {
            mutate(&mut rng, &meta)
        } else {
            meta.clone()
        };
        let bad_image = mutate(&mut rng, &sh0);
        let _ = sog::decode(&bad_meta, |name| {
            if name == "sh0.webp" {
                return Ok(Cow::Borrowed(bad_image.as_slice()));
            }
            files
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, d)| Cow::Borrowed(d.as_slice()))
                .ok_or_else(|| splat::FormatError::BadSog(format!("no {name}")))
        });
    }
}
