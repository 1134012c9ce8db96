//! Golden images: the viewer's wgpu renderer (here on lavapipe, Mesa's CPU Vulkan) against the
//! format core's CPU reference rasterizer, from the same cameras. The bar is PSNR ≥ 35 dB on
//! small known clouds (every SH degree, anisotropic, overlapping, partly behind the camera) and
//! on a real 125k-splat scene.

#![allow(clippy::unwrap_used)]

use splat::render::{psnr, render, Camera, Image};
use splat::{sog, GaussianCloud};
use std::borrow::Cow;
use std::path::PathBuf;
use viewer::camera::{OrbitCamera, UpAxis};
use viewer::headless::{Headless, SortOn};

const BAR_DB: f64 = 35.0;

/// A deterministic pseudo-random generator (SplitMix64), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f32 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        #[allow(clippy::cast_precision_loss)]
        let unit = (z >> 40) as f32 / (1u64 << 24) as f32;
        unit
    }

    fn range(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * self.next()
    }
}

fn random_cloud(n: usize, degree: u8, seed: u64) -> GaussianCloud {
    let mut rng = Rng(seed);
    let rest = 3 * splat::cloud::sh_rest_coeffs(degree);
    let mut c = GaussianCloud {
        sh_degree: degree,
        ..GaussianCloud::default()
    };
    for _ in 0..n {
        c.positions.push([
            rng.range(-1.0, 1.0),
            rng.range(-1.0, 1.0),
            rng.range(-1.0, 1.0),
        ]);
        c.log_scales.push([
            rng.range(-4.0, -1.5),
            rng.range(-4.0, -1.5),
            rng.range(-4.0, -1.5),
        ]);
        c.rotations.push([
            rng.range(-1.0, 1.0),
            rng.range(-1.0, 1.0),
            rng.range(-1.0, 1.0),
            rng.range(-1.0, 1.0),
        ]);
        c.opacity_logits.push(rng.range(-2.0, 4.0));
        c.sh_dc.push([
            rng.range(-1.5, 1.5),
            rng.range(-1.5, 1.5),
            rng.range(-1.5, 1.5),
        ]);
        for _ in 0..rest {
            c.sh_rest.push(rng.range(-0.3, 0.3));
        }
    }
    c
}

fn compare(gpu: &mut Headless, cloud: &GaussianCloud, camera: &Camera, what: &str) -> f64 {
    gpu.set_cloud(cloud).unwrap();
    // Every adapter wgpu finds here (lavapipe included) has compute shaders: these are the GPU
    // sort's golden tests too (the CPU sort draws the same: the last test).
    assert_eq!(gpu.sorting_on(), SortOn::Gpu);
    let background = [0.1, 0.2, 0.3];
    let (ours, _) = gpu.render(camera, background).unwrap();
    let reference = render(cloud, camera, background);
    let db = psnr(&ours, &reference);
    if db < BAR_DB {
        save(&ours, &format!("{what}-viewer"));
        save(&reference, &format!("{what}-reference"));
    }
    assert!(
        db >= BAR_DB,
        "{what}: viewer vs reference {db:.1} dB < {BAR_DB} dB on {} (images in {})",
        gpu.adapter_name,
        std::env::temp_dir().display()
    );
    db
}

fn save(img: &Image, name: &str) {
    let path = std::env::temp_dir().join(format!("spaceport-golden-{name}.ppm"));
    let mut out = format!("P6\n{} {}\n255\n", img.width, img.height).into_bytes();
    out.extend(img.to_rgb8());
    std::fs::write(path, out).unwrap();
}

#[test]
fn small_clouds_of_every_sh_degree_match_the_reference() {
    let mut gpu = Headless::with_sort(SortOn::Gpu).unwrap();
    for degree in 0..=3u8 {
        let cloud = random_cloud(300, degree, 7 + u64::from(degree));
        // Inside the cloud (some splats behind the camera or under the near plane) and outside.
        for (i, eye) in [[0.3f32, -0.2, -3.5], [2.5, 1.5, 2.0], [0.1, 0.1, -0.3]]
            .into_iter()
            .enumerate()
        {
            let camera = Camera::look_at(eye, [0.0; 3], [0.0, -1.0, 0.0], 0.9, 96, 72);
            let db = compare(&mut gpu, &cloud, &camera, &format!("sh{degree}-view{i}"));
            eprintln!("SH degree {degree}, view {i}: {db:.1} dB");
        }
    }
}

#[test]
fn a_single_gaussian_covers_the_pixels_the_reference_does() {
    // One splat whose 3σ box ends mid-pixel: both renderers must draw the same ring of pixels.
    let cloud = GaussianCloud {
        positions: vec![[0.013, -0.021, 5.0]],
        log_scales: vec![[0.07f32.ln(), 0.03f32.ln(), 0.05f32.ln()]],
        rotations: vec![[0.9, 0.1, 0.3, -0.2]],
        opacity_logits: vec![3.0],
        sh_dc: vec![[1.2, -0.4, 0.3]],
        sh_degree: 0,
        sh_rest: Vec::new(),
    };
    let camera = Camera::look_at([0.0; 3], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0], 0.6, 64, 64);
    let mut gpu = Headless::with_sort(SortOn::Gpu).unwrap();
    let db = compare(&mut gpu, &cloud, &camera, "single");
    assert!(
        db > 45.0,
        "one splat should match almost exactly: {db:.1} dB"
    );
}

#[test]
fn a_real_scene_matches_the_reference() {
    let dir =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/splats/playbot-lod2-125k");
    assert!(
        dir.is_dir(),
        "the shared scenes must sit beside the checkout: {}",
        dir.display()
    );
    let meta = std::fs::read(dir.join("meta.json")).unwrap();
    let cloud = sog::decode(&meta, |f| {
        Ok(Cow::Owned(std::fs::read(dir.join(f)).unwrap()))
    })
    .unwrap();
    let orbit = OrbitCamera::framing(&cloud.positions, UpAxis::NegY);
    let mut gpu = Headless::with_sort(SortOn::Gpu).unwrap();
    for (i, yaw) in [0.0f32, 2.1].into_iter().enumerate() {
        let camera = OrbitCamera { yaw, ..orbit }.camera(160, 120);
        let db = compare(&mut gpu, &cloud, &camera, &format!("playbot-{i}"));
        eprintln!("playbot 125k, yaw {yaw}: {db:.1} dB");
    }
}

#[test]
fn the_gpu_sort_draws_what_the_cpu_sort_draws() {
    // The same frames with either sort: the order is the same (up to depths equal within a last
    // bit of rounding), so the images are too.
    let mut gpu_sorted = Headless::with_sort(SortOn::Gpu).unwrap();
    let mut cpu_sorted = Headless::with_sort(SortOn::Cpu).unwrap();
    let cloud = random_cloud(6000, 2, 21);
    gpu_sorted.set_cloud(&cloud).unwrap();
    cpu_sorted.set_cloud(&cloud).unwrap();
    assert_eq!(gpu_sorted.sorting_on(), SortOn::Gpu);
    assert_eq!(cpu_sorted.sorting_on(), SortOn::Cpu);
    for eye in [[0.3f32, -0.2, -3.5], [2.5, 1.5, 2.0], [0.1, 0.1, -0.3]] {
        let camera = Camera::look_at(eye, [0.0; 3], [0.0, -1.0, 0.0], 0.9, 96, 72);
        let (a, _) = gpu_sorted.render(&camera, [0.0; 3]).unwrap();
        let (b, _) = cpu_sorted.render(&camera, [0.0; 3]).unwrap();
        let db = psnr(&a, &b);
        assert!(db >= 60.0, "GPU-sorted vs CPU-sorted frame: {db:.1} dB");
    }
}
