//! The CPU depth sort: back to front along the camera's viewing axis, exact to f32.
//!
//! A two-pass LSD radix sort on 16-bit digits of the depth's order-preserving bit pattern. Unlike
//! the 16-bit single-pass counting sorts of several web viewers (quantised depth, whose ties show
//! as flicker in deep scenes), it sorts on the full float, and costs two linear passes.

use splat::render::{Camera, NEAR};

/// Reusable buffers, so sorting every frame allocates nothing.
#[derive(Debug, Default)]
pub struct DepthSorter {
    keys: Vec<u32>,
    keys_tmp: Vec<u32>,
    order_tmp: Vec<u32>,
    counts: Vec<u32>,
}

/// Maps a float to a u32 whose unsigned order is the float's order.
fn ordered_bits(f: f32) -> u32 {
    let b = f.to_bits();
    if b & 0x8000_0000 == 0 {
        b | 0x8000_0000
    } else {
        !b
    }
}

impl DepthSorter {
    /// Fills `order` with the indices of the splats in front of the near plane, farthest first.
    pub fn sort(&mut self, positions: &[[f32; 3]], camera: &Camera, order: &mut Vec<u32>) {
        let row = camera.rotation[2];
        let t = camera.translation[2];
        order.clear();
        self.keys.clear();
        for (i, p) in positions.iter().enumerate() {
            let depth = row[0] * p[0] + row[1] * p[1] + row[2] * p[2] + t;
            if depth >= NEAR {
                // Farthest first: invert the ascending key.
                self.keys.push(!ordered_bits(depth));
                order.push(u32::try_from(i).unwrap_or(u32::MAX));
            }
        }
        let n = order.len();
        self.keys_tmp.resize(n, 0);
        self.order_tmp.resize(n, 0);
        self.counts.resize(1 << 16, 0);
        for shift in [0u32, 16] {
            self.counts.fill(0);
            for k in &self.keys {
                self.counts[((k >> shift) & 0xffff) as usize] += 1;
            }
            let mut sum = 0;
            for c in &mut self.counts {
                let here = *c;
                *c = sum;
                sum += here;
            }
            for (k, o) in self.keys.iter().zip(order.iter()) {
                let bucket = &mut self.counts[((k >> shift) & 0xffff) as usize];
                self.keys_tmp[*bucket as usize] = *k;
                self.order_tmp[*bucket as usize] = *o;
                *bucket += 1;
            }
            std::mem::swap(&mut self.keys, &mut self.keys_tmp);
            std::mem::swap(order, &mut self.order_tmp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_back_to_front_and_drops_what_is_behind_the_camera() {
        let camera = Camera::look_at([0.0, 0.0, -10.0], [0.0; 3], [0.0, -1.0, 0.0], 1.0, 64, 64);
        // Depth = z + 10. A pseudo-random spread, plus one splat behind the camera.
        let mut positions: Vec<[f32; 3]> = (0..5000u32)
            .map(|i| {
                let h = i.wrapping_mul(2_654_435_761) >> 8;
                #[allow(clippy::cast_precision_loss)]
                let z = (h % 100_000) as f32 / 1000.0 - 9.0;
                [0.1, -0.2, z]
            })
            .collect();
        positions.push([0.0, 0.0, -20.0]);
        let mut order = Vec::new();
        DepthSorter::default().sort(&positions, &camera, &mut order);
        assert_eq!(order.len(), 5000, "the splat behind the camera is dropped");
        let depths: Vec<f32> = order.iter().map(|&i| positions[i as usize][2]).collect();
        assert!(depths.windows(2).all(|w| w[0] >= w[1]), "farthest first");
        let mut seen = order.clone();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), 5000, "a permutation");
    }

    #[test]
    fn ordered_bits_preserve_float_order() {
        let values = [-3.5f32, -0.0, 0.0, 1e-30, 0.5, 2.0, 1e30];
        for w in values.windows(2) {
            assert!(
                ordered_bits(w[0]) <= ordered_bits(w[1]),
                "{} {}",
                w[0],
                w[1]
            );
        }
    }
}
