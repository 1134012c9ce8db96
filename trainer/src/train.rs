//! The training loop: Adam with the reference learning rates (positions decayed exponentially),
//! SH degree raised over time, and the original adaptive density control (clone small / split
//! large Gaussians with high view-space gradient, prune transparent or huge ones, periodic
//! opacity reset) under a hard cap on the count. Deterministic for a seed.
//!
//! Why adaptive density control rather than MCMC: it grows the model from the SfM points at the
//! pace the images demand, which suits the small CPU jobs this backend serves; the cap bounds
//! memory the way MCMC's fixed budget would.

use std::time::Instant;

use rayon::prelude::*;
use splat::render::Camera;

use crate::loss::{loss_and_grad, ssim};
use crate::model::Gaussians;
use crate::raster::{project_all, project_backward, ParamGrad, RasterError, Rasterizer};

/// One photo with its camera (pixels in linear 0–1 RGB, row-major).
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
    pub background: [f32; 3],
    pub seed: u64,
    /// First iteration to run (> 1 when resuming from a checkpoint).
    pub start_at: u32,
}

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
            seed: 42,
            start_at: 1,
        }
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
            opacity: 0.025,
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

#[derive(Default)]
struct Adam {
    m: Vec<f32>,
    v: Vec<f32>,
}

impl Adam {
    fn resize(&mut self, n: usize) {
        self.m.resize(n, 0.0);
        self.v.resize(n, 0.0);
    }

    fn step(
        &mut self,
        params: &mut [f32],
        grads: &[f32],
        t: u32,
        lr: impl Fn(usize) -> f32 + Sync,
    ) {
        const B1: f32 = 0.9;
        const B2: f32 = 0.999;
        #[allow(clippy::cast_possible_wrap)]
        let (c1, c2) = (1.0 - B1.powi(t as i32), 1.0 - B2.powi(t as i32));
        params
            .par_iter_mut()
            .zip(self.m.par_iter_mut())
            .zip(self.v.par_iter_mut())
            .zip(grads.par_iter())
            .enumerate()
            .for_each(|(j, (((p, m), v), &g))| {
                *m = B1 * *m + (1.0 - B1) * g;
                *v = B2 * *v + (1.0 - B2) * g * g;
                *p -= lr(j) * (*m / c1) / ((*v / c2).sqrt() + 1e-15);
            });
    }

    fn retain(&mut self, keep: &[bool], stride: usize) {
        let mut out_m = Vec::with_capacity(self.m.len());
        let mut out_v = Vec::with_capacity(self.v.len());
        for (i, &k) in keep.iter().enumerate() {
            if k {
                out_m.extend_from_slice(&self.m[i * stride..(i + 1) * stride]);
                out_v.extend_from_slice(&self.v[i * stride..(i + 1) * stride]);
            }
        }
        self.m = out_m;
        self.v = out_v;
    }
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
    pub eta_s: f64,
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
/// `progress` is called every `report_every` iterations with the current model; returning false
/// cancels (the model so far is returned, with `cancelled` set). Fails only when the backend
/// does (a GPU lost mid-run).
#[allow(clippy::too_many_lines, clippy::cast_precision_loss)]
pub fn train(
    raster: &dyn Rasterizer,
    mut g: Gaussians,
    train_views: &[View],
    test_views: &[View],
    config: &TrainConfig,
    report_every: u32,
    progress: &mut dyn FnMut(&Progress, &Gaussians) -> bool,
) -> Result<(Gaussians, Report), RasterError> {
    let started = Instant::now();
    let extent = scene_extent(train_views);
    #[allow(clippy::cast_precision_loss)] // image sizes
    let image_size = train_views
        .iter()
        .map(|v| v.camera.width.max(v.camera.height) as f32)
        .fold(1.0, f32::max);
    let rates = Rates::new(extent);
    let mut rng = Rng(config.seed);
    let (mut a_mean, mut a_scale, mut a_quat, mut a_opacity, mut a_sh) = (
        Adam::default(),
        Adam::default(),
        Adam::default(),
        Adam::default(),
        Adam::default(),
    );
    let mut grad_accum = vec![0.0f32; g.len()];
    let mut grad_count = vec![0u32; g.len()];
    let mut max_radius = vec![0.0f32; g.len()];
    // Resuming: the SH degree the schedule had reached.
    #[allow(clippy::cast_possible_truncation)] // at most max_sh_degree
    let mut degree = config
        .start_at
        .saturating_sub(1)
        .checked_div(config.sh_up_every)
        .map_or(0, |d| d.min(u32::from(config.max_sh_degree)) as u8);
    let mut order: Vec<usize> = Vec::new();
    let mut last_loss = 0.0;
    let mut cancelled = false;
    let mut done = 0;
    for it in config.start_at.max(1)..=config.iterations {
        done = it;
        if config.sh_up_every > 0 && it % config.sh_up_every == 0 && degree < config.max_sh_degree {
            degree += 1;
        }
        if order.is_empty() {
            order = (0..train_views.len()).collect();
            for i in (1..order.len()).rev() {
                #[allow(clippy::cast_possible_truncation)]
                let j = (rng.next_u64() % (i as u64 + 1)) as usize;
                order.swap(i, j);
            }
        }
        let Some(view) = order.pop().map(|i| &train_views[i]) else {
            break;
        };
        let cam = &view.camera;
        let (w, h) = (cam.width as usize, cam.height as usize);
        let projs = project_all(&g, cam, degree);
        let frame = raster.forward(&projs, w, h, config.background)?;
        let (loss, dl) = loss_and_grad(&frame.image, &view.image, w, h);
        last_loss = loss;
        let reporting = it % report_every.max(1) == 0 || it == config.iterations;
        let train_psnr = if reporting {
            psnr_of(&frame.image, &view.image)
        } else {
            f64::NAN
        };
        let g2 = raster.backward(&frame, &projs, &dl)?;
        let grads: Vec<ParamGrad> = (0..g.len())
            .into_par_iter()
            .map(|i| {
                projs[i].map_or_else(ParamGrad::default, |p| {
                    project_backward(&g, i, cam, &p, &g2[i], degree)
                })
            })
            .collect();
        // Densification statistics: the 2-D mean gradient in normalised device coordinates.
        for (i, p) in projs.iter().enumerate() {
            if let Some(p) = p {
                let gx = g2[i].xy[0] * w as f32 * 0.5;
                let gy = g2[i].xy[1] * h as f32 * 0.5;
                grad_accum[i] += gx.hypot(gy);
                grad_count[i] += 1;
                max_radius[i] = max_radius[i].max(p.radius);
            }
        }
        // Adam, one parameter group at a time.
        let n = g.len();
        for (adam, stride) in [
            (&mut a_mean, 3),
            (&mut a_scale, 3),
            (&mut a_quat, 4),
            (&mut a_opacity, 1),
            (&mut a_sh, 48),
        ] {
            adam.resize(n * stride);
        }
        let flat =
            |f: &dyn Fn(&ParamGrad) -> Vec<f32>| grads.iter().flat_map(f).collect::<Vec<f32>>();
        let lr_pos = rates.position(it, config.iterations);
        a_mean.step(
            g.means.as_flattened_mut(),
            &flat(&|p| p.mean.to_vec()),
            it,
            |_| lr_pos,
        );
        a_scale.step(
            g.log_scales.as_flattened_mut(),
            &flat(&|p| p.log_scale.to_vec()),
            it,
            |_| rates.scale,
        );
        a_quat.step(
            g.quats.as_flattened_mut(),
            &flat(&|p| p.quat.to_vec()),
            it,
            |_| rates.rotation,
        );
        a_opacity.step(
            &mut g.opacity_logits,
            &flat(&|p| vec![p.opacity_logit]),
            it,
            |_| rates.opacity,
        );
        let (dc, rest) = (rates.sh_dc, rates.sh_rest);
        a_sh.step(
            g.sh.as_flattened_mut().as_flattened_mut(),
            &flat(&|p| p.sh.as_flattened().to_vec()),
            it,
            |j| if j % 48 < 3 { dc } else { rest },
        );

        if it >= config.densify_from && it < config.densify_until && it % config.densify_every == 0
        {
            let prune_big = config.opacity_reset_every > 0 && it > config.opacity_reset_every;
            densify(
                &mut g,
                &mut [
                    &mut a_mean,
                    &mut a_scale,
                    &mut a_quat,
                    &mut a_opacity,
                    &mut a_sh,
                ],
                &grad_accum,
                &grad_count,
                &max_radius,
                extent,
                config,
                prune_big,
                image_size,
                &mut rng,
            );
            grad_accum = vec![0.0; g.len()];
            grad_count = vec![0; g.len()];
            max_radius = vec![0.0; g.len()];
        }
        if config.opacity_reset_every > 0
            && it % config.opacity_reset_every == 0
            && it < config.densify_until
        {
            let cap = (0.01f32 / 0.99).ln();
            for l in &mut g.opacity_logits {
                *l = l.min(cap);
            }
        }
        if reporting {
            let elapsed = started.elapsed().as_secs_f64();
            let p = Progress {
                iteration: it,
                iterations: config.iterations,
                loss,
                psnr: train_psnr,
                gaussians: g.len(),
                sh_degree: degree,
                elapsed_s: elapsed,
                eta_s: elapsed / f64::from(it + 1 - config.start_at.max(1))
                    * f64::from(config.iterations - it),
            };
            if !progress(&p, &g) {
                cancelled = true;
                break;
            }
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let evaluation = evaluate(raster, &g, test_views, degree, config.background)?;
    let report = Report {
        iterations: done,
        gaussians: g.len(),
        sh_degree: degree,
        seconds,
        iterations_per_second: f64::from(done + 1 - config.start_at.max(1).min(done + 1))
            / seconds.max(1e-9),
        final_loss: last_loss,
        evaluation,
        cancelled,
        backend: raster.name(),
    };
    Ok((g, report))
}

/// Clone, split and prune (see the module comment).
#[allow(clippy::too_many_arguments)]
fn densify(
    g: &mut Gaussians,
    adams: &mut [&mut Adam; 5],
    grad_accum: &[f32],
    grad_count: &[u32],
    max_radius: &[f32],
    extent: f32,
    config: &TrainConfig,
    prune_big: bool,
    image_size: f32,
    rng: &mut Rng,
) {
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
    // Prune the transparent and the huge: larger than a tenth of the scene, or covering a
    // quarter of a view (a floater in front of a camera, which hazes every held-out view);
    // after the first opacity reset, the reference's stricter 20-pixel screen limit.
    let screen_limit = if prune_big { 20.0 } else { 0.25 * image_size };
    for i in 0..n {
        let opacity = 1.0 / (1.0 + (-g.opacity_logits[i]).exp());
        let huge = max_radius[i] > screen_limit
            || g.log_scales[i]
                .iter()
                .fold(f32::MIN, |a, &b| a.max(b))
                .exp()
                > 0.1 * extent;
        if opacity < 0.005 || huge {
            keep[i] = false;
        }
    }
    let strides = [3, 3, 4, 1, 48];
    for (adam, stride) in adams.iter_mut().zip(strides) {
        adam.retain(&keep, stride);
    }
    g.retain(&keep);
    for i in 0..added.len() {
        g.push(&added, i);
    }
    for (adam, stride) in adams.iter_mut().zip(strides) {
        adam.resize(g.len() * stride);
    }
}
