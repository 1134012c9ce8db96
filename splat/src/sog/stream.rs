//! What a streaming reader needs to know about a SOG's files before they have all arrived: the
//! images an unbundled SOG's `meta.json` names, and — for a `.sog` bundle whose central directory
//! came first — where each entry will lie and which images make the model without its higher SH
//! bands (drawn first, while the SH palette streams in). No I/O: the browser viewer does the
//! fetching and asks these questions of the bytes it has.

use std::borrow::Cow;

use crate::error::FormatError;
use crate::zip;
use crate::GaussianCloud;

fn bad(message: impl Into<String>) -> FormatError {
    FormatError::BadSog(message.into())
}

/// The image files an unbundled SOG's `meta.json` names, in order of first mention, each checked
/// to be a plain file name (a meta.json must not send a reader up or across folders).
pub fn files(meta: &[u8]) -> Result<Vec<String>, FormatError> {
    let value: serde_json::Value = serde_json::from_slice(meta)
        .map_err(|e| bad(format!("meta.json is not valid JSON: {e}")))?;
    let mut names: Vec<String> = Vec::new();
    let sections = value.as_object().into_iter().flat_map(|o| o.values());
    for files in sections.filter_map(|s| s.get("files").and_then(|f| f.as_array())) {
        for f in files {
            let name = f
                .as_str()
                .ok_or_else(|| bad("meta.json lists a file name that is not text"))?;
            if name.is_empty() || name.contains(['/', '\\']) || name.contains("..") {
                return Err(bad(format!(
                    "meta.json names '{name}', which is not a plain file name"
                )));
            }
            if !names.iter().any(|n| n == name) {
                names.push(name.to_owned());
            }
        }
    }
    if names.is_empty() {
        return Err(bad("meta.json names no image files: is this a SOG?"));
    }
    Ok(names)
}

/// What a bundle's tail says before its body arrives: where each entry will lie, and the
/// `meta.json` of the model without its higher SH bands, which can be drawn as soon as the
/// images it names are in.
#[derive(Debug, Clone)]
pub struct BundlePlan {
    entries: Vec<zip::Located>,
    core_meta: Vec<u8>,
    core_files: Vec<String>,
}

impl BundlePlan {
    /// The plan from `tail`, the bundle's last bytes starting at offset `base`. `None` when the
    /// tail holds no central directory or no `meta.json`, or when the model has no higher SH
    /// bands (then there is nothing to draw early: the core is the whole model).
    pub fn from_tail(tail: &[u8], base: usize) -> Option<Self> {
        let entries = zip::directory(tail, base).ok()?;
        let meta = entries.iter().find(|e| e.name == "meta.json")?;
        let in_tail = zip::Located {
            header: meta.header.checked_sub(base)?,
            ..meta.clone()
        };
        let meta = zip::entry_data(tail, &in_tail).ok()??;
        let mut meta: serde_json::Value = serde_json::from_slice(meta).ok()?;
        meta.as_object_mut()?.remove("shN")?;
        let core_meta = meta.to_string().into_bytes();
        let core_files = files(&core_meta).ok()?;
        Some(Self {
            entries,
            core_meta,
            core_files,
        })
    }

    /// The images the model without its higher SH bands needs.
    pub fn core_files(&self) -> &[String] {
        &self.core_files
    }

    /// Entry `name` of the bundle, once all of it is in `bytes` (the bundle from its start).
    pub fn arrived<'b>(&self, bytes: &'b [u8], name: &str) -> Option<&'b [u8]> {
        let entry = self.entries.iter().find(|e| e.name == name)?;
        zip::entry_data(bytes, entry).ok()?
    }

    /// Whether every image the model without its higher SH bands needs is in `bytes`.
    pub fn core_arrived(&self, bytes: &[u8]) -> bool {
        self.core_files
            .iter()
            .all(|f| self.arrived(bytes, f).is_some())
    }

    /// The model without its higher SH bands (`None` until its images have arrived, or if they
    /// do not decode: the whole model's decode will say why).
    pub fn decode_core(&self, bytes: &[u8]) -> Option<GaussianCloud> {
        super::decode(&self.core_meta, |name| {
            self.arrived(bytes, name)
                .map(Cow::Borrowed)
                .ok_or_else(|| bad(format!("{name} has not arrived")))
        })
        .ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scene(sh_degree: u8) -> GaussianCloud {
        let n = 200;
        #[allow(clippy::cast_precision_loss)]
        GaussianCloud {
            positions: (0..n).map(|i| [i as f32 * 0.01, 0.5, -1.0]).collect(),
            log_scales: vec![[-2.0, -3.0, -4.0]; n],
            rotations: vec![[1.0, 0.0, 0.0, 0.0]; n],
            opacity_logits: (0..n).map(|i| i as f32 / 50.0 - 3.0).collect(),
            sh_dc: vec![[0.2, -0.1, 0.4]; n],
            sh_degree,
            sh_rest: (0..n * crate::cloud::sh_rest_coeffs(sh_degree) * 3)
                .map(|i| (i % 17) as f32 / 20.0 - 0.4)
                .collect(),
        }
    }

    #[test]
    fn meta_json_names_plain_files_only() {
        let ok = br#"{"means":{"files":["means_l.webp","means_u.webp"]},"quats":{"files":["quats.webp"]},"version":2}"#;
        assert_eq!(
            files(ok).expect("files"),
            ["means_l.webp", "means_u.webp", "quats.webp"]
        );
        for hostile in [
            r#"{"means":{"files":["../secret.webp"]}}"#,
            r#"{"means":{"files":["a/b.webp"]}}"#,
            r#"{"means":{"files":["a\\b.webp"]}}"#,
            r#"{"means":{"files":[""]}}"#,
            r#"{"means":{"files":[7]}}"#,
            r#"{"version":2}"#,
            "not json",
        ] {
            assert!(files(hostile.as_bytes()).is_err(), "{hostile}");
        }
    }

    #[test]
    fn a_bundle_is_drawn_without_its_sh_bands_once_their_images_arrive() {
        let cloud = scene(2);
        let bundle = super::super::encode::encode(&cloud, |_| {})
            .expect("encodes")
            .bundle()
            .expect("bundle");
        // The reader first has the bundle's tail: from meta.json (written last) to the end.
        let base = crate::zip::directory(&bundle, 0)
            .expect("directory")
            .iter()
            .find(|e| e.name == "meta.json")
            .expect("meta.json")
            .header;
        assert!(base > 0);
        let short = bundle.len() - 100;
        assert!(
            BundlePlan::from_tail(&bundle[short..], short).is_none(),
            "a tail without meta.json gives no plan"
        );
        let plan = BundlePlan::from_tail(&bundle[base..], base).expect("a plan");
        assert!(!plan.core_files().is_empty());
        assert!(
            plan.core_files().iter().all(|f| !f.starts_with("shN")),
            "{:?}",
            plan.core_files()
        );
        assert!(!plan.core_arrived(&bundle[..16]), "nothing has arrived");
        assert!(plan.decode_core(&bundle[..16]).is_none());
        assert!(plan.core_arrived(&bundle));
        let core = plan.decode_core(&bundle).expect("the core decodes");
        let whole = crate::sog::decode_bundle(&bundle).expect("the whole decodes");
        assert_eq!(core.len(), cloud.len());
        assert_eq!(core.sh_degree, 0, "drawn with base colours first");
        assert_eq!(core.positions, whole.positions);
        assert_eq!(core.sh_dc, whole.sh_dc);
    }

    #[test]
    fn a_bundle_without_sh_bands_has_nothing_to_draw_early() {
        let bundle = super::super::encode::encode(&scene(0), |_| {})
            .expect("encodes")
            .bundle()
            .expect("bundle");
        assert!(BundlePlan::from_tail(&bundle, 0).is_none());
        assert!(BundlePlan::from_tail(b"not a zip at all, just bytes", 0).is_none());
    }
}
