//! Native frame time of the viewer's renderer (on lavapipe where there is no GPU): for each scene
//! (a PLY, a `.sog`, or a SOG folder / `meta.json`), 12 frames at 1280×720 while orbiting, and
//! the median sort and sort + draw + read-back times, with the CPU sort and with the GPU sort (whose
//! time is inside the frame's GPU work). Run by scripts/bench-viewer.sh.

use std::borrow::Cow;
use std::path::Path;
use viewer::camera::{OrbitCamera, UpAxis};
use viewer::headless::{Headless, SortOn};

fn load(path: &Path) -> Result<splat::GaussianCloud, String> {
    let meta = if path.is_dir() {
        path.join("meta.json")
    } else {
        path.to_path_buf()
    };
    let bytes = std::fs::read(&meta).map_err(|e| format!("{}: {e}", meta.display()))?;
    let dir = meta.parent().unwrap_or(Path::new(".")).to_path_buf();
    let cloud = if bytes.starts_with(b"ply") {
        splat::ply::read(&bytes)
    } else if bytes.starts_with(b"PK") {
        splat::sog::decode_bundle(&bytes)
    } else {
        splat::sog::decode(&bytes, |name| {
            std::fs::read(dir.join(name))
                .map(Cow::Owned)
                .map_err(|e| splat::FormatError::BadSog(format!("{name}: {e}")))
        })
    };
    cloud.map_err(|e| e.to_string())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let open = |sort| match Headless::with_sort(sort) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("bench_native: {e}");
            std::process::exit(1);
        }
    };
    let mut renderers = [open(SortOn::Cpu), open(SortOn::Gpu)];
    println!("adapter: {}", renderers[0].adapter_name);
    for arg in std::env::args().skip(1) {
        let cloud = match load(Path::new(&arg)) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("bench_native: {e}");
                std::process::exit(1);
            }
        };
        for gpu in &mut renderers {
            if let Err(e) = gpu.set_cloud(&cloud) {
                eprintln!("bench_native: {e}");
                std::process::exit(1);
            }
            let start = OrbitCamera::framing(&cloud.positions, UpAxis::NegY);
            let (mut sort, mut total) = (Vec::new(), Vec::new());
            for i in 0..12u8 {
                let orbit = OrbitCamera {
                    yaw: f32::from(i) * 0.1,
                    ..start
                };
                let (_, t) = gpu
                    .render(&orbit.camera(1280, 720), [0.0; 3])
                    .unwrap_or_else(|e| panic!("render: {e}"));
                // The first frame warms caches and compiles pipelines; leave it out.
                if i > 0 {
                    sort.push(t.sort.as_secs_f64() * 1e3);
                    total.push((t.sort + t.gpu).as_secs_f64() * 1e3);
                }
            }
            let sorted_on = if gpu.sorting_on() == SortOn::Gpu {
                "GPU sort in frame".to_owned()
            } else {
                format!("CPU sort {:5.1} ms", median(sort))
            };
            println!(
                "{:>9} splats  native 1280x720: frame {:7.1} ms median ({sorted_on})  {}",
                cloud.len(),
                median(total),
                arg
            );
        }
    }
}
