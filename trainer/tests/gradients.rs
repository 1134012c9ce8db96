//! The rasterizer against its oracles: the format core's reference renderer for the forward
//! pass, central finite differences for every parameter kind of the backward pass.
#![allow(
    clippy::unwrap_used,
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::needless_range_loop,
    clippy::many_single_char_names
)]

use splat::render::{render, Camera};
use trainer::model::Gaussians;
use trainer::raster::{project_all, project_backward, rasterize, rasterize_backward, ParamGrad};

mod common;
use common::{scene, smooth_scene, Rng};

fn camera(w: u32, h: u32) -> Camera {
    Camera::look_at(
        [0.4, -0.3, -4.0],
        [0.0, 0.0, 0.0],
        [0.0, -1.0, 0.0],
        0.9,
        w,
        h,
    )
}

#[test]
fn the_forward_pass_matches_the_reference_renderer() {
    // 93×70: partial tiles and partial eight-pixel rows at the right and bottom edges.
    for (seed, (w, h)) in [(1, (96, 72)), (2, (96, 72)), (3, (93, 70))] {
        let g = scene(40, seed);
        let cam = camera(w, h);
        let ours = rasterize(
            &project_all(&g, &cam, 3),
            w as usize,
            h as usize,
            [0.1, 0.2, 0.3],
        );
        let reference = render(&g.to_cloud(3), &cam, [0.1, 0.2, 0.3]);
        let worst = ours
            .image
            .iter()
            .zip(&reference.rgb)
            .flat_map(|(a, b)| (0..3).map(move |c| (a[c] - b[c]).abs()))
            .fold(0.0f32, f32::max);
        assert!(worst < 1e-5, "seed {seed}: max difference {worst}");
    }
}

/// A smooth scalar of the image: Σ weight · colour.
fn objective(g: &Gaussians, cam: &Camera, weights: &[[f32; 3]]) -> f64 {
    let frame = rasterize(
        &project_all(g, cam, 3),
        cam.width as usize,
        cam.height as usize,
        [0.0; 3],
    );
    frame
        .image
        .iter()
        .zip(weights)
        .map(|(c, w)| (0..3).map(|k| f64::from(c[k] * w[k])).sum::<f64>())
        .sum()
}

/// d(objective)/d(edit) by a central difference: `edit(g, ±eps)` moves one parameter.
fn central_difference(
    g: &Gaussians,
    cam: &Camera,
    weights: &[[f32; 3]],
    edit: &dyn Fn(&mut Gaussians, f32),
    eps: f32,
) -> f64 {
    let mut plus = g.clone();
    edit(&mut plus, eps);
    let mut minus = g.clone();
    edit(&mut minus, -eps);
    (objective(&plus, cam, weights) - objective(&minus, cam, weights)) / (2.0 * f64::from(eps))
}

fn analytic(g: &Gaussians, cam: &Camera, weights: &[[f32; 3]]) -> Vec<ParamGrad> {
    let projs = project_all(g, cam, 3);
    let frame = rasterize(&projs, cam.width as usize, cam.height as usize, [0.0; 3]);
    let g2 = rasterize_backward(&frame, &projs, weights);
    (0..g.len())
        .map(|i| {
            projs[i].map_or_else(ParamGrad::default, |p| {
                project_backward(g, i, cam, &p, &g2[i], 3)
            })
        })
        .collect()
}

fn compare(kind: &str, analytic: &[f64], numeric: &[f64]) {
    let dot: f64 = analytic.iter().zip(numeric).map(|(a, b)| a * b).sum();
    let na = analytic.iter().map(|a| a * a).sum::<f64>().sqrt();
    let nn = numeric.iter().map(|a| a * a).sum::<f64>().sqrt();
    let cosine = dot / (na * nn).max(1e-30);
    let rel = analytic
        .iter()
        .zip(numeric)
        .map(|(a, b)| (a - b).powi(2))
        .sum::<f64>()
        .sqrt()
        / nn.max(1e-30);
    assert!(nn > 1e-6, "{kind}: no signal");
    assert!(cosine > 0.999 && rel < 0.03, "{kind}: cosine {cosine:.5}, relative error {rel:.4}\nanalytic {analytic:?}\nnumeric {numeric:?}");
}

/// A Gaussian whose centre lies past the guard band (x/z clamped in the projection's Jacobian)
/// but whose footprint still covers the image: the gradient through the clamp is exact too.
#[test]
fn gradients_hold_past_the_edge_of_the_view() {
    let cam = camera(64, 48);
    let lim = splat::render::FRUSTUM_GUARD * 32.0 / cam.fx;
    let mut g = smooth_scene(1, 3);
    // Camera space (lim + 0.15)·z to the right at depth 4, σ ≈ 2.7 (≈ 45 px): the 1/255 ring
    // lies outside the image, the 3σ box covers it.
    let p = [(lim + 0.15) * 4.0, 0.2, 4.0];
    let d = [
        p[0] - cam.translation[0],
        p[1] - cam.translation[1],
        p[2] - cam.translation[2],
    ];
    g.means[0] = std::array::from_fn(|c| (0..3).map(|r| cam.rotation[r][c] * d[r]).sum());
    g.log_scales[0] = [1.0, 0.9, 1.1];
    let (_, clamped) = splat::render::projection_jacobian(&cam, p);
    assert_eq!(clamped, [true, false]);
    let mut r = Rng(5);
    let weights: Vec<[f32; 3]> = (0..64 * 48)
        .map(|_| [r.range(-1.0, 1.0), r.range(-1.0, 1.0), r.range(-1.0, 1.0)])
        .collect();
    let grads = analytic(&g, &cam, &weights);
    let fd = |edit: &dyn Fn(&mut Gaussians, f32), eps: f32| {
        central_difference(&g, &cam, &weights, edit, eps)
    };
    let a: Vec<f64> = (0..3).map(|k| f64::from(grads[0].mean[k])).collect();
    let n: Vec<f64> = (0..3)
        .map(|k| fd(&|g, e| g.means[0][k] += e, 2e-3))
        .collect();
    compare("means past the edge", &a, &n);
    let a: Vec<f64> = (0..3).map(|k| f64::from(grads[0].log_scale[k])).collect();
    let n: Vec<f64> = (0..3)
        .map(|k| fd(&|g, e| g.log_scales[0][k] += e, 2e-3))
        .collect();
    compare("log-scales past the edge", &a, &n);
}

#[test]
fn gradients_match_finite_differences_for_every_parameter_kind() {
    // Not a multiple of the tile or of the rasterizer's eight lanes: partial tiles and rows.
    let cam = camera(61, 45);
    let mut r = Rng(99);
    let weights: Vec<[f32; 3]> = (0..61 * 45)
        .map(|_| [r.range(-1.0, 1.0), r.range(-1.0, 1.0), r.range(-1.0, 1.0)])
        .collect();
    let g = smooth_scene(6, 7);
    let grads = analytic(&g, &cam, &weights);
    let fd = |edit: &dyn Fn(&mut Gaussians, f32), eps: f32| {
        central_difference(&g, &cam, &weights, edit, eps)
    };
    let (mut a, mut n) = (Vec::new(), Vec::new());
    for i in 0..g.len() {
        for k in 0..3 {
            a.push(f64::from(grads[i].mean[k]));
            n.push(fd(&|g, e| g.means[i][k] += e, 2e-3));
        }
    }
    compare("means", &a, &n);
    let (mut a, mut n) = (Vec::new(), Vec::new());
    for i in 0..g.len() {
        for k in 0..3 {
            a.push(f64::from(grads[i].log_scale[k]));
            n.push(fd(&|g, e| g.log_scales[i][k] += e, 2e-3));
        }
    }
    compare("log-scales", &a, &n);
    let (mut a, mut n) = (Vec::new(), Vec::new());
    for i in 0..g.len() {
        for k in 0..4 {
            a.push(f64::from(grads[i].quat[k]));
            n.push(fd(&|g, e| g.quats[i][k] += e, 2e-3));
        }
    }
    compare("quaternions", &a, &n);
    let (mut a, mut n) = (Vec::new(), Vec::new());
    for i in 0..g.len() {
        a.push(f64::from(grads[i].opacity_logit));
        n.push(fd(&|g, e| g.opacity_logits[i] += e, 2e-3));
    }
    compare("opacity logits", &a, &n);
    for (kind, coeffs) in [
        ("SH DC", 0..1),
        ("SH degree 1", 1..4),
        ("SH degree 2", 4..9),
        ("SH degree 3", 9..16),
    ] {
        let (mut a, mut n) = (Vec::new(), Vec::new());
        for i in 0..g.len() {
            for k in coeffs.clone() {
                for c in 0..3 {
                    a.push(f64::from(grads[i].sh[k][c]));
                    n.push(fd(&|g, e| g.sh[i][k][c] += e, 2e-3));
                }
            }
        }
        compare(kind, &a, &n);
    }
}
