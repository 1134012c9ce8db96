//! The training loss, (1 − λ)·L1 + λ·(1 − SSIM) with λ = 0.2, its gradient with respect to the
//! rendered image, and SSIM for evaluation (11×11 Gaussian window, σ = 1.5, zero padding).

use rayon::prelude::*;

pub const LAMBDA: f32 = 0.2;
const C1: f32 = 0.01 * 0.01;
const C2: f32 = 0.03 * 0.03;

fn window() -> [f32; 11] {
    let mut w: [f32; 11] = std::array::from_fn(|i| {
        #[allow(clippy::cast_precision_loss)]
        let x = i as f32 - 5.0;
        (-(x * x) / (2.0 * 1.5 * 1.5)).exp()
    });
    let sum: f32 = w.iter().sum();
    for v in &mut w {
        *v /= sum;
    }
    w
}

/// Separable Gaussian blur with zero padding (its own adjoint: the kernel is symmetric).
/// Each pass pads its line with zeros once, so the 11 taps run without bounds tests.
fn blur(plane: &[f32], w: usize, h: usize) -> Vec<f32> {
    let k = window();
    let pass = |src: &[f32], len: usize, lines: usize, stride: usize, step: usize| {
        let mut out = vec![0.0f32; src.len()];
        let mut line = vec![0.0f32; len + 10];
        for l in 0..lines {
            for i in 0..len {
                line[i + 5] = src[l * stride + i * step];
            }
            for i in 0..len {
                let taps = &line[i..i + 11];
                out[l * stride + i * step] = taps.iter().zip(&k).map(|(v, kv)| v * kv).sum();
            }
        }
        out
    };
    let rows = pass(plane, w, h, w, 1);
    pass(&rows, h, w, 1, w)
}

/// Mean SSIM over one channel, and (optionally) its gradient with respect to `x`.
#[allow(clippy::many_single_char_names, clippy::similar_names)]
fn ssim_channel(x: &[f32], y: &[f32], w: usize, h: usize, grad: bool) -> (f64, Vec<f32>) {
    let n = w * h;
    let mx = blur(x, w, h);
    let my = blur(y, w, h);
    let xx: Vec<f32> = x.iter().map(|v| v * v).collect();
    let yy: Vec<f32> = y.iter().map(|v| v * v).collect();
    let xy: Vec<f32> = x.iter().zip(y).map(|(a, b)| a * b).collect();
    let exx = blur(&xx, w, h);
    let eyy = blur(&yy, w, h);
    let exy = blur(&xy, w, h);
    let mut total = 0.0f64;
    let (mut d_mu, mut d_xx, mut d_xy) = if grad {
        (vec![0.0; n], vec![0.0; n], vec![0.0; n])
    } else {
        (Vec::new(), Vec::new(), Vec::new())
    };
    for p in 0..n {
        let (ux, uy) = (mx[p], my[p]);
        let sxx = exx[p] - ux * ux;
        let syy = eyy[p] - uy * uy;
        let sxy = exy[p] - ux * uy;
        let a = 2.0 * ux * uy + C1;
        let b = 2.0 * sxy + C2;
        let c = ux * ux + uy * uy + C1;
        let d = sxx + syy + C2;
        total += f64::from(a * b / (c * d));
        if grad {
            let ds_dux = 2.0 * uy * b / (c * d) - a * b * 2.0 * ux / (c * c * d);
            let ds_dsxx = -a * b / (c * d * d);
            let ds_dsxy = 2.0 * a / (c * d);
            d_mu[p] = ds_dux - 2.0 * ux * ds_dsxx - uy * ds_dsxy;
            d_xx[p] = ds_dsxx;
            d_xy[p] = ds_dsxy;
        }
    }
    if !grad {
        return (total, Vec::new());
    }
    let (bm, bxx, bxy) = (blur(&d_mu, w, h), blur(&d_xx, w, h), blur(&d_xy, w, h));
    let g = (0..n)
        .map(|q| bm[q] + 2.0 * x[q] * bxx[q] + y[q] * bxy[q])
        .collect();
    (total, g)
}

fn planes(img: &[[f32; 3]]) -> [Vec<f32>; 3] {
    std::array::from_fn(|c| img.iter().map(|p| p[c]).collect())
}

/// Mean SSIM of two images (evaluation).
pub fn ssim(a: &[[f32; 3]], b: &[[f32; 3]], w: usize, h: usize) -> f64 {
    let (pa, pb) = (planes(a), planes(b));
    let sum: f64 = (0..3)
        .into_par_iter()
        .map(|c| ssim_channel(&pa[c], &pb[c], w, h, false).0)
        .sum();
    #[allow(clippy::cast_precision_loss)]
    let n = (3 * w * h) as f64;
    sum / n
}

/// The loss of `render` against `target` and its gradient with respect to `render`.
pub fn loss_and_grad(
    render: &[[f32; 3]],
    target: &[[f32; 3]],
    w: usize,
    h: usize,
) -> (f64, Vec<[f32; 3]>) {
    #[allow(clippy::cast_precision_loss)]
    let n = (3 * w * h) as f32;
    let (pr, pt) = (planes(render), planes(target));
    let per_channel: Vec<(f64, Vec<f32>)> = (0..3)
        .into_par_iter()
        .map(|c| ssim_channel(&pr[c], &pt[c], w, h, true))
        .collect();
    let ssim_mean = per_channel.iter().map(|c| c.0).sum::<f64>() / f64::from(n);
    let mut l1 = 0.0f64;
    let mut grad = vec![[0.0f32; 3]; w * h];
    for (p, g) in grad.iter_mut().enumerate() {
        for c in 0..3 {
            let d = render[p][c] - target[p][c];
            l1 += f64::from(d.abs());
            let sign = if d > 0.0 {
                1.0
            } else if d < 0.0 {
                -1.0
            } else {
                0.0
            };
            g[c] = (1.0 - LAMBDA) * sign / n - LAMBDA * per_channel[c].1[p] / n;
        }
    }
    let l1 = l1 / f64::from(n);
    let loss = (1.0 - f64::from(LAMBDA)) * l1 + f64::from(LAMBDA) * (1.0 - ssim_mean);
    (loss, grad)
}

#[cfg(test)]
#[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation)]
mod tests {
    use super::*;

    fn image(w: usize, h: usize, seed: u32) -> Vec<[f32; 3]> {
        (0..w * h)
            .map(|i| {
                let v = (i as u32)
                    .wrapping_mul(2_654_435_761)
                    .wrapping_add(seed.wrapping_mul(40503));
                [
                    (v >> 24) as f32 / 255.0,
                    ((v >> 16) & 255) as f32 / 255.0,
                    ((v >> 8) & 255) as f32 / 255.0,
                ]
            })
            .collect()
    }

    #[test]
    fn identical_images_have_ssim_one() {
        let a = image(20, 14, 1);
        assert!((ssim(&a, &a, 20, 14) - 1.0).abs() < 1e-6);
        let inverted: Vec<[f32; 3]> = a.iter().map(|p| p.map(|v| 1.0 - v)).collect();
        assert!(ssim(&a, &inverted, 20, 14) < 0.0);
    }

    #[test]
    fn the_loss_gradient_matches_finite_differences() {
        let (w, h) = (13, 12);
        let a = image(w, h, 3);
        let b = image(w, h, 4);
        let (_, g) = loss_and_grad(&a, &b, w, h);
        for &(p, c) in &[(0usize, 0usize), (40, 1), (77, 2), (155, 0)] {
            let eps = 1e-3;
            let mut plus = a.clone();
            plus[p][c] += eps;
            let mut minus = a.clone();
            minus[p][c] -= eps;
            let fd = (loss_and_grad(&plus, &b, w, h).0 - loss_and_grad(&minus, &b, w, h).0)
                / (2.0 * f64::from(eps));
            let an = f64::from(g[p][c]);
            assert!(
                (fd - an).abs() < 1e-3 * an.abs().max(1e-4) + 2e-6,
                "pixel {p} ch {c}: fd {fd} vs {an}"
            );
        }
    }
}
