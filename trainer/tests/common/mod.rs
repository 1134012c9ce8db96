//! Shared by the trainer's tests: a small deterministic generator and random scenes.
#![allow(dead_code, clippy::cast_precision_loss)]

use trainer::model::Gaussians;

pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 40) as f32 / (1u64 << 24) as f32
    }
    pub fn range(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * self.next()
    }
}

/// Small Gaussians scattered over the view (for the forward comparison).
pub fn scene(n: usize, seed: u64) -> Gaussians {
    scene_with(n, seed, 0.8, (-2.2, -1.2))
}

/// The forward pass skips fragments with α < 1/255, so a moving Gaussian's footprint gains or
/// loses whole pixels at that ring: a jump finite differences would see and no gradient has.
/// Gradient scenes therefore use Gaussians large enough (σ ≈ 17–25 px, opacity ≤ 0.3) that the
/// ring lies outside the 64×48 image.
pub fn smooth_scene(n: usize, seed: u64) -> Gaussians {
    scene_with(n, seed, 0.3, (0.3, 0.7))
}

pub fn scene_with(n: usize, seed: u64, spread: f32, log_scale: (f32, f32)) -> Gaussians {
    let mut r = Rng(seed);
    let mut g = Gaussians::default();
    for _ in 0..n {
        g.means.push([
            r.range(-spread, spread),
            r.range(-0.75 * spread, 0.75 * spread),
            r.range(-0.5, 0.5),
        ]);
        g.log_scales.push([
            r.range(log_scale.0, log_scale.1),
            r.range(log_scale.0, log_scale.1),
            r.range(log_scale.0, log_scale.1),
        ]);
        g.quats.push([
            r.range(0.5, 1.0),
            r.range(-0.5, 0.5),
            r.range(-0.5, 0.5),
            r.range(-0.5, 0.5),
        ]);
        let o: f32 = r.range(0.1, 0.3);
        g.opacity_logits.push((o / (1.0 - o)).ln());
        let mut sh = [[0.0f32; 3]; 16];
        for (k, coeff) in sh.iter_mut().enumerate() {
            for v in coeff.iter_mut() {
                *v = if k == 0 {
                    r.range(0.2, 1.2)
                } else {
                    r.range(-0.15, 0.15)
                };
            }
        }
        g.sh.push(sh);
    }
    g
}
