//! Splats packed for the GPU: one `Rgba32Uint` texture, a fixed number of texels per splat.
//!
//! A texture (rather than a storage buffer) because WebGL2 has no storage buffers in vertex
//! shaders, and one layout for every backend keeps one shader. Per splat:
//!
//! | texel | x | y | z | w |
//! |---|---|---|---|---|
//! | 0 | centre x (f32) | centre y | centre z | opacity (f32, after the sigmoid) |
//! | 1 | Σxx (f32) | Σxy | Σxz | Σyy |
//! | 2 | Σyz | Σzz | colour halves 0, 1 | colour halves 2, 3 |
//! | 3… | colour halves 4… (8 per texel) | | | |
//!
//! Centres and the world covariance stay f32: real scenes have variances far below f16's range
//! (a 3 mm splat has Σ ≈ 1e-5), and f16 centres stripe large scenes. The colour is the SH
//! coefficients as f16 — DC (r, g, b) first, then the higher orders channel-major as in PLY.

use splat::cloud::sh_rest_coeffs;
use splat::render::quat_to_matrix;
use splat::GaussianCloud;

/// Texture rows are this many texels wide at most (every WebGL2 device allows 4096).
pub const MAX_TEXTURE_WIDTH: u32 = 4096;

/// A cloud laid out for the GPU.
#[derive(Debug, Clone)]
pub struct PackedSplats {
    pub count: u32,
    pub sh_degree: u8,
    pub texels_per_splat: u32,
    pub width: u32,
    pub height: u32,
    /// `width × height` texels, row-major.
    pub texels: Vec<[u32; 4]>,
    /// Centres again, for the CPU depth sort.
    pub positions: Vec<[f32; 3]>,
}

/// Why a cloud cannot go to this GPU.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PackError {
    #[error("the scene has {count} splats; this GPU's largest texture holds {max}")]
    TooLarge { count: usize, max: usize },
    #[error("the scene is inconsistent (its arrays disagree on the splat count)")]
    Inconsistent,
}

/// Texels per splat for SH degrees 0–3: 3, 4, 6, 9.
pub fn texels_per_splat(sh_degree: u8) -> u32 {
    let halves = 3 + 3 * sh_rest_coeffs(sh_degree);
    // Texel 2 holds the first four halves; the rest go eight to a texel.
    let extra = halves.saturating_sub(4).div_ceil(8);
    3 + u32::try_from(extra).unwrap_or(u32::MAX)
}

fn pack_halves(a: f32, b: f32) -> u32 {
    u32::from(half::f16::from_f32(a).to_bits())
        | (u32::from(half::f16::from_f32(b).to_bits()) << 16)
}

/// The world covariance Σ = R S Sᵀ Rᵀ as (xx, xy, xz, yy, yz, zz); zeros for a degenerate
/// quaternion (the splat then projects to nothing but the dilation, as in the reference).
pub fn covariance(log_scales: [f32; 3], rotation: [f32; 4]) -> [f32; 6] {
    let Some((rot, _, _)) = quat_to_matrix(rotation) else {
        return [0.0; 6];
    };
    let s = log_scales.map(f32::exp);
    let m: [[f32; 3]; 3] = std::array::from_fn(|r| std::array::from_fn(|c| rot[r][c] * s[c]));
    let dot = |a: [f32; 3], b: [f32; 3]| a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
    [
        dot(m[0], m[0]),
        dot(m[0], m[1]),
        dot(m[0], m[2]),
        dot(m[1], m[1]),
        dot(m[1], m[2]),
        dot(m[2], m[2]),
    ]
}

/// Packs `cloud` into texture rows at most `max_dimension` texels wide and high.
pub fn pack(cloud: &GaussianCloud, max_dimension: u32) -> Result<PackedSplats, PackError> {
    if !cloud.is_consistent() {
        return Err(PackError::Inconsistent);
    }
    let k = texels_per_splat(cloud.sh_degree);
    let width = MAX_TEXTURE_WIDTH.min(max_dimension).max(1);
    let capacity = (width as usize) * (max_dimension as usize) / (k as usize);
    if cloud.len() > capacity {
        return Err(PackError::TooLarge {
            count: cloud.len(),
            max: capacity,
        });
    }
    let total = (cloud.len() * k as usize).max(1);
    let height = u32::try_from(total.div_ceil(width as usize)).unwrap_or(u32::MAX);
    let mut texels = vec![[0u32; 4]; width as usize * height as usize];
    let stride = cloud.sh_rest_stride();
    // Reused for every splat: packing 2M splats must not allocate 2M times.
    let mut colour = Vec::with_capacity(3 + stride + 8);
    let mut words = Vec::with_capacity(colour.capacity() / 2 + 1);
    for i in 0..cloud.len() {
        let out = &mut texels[i * k as usize..(i + 1) * k as usize];
        let p = cloud.positions[i];
        let opacity = 1.0 / (1.0 + (-cloud.opacity_logits[i]).exp());
        out[0] = [
            p[0].to_bits(),
            p[1].to_bits(),
            p[2].to_bits(),
            opacity.to_bits(),
        ];
        let s = covariance(cloud.log_scales[i], cloud.rotations[i]);
        out[1] = [
            s[0].to_bits(),
            s[1].to_bits(),
            s[2].to_bits(),
            s[3].to_bits(),
        ];
        colour.clear();
        colour.extend_from_slice(&cloud.sh_dc[i]);
        colour.extend_from_slice(&cloud.sh_rest[i * stride..(i + 1) * stride]);
        colour.resize(colour.len().next_multiple_of(2).max(4), 0.0);
        words.clear();
        words.extend(colour.chunks_exact(2).map(|h| pack_halves(h[0], h[1])));
        out[2] = [s[4].to_bits(), s[5].to_bits(), words[0], words[1]];
        for (t, chunk) in words[2..].chunks(4).enumerate() {
            for (c, w) in chunk.iter().enumerate() {
                out[3 + t][c] = *w;
            }
        }
    }
    Ok(PackedSplats {
        count: u32::try_from(cloud.len()).unwrap_or(u32::MAX),
        sh_degree: cloud.sh_degree,
        texels_per_splat: k,
        width,
        height,
        texels,
        positions: cloud.positions.clone(),
    })
}

#[cfg(test)]
#[allow(clippy::float_cmp)] // packing is exact for f32 fields
mod tests {
    use super::*;

    fn one(degree: u8) -> GaussianCloud {
        let rest = 3 * sh_rest_coeffs(degree);
        GaussianCloud {
            positions: vec![[1.0, -2.0, 3.5]],
            log_scales: vec![[0.1f32.ln(), 0.2f32.ln(), 0.3f32.ln()]],
            rotations: vec![[1.0, 0.0, 0.0, 0.0]],
            opacity_logits: vec![0.0],
            sh_dc: vec![[0.25, -0.5, 1.0]],
            sh_degree: degree,
            #[allow(clippy::cast_precision_loss)]
            sh_rest: (0..rest).map(|j| j as f32 / 64.0).collect(),
        }
    }

    fn half_at(p: &PackedSplats, j: usize) -> f32 {
        let word = 10 + j / 2;
        let w = p.texels[word / 4][word % 4];
        let bits = if j.is_multiple_of(2) {
            w & 0xffff
        } else {
            w >> 16
        };
        half::f16::from_bits(u16::try_from(bits).unwrap_or(0)).to_f32()
    }

    #[test]
    fn every_field_lands_where_the_shader_reads_it() {
        for degree in 0..=3 {
            let p = pack(&one(degree), 8192).expect("packs");
            assert_eq!(p.texels_per_splat, [3, 4, 6, 9][degree as usize]);
            assert_eq!(f32::from_bits(p.texels[0][2]), 3.5);
            assert_eq!(f32::from_bits(p.texels[0][3]), 0.5);
            // Axis-aligned: Σ = diag(s²).
            assert!((f32::from_bits(p.texels[1][0]) - 0.01).abs() < 1e-7);
            assert!((f32::from_bits(p.texels[1][3]) - 0.04).abs() < 1e-7);
            assert!((f32::from_bits(p.texels[2][1]) - 0.09).abs() < 1e-7);
            assert_eq!(f32::from_bits(p.texels[1][1]), 0.0);
            assert_eq!(
                [half_at(&p, 0), half_at(&p, 1), half_at(&p, 2)],
                [0.25, -0.5, 1.0]
            );
            let rest = 3 * sh_rest_coeffs(degree);
            for j in 0..rest {
                #[allow(clippy::cast_precision_loss)]
                let expected = j as f32 / 64.0;
                assert_eq!(
                    half_at(&p, 3 + j),
                    expected,
                    "degree {degree} coefficient {j}"
                );
            }
        }
    }

    #[test]
    fn a_cloud_too_big_for_the_texture_is_refused() {
        let mut c = one(0);
        for _ in 0..21 {
            c.positions.push([0.0; 3]);
            c.log_scales.push([0.0; 3]);
            c.rotations.push([1.0, 0.0, 0.0, 0.0]);
            c.opacity_logits.push(0.0);
            c.sh_dc.push([0.0; 3]);
        }
        // 22 splats × 3 texels = 66 > 8 × 8.
        let err = pack(&c, 8).expect_err("too large");
        assert_eq!(err, PackError::TooLarge { count: 22, max: 21 });
        let mut broken = one(1);
        broken.sh_rest.pop();
        assert_eq!(
            pack(&broken, 64).expect_err("inconsistent"),
            PackError::Inconsistent
        );
    }
}
