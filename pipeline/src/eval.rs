//! Evaluating a reconstruction against ground-truth cameras: a least-squares similarity
//! (Umeyama) maps the estimated camera centres onto the true ones; what remains is the error.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Context as _};
use nalgebra::{Matrix3, Vector3};

use crate::colmap_model::Reconstruction;

/// One ground-truth camera in the Strecha `.camera` layout.
#[derive(Debug, Clone)]
pub struct TrueCamera {
    pub k: Matrix3<f64>,
    /// Camera → world.
    pub rotation: Matrix3<f64>,
    pub centre: Vector3<f64>,
    pub width: u32,
    pub height: u32,
}

/// Parses a Strecha `.camera` file: K (3×3), distortion (3), R camera→world (3×3), C (3), W H.
pub fn parse_strecha(text: &str) -> anyhow::Result<TrueCamera> {
    let numbers = text
        .split_whitespace()
        .map(str::parse::<f64>)
        .collect::<Result<Vec<_>, _>>()
        .context("not a list of numbers")?;
    if numbers.len() != 26 {
        bail!(
            "expected 26 numbers (K, distortion, R, C, W H), found {}",
            numbers.len()
        );
    }
    if numbers.iter().any(|v| !v.is_finite()) {
        bail!("non-finite number");
    }
    let size = |v: f64| {
        if v >= 1.0 && v <= f64::from(u32::MAX) && v.fract() == 0.0 {
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // checked above
            Ok(v as u32)
        } else {
            Err(anyhow::anyhow!("bad image size {v}"))
        }
    };
    Ok(TrueCamera {
        k: Matrix3::from_row_slice(&numbers[0..9]),
        rotation: Matrix3::from_row_slice(&numbers[12..21]),
        centre: Vector3::new(numbers[21], numbers[22], numbers[23]),
        width: size(numbers[24])?,
        height: size(numbers[25])?,
    })
}

/// Reads every `NAME.camera` in a folder, keyed by NAME (the image file name).
pub fn read_strecha_dir(dir: &Path) -> anyhow::Result<BTreeMap<String, TrueCamera>> {
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))? {
        let path = entry?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let Some(image) = name.strip_suffix(".camera") else {
            continue;
        };
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let camera = parse_strecha(&text).with_context(|| format!("{}", path.display()))?;
        out.insert(image.to_string(), camera);
    }
    if out.is_empty() {
        bail!("no .camera files in {}", dir.display());
    }
    Ok(out)
}

/// x ↦ s·R·x + t.
#[derive(Debug, Clone, Copy)]
pub struct Similarity {
    pub scale: f64,
    pub rotation: Matrix3<f64>,
    pub translation: Vector3<f64>,
}

impl Similarity {
    pub fn apply(&self, x: &Vector3<f64>) -> Vector3<f64> {
        self.scale * (self.rotation * x) + self.translation
    }
}

/// The least-squares similarity taking `from` onto `to` (Umeyama 1991). Needs three points not
/// on a line.
pub fn umeyama(from: &[Vector3<f64>], to: &[Vector3<f64>]) -> anyhow::Result<Similarity> {
    if from.len() != to.len() || from.len() < 3 {
        bail!(
            "need at least 3 corresponding points, have {}",
            from.len().min(to.len())
        );
    }
    #[allow(clippy::cast_precision_loss)] // point counts are small
    let n = from.len() as f64;
    let mean = |ps: &[Vector3<f64>]| ps.iter().sum::<Vector3<f64>>() / n;
    let (mf, mt) = (mean(from), mean(to));
    let mut cov = Matrix3::zeros();
    let mut var_from = 0.0;
    for (f, t) in from.iter().zip(to) {
        let (df, dt) = (f - mf, t - mt);
        cov += dt * df.transpose();
        var_from += df.norm_squared();
    }
    cov /= n;
    var_from /= n;
    if var_from < 1e-24 {
        bail!("the estimated points coincide");
    }
    let svd = cov.svd(true, true);
    let (Some(u), Some(v_t)) = (svd.u, svd.v_t) else {
        bail!("SVD failed");
    };
    let mut s = Matrix3::identity();
    if (u.determinant() * v_t.determinant()) < 0.0 {
        s[(2, 2)] = -1.0;
    }
    let rotation = u * s * v_t;
    let scale = (Matrix3::from_diagonal(&svd.singular_values) * s).trace() / var_from;
    let translation = mt - scale * (rotation * mf);
    Ok(Similarity {
        scale,
        rotation,
        translation,
    })
}

/// Angle of a rotation matrix, in degrees.
pub fn rotation_angle_deg(r: &Matrix3<f64>) -> f64 {
    ((r.trace() - 1.0) / 2.0)
        .clamp(-1.0, 1.0)
        .acos()
        .to_degrees()
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct SfmEvaluation {
    pub registered: usize,
    pub total: usize,
    /// Largest distance of a true camera centre from their centroid (metres).
    pub extent: f64,
    pub centre_err_mean: f64,
    pub centre_err_max: f64,
    pub rot_err_mean_deg: f64,
    pub rot_err_max_deg: f64,
    /// Per image: (name, centre error in metres, rotation error in degrees).
    pub per_image: Vec<(String, f64, f64)>,
    /// Estimated focal length(s) scaled to the true image size, against the truth.
    pub focal: Option<(f64, f64)>,
}

impl SfmEvaluation {
    /// The largest centre error as a percentage of the extent (the stricter reading).
    pub fn centre_err_pct(&self) -> f64 {
        100.0 * self.centre_err_max / self.extent
    }
}

/// Aligns the registered images' centres to the truth and measures what is left.
pub fn evaluate(
    model: &Reconstruction,
    truth: &BTreeMap<String, TrueCamera>,
) -> anyhow::Result<SfmEvaluation> {
    let pairs: Vec<_> = model
        .images
        .iter()
        .filter_map(|image| truth.get(&image.name).map(|t| (image, t)))
        .collect();
    if pairs.len() < 3 {
        bail!(
            "only {} registered images have ground truth (names must match the .camera files)",
            pairs.len()
        );
    }
    let from: Vec<_> = pairs.iter().map(|(i, _)| i.centre()).collect();
    let to: Vec<_> = pairs.iter().map(|(_, t)| t.centre).collect();
    let sim = umeyama(&from, &to)?;
    let mut per_image = Vec::new();
    for ((image, t), c) in pairs.iter().zip(&from) {
        let centre_err = (sim.apply(c) - t.centre).norm();
        // Estimated camera → world(truth) = S_R · R_estᵀ; compare with the true camera → world.
        let est = sim.rotation * image.rotation().transpose();
        let rot_err = rotation_angle_deg(&(t.rotation.transpose() * est));
        per_image.push((image.name.clone(), centre_err, rot_err));
    }
    #[allow(clippy::cast_precision_loss)]
    let n = per_image.len() as f64;
    let centroid = to.iter().sum::<Vector3<f64>>() / n;
    let extent = to.iter().map(|c| (c - centroid).norm()).fold(0.0, f64::max);
    let focal = pairs.first().map(|(image, t)| {
        let camera = &model.cameras[&image.camera_id];
        let (fx, fy, ..) = camera.intrinsics();
        let scale = f64::from(t.width) / f64::from(camera.width);
        (
            scale * f64::midpoint(fx, fy),
            f64::midpoint(t.k[(0, 0)], t.k[(1, 1)]),
        )
    });
    Ok(SfmEvaluation {
        registered: model.images.len(),
        total: truth.len(),
        extent,
        centre_err_mean: per_image.iter().map(|p| p.1).sum::<f64>() / n,
        centre_err_max: per_image.iter().map(|p| p.1).fold(0.0, f64::max),
        rot_err_mean_deg: per_image.iter().map(|p| p.2).sum::<f64>() / n,
        rot_err_max_deg: per_image.iter().map(|p| p.2).fold(0.0, f64::max),
        per_image,
        focal,
    })
}

/// Per registered image of a synthetic orbit: (name, distance in metres between its camera
/// centre in a georegistered model and its true position in the same east-north-up frame).
pub fn georegistration_errors(
    model: &Reconstruction,
    truth: &crate::synth::Truth,
    origin: crate::geo::GeoPoint,
) -> Vec<(String, f64)> {
    let frame = crate::geo::EnuFrame::new(origin);
    model
        .images
        .iter()
        .filter_map(|image| {
            let view = truth.views.iter().find(|v| v.name == image.name)?;
            let t = Vector3::from(frame.to_local(&view.position));
            Some((image.name.clone(), (image.centre() - t).norm()))
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::cast_possible_truncation)]
mod tests {
    use super::*;
    use nalgebra::Rotation3;

    #[test]
    fn umeyama_recovers_a_known_similarity() {
        let rot = Rotation3::from_euler_angles(0.3, -0.7, 1.9).into_inner();
        let from: Vec<_> = [
            [0.0, 0.0, 0.0],
            [1.0, 0.0, 0.0],
            [0.0, 2.0, 0.0],
            [0.5, 0.5, 3.0],
        ]
        .iter()
        .map(|p| Vector3::from(*p))
        .collect();
        let to: Vec<_> = from
            .iter()
            .map(|p| 2.5 * (rot * p) + Vector3::new(10.0, -4.0, 1.0))
            .collect();
        let sim = umeyama(&from, &to).unwrap();
        assert!((sim.scale - 2.5).abs() < 1e-9);
        assert!(rotation_angle_deg(&(sim.rotation.transpose() * rot)) < 1e-6);
        for (f, t) in from.iter().zip(&to) {
            assert!((sim.apply(f) - t).norm() < 1e-9);
        }
    }

    #[test]
    fn umeyama_refuses_degenerate_input() {
        let p = Vector3::new(1.0, 2.0, 3.0);
        assert!(umeyama(&[p, p, p], &[p, p, p]).is_err());
        assert!(umeyama(&[p, p], &[p, p]).is_err());
    }

    #[test]
    fn strecha_files_parse_and_bad_ones_do_not() {
        let text = "2759.48 0 1520.69\n0 2764.16 1006.81\n0 0 1\n0 0 0\n\
                    0.450927 -0.0945642 -0.887537\n-0.892535 -0.0401974 -0.449183\n\
                    0.00679989 0.994707 -0.102528\n-7.28137 -7.57667 0.204446\n3072 2048\n";
        let cam = parse_strecha(text).unwrap();
        assert_eq!((cam.width, cam.height), (3072, 2048));
        assert!((cam.centre.x + 7.28137).abs() < 1e-12);
        assert!(parse_strecha("1 2 3").is_err());
        assert!(parse_strecha(&text.replace("3072", "abc")).is_err());
        assert!(parse_strecha(&text.replace("3072", "-3")).is_err());
    }
}
