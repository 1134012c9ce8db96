//! Everything a training run carries from one iteration to the next — the Gaussians, Adam's
//! moments, the densification statistics gathered since the last densification, the random
//! generator and the views left in this epoch — and its byte form for checkpoints.
//!
//! Why all of it: a run resumed from the Gaussians alone restarts Adam from zero moments (a
//! jolt of full-rate steps), forgets the gradients that decide the next densification and
//! draws other views, backgrounds and splits; it ends as a different model. With the whole
//! state, a run killed and resumed ends bit for bit where the uninterrupted run does
//! (`tests/training.rs`), which is what a Spot interruption or a crashed machine needs.

use crate::model::Gaussians;

/// Parameters per Gaussian, in the optimiser's order: mean 3, log-scale 3, quaternion 4,
/// opacity logit 1, SH 16 × 3.
pub(crate) const PARAMS: usize = 59;

/// Adam's moments for one Gaussian's parameters, kept beside it so one pass computes a
/// Gaussian's gradient and steps it (no model-sized gradient buffers per iteration).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Moments {
    pub m: [f32; PARAMS],
    pub v: [f32; PARAMS],
}

impl Default for Moments {
    fn default() -> Self {
        Self {
            m: [0.0; PARAMS],
            v: [0.0; PARAMS],
        }
    }
}

/// A training run between two iterations.
#[derive(Clone, Debug, PartialEq)]
pub struct State {
    pub gaussians: Gaussians,
    pub(crate) moments: Vec<Moments>,
    /// Summed view-space gradient norms, their count and the largest screen radius (a fraction
    /// of the view's long side), per Gaussian, since the last densification.
    pub(crate) grad_accum: Vec<f32>,
    pub(crate) grad_count: Vec<u32>,
    pub(crate) max_radius: Vec<f32>,
    pub(crate) rng: u64,
    /// Training views still to be drawn in this epoch (popped from the back).
    pub(crate) order: Vec<u32>,
    /// Iterations done (0: a fresh start).
    pub(crate) iteration: u32,
    /// The length of the run this state belongs to (0: not yet trained).
    pub(crate) iterations: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("not a training checkpoint (it does not start with the checkpoint's mark)")]
    NotACheckpoint,
    #[error("a checkpoint of version {0}, which this trainer cannot read")]
    Version(u32),
    #[error("the checkpoint is {actual} bytes where its header promises {expected}: it is cut short or damaged")]
    Length { expected: u64, actual: u64 },
    #[error("the checkpoint's view order names view {0}, past its {1} views")]
    Order(u32, u32),
}

const MAGIC: &[u8; 8] = b"SPTRAIN\0";
const VERSION: u32 = 1;
/// Magic, version, iteration, iterations, seed state, Gaussian count, order length.
const HEADER: usize = 8 + 4 + 4 + 4 + 8 + 8 + 4;
/// f32/u32 words per Gaussian: parameters, both moments, three statistics.
const WORDS_PER_GAUSSIAN: u64 = (PARAMS * 3 + 3) as u64;

impl State {
    /// A fresh run from `gaussians` (e.g. SfM points) with the generator seeded by `seed`.
    #[must_use]
    pub fn new(gaussians: Gaussians, seed: u64) -> Self {
        let n = gaussians.len();
        Self {
            gaussians,
            moments: vec![Moments::default(); n],
            grad_accum: vec![0.0; n],
            grad_count: vec![0; n],
            max_radius: vec![0.0; n],
            rng: seed,
            order: Vec::new(),
            iteration: 0,
            iterations: 0,
        }
    }

    /// Iterations done.
    #[must_use]
    pub fn iteration(&self) -> u32 {
        self.iteration
    }

    /// The length of the run this state was saved from (0 for a fresh state).
    #[must_use]
    pub fn iterations(&self) -> u32 {
        self.iterations
    }

    /// Clears the densification statistics (after a densification, or when the count changed).
    pub(crate) fn reset_stats(&mut self) {
        let n = self.gaussians.len();
        self.grad_accum = vec![0.0; n];
        self.grad_count = vec![0; n];
        self.max_radius = vec![0.0; n];
    }

    /// The exact byte form (little-endian words, no compression: a checkpoint is written every
    /// few hundred iterations and must cost little time), about 0.7 KB per Gaussian, written
    /// as it is made (a checkpoint of a large model never sits whole in memory).
    pub fn write_to(&self, w: &mut impl std::io::Write) -> std::io::Result<()> {
        let g = &self.gaussians;
        w.write_all(MAGIC)?;
        for word in [VERSION, self.iteration, self.iterations] {
            w.write_all(&word.to_le_bytes())?;
        }
        w.write_all(&self.rng.to_le_bytes())?;
        w.write_all(&(g.len() as u64).to_le_bytes())?;
        w.write_all(&u32::try_from(self.order.len()).unwrap_or(0).to_le_bytes())?;
        for &i in &self.order {
            w.write_all(&i.to_le_bytes())?;
        }
        let mut floats = |values: &mut dyn Iterator<Item = f32>| -> std::io::Result<()> {
            for v in values {
                w.write_all(&v.to_le_bytes())?;
            }
            Ok(())
        };
        floats(&mut g.means.iter().flatten().copied())?;
        floats(&mut g.log_scales.iter().flatten().copied())?;
        floats(&mut g.quats.iter().flatten().copied())?;
        floats(&mut g.opacity_logits.iter().copied())?;
        floats(&mut g.sh.iter().flatten().flatten().copied())?;
        floats(&mut self.moments.iter().flat_map(|m| m.m))?;
        floats(&mut self.moments.iter().flat_map(|m| m.v))?;
        floats(&mut self.grad_accum.iter().copied())?;
        floats(&mut self.max_radius.iter().copied())?;
        self.grad_count
            .iter()
            .try_for_each(|c| w.write_all(&c.to_le_bytes()))
    }

    /// [`State::write_to`] into memory.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        // Writing to a Vec cannot fail.
        let _ = self.write_to(&mut out);
        out
    }

    /// Reads [`State::to_bytes`]'s form back; `views` is how many training views the run has
    /// (the view order must index them).
    pub fn from_bytes(bytes: &[u8], views: usize) -> Result<Self, StateError> {
        if bytes.len() < HEADER || &bytes[..8] != MAGIC {
            return Err(StateError::NotACheckpoint);
        }
        let mut at = 8;
        let mut take = |len: usize| {
            let s = &bytes[at..at + len];
            at += len;
            s
        };
        let u32_at = |s: &[u8]| u32::from_le_bytes([s[0], s[1], s[2], s[3]]);
        let version = u32_at(take(4));
        if version != VERSION {
            return Err(StateError::Version(version));
        }
        let iteration = u32_at(take(4));
        let iterations = u32_at(take(4));
        let mut eight = [0u8; 8];
        eight.copy_from_slice(take(8));
        let rng = u64::from_le_bytes(eight);
        eight.copy_from_slice(take(8));
        let n = u64::from_le_bytes(eight);
        let order_len = u32_at(take(4));
        let expected = (HEADER as u64)
            .saturating_add(4 * u64::from(order_len))
            .saturating_add(n.saturating_mul(4 * WORDS_PER_GAUSSIAN));
        if expected != bytes.len() as u64 {
            return Err(StateError::Length {
                expected,
                actual: bytes.len() as u64,
            });
        }
        // The length check bounds n by the file's size, so these conversions and slices hold.
        let n = usize::try_from(n).unwrap_or(0);
        let mut words = bytes[HEADER..]
            .chunks_exact(4)
            .map(|w| [w[0], w[1], w[2], w[3]]);
        let mut word = || words.next().unwrap_or_default();
        let views = u32::try_from(views).unwrap_or(u32::MAX);
        let order = (0..order_len)
            .map(|_| {
                let i = u32::from_le_bytes(word());
                if i < views {
                    Ok(i)
                } else {
                    Err(StateError::Order(i, views))
                }
            })
            .collect::<Result<Vec<u32>, StateError>>()?;
        let mut f = || f32::from_le_bytes(word());
        let means = (0..n).map(|_| [f(), f(), f()]).collect();
        let log_scales = (0..n).map(|_| [f(), f(), f()]).collect();
        let quats = (0..n).map(|_| [f(), f(), f(), f()]).collect();
        let opacity_logits = (0..n).map(|_| f()).collect();
        let sh = (0..n)
            .map(|_| std::array::from_fn(|_| [f(), f(), f()]))
            .collect();
        let mut moments = vec![Moments::default(); n];
        for m in &mut moments {
            m.m = std::array::from_fn(|_| f());
        }
        for m in &mut moments {
            m.v = std::array::from_fn(|_| f());
        }
        let grad_accum = (0..n).map(|_| f()).collect();
        let max_radius = (0..n).map(|_| f()).collect();
        let grad_count = (0..n).map(|_| u32::from_le_bytes(word())).collect();
        Ok(Self {
            gaussians: Gaussians {
                means,
                log_scales,
                quats,
                opacity_logits,
                sh,
            },
            moments,
            grad_accum,
            grad_count,
            max_radius,
            rng,
            order,
            iteration,
            iterations,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::cast_precision_loss)]
mod tests {
    use super::*;

    fn sample() -> State {
        let mut g = Gaussians::default();
        for i in 0..3 {
            let x = i as f32;
            g.means.push([x, -x, 0.5]);
            g.log_scales.push([-1.0, -2.0 - x, -3.0]);
            g.quats.push([1.0, 0.1, x, 0.0]);
            g.opacity_logits.push(x - 1.0);
            g.sh.push(std::array::from_fn(|k| [k as f32, x, -(k as f32)]));
        }
        let mut s = State::new(g, 7);
        s.moments[1].m[58] = 0.25;
        s.moments[2].v[0] = 1e-9;
        s.grad_accum[0] = 3.5;
        s.grad_count[2] = 11;
        s.max_radius[1] = 40.0;
        s.order = vec![4, 0, 2];
        s.iteration = 300;
        s.iterations = 7000;
        s.rng = u64::MAX - 5;
        s
    }

    #[test]
    fn a_state_reads_back_exactly() {
        let s = sample();
        let bytes = s.to_bytes();
        assert_eq!(
            bytes.len() as u64,
            HEADER as u64 + 12 + 3 * 4 * WORDS_PER_GAUSSIAN
        );
        assert_eq!(State::from_bytes(&bytes, 5).unwrap(), s);
    }

    #[test]
    fn a_damaged_checkpoint_is_refused_with_a_reason() {
        let bytes = sample().to_bytes();
        let cut = State::from_bytes(&bytes[..bytes.len() - 4], 5).unwrap_err();
        assert!(cut.to_string().contains("cut short"), "{cut}");
        assert!(matches!(
            State::from_bytes(b"ply\nformat", 5),
            Err(StateError::NotACheckpoint)
        ));
        // A view order that names a view the run does not have (fewer photos than when saved).
        assert!(matches!(
            State::from_bytes(&bytes, 4),
            Err(StateError::Order(4, 4))
        ));
        // A header that promises more Gaussians than any file could hold does not allocate.
        let mut huge = bytes.clone();
        huge[28..36].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(matches!(
            State::from_bytes(&huge, 5),
            Err(StateError::Length { .. })
        ));
        let mut later = bytes;
        later[8..12].copy_from_slice(&2u32.to_le_bytes());
        assert!(matches!(
            State::from_bytes(&later, 5),
            Err(StateError::Version(2))
        ));
    }
}
