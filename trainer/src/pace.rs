//! The time a training run has left, from the pace it has measured.
//!
//! A user watches this number for an hour or more, so it must not jump. The first estimate (the
//! pace of the last report window alone) swung between 3,900 s and 38,700 s within a few minutes
//! on the caliterra survey: a window that held a held-out evaluation or a 200 MB checkpoint, or
//! that met another process on the CPU, looked like the new pace of the whole run. Here:
//! - the seconds spent iterating and the seconds spent between iterations (evaluations,
//!   checkpoints, reports) are measured apart, and the second kind is charged to the rest of the
//!   run at its mean rate so far;
//! - the iterating pace is smoothed across windows, so one slow window moves the estimate by a
//!   fraction of its excess;
//! - a window at another resolution level is scaled by its pixels (the rasterizer's time follows
//!   them), and the first window at a new level replaces the smoothed pace outright, as a
//!   measurement beats an extrapolation.

use crate::train::TrainConfig;

/// How much of a new window's pace enters the smoothed pace: about the last three windows count.
const SMOOTHING: f64 = 0.3;

#[derive(Debug, Clone, Default)]
pub struct Pace {
    /// Smoothed seconds per iteration at `level`.
    per_iteration: Option<f64>,
    level: u8,
    /// Seconds spent between iterations so far, and the iterations they were spread over.
    overhead_s: f64,
    iterations: u32,
}

impl Pace {
    /// A window of `iterations` iterations, all at resolution `level`, took `seconds` of
    /// iterating.
    pub fn record(&mut self, iterations: u32, seconds: f64, level: u8) {
        if iterations == 0 || !seconds.is_finite() || seconds < 0.0 {
            return;
        }
        let pace = seconds / f64::from(iterations);
        self.per_iteration = Some(match self.per_iteration {
            Some(old) if self.level == level => old + SMOOTHING * (pace - old),
            _ => pace,
        });
        self.level = level;
        self.iterations += iterations;
    }

    /// Seconds spent outside the iterations (an evaluation, a checkpoint, a report).
    pub fn record_overhead(&mut self, seconds: f64) {
        if seconds.is_finite() && seconds > 0.0 {
            self.overhead_s += seconds;
        }
    }

    /// Seconds left after iteration `it` of `config`'s schedule; None before any measurement.
    #[must_use]
    pub fn seconds_left(&self, config: &TrainConfig, it: u32) -> Option<f64> {
        let per_iteration = self.per_iteration?;
        let overhead = self.overhead_s / f64::from(self.iterations.max(1));
        let iterating: f64 = (it + 1..=config.iterations)
            .map(|j| {
                let finer = i32::from(self.level) - i32::from(config.resolution_level(j));
                per_iteration * 4f64.powi(finer)
            })
            .sum();
        Some(iterating + overhead * f64::from(config.iterations.saturating_sub(it)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> TrainConfig {
        // 1,000 iterations: ¼ size to iteration 99, ½ to 199, full size from 200 on.
        TrainConfig::for_iterations(1000)
    }

    #[test]
    fn a_steady_pace_predicts_the_rest_exactly() {
        let c = config();
        let mut pace = Pace::default();
        for _ in 0..10 {
            pace.record(25, 25.0, 0);
        }
        let left = pace.seconds_left(&c, 500).unwrap_or_default();
        assert!((left - 500.0).abs() < 1e-9, "{left}");
    }

    #[test]
    fn one_slow_window_moves_the_estimate_by_a_fraction_of_its_excess() {
        let c = config();
        let mut pace = Pace::default();
        for _ in 0..10 {
            pace.record(25, 25.0, 0);
        }
        // A window five times slower (another process took the CPU for a while).
        pace.record(25, 125.0, 0);
        let left = pace.seconds_left(&c, 525).unwrap_or_default();
        assert!(left > 475.0 && left < 475.0 * 2.5, "{left}");
        // Back to the usual pace: the estimate returns towards the truth.
        for _ in 0..15 {
            pace.record(25, 25.0, 0);
        }
        let left = pace.seconds_left(&c, 900).unwrap_or_default();
        assert!((left - 100.0).abs() < 100.0 * 0.05, "{left}");
    }

    #[test]
    fn evaluations_and_checkpoints_are_spread_over_the_rest_of_the_run() {
        let c = config();
        let mut pace = Pace::default();
        for _ in 0..12 {
            pace.record(25, 25.0, 0);
        }
        // 300 s of checkpoints and evaluations over 300 iterations: 1 s per iteration more,
        // charged to the 700 still to come, and not to the iterating pace.
        pace.record_overhead(300.0);
        let left = pace.seconds_left(&c, 300).unwrap_or_default();
        assert!((left - 1400.0).abs() < 1e-9, "{left}");
    }

    #[test]
    fn coarse_levels_predict_the_finer_ones_by_their_pixels_until_measured() {
        let c = config();
        let mut pace = Pace::default();
        // Level 2 (a sixteenth of the pixels) at 1 s per iteration.
        pace.record(50, 50.0, 2);
        // 50 more at level 2, 100 at level 1 (4 s each), 801 at level 0 (16 s each).
        let left = pace.seconds_left(&c, 49).unwrap_or_default();
        assert!((left - (50.0 + 400.0 + 12_816.0)).abs() < 1e-6, "{left}");
        // The finest level turns out cheaper than its pixels said: the measurement wins.
        pace.record(25, 200.0, 0);
        let left = pace.seconds_left(&c, 224).unwrap_or_default();
        assert!((left - 776.0 * 8.0).abs() < 1e-6, "{left}");
    }

    #[test]
    fn nothing_measured_means_no_estimate() {
        assert!(Pace::default().seconds_left(&config(), 0).is_none());
    }
}
