//! The in-memory Gaussian cloud, in structure-of-arrays form.

/// Number of higher-order SH coefficients per colour channel for a degree (0–3).
pub const fn sh_rest_coeffs(degree: u8) -> usize {
    match degree {
        0 => 0,
        1 => 3,
        2 => 8,
        _ => 15,
    }
}

/// Splats as a 3DGS PLY stores them. `sh_rest` holds, per splat, `3 * sh_rest_coeffs(degree)`
/// values in PLY order (channel-major: all red coefficients, then green, then blue).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GaussianCloud {
    pub positions: Vec<[f32; 3]>,
    pub log_scales: Vec<[f32; 3]>,
    /// Unnormalised quaternions, (w, x, y, z).
    pub rotations: Vec<[f32; 4]>,
    pub opacity_logits: Vec<f32>,
    pub sh_dc: Vec<[f32; 3]>,
    pub sh_degree: u8,
    pub sh_rest: Vec<f32>,
}

impl GaussianCloud {
    pub fn len(&self) -> usize {
        self.positions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.positions.is_empty()
    }

    /// Values of `sh_rest` per splat.
    pub fn sh_rest_stride(&self) -> usize {
        3 * sh_rest_coeffs(self.sh_degree)
    }

    /// Axis-aligned bounds of the centres, `None` when empty.
    pub fn bounds(&self) -> Option<([f32; 3], [f32; 3])> {
        let first = *self.positions.first()?;
        Some(
            self.positions
                .iter()
                .fold((first, first), |(mut lo, mut hi), p| {
                    for a in 0..3 {
                        lo[a] = lo[a].min(p[a]);
                        hi[a] = hi[a].max(p[a]);
                    }
                    (lo, hi)
                }),
        )
    }

    /// Checks that every array has the length the splat count implies.
    pub fn is_consistent(&self) -> bool {
        let n = self.len();
        self.log_scales.len() == n
            && self.rotations.len() == n
            && self.opacity_logits.len() == n
            && self.sh_dc.len() == n
            && self.sh_degree <= 3
            && self.sh_rest.len() == n * self.sh_rest_stride()
    }
}
