//! The CPU rasterizer's inner loops: one 16×16 tile, eight pixels of a row at a time in SIMD
//! lanes (`wide`, SSE2 on any x86-64, NEON on ARM). Per pixel the rules are the scalar ones of
//! `splat::render` — the same fragment test, the same compositing order, the same early stop —
//! so a lane computes what the scalar loop would (only `exp` is a polynomial, to ~1 ulp).
//!
//! Why lanes across pixels: every pixel of a tile walks the same depth-sorted list, so eight
//! neighbours share each Gaussian's load and bound checks, and a Gaussian whose footprint
//! misses a row segment is skipped with two scalar comparisons before any lane works.

use wide::{f32x8, CmpGe, CmpLe, CmpLt};

use crate::raster::{Grad2d, Proj, TILE};

const LANES: usize = 8;
type V = f32x8;

/// What the inner loops read of one projected Gaussian, packed for the tile's walk.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Flat {
    x: f32,
    y: f32,
    conic: [f32; 3],
    opacity: f32,
    colour: [f32; 3],
    /// Where it can count ([`Proj::reach`]), [x0, x1) × [y0, y1), as floats for the lanes.
    x0: f32,
    x1: f32,
    y0: f32,
    y1: f32,
}

/// The tile's list, packed (ids whose Gaussian was culled cannot be in a list).
#[allow(clippy::cast_precision_loss)]
pub(crate) fn gather(list: &[u32], projs: &[Option<Proj>]) -> Vec<Flat> {
    list.iter()
        .map(|&id| {
            let s = projs[id as usize].unwrap_or_default();
            let [x0, y0, x1, y1] = s.reach().unwrap_or_default().map(|v| v as f32);
            Flat {
                x: s.xy[0],
                y: s.xy[1],
                conic: s.conic,
                opacity: s.opacity,
                colour: s.colour,
                x0,
                x1,
                y0,
                y1,
            }
        })
        .collect()
}

/// Eight pixels of one row: where they are and which exist.
struct Lanes {
    /// Pixel centres' x.
    cx: V,
    /// Pixel indices' x, for the footprint test.
    ix: V,
    /// Lanes inside the image.
    valid: V,
    first: usize,
    count: usize,
}

#[allow(clippy::cast_precision_loss)]
fn lanes(first: usize, width: usize) -> Lanes {
    let count = (width - first).min(LANES);
    let ix = V::from(std::array::from_fn::<f32, LANES, _>(|l| (first + l) as f32));
    let valid = V::from(std::array::from_fn::<f32, LANES, _>(|l| {
        if l < count {
            f32::from_bits(u32::MAX)
        } else {
            0.0
        }
    }));
    Lanes {
        cx: ix + V::splat(0.5),
        ix,
        valid,
        first,
        count,
    }
}

/// One fragment across the lanes: the mask of lanes it reaches, with α, the Gaussian's value
/// and the offsets (None when it reaches none).
struct Hit {
    mask: V,
    alpha: V,
    gauss: V,
    dx: V,
    dy: V,
}

#[inline]
#[allow(clippy::cast_precision_loss)]
fn hit(s: &Flat, row: f32, l: &Lanes, live: V) -> Option<Hit> {
    // Whole-segment rejections first: the footprint misses this row or these columns.
    if row < s.y0 || row >= s.y1 || s.x1 <= l.first as f32 || s.x0 >= (l.first + LANES) as f32 {
        return None;
    }
    let dx = l.cx - V::splat(s.x);
    let dy = V::splat(row + 0.5 - s.y);
    let power = V::splat(-0.5) * (V::splat(s.conic[0]) * dx * dx + V::splat(s.conic[2]) * dy * dy)
        - V::splat(s.conic[1]) * dx * dy;
    let inside = l.ix.cmp_ge(V::splat(s.x0)) & l.ix.cmp_lt(V::splat(s.x1));
    let mask = live & inside & power.cmp_le(V::ZERO);
    if mask.none() {
        return None;
    }
    let gauss = power.exp();
    let alpha = (V::splat(s.opacity) * gauss).min(V::splat(0.99));
    let mask = mask & alpha.cmp_ge(V::splat(1.0 / 255.0));
    (!mask.none()).then_some(Hit {
        mask,
        alpha,
        gauss,
        dx,
        dy,
    })
}

/// One rendered pixel: colour over the background, transmittance left, 1 + the position in
/// the tile's list of the last fragment that contributed.
pub(crate) type Pixel = ([f32; 3], f32, u32);

/// Renders one tile: its pixels row by row.
#[allow(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)]
pub(crate) fn forward(
    flat: &[Flat],
    tile: (usize, usize),
    size: (usize, usize),
    background: [f32; 3],
) -> Vec<Pixel> {
    let ((tx, ty), (width, height)) = (tile, size);
    let mut out = Vec::with_capacity(TILE * TILE);
    for py in ty * TILE..((ty + 1) * TILE).min(height) {
        let row = py as f32;
        for first in (tx * TILE..((tx + 1) * TILE).min(width)).step_by(LANES) {
            let l = lanes(first, width);
            let mut colour = [V::ZERO; 3];
            let mut trans = V::ONE;
            let mut last = V::ZERO;
            let mut live = l.valid;
            for (k, s) in flat.iter().enumerate() {
                let Some(h) = hit(s, row, &l, live) else {
                    continue;
                };
                for ch in 0..3 {
                    colour[ch] += h
                        .mask
                        .blend(V::splat(s.colour[ch]) * h.alpha * trans, V::ZERO);
                }
                trans = h.mask.blend(trans * (V::ONE - h.alpha), trans);
                last = h.mask.blend(V::splat((k + 1) as f32), last);
                // The scalar loop stops a pixel once too little light is left to matter.
                live &= trans.cmp_ge(V::splat(1e-4));
                if live.none() {
                    break;
                }
            }
            let (c, t, n) = (colour.map(V::to_array), trans.to_array(), last.to_array());
            for i in 0..l.count {
                let rgb = std::array::from_fn(|ch| c[ch][i] + t[i] * background[ch]);
                out.push((rgb, t[i], n[i] as u32));
            }
        }
    }
    out
}

/// What the backward walk of one tile needs of the forward pass, per pixel of the image.
pub(crate) struct Saved<'a> {
    pub final_t: &'a [f32],
    pub last: &'a [u32],
    pub dl_dpixel: &'a [[f32; 3]],
    pub background: [f32; 3],
}

/// Back-propagates one tile: gradients for each entry of its list, in list order.
#[allow(clippy::cast_precision_loss, clippy::too_many_lines)]
pub(crate) fn backward(
    flat: &[Flat],
    tile: (usize, usize),
    size: (usize, usize),
    saved: &Saved<'_>,
) -> Vec<Grad2d> {
    let ((tx, ty), (width, height)) = (tile, size);
    let mut acc = vec![Grad2d::default(); flat.len()];
    for py in ty * TILE..((ty + 1) * TILE).min(height) {
        let row = py as f32;
        for first in (tx * TILE..((tx + 1) * TILE).min(width)).step_by(LANES) {
            let l = lanes(first, width);
            let at = py * width + first;
            let load = |f: &dyn Fn(usize) -> f32| {
                V::from(std::array::from_fn::<f32, LANES, _>(|i| {
                    if i < l.count {
                        f(at + i)
                    } else {
                        0.0
                    }
                }))
            };
            let dl: [V; 3] = std::array::from_fn(|ch| load(&|p| saved.dl_dpixel[p][ch]));
            let mut trans = load(&|p| saved.final_t[p]);
            let last = load(&|p| saved.last[p] as f32);
            let kmax = (0..l.count).map(|i| saved.last[at + i]).max().unwrap_or(0) as usize;
            let mut behind = saved.background.map(V::splat);
            for k in (0..kmax).rev() {
                let s = &flat[k];
                let live = l.valid & V::splat(k as f32).cmp_lt(last);
                let Some(h) = hit(s, row, &l, live) else {
                    continue;
                };
                let m = h.mask;
                let t_before = m.blend(trans / (V::ONE - h.alpha), trans);
                let g = &mut acc[k];
                let mut dl_dalpha = V::ZERO;
                for ch in 0..3 {
                    let c = V::splat(s.colour[ch]);
                    g.colour[ch] += m.blend(h.alpha * t_before * dl[ch], V::ZERO).reduce_add();
                    dl_dalpha += t_before * (c - behind[ch]) * dl[ch];
                    behind[ch] = m.blend(h.alpha * c + (V::ONE - h.alpha) * behind[ch], behind[ch]);
                }
                trans = t_before;
                // Where α was clamped at 0.99 no gradient flows through it.
                let m = m & (V::splat(s.opacity) * h.gauss).cmp_lt(V::splat(0.99));
                if m.none() {
                    continue;
                }
                let dl_dalpha = m.blend(dl_dalpha, V::ZERO);
                g.opacity += (dl_dalpha * h.gauss).reduce_add();
                let dl_dpower = dl_dalpha * h.alpha;
                let [ca, cb, cc] = s.conic.map(V::splat);
                let (dx, dy) = (h.dx, h.dy);
                g.conic[0] += (V::splat(-0.5) * dx * dx * dl_dpower).reduce_add();
                g.conic[1] += (-dx * dy * dl_dpower).reduce_add();
                g.conic[2] += (V::splat(-0.5) * dy * dy * dl_dpower).reduce_add();
                g.xy[0] += ((ca * dx + cb * dy) * dl_dpower).reduce_add();
                g.xy[1] += ((cc * dy + cb * dx) * dl_dpower).reduce_add();
            }
        }
    }
    acc
}
