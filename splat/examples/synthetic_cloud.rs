//! Writes a deterministic synthetic 3DGS PLY for benchmarks: `N` splats (default 1,000,000) of SH
//! degree `D` (default 2) scattered over a few noisy surfaces, with plausible scales, rotations,
//! opacities and colours.
//!
//! `cargo run --release -p splat --example synthetic_cloud -- OUT.ply [N] [D]`

#![allow(clippy::cast_precision_loss, clippy::cast_possible_truncation)]

use splat::cloud::sh_rest_coeffs;
use splat::{ply, GaussianCloud};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let out = args
        .next()
        .ok_or("usage: synthetic_cloud OUT.ply [N] [DEGREE]")?;
    let count: usize = args.next().map_or(Ok(1_000_000), |a| a.parse())?;
    let degree: u8 = args.next().map_or(Ok(2), |a| a.parse())?;
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut uniform = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 40) as f32 / (1u64 << 24) as f32
    };
    let coeffs = 3 * sh_rest_coeffs(degree);
    let mut cloud = GaussianCloud {
        sh_degree: degree,
        ..GaussianCloud::default()
    };
    for i in 0..count {
        // Three surfaces: a ground plane, a sphere and a wall, each with a little noise.
        let (u, v, jitter) = (uniform(), uniform(), uniform() - 0.5);
        let position = match i % 3 {
            0 => [u * 20.0 - 10.0, 1.5 + jitter * 0.05, v * 20.0 - 10.0],
            1 => {
                let (theta, phi) = (u * std::f32::consts::TAU, (v * 2.0 - 1.0).acos());
                let radius = 3.0 + jitter * 0.05;
                [
                    radius * phi.sin() * theta.cos(),
                    radius * phi.cos() - 1.0,
                    radius * phi.sin() * theta.sin(),
                ]
            }
            _ => [u * 12.0 - 6.0, v * -6.0 + 1.5, 6.0 + jitter * 0.05],
        };
        cloud.positions.push(position);
        cloud.log_scales.push([
            uniform() * 2.5 - 5.5,
            uniform() * 2.5 - 5.5,
            uniform() * 2.0 - 7.0,
        ]);
        cloud.rotations.push([
            uniform() - 0.5,
            uniform() - 0.5,
            uniform() - 0.5,
            uniform() - 0.5,
        ]);
        cloud.opacity_logits.push(uniform() * 8.0 - 2.0);
        let shade = (position[1] * 0.3).sin();
        cloud.sh_dc.push([
            shade + uniform() * 0.4,
            0.5 * shade + uniform() * 0.4,
            uniform() * 0.8 - 0.4,
        ]);
        cloud
            .sh_rest
            .extend((0..coeffs).map(|_| (uniform() - 0.5) * 0.2));
    }
    std::fs::write(&out, ply::write(&cloud))?;
    println!("wrote {count} splats (SH degree {degree}) to {out}");
    Ok(())
}
