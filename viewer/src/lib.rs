//! The Gaussian-splat viewer. One wgpu renderer ([`renderer`]) draws instanced, depth-sorted
//! splats whose maths mirrors the format core's reference rasterizer; it runs in the browser
//! (WebGPU, or WebGL2 where no WebGPU adapter exists) and natively without a window
//! ([`headless`], lavapipe on a machine without a GPU). [`camera`] is the orbit/fly controller
//! both share, [`scene`] the GPU layout, [`gpu_sort`] the depth sort in compute shaders where the
//! adapter has them, [`sort`] the CPU depth sort elsewhere (in the browser, off the main thread in
//! a worker: `worker`).

pub mod camera;
pub mod gpu_sort;
#[cfg(not(target_arch = "wasm32"))]
pub mod headless;
pub mod renderer;
pub mod scene;
pub mod sort;
#[cfg(all(target_arch = "wasm32", feature = "web"))]
pub mod web;
#[cfg(all(target_arch = "wasm32", feature = "web"))]
pub mod worker;
