//! The trainable Gaussians (structure of arrays, SH always stored to degree 3) and conversion
//! to and from the format core's `GaussianCloud`.

use splat::GaussianCloud;

use crate::sh;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Gaussians {
    pub means: Vec<[f32; 3]>,
    pub log_scales: Vec<[f32; 3]>,
    /// Unnormalised (w, x, y, z).
    pub quats: Vec<[f32; 4]>,
    pub opacity_logits: Vec<f32>,
    /// 16 coefficients × RGB; coefficient 0 is the DC term.
    pub sh: Vec<[[f32; 3]; 16]>,
}

impl Gaussians {
    pub fn len(&self) -> usize {
        self.means.len()
    }
    pub fn is_empty(&self) -> bool {
        self.means.is_empty()
    }

    /// Keeps the Gaussians for which `keep` is true, in order.
    pub fn retain(&mut self, keep: &[bool]) {
        fn filter<T: Copy>(v: &mut Vec<T>, keep: &[bool]) {
            let mut k = keep.iter();
            v.retain(|_| *k.next().unwrap_or(&false));
        }
        filter(&mut self.means, keep);
        filter(&mut self.log_scales, keep);
        filter(&mut self.quats, keep);
        filter(&mut self.opacity_logits, keep);
        filter(&mut self.sh, keep);
    }

    pub fn push(&mut self, other: &Gaussians, i: usize) {
        self.means.push(other.means[i]);
        self.log_scales.push(other.log_scales[i]);
        self.quats.push(other.quats[i]);
        self.opacity_logits.push(other.opacity_logits[i]);
        self.sh.push(other.sh[i]);
    }

    /// As a 3DGS cloud with `degree` SH.
    pub fn to_cloud(&self, degree: u8) -> GaussianCloud {
        let rest = splat::cloud::sh_rest_coeffs(degree);
        let mut sh_rest = Vec::with_capacity(self.len() * 3 * rest);
        for coeffs in &self.sh {
            for ch in 0..3 {
                for k in 1..=rest {
                    sh_rest.push(coeffs[k][ch]);
                }
            }
        }
        GaussianCloud {
            positions: self.means.clone(),
            log_scales: self.log_scales.clone(),
            rotations: self.quats.clone(),
            opacity_logits: self.opacity_logits.clone(),
            sh_dc: self.sh.iter().map(|c| c[0]).collect(),
            sh_degree: degree,
            sh_rest,
        }
    }

    pub fn from_cloud(cloud: &GaussianCloud) -> Self {
        let rest = splat::cloud::sh_rest_coeffs(cloud.sh_degree);
        let sh = (0..cloud.len())
            .map(|i| {
                let mut c = [[0.0f32; 3]; 16];
                c[0] = cloud.sh_dc[i];
                for ch in 0..3 {
                    for k in 1..=rest {
                        c[k][ch] = cloud.sh_rest[i * 3 * rest + ch * rest + k - 1];
                    }
                }
                c
            })
            .collect();
        Self {
            means: cloud.positions.clone(),
            log_scales: cloud.log_scales.clone(),
            quats: cloud.rotations.clone(),
            opacity_logits: cloud.opacity_logits.clone(),
            sh,
        }
    }

    /// Gaussians at `points` with their colours, the standard initialisation: opacity 0.1,
    /// identity rotation, isotropic scale from the distance to the three nearest neighbours.
    pub fn from_points(points: &[[f32; 3]], colours: &[[f32; 3]]) -> Self {
        use rayon::prelude::*;
        let scales: Vec<f32> = points
            .par_iter()
            .enumerate()
            .map(|(i, p)| {
                let mut best = [f32::INFINITY; 3];
                for (j, q) in points.iter().enumerate() {
                    if i == j {
                        continue;
                    }
                    let d = (p[0] - q[0]).powi(2) + (p[1] - q[1]).powi(2) + (p[2] - q[2]).powi(2);
                    if d < best[2] {
                        best[2] = d;
                        best.sort_by(f32::total_cmp);
                    }
                }
                let finite: Vec<f32> = best.into_iter().filter(|d| d.is_finite()).collect();
                #[allow(clippy::cast_precision_loss)]
                let mean = if finite.is_empty() {
                    0.01
                } else {
                    finite.iter().sum::<f32>() / finite.len() as f32
                };
                mean.max(1e-7).sqrt().ln()
            })
            .collect();
        let logit = (0.1f32 / 0.9).ln();
        Self {
            means: points.to_vec(),
            log_scales: scales.iter().map(|&s| [s; 3]).collect(),
            quats: vec![[1.0, 0.0, 0.0, 0.0]; points.len()],
            opacity_logits: vec![logit; points.len()],
            sh: colours
                .iter()
                .map(|c| {
                    let mut coeffs = [[0.0; 3]; 16];
                    coeffs[0] = c.map(|v| (v - 0.5) / sh::C0);
                    coeffs
                })
                .collect(),
        }
    }
}
