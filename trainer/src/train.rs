//! The training loop: views coarse to fine (¼, ½, then full size) composited over a random
//! background colour each iteration (so the model stays opaque where the photos show
//! something), Adam with the reference
//! learning rates (positions decayed exponentially) applied right after each Gaussian's
//! gradient, SH degree raised over time, and the original adaptive density control (clone
//! small / split large Gaussians with high view-space gradient, prune faint ones (α < 0.1) and
//! huge ones once an opacity reset has run, periodic opacity reset) under a hard cap on the
//! count; held-out PSNR along the way for the progress curve. Deterministic for a seed.
//!
//! Why adaptive density control rather than MCMC: it grows the model from the SfM points at the
//! pace the images demand, which suits the small CPU jobs this backend serves; the cap bounds
//! memory the way MCMC's fixed budget would.

use std::time::Instant;

use rayon::prelude::*;
use splat::render::Camera;

use crate::loss::{loss_and_grad, ssim};
use crate::model::Gaussians;
use crate::pace::Pace;
use crate::raster::{project_all, project_backward_one, One, ParamGrad, RasterError, Rasterizer};
use crate::state::{Moments, State};

/// One photo with its camera (pixels as stored, 0–1 RGB, row-major).
#[derive(Debug, Clone)]
pub struct View {
    pub name: String,
    pub camera: Camera,
    pub image: Vec<[f32; 3]>,
}

#[derive(Debug, Clone)]
pub struct TrainConfig {
    pub iterations: u32,
    pub max_sh_degree: u8,
    pub sh_up_every: u32,
    pub max_gaussians: usize,
    pub densify_from: u32,
    pub densify_until: u32,
    pub densify_every: u32,
    /// Mean view-space (NDC) positional gradient above which a Gaussian is densified.
    pub grad_threshold: f32,
    /// 0: never.
    pub opacity_reset_every: u32,
    /// Evaluation's background, and training's when `random_background` is off.
    pub background: [f32; 3],
    /// Composite each training iteration over a random colour: the model cannot lean on the
    /// background wherever a photo shows something, so it stays opaque where the world is (no
    /// see-through walls or ground) and covers the edges a new viewpoint sees beyond the
    /// training photos. Herz-Jesu-P8 held out: 13.9 → 18.8 dB (docs/decisions.md). Off only
    /// for scenes whose pictures really have a background, such as synthetic ones.
    pub random_background: bool,
    pub seed: u64,
    /// Coarse to fine: training starts on views halved this many times and doubles their size
    /// every `resolution_every` iterations until full size (0: full size throughout).
    pub downscales: u8,
    pub resolution_every: u32,
    /// Held-out PSNR for the progress curve every this many iterations (0: never), on at
    /// most [`CURVE_VIEWS`] held-out views.
    pub eval_every: u32,
    /// The largest a Gaussian may grow along any axis, in world units (None: no limit). Set
    /// for nadir surveys (see `pipeline::train::survey_cap`): seen only from above, the model
    /// otherwise fills the photos' edges with huge blobs under the ground, which every other
    /// viewpoint sees as fog.
    pub max_scale: Option<f32>,
}

/// Held-out views rendered for each point of the progress curve (the final evaluation uses
/// them all).
pub const CURVE_VIEWS: usize = 3;

impl TrainConfig {
    /// The reference schedule (30k iterations) scaled to `iterations`.
    pub fn for_iterations(iterations: u32) -> Self {
        let iterations = iterations.max(1);
        Self {
            iterations,
            max_sh_degree: 3,
            sh_up_every: (iterations / 8).clamp(20, 1000),
            max_gaussians: 1_000_000,
            densify_from: (iterations / 60).clamp(50, 500),
            densify_until: iterations / 2,
            densify_every: (iterations / 100).clamp(25, 100),
            grad_threshold: 2e-4,
            opacity_reset_every: if iterations >= 6000 { 3000 } else { 0 },
            background: [0.0; 3],
            random_background: true,
            seed: 42,
            downscales: 2,
            resolution_every: (iterations / 10).max(1),
            eval_every: (iterations / 20).max(1),
            max_scale: None,
        }
    }

    /// How many times the views are halved at iteration `it` (the coarse-to-fine schedule).
    #[must_use]
    pub fn resolution_level(&self, it: u32) -> u8 {
        let steps = it / self.resolution_every.max(1);
        #[allow(clippy::cast_possible_truncation)] // at most `downscales`
        let steps = steps.min(u32::from(self.downscales)) as u8;
        self.downscales - steps
    }
}

/// Learning rates of the reference implementation (positions scale with the scene).
struct Rates {
    position_start: f32,
    position_end: f32,
    sh_dc: f32,
    sh_rest: f32,
    opacity: f32,
    scale: f32,
    rotation: f32,
}

impl Rates {
    fn new(extent: f32) -> Self {
        Self {
            position_start: 1.6e-4 * extent,
            position_end: 1.6e-6 * extent,
            sh_dc: 2.5e-3,
            sh_rest: 2.5e-3 / 20.0,
            // 3DGS's original rate, and OpenSplat's (later 3DGS code halved it): in short runs
            // opacities must settle fast. Fountain-P11 held out 21.6 → 22.8 dB on its own.
            opacity: 0.05,
            scale: 5e-3,
            rotation: 1e-3,
        }
    }

    fn position(&self, it: u32, total: u32) -> f32 {
        #[allow(clippy::cast_precision_loss)]
        let t = (it as f32 / total.max(1) as f32).clamp(0.0, 1.0);
        (self.position_start.ln() * (1.0 - t) + self.position_end.ln() * t).exp()
    }
}

/// The reference 3DGS ε (torch's default 1e-8, as OpenSplat uses, measured no better here).
const ADAM_EPS: f32 = 1e-15;

/// Adam's step for one Gaussian: `grad` and the learning rate per parameter group.
struct AdamStep {
    c1: f32,
    c2: f32,
    /// Mean, log-scale, rotation, opacity, SH DC, SH rest.
    lr: [f32; 6],
    /// SH coefficients in use (1, 4, 9, 16): the others have had no gradient yet, so their
    /// moments are zero and Adam would not move them.
    sh_coeffs: usize,
}

impl AdamStep {
    const B1: f32 = 0.9;
    const B2: f32 = 0.999;

    fn new(t: u32, lr: [f32; 6], degree: u8) -> Self {
        #[allow(clippy::cast_possible_wrap)]
        let t = t as i32;
        Self {
            c1: 1.0 - Self::B1.powi(t),
            c2: 1.0 - Self::B2.powi(t),
            lr,
            sh_coeffs: crate::sh::coeffs(degree),
        }
    }

    #[inline]
    fn one(&self, p: &mut f32, m: &mut f32, v: &mut f32, g: f32, lr: f32) {
        *m = Self::B1 * *m + (1.0 - Self::B1) * g;
        *v = Self::B2 * *v + (1.0 - Self::B2) * g * g;
        *p -= lr * (*m / self.c1) / ((*v / self.c2).sqrt() + ADAM_EPS);
    }

    /// Steps one Gaussian's parameters with gradient `d`.
    fn apply(&self, d: &ParamGrad, x: Params<'_>, st: &mut Moments) {
        let Moments { m, v } = st;
        // k walks the layout above; SH coefficients come last, so stopping early is safe.
        let mut k = 0;
        let mut step = |p: &mut f32, g: f32, lr: f32| {
            self.one(p, &mut m[k], &mut v[k], g, lr);
            k += 1;
        };
        for a in 0..3 {
            step(&mut x.mean[a], d.mean[a], self.lr[0]);
        }
        for a in 0..3 {
            step(&mut x.log_scale[a], d.log_scale[a], self.lr[1]);
        }
        for a in 0..4 {
            step(&mut x.quat[a], d.quat[a], self.lr[2]);
        }
        step(x.opacity_logit, d.opacity_logit, self.lr[3]);
        for c in 0..self.sh_coeffs {
            let lr = if c == 0 { self.lr[4] } else { self.lr[5] };
            for ch in 0..3 {
                step(&mut x.sh[c][ch], d.sh[c][ch], lr);
            }
        }
    }
}

/// One Gaussian's parameters, borrowed mutably from the model's arrays.
struct Params<'a> {
    mean: &'a mut [f32; 3],
    log_scale: &'a mut [f32; 3],
    quat: &'a mut [f32; 4],
    opacity_logit: &'a mut f32,
    sh: &'a mut [[f32; 3]; 16],
}

/// SplitMix64: deterministic noise for view order and splits.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    #[allow(clippy::cast_precision_loss)]
    fn unit(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }
    fn normal(&mut self) -> f32 {
        let (u1, u2) = (self.unit().max(1e-7), self.unit());
        (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
    }
}

impl View {
    /// This view at half its size: a 2×2 box filter (the photo's area average, so a coarse
    /// level is what a lower-resolution camera would have seen), intrinsics scaled to match.
    #[must_use]
    pub fn half(&self) -> View {
        let (w, h) = (self.camera.width as usize, self.camera.height as usize);
        let (nw, nh) = ((w / 2).max(1), (h / 2).max(1));
        let mut image = Vec::with_capacity(nw * nh);
        for y in 0..nh {
            for x in 0..nw {
                let at = |dx: usize, dy: usize| {
                    self.image[(2 * y + dy).min(h - 1) * w + (2 * x + dx).min(w - 1)]
                };
                let q = [at(0, 0), at(1, 0), at(0, 1), at(1, 1)];
                image.push(std::array::from_fn(|c| {
                    0.25 * q.iter().map(|p| p[c]).sum::<f32>()
                }));
            }
        }
        #[allow(clippy::cast_possible_truncation)] // halves of u32 sides
        let camera = self.camera.resized(nw as u32, nh as u32);
        View {
            name: self.name.clone(),
            camera,
            image,
        }
    }
}

/// What the caller sees every few iterations.
#[derive(Debug, Clone)]
pub struct Progress {
    pub iteration: u32,
    pub iterations: u32,
    pub loss: f64,
    /// PSNR of this iteration's training view (dB): the training curve. Noisy from view to view;
    /// held-out quality is `Evaluation`'s.
    pub psnr: f64,
    pub gaussians: usize,
    pub sh_degree: u8,
    pub elapsed_s: f64,
    /// Seconds left, from the measured pace (see `pace`).
    pub eta_s: f64,
    /// Mean PSNR (dB) over a few held-out views, every `eval_every` iterations: the curve a
    /// user should watch (None between evaluations, or with nothing held out).
    pub held_out_psnr: Option<f64>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Evaluation {
    pub psnr: f64,
    pub ssim: f64,
    /// (name, PSNR, SSIM) per held-out view.
    pub views: Vec<(String, f64, f64)>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Report {
    pub iterations: u32,
    pub gaussians: usize,
    pub sh_degree: u8,
    pub seconds: f64,
    pub iterations_per_second: f64,
    pub final_loss: f64,
    pub evaluation: Option<Evaluation>,
    pub cancelled: bool,
    /// What rendered: the CPU or a GPU adapter, by name.
    pub backend: String,
    /// Where the time went, seconds per phase of an iteration (benchmarks read it).
    pub phases: Phases,
    /// The size cap the run had ([`TrainConfig::max_scale`]), world units.
    pub max_scale: Option<f32>,
}

/// Seconds spent in each phase of the training iterations.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct Phases {
    pub project: f64,
    pub forward: f64,
    pub loss: f64,
    pub backward: f64,
    /// The chain rule to the parameters and Adam (one pass).
    pub optimise: f64,
    pub densify: f64,
}

/// The scene's size: 1.1 × the largest distance of a camera from the cameras' centroid.
pub fn scene_extent(views: &[View]) -> f32 {
    let centres: Vec<[f32; 3]> = views.iter().map(|v| v.camera.centre()).collect();
    #[allow(clippy::cast_precision_loss)]
    let n = centres.len().max(1) as f32;
    let mean: [f32; 3] = std::array::from_fn(|k| centres.iter().map(|c| c[k]).sum::<f32>() / n);
    let radius = centres
        .iter()
        .map(|c| {
            ((c[0] - mean[0]).powi(2) + (c[1] - mean[1]).powi(2) + (c[2] - mean[2]).powi(2)).sqrt()
        })
        .fold(0.0f32, f32::max);
    1.1 * radius.max(1e-3)
}

/// PSNR (dB) of `image` (clamped to [0, 1], as displayed) against `target`; 99 when identical.
#[allow(clippy::cast_precision_loss)] // pixel counts
pub fn psnr_of(image: &[[f32; 3]], target: &[[f32; 3]]) -> f64 {
    let mse = image
        .iter()
        .zip(target)
        .flat_map(|(a, b)| (0..3).map(move |c| f64::from(a[c].clamp(0.0, 1.0) - b[c]).powi(2)))
        .sum::<f64>()
        / (3 * image.len().max(1)) as f64;
    if mse > 0.0 {
        -10.0 * mse.log10()
    } else {
        99.0
    }
}

/// Renders `g` from every view and scores it (PSNR on values clamped to 0–1, SSIM).
pub fn evaluate(
    raster: &dyn Rasterizer,
    g: &Gaussians,
    views: &[View],
    degree: u8,
    background: [f32; 3],
) -> Result<Option<Evaluation>, RasterError> {
    if views.is_empty() {
        return Ok(None);
    }
    let scores = views
        .iter()
        .map(|v| {
            let (w, h) = (v.camera.width as usize, v.camera.height as usize);
            let frame = raster.forward(&project_all(g, &v.camera, degree), w, h, background)?;
            let image: Vec<[f32; 3]> = frame
                .image
                .iter()
                .map(|p| p.map(|c| c.clamp(0.0, 1.0)))
                .collect();
            Ok((
                v.name.clone(),
                psnr_of(&image, &v.image),
                ssim(&image, &v.image, w, h),
            ))
        })
        .collect::<Result<Vec<(String, f64, f64)>, RasterError>>()?;
    #[allow(clippy::cast_precision_loss)]
    let n = scores.len() as f64;
    Ok(Some(Evaluation {
        psnr: scores.iter().map(|s| s.1).sum::<f64>() / n,
        ssim: scores.iter().map(|s| s.2).sum::<f64>() / n,
        views: scores,
    }))
}

/// Trains `g` on `train` views with `raster` rendering, evaluates on `test` views at the end.
/// `progress` is called every `report_every` iterations with the run's whole state (what a
/// checkpoint saves); returning false cancels (the model so far is returned, with `cancelled`
/// set). Fails only when the backend does (a GPU lost mid-run).
pub fn train(
    raster: &dyn Rasterizer,
    g: Gaussians,
    train_views: &[View],
    test_views: &[View],
    config: &TrainConfig,
    report_every: u32,
    progress: &mut dyn FnMut(&Progress, &State) -> bool,
) -> Result<(Gaussians, Report), RasterError> {
    let state = State::new(g, config.seed);
    train_from(
        raster,
        state,
        train_views,
        test_views,
        config,
        report_every,
        progress,
    )
}

/// [`train`] from a saved [`State`] (a checkpoint): the run goes on from the iteration after
/// the state's, exactly as it would have had it never stopped.
#[allow(clippy::too_many_lines, clippy::cast_precision_loss)]
pub fn train_from(
    raster: &dyn Rasterizer,
    mut s: State,
    train_views: &[View],
    test_views: &[View],
    config: &TrainConfig,
    report_every: u32,
    progress: &mut dyn FnMut(&Progress, &State) -> bool,
) -> Result<(Gaussians, Report), RasterError> {
    let started = Instant::now();
    let extent = scene_extent(train_views);
    let rates = Rates::new(extent);
    let mut rng = Rng(s.rng);
    let mut phases = Phases::default();
    let first = s.iteration + 1;
    s.iterations = config.iterations;
    if s.grad_accum.len() != s.gaussians.len() {
        s.reset_stats();
    }
    // Resuming: the SH degree the schedule had reached.
    #[allow(clippy::cast_possible_truncation)] // at most max_sh_degree
    let mut degree = s
        .iteration
        .checked_div(config.sh_up_every)
        .map_or(0, |d| d.min(u32::from(config.max_sh_degree)) as u8);
    // Coarse levels of the training views: pyramid[l - 1] holds them halved l times.
    let pyramid: Vec<Vec<View>> = {
        let mut levels: Vec<Vec<View>> = Vec::new();
        for _ in 0..config.downscales {
            let finer = levels.last().map_or(train_views, Vec::as_slice);
            levels.push(finer.par_iter().map(View::half).collect());
        }
        levels
    };
    // A few held-out views, evenly spaced, for the progress curve.
    let curve_views: Vec<View> = (0..test_views.len().min(CURVE_VIEWS))
        .map(|k| test_views[k * test_views.len() / test_views.len().min(CURVE_VIEWS)].clone())
        .collect();
    let mut last_curve = 0;
    // (elapsed seconds, iteration) when the last report was done: the iterations since then are
    // the next measurement of the pace.
    let mut window = (0.0f64, s.iteration);
    let mut pace = Pace::default();
    let mut last_loss = 0.0;
    let mut cancelled = false;
    let mut done = s.iteration;
    for it in first..=config.iterations {
        done = it;
        if config.sh_up_every > 0 && it % config.sh_up_every == 0 && degree < config.max_sh_degree {
            degree += 1;
        }
        if s.order.is_empty() {
            s.order = (0..u32::try_from(train_views.len()).unwrap_or(u32::MAX)).collect();
            for i in (1..s.order.len()).rev() {
                #[allow(clippy::cast_possible_truncation)]
                let j = (rng.next_u64() % (i as u64 + 1)) as usize;
                s.order.swap(i, j);
            }
        }
        let level = config.resolution_level(it);
        let Some(view) = s.order.pop().map(|i| match level {
            0 => &train_views[i as usize],
            l => &pyramid[usize::from(l) - 1][i as usize],
        }) else {
            break;
        };
        let cam = &view.camera;
        let (w, h) = (cam.width as usize, cam.height as usize);
        let mut clock = Instant::now();
        let mut lap = |slot: &mut f64| {
            let now = Instant::now();
            *slot += (now - clock).as_secs_f64();
            clock = now;
        };
        let projs = project_all(&s.gaussians, cam, degree);
        lap(&mut phases.project);
        let background = if config.random_background {
            [rng.unit(), rng.unit(), rng.unit()]
        } else {
            config.background
        };
        let frame = raster.forward(&projs, w, h, background)?;
        lap(&mut phases.forward);
        let (loss, dl) = loss_and_grad(&frame.image, &view.image, w, h);
        lap(&mut phases.loss);
        last_loss = loss;
        let reporting = it % report_every.max(1) == 0 || it == config.iterations;
        let train_psnr = if reporting {
            psnr_of(&frame.image, &view.image)
        } else {
            f64::NAN
        };
        let g2 = raster.backward(&frame, &projs, &dl)?;
        lap(&mut phases.backward);
        // Densification statistics: the 2-D mean gradient in normalised device coordinates,
        // and the largest footprint as a fraction of the view's long side.
        let long_side = w.max(h) as f32;
        // (OpenSplat scales both axes by the long side instead: more densification, and on
        // Herz-Jesu-P8 less cover for what no training photo saw; docs/decisions.md.)
        for (i, p) in projs.iter().enumerate() {
            if let Some(p) = p {
                let gx = g2[i].xy[0] * w as f32 * 0.5;
                let gy = g2[i].xy[1] * h as f32 * 0.5;
                s.grad_accum[i] += gx.hypot(gy);
                s.grad_count[i] += 1;
                s.max_radius[i] = s.max_radius[i].max(p.radius / long_side);
            }
        }
        // The chain rule to each Gaussian's parameters and its Adam step, in one pass.
        s.moments.resize(s.gaussians.len(), Moments::default());
        let adam = AdamStep::new(
            it,
            [
                rates.position(it, config.iterations),
                rates.scale,
                rates.rotation,
                rates.opacity,
                rates.sh_dc,
                rates.sh_rest,
            ],
            degree,
        );
        let log_cap = config.max_scale.map(f32::ln);
        let g = &mut s.gaussians;
        g.means
            .par_iter_mut()
            .zip(g.log_scales.par_iter_mut())
            .zip(g.quats.par_iter_mut())
            .zip(g.opacity_logits.par_iter_mut())
            .zip(g.sh.par_iter_mut())
            .zip(s.moments.par_iter_mut())
            .enumerate()
            .for_each(
                |(i, (((((mean, log_scale), quat), opacity_logit), sh), st))| {
                    let d = projs[i].map_or_else(ParamGrad::default, |p| {
                        let one = One {
                            quat: *quat,
                            log_scale: *log_scale,
                            sh,
                        };
                        project_backward_one(&one, cam, &p, &g2[i], degree)
                    });
                    let x = Params {
                        mean,
                        log_scale,
                        quat,
                        opacity_logit,
                        sh,
                    };
                    adam.apply(&d, x, st);
                    if let Some(cap) = log_cap {
                        for v in log_scale.iter_mut() {
                            *v = v.min(cap);
                        }
                    }
                },
            );
        lap(&mut phases.optimise);

        if it >= config.densify_from && it < config.densify_until && it % config.densify_every == 0
        {
            let prune_big = config.opacity_reset_every > 0 && it > config.opacity_reset_every;
            densify(&mut s, extent, config, prune_big, &mut rng);
            s.reset_stats();
            lap(&mut phases.densify);
        }
        if config.opacity_reset_every > 0
            && it % config.opacity_reset_every == 0
            && it < config.densify_until
        {
            // Twice the pruning threshold, as the reference's 0.01 is twice its 0.005: a
            // Gaussian must then earn its opacity back or be pruned. Capping at 0.01 under a 0.1
            // threshold pruned the whole model at the next densification (caliterra, standard
            // preset: 376k Gaussians → 8.6k, held-out 33 → 18 dB).
            let cap = RESET_OPACITY.ln() - (1.0 - RESET_OPACITY).ln();
            for l in &mut s.gaussians.opacity_logits {
                *l = l.min(cap);
            }
        }
        s.iteration = it;
        s.rng = rng.0;
        if reporting {
            let elapsed = started.elapsed().as_secs_f64();
            // A window across a change of resolution measures neither level.
            if config.resolution_level(window.1 + 1) == level {
                pace.record(it - window.1, elapsed - window.0, level);
            }
            let held_out_psnr = if config.eval_every > 0
                && (it - last_curve >= config.eval_every || it == config.iterations)
            {
                last_curve = it;
                evaluate(
                    raster,
                    &s.gaussians,
                    &curve_views,
                    degree,
                    config.background,
                )?
                .map(|e| e.psnr)
            } else {
                None
            };
            let p = Progress {
                iteration: it,
                iterations: config.iterations,
                loss,
                psnr: train_psnr,
                gaussians: s.gaussians.len(),
                sh_degree: degree,
                elapsed_s: elapsed,
                eta_s: pace.seconds_left(config, it).unwrap_or_default(),
                held_out_psnr,
            };
            if !progress(&p, &s) {
                cancelled = true;
                break;
            }
            // The evaluation and whatever the caller did with the report (a checkpoint).
            let now = started.elapsed().as_secs_f64();
            pace.record_overhead(now - elapsed);
            window = (now, it);
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let g = s.gaussians;
    let evaluation = evaluate(raster, &g, test_views, degree, config.background)?;
    let report = Report {
        iterations: done,
        gaussians: g.len(),
        sh_degree: degree,
        seconds,
        iterations_per_second: f64::from(done + 1 - first.min(done + 1)) / seconds.max(1e-9),
        final_loss: last_loss,
        evaluation,
        cancelled,
        backend: raster.name(),
        phases,
        max_scale: config.max_scale,
    };
    Ok((g, report))
}

/// Gaussians fainter than this are pruned at each densification: splatfacto's and OpenSplat's
/// cull (3DGS prunes at 0.005). Faint Gaussians are mostly haze in front of what a new view
/// sees. With the opacity rate above, 0.1 rather than 0.005: fountain-P11 22.8 → 23.0 dB held
/// out and Herz-Jesu-P8 18.7 → 19.4, with a fifth fewer Gaussians (docs/decisions.md).
const PRUNE_OPACITY: f32 = 0.1;

/// A Gaussian whose footprint (3σ radius) reached this fraction of a view's long side is pruned
/// as huge once an opacity reset has passed: gsplat's rule (0.15). The reference's fixed 20
/// pixels, at our 1,200-pixel training views, marked 44 % of a drone survey's model (165,847 of
/// 376,334 Gaussians at iteration 3,000 of caliterra's `standard` run, whose median footprint
/// is 18 pixels; this rule marks 506), and the run's held-out PSNR fell from 33.8 to 27.1 dB
/// with only 500 iterations of densification left to recover.
const PRUNE_SCREEN_FRACTION: f32 = 0.15;

/// What an opacity reset lowers every opacity to, at most.
const RESET_OPACITY: f32 = 2.0 * PRUNE_OPACITY;

/// Clone, split and prune (see the module comment).
fn densify(s: &mut State, extent: f32, config: &TrainConfig, prune_big: bool, rng: &mut Rng) {
    let State {
        gaussians: g,
        moments,
        grad_accum,
        grad_count,
        max_radius,
        ..
    } = s;
    let n = g.len();
    #[allow(clippy::cast_precision_loss)]
    let avg: Vec<f32> = (0..n)
        .map(|i| {
            if grad_count[i] == 0 {
                0.0
            } else {
                grad_accum[i] / grad_count[i] as f32
            }
        })
        .collect();
    let big = |i: usize| {
        g.log_scales[i]
            .iter()
            .fold(f32::MIN, |a, &b| a.max(b))
            .exp()
            > 0.01 * extent
    };
    let mut candidates: Vec<usize> = (0..n)
        .filter(|&i| avg[i] >= config.grad_threshold)
        .collect();
    // Under the cap, the strongest gradients first.
    let room = config.max_gaussians.saturating_sub(n);
    if candidates.len() > room {
        candidates.sort_by(|&a, &b| avg[b].total_cmp(&avg[a]).then(a.cmp(&b)));
        candidates.truncate(room);
        candidates.sort_unstable();
    }
    let mut keep = vec![true; n];
    let mut added = Gaussians::default();
    for &i in &candidates {
        if big(i) {
            // Split into two, sampled from the Gaussian, each 1.6× smaller.
            let s = g.log_scales[i].map(f32::exp);
            let Some((rot, _, _)) = splat::render::quat_to_matrix(g.quats[i]) else {
                keep[i] = false; // a degenerate rotation: nothing to split
                continue;
            };
            for _ in 0..2 {
                let local = [
                    rng.normal() * s[0],
                    rng.normal() * s[1],
                    rng.normal() * s[2],
                ];
                added.push(g, i);
                let last = added.len() - 1;
                for r in 0..3 {
                    added.means[last][r] += (0..3).map(|c| rot[r][c] * local[c]).sum::<f32>();
                }
                added.log_scales[last] = s.map(|v| (v / 1.6).ln());
            }
            keep[i] = false;
        } else {
            added.push(g, i);
        }
    }
    // Prune the transparent; and, once an opacity reset has let the scene re-form (as the
    // reference does), the huge: larger than a tenth of the scene, or than
    // [`PRUNE_SCREEN_FRACTION`] of a view.
    // Before that the large Gaussians are the background's only cover: pruning them on
    // fountain-P11 left the sparsely seen walls to noise and cost 1.8 dB held out (19.7 vs
    // 21.5 dB, docs/decisions.md).
    for i in 0..n {
        let opacity = 1.0 / (1.0 + (-g.opacity_logits[i]).exp());
        let huge = prune_big
            && (max_radius[i] > PRUNE_SCREEN_FRACTION
                || g.log_scales[i]
                    .iter()
                    .fold(f32::MIN, |a, &b| a.max(b))
                    .exp()
                    > 0.1 * extent);
        if opacity < PRUNE_OPACITY || huge {
            keep[i] = false;
        }
    }
    // New Gaussians start with fresh moments, as the reference's optimiser does.
    let mut k = keep.iter();
    moments.retain(|_| *k.next().unwrap_or(&false));
    g.retain(&keep);
    for i in 0..added.len() {
        g.push(&added, i);
    }
    moments.resize(g.len(), Moments::default());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn after_a_reset_only_gaussians_filling_much_of_a_view_are_pruned_as_huge() {
        // Opaque, small in the world; footprints of 2 %, 10 % and 20 % of a view's long side
        // (at 1,200 pixels: 24, 120 and 240 — the first is over the reference's 20 pixels).
        let mut g = Gaussians::from_points(
            &[[0.0; 3], [1.0, 0.0, 0.0], [2.0, 0.0, 0.0]],
            &[[0.5; 3]; 3],
        );
        g.opacity_logits = vec![3.0; 3];
        g.log_scales = vec![[(0.01f32).ln(); 3]; 3];
        let mut s = State::new(g, 1);
        s.max_radius = vec![0.02, 0.10, 0.20];
        let config = TrainConfig::for_iterations(7000);
        densify(&mut s, 10.0, &config, true, &mut Rng(3));
        assert_eq!(s.gaussians.len(), 2);
        assert!(
            s.gaussians.means.iter().all(|m| m[0] < 1.5),
            "the 20 % one went"
        );
        // Before the reset nothing is pruned for its size.
        let mut s = State::new(s.gaussians.clone(), 1);
        s.max_radius = vec![0.5, 0.5];
        densify(&mut s, 10.0, &config, false, &mut Rng(3));
        assert_eq!(s.gaussians.len(), 2);
    }

    #[test]
    fn the_schedule_goes_coarse_to_fine() {
        let c = TrainConfig::for_iterations(1000);
        let levels: Vec<u8> = [1, 99, 100, 199, 200, 1000]
            .iter()
            .map(|&it| c.resolution_level(it))
            .collect();
        assert_eq!(levels, [2, 2, 1, 1, 0, 0]);
    }

    #[test]
    #[allow(clippy::float_cmp)] // averages of small integers: exact in f32
    fn a_half_view_averages_pixels_and_scales_the_intrinsics() {
        let camera = Camera::look_at([0.0, 0.0, -3.0], [0.0; 3], [0.0, -1.0, 0.0], 0.8, 5, 4);
        let image: Vec<[f32; 3]> = (0..20u8).map(|i| [f32::from(i); 3]).collect();
        let v = View {
            name: "a".into(),
            camera,
            image,
        };
        let h = v.half();
        assert_eq!((h.camera.width, h.camera.height), (2, 2));
        // Top-left 2×2 block of the 5-wide image: 0, 1, 5, 6.
        assert_eq!(h.image[0], [3.0; 3]);
        // Bottom-right: 12, 13, 17, 18 (the fifth column and nothing of a fifth row is used).
        assert_eq!(h.image[3], [(12.0 + 13.0 + 17.0 + 18.0) / 4.0; 3]);
        assert!((h.camera.fx - camera.fx * 0.4).abs() < 1e-5);
        assert!((h.camera.cy - camera.cy * 0.5).abs() < 1e-5);
    }
}
