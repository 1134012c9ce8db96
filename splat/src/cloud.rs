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

    /// Keeps the splats whose `keep` is true, in order.
    ///
    /// # Panics
    /// When `keep` is not one flag per splat.
    pub fn retain(&mut self, keep: &[bool]) {
        fn filter<T: Copy>(v: &mut Vec<T>, keep: &[bool]) {
            let mut k = keep.iter();
            v.retain(|_| *k.next().unwrap_or(&false));
        }
        assert_eq!(keep.len(), self.len(), "one flag per splat");
        filter(&mut self.positions, keep);
        filter(&mut self.log_scales, keep);
        filter(&mut self.rotations, keep);
        filter(&mut self.opacity_logits, keep);
        filter(&mut self.sh_dc, keep);
        let stride = self.sh_rest_stride();
        if stride > 0 {
            let mut rest = Vec::with_capacity(self.sh_rest.len());
            for (i, chunk) in self.sh_rest.chunks_exact(stride).enumerate() {
                if keep[i] {
                    rest.extend_from_slice(chunk);
                }
            }
            self.sh_rest = rest;
        }
    }

    /// Leaves out the splats whose largest axis (one standard deviation) exceeds `size` scene
    /// units; returns how many it left out. On a drone survey these are the few large, blurry
    /// splats that fill the edges of the photos, and look like fog from any other viewpoint.
    pub fn drop_larger_than(&mut self, size: f32) -> usize {
        let limit = size.ln();
        let keep: Vec<bool> = self
            .log_scales
            .iter()
            .map(|s| s.iter().fold(f32::MIN, |a, &b| a.max(b)) <= limit)
            .collect();
        let before = self.len();
        self.retain(&keep);
        before - self.len()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dropping_large_splats_keeps_the_rest_whole_and_in_order() {
        // Three splats at SH degree 1 (9 rest values each); the middle one is 10 units across.
        let mut c = GaussianCloud {
            positions: vec![[0.0; 3], [1.0; 3], [2.0; 3]],
            log_scales: vec![
                [0.1f32.ln(); 3],
                [0.1f32.ln(), 10f32.ln(), 0.1f32.ln()],
                [2f32.ln(); 3],
            ],
            rotations: vec![[1.0, 0.0, 0.0, 0.0]; 3],
            opacity_logits: vec![0.0, 1.0, 2.0],
            sh_dc: vec![[0.0; 3], [1.0; 3], [2.0; 3]],
            sh_degree: 1,
            sh_rest: (0..27u8).map(f32::from).collect(),
        };
        assert_eq!(c.drop_larger_than(4.0), 1);
        assert!(c.is_consistent());
        assert_eq!(c.positions, [[0.0; 3], [2.0; 3]]);
        assert_eq!(c.opacity_logits, [0.0, 2.0]);
        let rest: Vec<f32> = (0..9u8).chain(18..27).map(f32::from).collect();
        assert_eq!(c.sh_rest, rest);
        // At the limit itself a splat stays.
        assert_eq!(c.drop_larger_than(2.0), 0);
    }
}
