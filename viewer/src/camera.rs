//! The viewer's camera: orbit, pan, zoom and fly about a target, in a frame with a chosen up axis,
//! and a start view framed from the scene's robust bounds. Pure math: the browser and the native
//! renderer share it, and the tests drive it directly.

use splat::render::Camera;

/// Which world axis points up. 3DGS scenes trained from COLMAP are usually −Y up; Spaceport's
/// georegistered scenes are east-north-up, +Z up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UpAxis {
    #[default]
    NegY,
    PosY,
    PosZ,
}

impl UpAxis {
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "-y" | "neg-y" | "y-down" => Some(Self::NegY),
            "y" | "+y" => Some(Self::PosY),
            "z" | "+z" => Some(Self::PosZ),
            _ => None,
        }
    }

    /// (up, a, b): `a` and `b` span the horizontal plane, right-handed with `up`.
    fn frame(self) -> ([f32; 3], [f32; 3], [f32; 3]) {
        match self {
            Self::NegY => ([0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, -1.0]),
            Self::PosY => ([0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]),
            Self::PosZ => ([0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]),
        }
    }
}

fn add(a: [f32; 3], b: [f32; 3]) -> [f32; 3] {
    [a[0] + b[0], a[1] + b[1], a[2] + b[2]]
}

fn scale(a: [f32; 3], s: f32) -> [f32; 3] {
    [a[0] * s, a[1] * s, a[2] * s]
}

/// An orbit camera: the eye sits `distance` from `target` at `yaw` around the up axis and
/// `pitch` above the horizon.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OrbitCamera {
    pub target: [f32; 3],
    pub distance: f32,
    pub yaw: f32,
    pub pitch: f32,
    /// Vertical field of view, radians.
    pub fov_y: f32,
    pub up: UpAxis,
}

/// Pitch stays short of the poles, where the view would flip.
const MAX_PITCH: f32 = 1.55;

impl OrbitCamera {
    /// Frames the central 96 % of the splats (per axis, so a few floaters far away do not shrink
    /// the scene to a dot), seen from 30° above the horizon.
    pub fn framing(positions: &[[f32; 3]], up: UpAxis) -> Self {
        let fov_y = 50f32.to_radians();
        let mut lo = [0.0f32; 3];
        let mut hi = [0.0f32; 3];
        if !positions.is_empty() {
            // Sample at most 100k centres: enough for percentiles, cheap for 2M splats.
            let step = (positions.len() / 100_000).max(1);
            for axis in 0..3 {
                let mut v: Vec<f32> = positions
                    .iter()
                    .step_by(step)
                    .map(|p| p[axis])
                    .filter(|x| x.is_finite())
                    .collect();
                if v.is_empty() {
                    continue;
                }
                v.sort_by(f32::total_cmp);
                let at = |q: f32| {
                    #[allow(
                        clippy::cast_precision_loss,
                        clippy::cast_possible_truncation,
                        clippy::cast_sign_loss
                    )]
                    let i = ((v.len() - 1) as f32 * q).round() as usize;
                    v[i]
                };
                lo[axis] = at(0.02);
                hi[axis] = at(0.98);
            }
        }
        let target = std::array::from_fn(|a| 0.5 * (lo[a] + hi[a]));
        let radius = (0..3)
            .map(|a| (hi[a] - lo[a]) * 0.5)
            .map(|h| h * h)
            .sum::<f32>()
            .sqrt()
            .max(1e-3);
        Self {
            target,
            distance: radius / (fov_y * 0.5).sin(),
            yaw: 0.0,
            pitch: 30f32.to_radians(),
            fov_y,
            up,
        }
    }

    pub fn eye(&self) -> [f32; 3] {
        let (up, a, b) = self.up.frame();
        let horizontal = add(scale(a, self.yaw.cos()), scale(b, self.yaw.sin()));
        let dir = add(
            scale(horizontal, self.pitch.cos()),
            scale(up, self.pitch.sin()),
        );
        add(self.target, scale(dir, self.distance))
    }

    /// The pinhole camera for a viewport of `width × height` pixels.
    pub fn camera(&self, width: u32, height: u32) -> Camera {
        let (up, _, _) = self.up.frame();
        Camera::look_at(self.eye(), self.target, up, self.fov_y, width, height)
    }

    /// Turns by a drag of (`dx`, `dy`) pixels: a full viewport width is half a turn.
    pub fn orbit(&mut self, dx: f32, dy: f32, viewport_height: f32) {
        let per_pixel = std::f32::consts::PI / viewport_height.max(1.0);
        self.yaw -= dx * per_pixel;
        self.pitch = (self.pitch + dy * per_pixel).clamp(-MAX_PITCH, MAX_PITCH);
    }

    /// Moves the target so that the point under the cursor follows a drag of (`dx`, `dy`) pixels.
    pub fn pan(&mut self, dx: f32, dy: f32, viewport_height: f32) {
        let cam = self.camera(1, 1);
        let per_pixel = 2.0 * self.distance * (self.fov_y * 0.5).tan() / viewport_height.max(1.0);
        let [right, down, _] = cam.rotation;
        self.target = add(
            self.target,
            add(scale(right, -dx * per_pixel), scale(down, -dy * per_pixel)),
        );
    }

    /// Zooms by `factor` (> 1 moves closer), never through the target.
    pub fn zoom(&mut self, factor: f32) {
        if factor.is_finite() && factor > 0.0 {
            self.distance = (self.distance / factor).max(1e-3);
        }
    }

    /// Fly mode: moves eye and target together, `forward` along the view, `right` across it.
    pub fn fly(&mut self, forward: f32, right: f32) {
        let cam = self.camera(1, 1);
        let [r, _, f] = cam.rotation;
        self.target = add(self.target, add(scale(f, forward), scale(r, right)));
    }

    /// Re-centres the orbit on `point`, keeping the eye where it is.
    pub fn set_target(&mut self, point: [f32; 3]) {
        let eye = self.eye();
        let (up, a, b) = self.up.frame();
        let d = add(eye, scale(point, -1.0));
        let dot = |u: [f32; 3], v: [f32; 3]| u[0] * v[0] + u[1] * v[1] + u[2] * v[2];
        let distance = dot(d, d).sqrt();
        if distance < 1e-6 || !distance.is_finite() {
            return;
        }
        self.target = point;
        self.distance = distance;
        self.pitch = (dot(d, up) / distance)
            .clamp(-1.0, 1.0)
            .asin()
            .clamp(-MAX_PITCH, MAX_PITCH);
        self.yaw = dot(d, b).atan2(dot(d, a));
    }
}

/// The splat nearest the camera among those whose centre projects within `radius_px` of pixel
/// `pixel` and that are reasonably opaque: what a double-click means by "there".
pub fn pick(
    positions: &[[f32; 3]],
    opacities: impl Fn(usize) -> f32,
    camera: &Camera,
    pixel: (f32, f32),
    radius_px: f32,
) -> Option<[f32; 3]> {
    let mut best: Option<(f32, usize)> = None;
    for (i, p) in positions.iter().enumerate() {
        let cam: [f32; 3] = std::array::from_fn(|r| {
            let row = camera.rotation[r];
            row[0] * p[0] + row[1] * p[1] + row[2] * p[2] + camera.translation[r]
        });
        if cam[2] < splat::render::NEAR || best.is_some_and(|(d, _)| cam[2] >= d) {
            continue;
        }
        let u = camera.fx * cam[0] / cam[2] + camera.cx;
        let v = camera.fy * cam[1] / cam[2] + camera.cy;
        if (u - pixel.0).hypot(v - pixel.1) <= radius_px && opacities(i) >= 0.3 {
            best = Some((cam[2], i));
        }
    }
    best.map(|(_, i)| positions[i])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: [f32; 3], b: [f32; 3]) -> bool {
        (0..3).all(|i| (a[i] - b[i]).abs() < 1e-4)
    }

    #[test]
    fn framing_ignores_floaters_and_looks_at_the_scene() {
        let mut pts: Vec<[f32; 3]> = (0..1000)
            .map(|i| {
                #[allow(clippy::cast_precision_loss)]
                let t = i as f32 / 1000.0;
                [10.0 + 2.0 * t - 1.0, 5.0, -3.0 + t]
            })
            .collect();
        pts.push([1e6, 1e6, 1e6]);
        let orbit = OrbitCamera::framing(&pts, UpAxis::PosZ);
        assert!((orbit.target[0] - 10.0).abs() < 0.05);
        assert!(
            orbit.distance < 10.0,
            "a floater must not frame the scene: {}",
            orbit.distance
        );
        let cam = orbit.camera(100, 100);
        // The target projects to the image centre.
        let c: [f32; 3] = std::array::from_fn(|r| {
            let row = cam.rotation[r];
            row[0] * orbit.target[0]
                + row[1] * orbit.target[1]
                + row[2] * orbit.target[2]
                + cam.translation[r]
        });
        assert!(c[0].abs() < 1e-3 && c[1].abs() < 1e-3 && c[2] > 0.0);
        // 30° above the horizon: the eye is higher than the target along +Z.
        assert!(orbit.eye()[2] > orbit.target[2]);
    }

    #[test]
    fn up_is_up_on_screen() {
        for up in [UpAxis::NegY, UpAxis::PosY, UpAxis::PosZ] {
            let orbit = OrbitCamera {
                target: [0.0; 3],
                distance: 5.0,
                yaw: 0.7,
                pitch: 0.0,
                fov_y: 1.0,
                up,
            };
            let cam = orbit.camera(100, 100);
            let (u, _, _) = up.frame();
            // A point above the target lands above the image centre (smaller row).
            let p = u;
            let c1: f32 =
                (0..3).map(|k| cam.rotation[1][k] * p[k]).sum::<f32>() + cam.translation[1];
            let c2: f32 =
                (0..3).map(|k| cam.rotation[2][k] * p[k]).sum::<f32>() + cam.translation[2];
            assert!(cam.fy * c1 / c2 + cam.cy < 50.0, "{up:?}");
        }
    }

    #[test]
    fn set_target_keeps_the_eye_and_zoom_never_passes_the_target() {
        let mut orbit = OrbitCamera {
            target: [0.0; 3],
            distance: 4.0,
            yaw: 0.3,
            pitch: 0.4,
            fov_y: 1.0,
            up: UpAxis::NegY,
        };
        let eye = orbit.eye();
        orbit.set_target([0.5, -0.2, 0.1]);
        assert!(close(orbit.eye(), eye));
        orbit.zoom(1e9);
        assert!(orbit.distance > 0.0);
        orbit.orbit(0.0, 1e6, 100.0);
        assert!(orbit.pitch <= MAX_PITCH);
    }

    #[test]
    fn pan_follows_the_cursor() {
        let mut orbit = OrbitCamera {
            target: [0.0; 3],
            distance: 4.0,
            yaw: 0.0,
            pitch: 0.0,
            fov_y: 1.0,
            up: UpAxis::PosZ,
        };
        let before = orbit.camera(200, 200);
        orbit.pan(20.0, 0.0, 200.0);
        let after = orbit.camera(200, 200);
        // The old target now projects 20 px to the right.
        let project = |cam: &Camera, p: [f32; 3]| {
            let c: [f32; 3] = std::array::from_fn(|r| {
                (0..3).map(|k| cam.rotation[r][k] * p[k]).sum::<f32>() + cam.translation[r]
            });
            cam.fx * c[0] / c[2] + cam.cx
        };
        assert!((project(&before, [0.0; 3]) - 100.0).abs() < 1e-3);
        assert!((project(&after, [0.0; 3]) - 120.0).abs() < 0.1);
    }

    #[test]
    fn pick_finds_the_front_most_opaque_splat_under_the_cursor() {
        let cam = Camera::look_at([0.0, 0.0, -10.0], [0.0; 3], [0.0, -1.0, 0.0], 1.0, 100, 100);
        let pts = [
            [0.0, 0.0, 0.0],
            [0.0, 0.0, -5.0],
            [0.0, 0.0, -7.0],
            [3.0, 3.0, -8.0],
        ];
        let opacity = |i: usize| if i == 2 { 0.1 } else { 0.9 };
        assert_eq!(
            pick(&pts, opacity, &cam, (50.0, 50.0), 5.0),
            Some([0.0, 0.0, -5.0])
        );
        assert_eq!(pick(&pts, opacity, &cam, (5.0, 95.0), 2.0), None);
    }
}
