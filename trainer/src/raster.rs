//! The differentiable rasterizer. Forward: project every Gaussian (EWA, SH colour), bin into
//! 16×16 tiles by depth, composite front to back per pixel — the same rules, bounds and order
//! as `splat::render::render`, so its images are the reference. Backward: walk each pixel's
//! fragments back to front, recovering transmittance, to get gradients for colour, opacity,
//! conic and 2-D mean; then the chain rule through the projection to means, log-scales,
//! quaternions, opacity logits and SH coefficients.

use rayon::prelude::*;
use splat::render::{projection_jacobian, quat_to_matrix, Camera, DILATION, NEAR};

use crate::model::Gaussians;
use crate::{sh, tile};

pub const TILE: usize = 16;

/// One Gaussian as seen from a camera, with what the backward pass needs.
#[derive(Debug, Clone, Copy, Default)]
pub struct Proj {
    pub xy: [f32; 2],
    pub conic: [f32; 3],
    pub radius: f32,
    pub depth: f32,
    pub colour: [f32; 3],
    pub opacity: f32,
    /// Pixel bounds [x0, x1) × [y0, y1) the footprint covers.
    pub bbox: [u32; 4],
    p: [f32; 3],
    dir: [f32; 3],
    dist: f32,
    clamped: [bool; 3],
}

impl Proj {
    /// The pixels [x0, x1) × [y0, y1) where this Gaussian's α can reach 1/255 — the least a
    /// fragment needs to count — within its 3σ box; None when it reaches no pixel. Since
    /// α = o·exp(−½ dᵀΣ⁻¹d) ≤ o·exp(−½|d|²/λ) with λ ≥ Σ's largest eigenvalue, only pixels
    /// with |d|² ≤ 2λ·ln(255·o) qualify: a faint Gaussian covers far fewer tiles than its box.
    /// Leaving the others out of a tile's list changes no pixel and shortens every walk.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    #[must_use]
    pub fn reach(&self) -> Option<[usize; 4]> {
        let energy = (255.0 * self.opacity).ln();
        if energy.is_nan() || energy <= 0.0 {
            return None;
        }
        // radius = 3·√λ; one pixel of margin for rounding at the edges.
        let r = self.radius / 3.0 * (2.0 * energy).sqrt() + 1.0;
        let [bx0, by0, bx1, by1] = self.bbox;
        let x0 = ((self.xy[0] - r).floor().max(0.0) as u32).max(bx0);
        let y0 = ((self.xy[1] - r).floor().max(0.0) as u32).max(by0);
        let x1 = ((self.xy[0] + r).ceil().max(0.0) as u32).min(bx1);
        let y1 = ((self.xy[1] + r).ceil().max(0.0) as u32).min(by1);
        (x0 < x1 && y0 < y1).then_some([x0, y0, x1, y1].map(|v| v as usize))
    }
}

fn dot(a: [f32; 3], b: [f32; 3]) -> f32 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

/// Σ₃ (world) as M Mᵀ with M = R S, and T = J W (2×3).
struct Geometry {
    m: [[f32; 3]; 3],
    t: [[f32; 3]; 2],
    cov3: [[f32; 3]; 3],
}

fn geometry(quat: [f32; 4], log_scale: [f32; 3], cam: &Camera, p: [f32; 3]) -> Option<Geometry> {
    let (rot, _, _) = quat_to_matrix(quat)?;
    let s = log_scale.map(f32::exp);
    let m: [[f32; 3]; 3] = std::array::from_fn(|r| std::array::from_fn(|c| rot[r][c] * s[c]));
    let (j, _) = projection_jacobian(cam, p);
    let t: [[f32; 3]; 2] = std::array::from_fn(|r| {
        std::array::from_fn(|c| (0..3).map(|k| j[r][k] * cam.rotation[k][c]).sum())
    });
    let cov3 = std::array::from_fn(|r| std::array::from_fn(|c| dot(m[r], m[c])));
    Some(Geometry { m, t, cov3 })
}

/// Projects Gaussian `i` (None when culled), using SH up to `degree`.
#[allow(
    clippy::many_single_char_names,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_precision_loss
)]
pub fn project(g: &Gaussians, i: usize, cam: &Camera, eye: [f32; 3], degree: u8) -> Option<Proj> {
    let mu = g.means[i];
    let p: [f32; 3] = std::array::from_fn(|r| dot(cam.rotation[r], mu) + cam.translation[r]);
    if p[2] < NEAR {
        return None;
    }
    let geo = geometry(g.quats[i], g.log_scales[i], cam, p)?;
    // Σ₂ = T Σ₃ Tᵀ + dilation.
    let tc: [[f32; 3]; 2] = std::array::from_fn(|r| {
        std::array::from_fn(|c| (0..3).map(|k| geo.t[r][k] * geo.cov3[k][c]).sum())
    });
    let a = dot(tc[0], geo.t[0]) + DILATION;
    let b = dot(tc[0], geo.t[1]);
    let c = dot(tc[1], geo.t[1]) + DILATION;
    let det = a * c - b * b;
    if det <= 0.0 || !det.is_finite() {
        return None;
    }
    let mid = 0.5 * (a + c);
    let lambda = mid + (mid * mid - det).max(0.1).sqrt();
    let radius = 3.0 * lambda.sqrt();
    let xy = [cam.fx * p[0] / p[2] + cam.cx, cam.fy * p[1] / p[2] + cam.cy];
    let (w, h) = (cam.width as f32, cam.height as f32);
    let x0 = (xy[0] - radius).floor().max(0.0);
    let y0 = (xy[1] - radius).floor().max(0.0);
    let x1 = (xy[0] + radius).ceil().max(0.0).min(w);
    let y1 = (xy[1] + radius).ceil().max(0.0).min(h);
    if x1 <= x0 || y1 <= y0 {
        return None;
    }
    let d = [mu[0] - eye[0], mu[1] - eye[1], mu[2] - eye[2]];
    let dist = dot(d, d).sqrt();
    let dir = d.map(|v| v / dist);
    let basis = sh::basis(dir);
    let n = sh::coeffs(degree);
    let mut colour = [0.0; 3];
    let mut clamped = [false; 3];
    for ch in 0..3 {
        let v: f32 = (0..n).map(|k| basis[k] * g.sh[i][k][ch]).sum::<f32>() + 0.5;
        clamped[ch] = v < 0.0;
        colour[ch] = v.max(0.0);
    }
    Some(Proj {
        xy,
        conic: [c / det, -b / det, a / det],
        radius,
        depth: p[2],
        colour,
        opacity: 1.0 / (1.0 + (-g.opacity_logits[i]).exp()),
        bbox: [x0 as u32, y0 as u32, x1 as u32, y1 as u32],
        p,
        dir,
        dist,
        clamped,
    })
}

pub fn project_all(g: &Gaussians, cam: &Camera, degree: u8) -> Vec<Option<Proj>> {
    let eye = cam.centre();
    (0..g.len())
        .into_par_iter()
        .map(|i| project(g, i, cam, eye, degree))
        .collect()
}

/// A rendered frame with what the backward pass needs.
pub struct Frame {
    pub width: usize,
    pub height: usize,
    pub image: Vec<[f32; 3]>,
    pub(crate) tiles_x: usize,
    /// Gaussian ids per tile, front to back.
    pub(crate) tiles: Vec<Vec<u32>>,
    /// Per pixel: the transmittance left after the last fragment.
    pub final_t: Vec<f32>,
    /// Per pixel: 1 + the position in its tile's list of the last fragment that contributed.
    pub last: Vec<u32>,
    pub(crate) background: [f32; 3],
}

/// What renders projected Gaussians and back-propagates through that rendering: the CPU
/// ([`Cpu`]) or a GPU (`crate::gpu::Gpu`). Projection, the loss and the optimiser are shared;
/// both backends use [`bin_tiles`] and the same per-pixel rules, so they agree to rounding.
pub trait Rasterizer: Sync {
    /// What it runs on, for reports (e.g. "cpu (2 threads)", a GPU adapter's name).
    fn name(&self) -> String;
    /// Renders the projected Gaussians over `background`.
    fn forward(
        &self,
        projs: &[Option<Proj>],
        width: usize,
        height: usize,
        background: [f32; 3],
    ) -> Result<Frame, RasterError>;
    /// Back-propagates dL/d(pixel colour) to every Gaussian's 2-D quantities.
    fn backward(
        &self,
        frame: &Frame,
        projs: &[Option<Proj>],
        dl_dpixel: &[[f32; 3]],
    ) -> Result<Vec<Grad2d>, RasterError>;
}

/// A backend that could not do its work (a GPU lost, out of memory, a failed read-back).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RasterError(pub String);

impl std::fmt::Display for RasterError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RasterError {}

/// The reference backend: rayon over tiles.
#[derive(Debug, Clone, Copy, Default)]
pub struct Cpu;

impl Rasterizer for Cpu {
    fn name(&self) -> String {
        format!("cpu ({} threads)", rayon::current_num_threads())
    }

    fn forward(
        &self,
        projs: &[Option<Proj>],
        width: usize,
        height: usize,
        background: [f32; 3],
    ) -> Result<Frame, RasterError> {
        Ok(rasterize(projs, width, height, background))
    }

    fn backward(
        &self,
        frame: &Frame,
        projs: &[Option<Proj>],
        dl_dpixel: &[[f32; 3]],
    ) -> Result<Vec<Grad2d>, RasterError> {
        Ok(rasterize_backward(frame, projs, dl_dpixel))
    }
}

/// Bins the projected Gaussians into 16×16 tiles: (tiles across, each tile's Gaussian ids front
/// to back — by depth, ties by id, the reference's stable global sort).
pub fn bin_tiles(projs: &[Option<Proj>], width: usize, height: usize) -> (usize, Vec<Vec<u32>>) {
    let tiles_x = width.div_ceil(TILE);
    let tiles_y = height.div_ceil(TILE);
    let mut tiles: Vec<Vec<(f32, u32)>> = vec![Vec::new(); tiles_x * tiles_y];
    for (id, s) in projs.iter().enumerate() {
        let Some((s, [x0, y0, x1, y1])) = s.as_ref().and_then(|s| Some((s, s.reach()?))) else {
            continue;
        };
        #[allow(clippy::cast_possible_truncation)]
        let id = id as u32;
        for ty in y0 / TILE..=(y1 - 1) / TILE {
            for tx in x0 / TILE..=(x1 - 1) / TILE {
                tiles[ty * tiles_x + tx].push((s.depth, id));
            }
        }
    }
    let tiles = tiles
        .into_par_iter()
        .map(|mut list| {
            list.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            list.into_iter().map(|(_, id)| id).collect()
        })
        .collect();
    (tiles_x, tiles)
}

/// Renders the projected Gaussians over `background` on the CPU.
pub fn rasterize(
    projs: &[Option<Proj>],
    width: usize,
    height: usize,
    background: [f32; 3],
) -> Frame {
    let (tiles_x, tiles) = bin_tiles(projs, width, height);
    let rendered: Vec<Vec<tile::Pixel>> = (0..tiles.len())
        .into_par_iter()
        .map(|t| {
            let flat = tile::gather(&tiles[t], projs);
            tile::forward(
                &flat,
                (t % tiles_x, t / tiles_x),
                (width, height),
                background,
            )
        })
        .collect();
    let mut image = vec![[0.0; 3]; width * height];
    let mut final_t = vec![1.0; width * height];
    let mut last = vec![0; width * height];
    for (t, pixels) in rendered.into_iter().enumerate() {
        let (tx, ty) = (t % tiles_x, t / tiles_x);
        let mut it = pixels.into_iter();
        for py in ty * TILE..((ty + 1) * TILE).min(height) {
            for px in tx * TILE..((tx + 1) * TILE).min(width) {
                if let Some((c, tr, l)) = it.next() {
                    let at = py * width + px;
                    image[at] = c;
                    final_t[at] = tr;
                    last[at] = l;
                }
            }
        }
    }
    Frame {
        width,
        height,
        image,
        tiles_x,
        tiles,
        final_t,
        last,
        background,
    }
}

/// Gradients with respect to one projected Gaussian's 2-D quantities.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Grad2d {
    pub colour: [f32; 3],
    pub opacity: f32,
    pub conic: [f32; 3],
    pub xy: [f32; 2],
}

impl Grad2d {
    fn add(&mut self, o: &Self) {
        for k in 0..3 {
            self.colour[k] += o.colour[k];
            self.conic[k] += o.conic[k];
        }
        self.opacity += o.opacity;
        self.xy[0] += o.xy[0];
        self.xy[1] += o.xy[1];
    }
}

/// Back-propagates dL/d(pixel colour) to every Gaussian's 2-D quantities.
pub fn rasterize_backward(
    frame: &Frame,
    projs: &[Option<Proj>],
    dl_dpixel: &[[f32; 3]],
) -> Vec<Grad2d> {
    // Each tile accumulates into a buffer as long as its list (not the whole model), and the
    // tiles are summed in tile order: the result does not depend on the number of threads.
    let saved = tile::Saved {
        final_t: &frame.final_t,
        last: &frame.last,
        dl_dpixel,
        background: frame.background,
    };
    let per_tile: Vec<Vec<Grad2d>> = (0..frame.tiles.len())
        .into_par_iter()
        .map(|t| {
            let flat = tile::gather(&frame.tiles[t], projs);
            let at = (t % frame.tiles_x, t / frame.tiles_x);
            tile::backward(&flat, at, (frame.width, frame.height), &saved)
        })
        .collect();
    let mut total = vec![Grad2d::default(); projs.len()];
    for (list, acc) in frame.tiles.iter().zip(&per_tile) {
        for (&id, g) in list.iter().zip(acc) {
            total[id as usize].add(g);
        }
    }
    total
}

/// Gradients with respect to one Gaussian's parameters.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ParamGrad {
    pub mean: [f32; 3],
    pub log_scale: [f32; 3],
    pub quat: [f32; 4],
    pub opacity_logit: f32,
    pub sh: [[f32; 3]; 16],
}

/// The chain rule from a Gaussian's 2-D gradients to its parameters.
pub fn project_backward(
    g: &Gaussians,
    i: usize,
    cam: &Camera,
    s: &Proj,
    g2: &Grad2d,
    degree: u8,
) -> ParamGrad {
    let one = One {
        quat: g.quats[i],
        log_scale: g.log_scales[i],
        sh: &g.sh[i],
    };
    project_backward_one(&one, cam, s, g2, degree)
}

/// What [`project_backward_one`] reads of one Gaussian (the rest is in its [`Proj`]), so the
/// optimiser can update a Gaussian right after its gradient without borrowing the whole model.
pub struct One<'a> {
    pub quat: [f32; 4],
    pub log_scale: [f32; 3],
    pub sh: &'a [[f32; 3]; 16],
}

/// [`project_backward`] for one Gaussian given by value.
#[allow(clippy::many_single_char_names)]
pub fn project_backward_one(
    one: &One<'_>,
    cam: &Camera,
    s: &Proj,
    g2: &Grad2d,
    degree: u8,
) -> ParamGrad {
    let mut out = ParamGrad {
        opacity_logit: g2.opacity * s.opacity * (1.0 - s.opacity),
        ..ParamGrad::default()
    };
    // Colour ← SH coefficients and viewing direction.
    let basis = sh::basis(s.dir);
    let dbasis = sh::basis_grad(s.dir);
    let mut dl_ddir = [0.0f32; 3];
    for ch in 0..3 {
        if s.clamped[ch] {
            continue;
        }
        let gc = g2.colour[ch];
        for k in 0..sh::coeffs(degree) {
            out.sh[k][ch] = gc * basis[k];
            for a in 0..3 {
                dl_ddir[a] += gc * one.sh[k][ch] * dbasis[k][a];
            }
        }
    }
    let along = dot(dl_ddir, s.dir);
    for a in 0..3 {
        out.mean[a] += (dl_ddir[a] - s.dir[a] * along) / s.dist;
    }

    let p = s.p;
    let Some(geo) = geometry(one.quat, one.log_scale, cam, p) else {
        return out;
    };
    // 2-D mean ← camera-space position.
    let mut dl_dp = [
        g2.xy[0] * cam.fx / p[2],
        g2.xy[1] * cam.fy / p[2],
        -(g2.xy[0] * cam.fx * p[0] + g2.xy[1] * cam.fy * p[1]) / (p[2] * p[2]),
    ];
    // Conic ← Σ₂: dΣ⁻¹ = −Σ⁻¹ dΣ Σ⁻¹, with the conic's off-diagonal counted once in the form.
    let q = [[s.conic[0], s.conic[1]], [s.conic[1], s.conic[2]]];
    let gm = [
        [g2.conic[0], 0.5 * g2.conic[1]],
        [0.5 * g2.conic[1], g2.conic[2]],
    ];
    let qm: [[f32; 2]; 2] =
        std::array::from_fn(|r| std::array::from_fn(|c| q[r][0] * gm[0][c] + q[r][1] * gm[1][c]));
    let g_cov2: [[f32; 2]; 2] = std::array::from_fn(|r| {
        std::array::from_fn(|c| -(qm[r][0] * q[0][c] + qm[r][1] * q[1][c]))
    });
    // Σ₂ = T Σ₃ Tᵀ: dL/dΣ₃ = Tᵀ G T, dL/dT = 2 G T Σ₃.
    let t = geo.t;
    let g_cov3: [[f32; 3]; 3] = std::array::from_fn(|r| {
        std::array::from_fn(|c| {
            (0..2)
                .map(|a| {
                    (0..2)
                        .map(|b| t[a][r] * g_cov2[a][b] * t[b][c])
                        .sum::<f32>()
                })
                .sum()
        })
    });
    let tcov: [[f32; 3]; 2] = std::array::from_fn(|r| {
        std::array::from_fn(|c| (0..3).map(|k| t[r][k] * geo.cov3[k][c]).sum())
    });
    let g_t: [[f32; 3]; 2] = std::array::from_fn(|r| {
        std::array::from_fn(|c| 2.0 * (0..2).map(|a| g_cov2[r][a] * tcov[a][c]).sum::<f32>())
    });
    // T = J W → dL/dJ = dL/dT Wᵀ; J depends on p.
    let w = cam.rotation;
    let g_j: [[f32; 3]; 2] =
        std::array::from_fn(|r| std::array::from_fn(|k| (0..3).map(|c| g_t[r][c] * w[k][c]).sum()));
    // J = [[f/z, 0, −f·r/z], …] with r = x/z, or r held at the guard band's edge: then J no
    // longer depends on x, and its z-derivative is f·r/z² rather than 2·f·r/z².
    let (fx, fy) = (cam.fx, cam.fy);
    let z = p[2];
    let z2 = z * z;
    let (j, clamped) = projection_jacobian(cam, p);
    let (rx, ry) = (-j[0][2] * z / fx, -j[1][2] * z / fy);
    let (kx, ky) = (
        if clamped[0] { 1.0 } else { 2.0 },
        if clamped[1] { 1.0 } else { 2.0 },
    );
    if !clamped[0] {
        dl_dp[0] += -fx / z2 * g_j[0][2];
    }
    if !clamped[1] {
        dl_dp[1] += -fy / z2 * g_j[1][2];
    }
    dl_dp[2] += -fx / z2 * g_j[0][0] + kx * fx * rx / z2 * g_j[0][2] - fy / z2 * g_j[1][1]
        + ky * fy * ry / z2 * g_j[1][2];
    // p = W μ + t.
    for a in 0..3 {
        out.mean[a] += (0..3).map(|r| w[r][a] * dl_dp[r]).sum::<f32>();
    }
    // Σ₃ = M Mᵀ, M = R S.
    let g_m: [[f32; 3]; 3] = std::array::from_fn(|r| {
        std::array::from_fn(|c| 2.0 * (0..3).map(|k| g_cov3[r][k] * geo.m[k][c]).sum::<f32>())
    });
    let Some((rot, qn, norm)) = quat_to_matrix(one.quat) else {
        return out;
    };
    let sc = one.log_scale.map(f32::exp);
    for k in 0..3 {
        let grad_scale: f32 = (0..3).map(|r| rot[r][k] * g_m[r][k]).sum();
        out.log_scale[k] = grad_scale * sc[k];
    }
    let gr: [[f32; 3]; 3] = std::array::from_fn(|r| std::array::from_fn(|c| g_m[r][c] * sc[c]));
    let [qw, qx, qy, qz] = qn;
    let dq = [
        2.0 * (-qz * gr[0][1] + qy * gr[0][2] + qz * gr[1][0] - qx * gr[1][2] - qy * gr[2][0]
            + qx * gr[2][1]),
        2.0 * (qy * gr[0][1] + qz * gr[0][2] + qy * gr[1][0] - 2.0 * qx * gr[1][1] - qw * gr[1][2]
            + qz * gr[2][0]
            + qw * gr[2][1]
            - 2.0 * qx * gr[2][2]),
        2.0 * (-2.0 * qy * gr[0][0]
            + qx * gr[0][1]
            + qw * gr[0][2]
            + qx * gr[1][0]
            + qz * gr[1][2]
            - qw * gr[2][0]
            + qz * gr[2][1]
            - 2.0 * qy * gr[2][2]),
        2.0 * (-2.0 * qz * gr[0][0] - qw * gr[0][1] + qx * gr[0][2] + qw * gr[1][0]
            - 2.0 * qz * gr[1][1]
            + qy * gr[1][2]
            + qx * gr[2][0]
            + qy * gr[2][1]),
    ];
    let along: f32 = (0..4).map(|k| dq[k] * qn[k]).sum();
    for k in 0..4 {
        out.quat[k] = (dq[k] - qn[k] * along) / norm;
    }
    out
}
