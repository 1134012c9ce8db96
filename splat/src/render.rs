//! The CPU reference rasterizer (forward only): EWA-projected 3D Gaussians, SH colour, sorted by
//! depth and alpha-composited front to back, as in Kerbl et al. 2023. It favours clarity over
//! speed; it is the ground truth that the viewer's and the trainer's renderers and the
//! compression report are measured against.
//!
//! Camera convention (COLMAP/OpenCV): x right, y down, z forward; `x_cam = R · x_world + t`.

use crate::cloud::{sh_rest_coeffs, GaussianCloud};

/// A pinhole camera.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Camera {
    pub width: u32,
    pub height: u32,
    pub fx: f32,
    pub fy: f32,
    pub cx: f32,
    pub cy: f32,
    /// Rows of `camera_from_world`'s rotation.
    pub rotation: [[f32; 3]; 3],
    pub translation: [f32; 3],
}

/// Below this depth splats are culled (as the reference implementation does).
pub const NEAR: f32 = 0.2;
/// Screen-space dilation added to every projected covariance (pixels²): keeps sub-pixel splats
/// from aliasing, and is part of the model the splats were trained with.
pub const DILATION: f32 = 0.3;
/// The projection's Jacobian is evaluated at most this many half-fields of view off the optical
/// axis (the reference implementation's 1.3). Past the edge of the view the linearisation is
/// meaningless: a Gaussian beside a camera at a low depth would otherwise smear across the
/// whole image.
pub const FRUSTUM_GUARD: f32 = 1.3;

/// The Jacobian J of the perspective projection at camera-space `p` (z ≥ NEAR), with x/z and
/// y/z clamped to the [`FRUSTUM_GUARD`] band, and whether each was clamped.
#[allow(clippy::cast_precision_loss)] // image sizes
pub fn projection_jacobian(cam: &Camera, p: [f32; 3]) -> ([[f32; 3]; 2], [bool; 2]) {
    let lim = [
        FRUSTUM_GUARD * 0.5 * cam.width as f32 / cam.fx,
        FRUSTUM_GUARD * 0.5 * cam.height as f32 / cam.fy,
    ];
    let ratio = [p[0] / p[2], p[1] / p[2]];
    let r = [
        ratio[0].clamp(-lim[0], lim[0]),
        ratio[1].clamp(-lim[1], lim[1]),
    ];
    let j = [
        [cam.fx / p[2], 0.0, -cam.fx * r[0] / p[2]],
        [0.0, cam.fy / p[2], -cam.fy * r[1] / p[2]],
    ];
    (j, [ratio[0].abs() > lim[0], ratio[1].abs() > lim[1]])
}

fn sub(a: [f32; 3], b: [f32; 3]) -> [f32; 3] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

fn cross(a: [f32; 3], b: [f32; 3]) -> [f32; 3] {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

fn dot(a: [f32; 3], b: [f32; 3]) -> f32 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

fn normalize(a: [f32; 3]) -> [f32; 3] {
    let n = dot(a, a).sqrt();
    if n > 0.0 {
        [a[0] / n, a[1] / n, a[2] / n]
    } else {
        a
    }
}

impl Camera {
    /// A camera at `eye` looking at `target`, `up` roughly up, vertical field of view in radians.
    pub fn look_at(
        eye: [f32; 3],
        target: [f32; 3],
        up: [f32; 3],
        fov_y: f32,
        width: u32,
        height: u32,
    ) -> Self {
        let forward = normalize(sub(target, eye));
        let mut side = cross(forward, up);
        if dot(side, side) < 1e-12 {
            // Looking straight along `up`: any perpendicular will do for a roll.
            side = cross(
                forward,
                if forward[0].abs() < 0.9 {
                    [1.0, 0.0, 0.0]
                } else {
                    [0.0, 0.0, 1.0]
                },
            );
        }
        let right = normalize(side);
        let down = cross(forward, right);
        let rotation = [right, down, forward];
        let translation = [-dot(right, eye), -dot(down, eye), -dot(forward, eye)];
        #[allow(clippy::cast_precision_loss)]
        let (w, h) = (width as f32, height as f32);
        let f = h / (2.0 * (fov_y / 2.0).tan());
        Self {
            width,
            height,
            fx: f,
            fy: f,
            cx: w / 2.0,
            cy: h / 2.0,
            rotation,
            translation,
        }
    }

    /// The same camera seeing a `width`×`height` image of the same view: the intrinsics scale
    /// with each side (a resized photo keeps its pose; its pixels are just bigger or smaller).
    #[must_use]
    #[allow(clippy::cast_precision_loss)] // image sides
    pub fn resized(&self, width: u32, height: u32) -> Self {
        let sx = width as f32 / self.width.max(1) as f32;
        let sy = height as f32 / self.height.max(1) as f32;
        Self {
            width,
            height,
            fx: self.fx * sx,
            fy: self.fy * sy,
            cx: self.cx * sx,
            cy: self.cy * sy,
            ..*self
        }
    }

    /// The size of this camera's image with its long side shrunk to `long` pixels (never grown),
    /// each side rounded and at least 1.
    #[must_use]
    #[allow(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss
    )] // image sides: small positive integers
    pub fn fit_within(&self, long: u32) -> (u32, u32) {
        let scale = long as f32 / self.width.max(self.height).max(1) as f32;
        if scale >= 1.0 {
            return (self.width, self.height);
        }
        let side = |s: u32| ((s as f32 * scale).round() as u32).max(1);
        (side(self.width), side(self.height))
    }

    /// The camera centre in world space: `-Rᵀ t`.
    pub fn centre(&self) -> [f32; 3] {
        let r = &self.rotation;
        let t = self.translation;
        std::array::from_fn(|i| -(r[0][i] * t[0] + r[1][i] * t[1] + r[2][i] * t[2]))
    }

    fn camera_from_world(&self, p: [f32; 3]) -> [f32; 3] {
        std::array::from_fn(|i| dot(self.rotation[i], p) + self.translation[i])
    }
}

/// An RGB image with linear float channels, row-major, top row first.
#[derive(Debug, Clone, PartialEq)]
pub struct Image {
    pub width: u32,
    pub height: u32,
    pub rgb: Vec<[f32; 3]>,
}

impl Image {
    pub fn pixel(&self, x: u32, y: u32) -> [f32; 3] {
        self.rgb[(y * self.width + x) as usize]
    }

    /// 8-bit sRGB-less RGB (values are clamped to [0, 1] and scaled, as viewers display them).
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    pub fn to_rgb8(&self) -> Vec<u8> {
        self.rgb
            .iter()
            .flat_map(|p| p.map(|c| (c.clamp(0.0, 1.0) * 255.0 + 0.5) as u8))
            .collect()
    }
}

/// Peak signal-to-noise ratio (dB) between two images of the same size, on values clamped to
/// [0, 1]; `f64::INFINITY` for identical images.
pub fn psnr(a: &Image, b: &Image) -> f64 {
    assert_eq!(
        (a.width, a.height),
        (b.width, b.height),
        "psnr needs images of the same size"
    );
    let mut sum = 0.0f64;
    for (p, q) in a.rgb.iter().zip(&b.rgb) {
        for c in 0..3 {
            let d = f64::from(p[c].clamp(0.0, 1.0) - q[c].clamp(0.0, 1.0));
            sum += d * d;
        }
    }
    #[allow(clippy::cast_precision_loss)]
    let mse = sum / (a.rgb.len() as f64 * 3.0);
    if mse == 0.0 {
        f64::INFINITY
    } else {
        -10.0 * mse.log10()
    }
}

/// SH normalisation constants (degree 0–3), shared with the trainer's derivatives.
pub const SH_C0: f32 = 0.282_094_8;
pub const SH_C1: f32 = 0.488_602_5;
pub const SH_C2: [f32; 5] = [
    1.092_548_4,
    -1.092_548_4,
    0.315_391_6,
    -1.092_548_4,
    0.546_274_2,
];
pub const SH_C3: [f32; 7] = [
    -0.590_043_6,
    2.890_611_4,
    -0.457_045_8,
    0.373_176_3,
    -0.457_045_8,
    1.445_305_7,
    -0.590_043_6,
];

/// The 16 real SH basis values at unit direction `dir`, in the order 3DGS stores coefficients
/// (index 0 is the constant term).
pub fn sh_basis(dir: [f32; 3]) -> [f32; 16] {
    let [x, y, z] = dir;
    let (xx, yy, zz) = (x * x, y * y, z * z);
    [
        SH_C0,
        -SH_C1 * y,
        SH_C1 * z,
        -SH_C1 * x,
        SH_C2[0] * x * y,
        SH_C2[1] * y * z,
        SH_C2[2] * (2.0 * zz - xx - yy),
        SH_C2[3] * x * z,
        SH_C2[4] * (xx - yy),
        SH_C3[0] * y * (3.0 * xx - yy),
        SH_C3[1] * x * y * z,
        SH_C3[2] * y * (4.0 * zz - xx - yy),
        SH_C3[3] * z * (2.0 * zz - 3.0 * xx - 3.0 * yy),
        SH_C3[4] * x * (4.0 * zz - xx - yy),
        SH_C3[5] * z * (xx - yy),
        SH_C3[6] * x * (xx - 3.0 * yy),
    ]
}

/// Colour of splat `i` seen along `dir` (unit vector from the camera to the splat).
pub fn sh_colour(cloud: &GaussianCloud, i: usize, dir: [f32; 3]) -> [f32; 3] {
    let coeffs = sh_rest_coeffs(cloud.sh_degree);
    let rest = &cloud.sh_rest[i * 3 * coeffs..(i + 1) * 3 * coeffs];
    let basis = sh_basis(dir);
    std::array::from_fn(|c| {
        let higher: f32 = (0..coeffs)
            .map(|k| basis[k + 1] * rest[c * coeffs + k])
            .sum();
        (basis[0] * cloud.sh_dc[i][c] + higher + 0.5).max(0.0)
    })
}

/// The rotation matrix of a quaternion (w, x, y, z), normalised first; None for a zero or
/// non-finite one. Also returns the unit quaternion and the norm (for gradients).
#[allow(clippy::many_single_char_names)] // w, x, y, z: the quaternion's own names
pub fn quat_to_matrix(q: [f32; 4]) -> Option<([[f32; 3]; 3], [f32; 4], f32)> {
    let n = (q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3]).sqrt();
    if n == 0.0 || !n.is_finite() {
        return None;
    }
    let [w, x, y, z] = q.map(|v| v / n);
    Some((
        [
            [
                1.0 - 2.0 * (y * y + z * z),
                2.0 * (x * y - w * z),
                2.0 * (x * z + w * y),
            ],
            [
                2.0 * (x * y + w * z),
                1.0 - 2.0 * (x * x + z * z),
                2.0 * (y * z - w * x),
            ],
            [
                2.0 * (x * z - w * y),
                2.0 * (y * z + w * x),
                1.0 - 2.0 * (x * x + y * y),
            ],
        ],
        [w, x, y, z],
        n,
    ))
}

/// One splat, projected.
struct Projected {
    depth: f32,
    centre: [f32; 2],
    /// Inverse 2-D covariance (a, b, c) of `[[a, b], [b, c]]`.
    conic: [f32; 3],
    radius: f32,
    colour: [f32; 3],
    opacity: f32,
}

// Single letters follow the paper's notation (Σ, J, W, T, …).
#[allow(clippy::many_single_char_names)]
fn project(cloud: &GaussianCloud, i: usize, cam: &Camera, eye: [f32; 3]) -> Option<Projected> {
    let p = cam.camera_from_world(cloud.positions[i]);
    if p[2] < NEAR {
        return None;
    }
    // World covariance Σ = R S Sᵀ Rᵀ from the (normalised) quaternion and scales.
    let (rot, _, _) = quat_to_matrix(cloud.rotations[i])?;
    let s = cloud.log_scales[i].map(f32::exp);
    let m: [[f32; 3]; 3] = std::array::from_fn(|r| std::array::from_fn(|c| rot[r][c] * s[c]));
    // T = J · W, with J the Jacobian of the perspective projection at p.
    let (fx, fy) = (cam.fx, cam.fy);
    let (j, _) = projection_jacobian(cam, p);
    let t: [[f32; 3]; 2] = std::array::from_fn(|r| {
        std::array::from_fn(|c| (0..3).map(|k| j[r][k] * cam.rotation[k][c]).sum())
    });
    // Σ' = T M Mᵀ Tᵀ = (T M)(T M)ᵀ.
    let tm: [[f32; 3]; 2] =
        std::array::from_fn(|r| std::array::from_fn(|c| (0..3).map(|k| t[r][k] * m[k][c]).sum()));
    let a = dot(tm[0], tm[0]) + DILATION;
    let b = dot(tm[0], tm[1]);
    let c = dot(tm[1], tm[1]) + DILATION;
    let det = a * c - b * b;
    if det <= 0.0 {
        return None;
    }
    let mid = 0.5 * (a + c);
    let lambda = mid + (mid * mid - det).max(0.1).sqrt();
    let colour = sh_colour(cloud, i, normalize(sub(cloud.positions[i], eye)));
    Some(Projected {
        depth: p[2],
        centre: [fx * p[0] / p[2] + cam.cx, fy * p[1] / p[2] + cam.cy],
        conic: [c / det, -b / det, a / det],
        radius: 3.0 * lambda.sqrt(),
        colour,
        opacity: 1.0 / (1.0 + (-cloud.opacity_logits[i]).exp()),
    })
}

/// Renders `cloud` from `cam` over a flat `background`.
#[allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_precision_loss
)]
pub fn render(cloud: &GaussianCloud, cam: &Camera, background: [f32; 3]) -> Image {
    let (w, h) = (cam.width as usize, cam.height as usize);
    let eye = cam.centre();
    let mut splats: Vec<Projected> = (0..cloud.len())
        .filter_map(|i| project(cloud, i, cam, eye))
        .collect();
    splats.sort_by(|p, q| p.depth.total_cmp(&q.depth));
    let mut colour = vec![[0f32; 3]; w * h];
    let mut transmittance = vec![1f32; w * h];
    for s in &splats {
        let x0 = (s.centre[0] - s.radius).floor().max(0.0) as usize;
        let y0 = (s.centre[1] - s.radius).floor().max(0.0) as usize;
        let x1 = ((s.centre[0] + s.radius).ceil().max(0.0) as usize).min(w);
        let y1 = ((s.centre[1] + s.radius).ceil().max(0.0) as usize).min(h);
        for py in y0..y1 {
            for px in x0..x1 {
                let at = py * w + px;
                let t = transmittance[at];
                if t < 1e-4 {
                    continue;
                }
                // Pixel centres sit at half-integers.
                let dx = px as f32 + 0.5 - s.centre[0];
                let dy = py as f32 + 0.5 - s.centre[1];
                let power =
                    -0.5 * (s.conic[0] * dx * dx + s.conic[2] * dy * dy) - s.conic[1] * dx * dy;
                if power > 0.0 {
                    continue;
                }
                let alpha = (s.opacity * power.exp()).min(0.99);
                if alpha < 1.0 / 255.0 {
                    continue;
                }
                for (out, c) in colour[at].iter_mut().zip(s.colour) {
                    *out += c * alpha * t;
                }
                transmittance[at] = t * (1.0 - alpha);
            }
        }
    }
    let rgb = colour
        .into_iter()
        .zip(transmittance)
        .map(|(c, t)| std::array::from_fn(|ch| c[ch] + t * background[ch]))
        .collect();
    Image {
        width: cam.width,
        height: cam.height,
        rgb,
    }
}

#[cfg(test)]
#[allow(clippy::float_cmp)] // zeros are exact where nothing was drawn
mod tests {
    use super::*;

    const C0: f32 = 0.282_094_8;

    fn camera() -> Camera {
        Camera {
            width: 64,
            height: 64,
            fx: 100.0,
            fy: 100.0,
            cx: 32.0,
            cy: 32.0,
            rotation: [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
            translation: [0.0; 3],
        }
    }

    /// A cloud of isotropic, degree-0 splats: (position, scale, opacity, rgb colour).
    fn cloud(splats: &[([f32; 3], f32, f32, [f32; 3])]) -> GaussianCloud {
        GaussianCloud {
            positions: splats.iter().map(|s| s.0).collect(),
            log_scales: splats.iter().map(|s| [s.1.ln(); 3]).collect(),
            rotations: splats.iter().map(|_| [1.0, 0.0, 0.0, 0.0]).collect(),
            opacity_logits: splats.iter().map(|s| (s.2 / (1.0 - s.2)).ln()).collect(),
            sh_dc: splats.iter().map(|s| s.3.map(|c| (c - 0.5) / C0)).collect(),
            sh_degree: 0,
            sh_rest: Vec::new(),
        }
    }

    fn close(a: f32, b: f32) -> bool {
        (a - b).abs() < 1e-4
    }

    #[test]
    fn a_single_gaussian_has_the_footprint_computed_by_hand() {
        // σ in pixels = fx·s/z = 100·0.05/5 = 1, plus the 0.3 px² dilation → variance 1.3.
        let c = cloud(&[([0.0, 0.0, 5.0], 0.05, 0.8, [1.0, 0.0, 0.0])]);
        let img = render(&c, &camera(), [0.0; 3]);
        let expected = |dx: f32, dy: f32| 0.8 * (-0.5 * (dx * dx + dy * dy) / 1.3).exp();
        // Pixel (32, 32) has its centre at (32.5, 32.5), half a pixel from the splat's centre.
        assert!(
            close(img.pixel(32, 32)[0], expected(0.5, 0.5)),
            "{:?}",
            img.pixel(32, 32)
        );
        assert!(close(img.pixel(35, 32)[0], expected(3.5, 0.5)));
        assert_eq!(img.pixel(32, 32)[1], 0.0);
        // Beyond the point where alpha drops under 1/255, nothing is drawn.
        assert_eq!(img.pixel(36, 32), [0.0; 3]);
        assert_eq!(img.pixel(0, 0), [0.0; 3]);
    }

    #[test]
    fn a_resized_camera_sees_the_same_view_at_its_own_size() {
        // Off-centre on both axes, so a wrong principal point or focal length moves the peak.
        let c = cloud(&[([0.525, -0.275, 5.0], 0.05, 0.9, [1.0, 1.0, 1.0])]);
        let peak = |image: &Image| {
            (0..image.height)
                .flat_map(|y| (0..image.width).map(move |x| (x, y)))
                .max_by(|&(ax, ay), &(bx, by)| {
                    image.pixel(ax, ay)[0].total_cmp(&image.pixel(bx, by)[0])
                })
                .expect("an image has pixels")
        };
        let mut wide = camera();
        wide.height = 48;
        wide.cy = 24.0;
        // Pixel centres sit at +0.5: x = 32 + 100·0.525/5 = 42.5, y = 24 − 100·0.275/5 = 18.5; at
        // half size x = 16 + 50·0.525/5 = 21.25, y = 12 − 50·0.275/5 = 9.25.
        assert_eq!(peak(&render(&c, &wide, [0.0; 3])), (42, 18));
        let half = wide.resized(32, 24);
        assert_eq!((half.fx, half.cx, half.cy), (50.0, 16.0, 12.0));
        assert_eq!(peak(&render(&c, &half, [0.0; 3])), (21, 9));

        assert_eq!(wide.fit_within(32), (32, 24));
        assert_eq!(wide.fit_within(64), (64, 48), "never grown");
        assert_eq!(wide.fit_within(1000), (64, 48));
        assert_eq!(wide.fit_within(1), (1, 1), "never below one pixel");
    }

    #[test]
    fn a_gaussian_beside_the_camera_does_not_smear_across_the_view() {
        // 6 focal units to the side at depth 0.5: far outside the 64-pixel view. Linearised at
        // its own position (J₀₂ = −f·x/z² = −1200) its footprint would cover the view with
        // α ≈ 0.2; with x/z held at 1.3 half-fields (0.416) it stays 600 px off the image.
        let c = cloud(&[([3.0, 0.0, 0.5], 0.3, 0.9, [1.0, 1.0, 1.0])]);
        let img = render(&c, &camera(), [0.0; 3]);
        assert!(img.rgb.iter().all(|p| *p == [0.0; 3]));
        let (j, clamped) = projection_jacobian(&camera(), [3.0, 0.0, 0.5]);
        assert_eq!(clamped, [true, false]);
        assert!(close(j[0][2], -100.0 * FRUSTUM_GUARD * 0.32 / 0.5), "{j:?}");
        // Inside the band nothing changes.
        let (j, clamped) = projection_jacobian(&camera(), [0.5, -0.25, 5.0]);
        assert_eq!(clamped, [false, false]);
        assert!(close(j[0][2], -100.0 * 0.5 / 25.0) && close(j[1][2], 100.0 * 0.25 / 25.0));
    }

    #[test]
    fn overlapping_gaussians_composite_front_to_back_by_depth() {
        let red = ([0.0, 0.0, 5.0], 0.5, 0.9, [1.0, 0.0, 0.0]);
        let green = ([0.0, 0.0, 6.0], 0.5, 0.9, [0.0, 1.0, 0.0]);
        let alpha = |z: f32| {
            let variance = (100.0 * 0.5 / z) * (100.0 * 0.5 / z) + DILATION;
            0.9 * (-0.5 * 0.5 / variance).exp()
        };
        let img = render(&cloud(&[red, green]), &camera(), [0.0; 3]);
        let p = img.pixel(32, 32);
        assert!(close(p[0], alpha(5.0)), "{p:?}");
        assert!(close(p[1], alpha(6.0) * (1.0 - alpha(5.0))), "{p:?}");
        // The order of the input does not matter, only depth does.
        assert_eq!(render(&cloud(&[green, red]), &camera(), [0.0; 3]), img);
        let green_in_front = ([0.0, 0.0, 4.0], 0.5, 0.9, [0.0, 1.0, 0.0]);
        let q = render(&cloud(&[red, green_in_front]), &camera(), [0.0; 3]).pixel(32, 32);
        assert!(q[1] > q[0], "{q:?}");
        // What the splats leave uncovered shows the background.
        let bg = render(&cloud(&[red]), &camera(), [0.0, 0.0, 1.0]).pixel(32, 32);
        assert!(close(bg[2], 1.0 - alpha(5.0)));
    }

    #[test]
    fn spherical_harmonics_depend_on_the_viewing_direction() {
        let mut c = cloud(&[([0.0, 0.0, 5.0], 0.5, 0.9, [0.5, 0.5, 0.5])]);
        c.sh_degree = 1;
        c.sh_rest = vec![0.0; 9];
        c.sh_rest[1] = 0.5; // red, the z-dependent band-1 coefficient
        let front = Camera::look_at(
            [0.0, 0.0, 0.0],
            [0.0, 0.0, 5.0],
            [0.0, -1.0, 0.0],
            0.6,
            64,
            64,
        );
        let back = Camera::look_at(
            [0.0, 0.0, 10.0],
            [0.0, 0.0, 5.0],
            [0.0, -1.0, 0.0],
            0.6,
            64,
            64,
        );
        let from_front = render(&c, &front, [0.0; 3]).pixel(32, 32);
        let from_back = render(&c, &back, [0.0; 3]).pixel(32, 32);
        // Red over green is (0.5 ± C1·0.5) / 0.5, whatever the coverage.
        let c1 = 0.488_602_5;
        assert!(
            (from_front[0] / from_front[1] - (0.5 + c1 * 0.5) / 0.5).abs() < 1e-3,
            "{from_front:?}"
        );
        assert!(
            (from_back[0] / from_back[1] - (0.5 - c1 * 0.5) / 0.5).abs() < 1e-3,
            "{from_back:?}"
        );
    }

    #[test]
    fn look_at_and_centre_agree() {
        let cam = Camera::look_at(
            [1.0, 2.0, 3.0],
            [0.0, 0.0, 0.0],
            [0.0, 1.0, 0.0],
            1.0,
            10,
            10,
        );
        let c = cam.centre();
        assert!((0..3).all(|i| close(c[i], [1.0, 2.0, 3.0][i])), "{c:?}");
        let target = cam.camera_from_world([0.0, 0.0, 0.0]);
        assert!(close(target[0], 0.0) && close(target[1], 0.0) && target[2] > 0.0);
    }

    #[test]
    fn looking_along_up_still_gives_a_camera() {
        let cam = Camera::look_at(
            [0.0, -5.0, 0.0],
            [0.0, 0.0, 0.0],
            [0.0, -1.0, 0.0],
            1.0,
            10,
            10,
        );
        assert!(cam.rotation.iter().flatten().all(|v| v.is_finite()));
        let target = cam.camera_from_world([0.0, 0.0, 0.0]);
        assert!(
            close(target[0], 0.0) && close(target[1], 0.0) && close(target[2], 5.0),
            "{target:?}"
        );
    }

    #[test]
    fn psnr_of_known_images() {
        let a = Image {
            width: 2,
            height: 1,
            rgb: vec![[0.0; 3], [1.0; 3]],
        };
        assert!(psnr(&a, &a).is_infinite());
        let b = Image {
            width: 2,
            height: 1,
            rgb: vec![[0.1; 3], [1.0; 3]],
        };
        // MSE = 0.01 / 2 → PSNR = 10·log10(200) ≈ 23.01 dB.
        assert!((psnr(&a, &b) - 23.0103).abs() < 1e-3);
    }
}
