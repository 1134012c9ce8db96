//! 3D Gaussian Splatting training on the CPU: [`raster`] (the differentiable tile rasterizer),
//! [`loss`] (L1 + D-SSIM), [`train`] (Adam, schedules, adaptive density control, evaluation).
//! The forward pass follows `splat::render` exactly, so the format core's reference renderer
//! is the oracle for the trainer's images.

pub mod loss;
pub mod model;
pub mod raster;
pub mod sh;
pub mod train;
