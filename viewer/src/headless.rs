//! Native, windowless rendering with the viewer's own renderer: for `spaceport render`, golden
//! tests, thumbnails and benchmarks. Any wgpu adapter will do; on a machine without a GPU it is
//! lavapipe (Mesa's Vulkan on the CPU).

use crate::gpu_sort::GpuSorter;
use crate::renderer::Renderer;
use crate::scene::{self, PackedSplats};
use crate::sort::DepthSorter;
use splat::render::{Camera, Image};
use splat::GaussianCloud;
use std::time::{Duration, Instant};

/// Linear half floats: blending many layers in 8 bits would round at every layer.
const FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::Rgba16Float;

#[derive(Debug, thiserror::Error)]
pub enum HeadlessError {
    #[error(
        "no GPU adapter (on Debian without a GPU, install mesa-vulkan-drivers for lavapipe): {0}"
    )]
    NoAdapter(String),
    #[error("the GPU refused a device: {0}")]
    NoDevice(String),
    #[error(transparent)]
    Pack(#[from] scene::PackError),
    #[error("reading the image back failed: {0}")]
    Readback(String),
}

/// Time spent in each part of one frame.
#[derive(Debug, Clone, Copy, Default)]
pub struct FrameTimes {
    /// The CPU sort and the upload of its order (zero when the GPU sorts).
    pub sort: Duration,
    /// The GPU's work — its sort, if it sorts, and the draw — and the wait for it to finish.
    pub gpu: Duration,
}

/// Where the depth sort runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortOn {
    /// The radix sort on the CPU ([`DepthSorter`]).
    Cpu,
    /// Compute shaders ([`GpuSorter`]) where the adapter has them, else the CPU.
    Gpu,
    /// The GPU where it is hardware, else the CPU ([`crate::gpu_sort::is_software`]).
    Auto,
}

pub struct Headless {
    adapter: wgpu::Adapter,
    device: wgpu::Device,
    queue: wgpu::Queue,
    renderer: Renderer,
    sorter: DepthSorter,
    sort_on: SortOn,
    gpu_sorter: Option<GpuSorter>,
    order: Vec<u32>,
    positions: Vec<[f32; 3]>,
    pub adapter_name: String,
    max_dimension: u32,
}

impl Headless {
    /// A renderer on the first adapter wgpu finds, sorting on the GPU if it is hardware.
    pub fn new() -> Result<Self, HeadlessError> {
        Self::with_sort(SortOn::Auto)
    }

    /// A renderer that sorts where `sort_on` says.
    pub fn with_sort(sort_on: SortOn) -> Result<Self, HeadlessError> {
        let instance =
            wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
        let adapter = pollster::block_on(instance.request_adapter(&wgpu::RequestAdapterOptions {
            power_preference: wgpu::PowerPreference::HighPerformance,
            ..wgpu::RequestAdapterOptions::default()
        }))
        .map_err(|e| HeadlessError::NoAdapter(e.to_string()))?;
        let limits = adapter.limits();
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("spaceport headless"),
            required_limits: wgpu::Limits {
                max_texture_dimension_2d: limits.max_texture_dimension_2d,
                max_storage_buffer_binding_size: limits.max_storage_buffer_binding_size,
                max_compute_workgroups_per_dimension: limits.max_compute_workgroups_per_dimension,
                ..wgpu::Limits::downlevel_defaults()
            },
            ..wgpu::DeviceDescriptor::default()
        }))
        .map_err(|e| HeadlessError::NoDevice(e.to_string()))?;
        let renderer = Renderer::new(&device, FORMAT);
        Ok(Self {
            adapter: adapter.clone(),
            device,
            queue,
            renderer,
            sorter: DepthSorter::default(),
            sort_on,
            gpu_sorter: None,
            order: Vec::new(),
            positions: Vec::new(),
            adapter_name: adapter.get_info().name,
            max_dimension: limits.max_texture_dimension_2d,
        })
    }

    /// Uploads `cloud` for the following renders.
    pub fn set_cloud(&mut self, cloud: &GaussianCloud) -> Result<(), HeadlessError> {
        let packed: PackedSplats = scene::pack(cloud, self.max_dimension)?;
        self.renderer.set_scene(&self.device, &self.queue, &packed);
        let wanted = match self.sort_on {
            SortOn::Cpu => false,
            SortOn::Gpu => true,
            SortOn::Auto => !crate::gpu_sort::is_software(&self.adapter.get_info()),
        };
        self.gpu_sorter = (wanted && GpuSorter::supported(&self.adapter, packed.positions.len()))
            .then(|| GpuSorter::new(&self.device, &self.queue, &packed.positions));
        if let Some(sorter) = &self.gpu_sorter {
            self.renderer
                .set_sorted_pairs(sorter.sorted(), sorter.count());
        }
        self.positions = packed.positions;
        Ok(())
    }

    /// Where the current cloud is sorted: [`SortOn::Gpu`] or [`SortOn::Cpu`].
    pub fn sorting_on(&self) -> SortOn {
        if self.gpu_sorter.is_some() {
            SortOn::Gpu
        } else {
            SortOn::Cpu
        }
    }

    /// Renders the current cloud from `camera` over `background`.
    pub fn render(
        &mut self,
        camera: &Camera,
        background: [f32; 3],
    ) -> Result<(Image, FrameTimes), HeadlessError> {
        let start = Instant::now();
        if self.gpu_sorter.is_none() {
            self.sorter.sort(&self.positions, camera, &mut self.order);
            self.renderer.set_order(&self.queue, &self.order);
        }
        let sorted = Instant::now();
        let size = wgpu::Extent3d {
            width: camera.width,
            height: camera.height,
            depth_or_array_layers: 1,
        };
        let texture = self.device.create_texture(&wgpu::TextureDescriptor {
            label: Some("frame"),
            size,
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            format: FORMAT,
            usage: wgpu::TextureUsages::RENDER_ATTACHMENT | wgpu::TextureUsages::COPY_SRC,
            view_formats: &[],
        });
        let view = texture.create_view(&wgpu::TextureViewDescriptor::default());
        // Rows are padded to the copy alignment.
        let row = (camera.width * 8).next_multiple_of(wgpu::COPY_BYTES_PER_ROW_ALIGNMENT);
        let readback = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("frame readback"),
            size: u64::from(row) * u64::from(camera.height),
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let mut encoder = self
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("frame"),
            });
        if let Some(sorter) = &self.gpu_sorter {
            sorter.encode(&self.queue, &mut encoder, camera);
        }
        self.renderer
            .draw(&self.queue, &mut encoder, &view, camera, background);
        encoder.copy_texture_to_buffer(
            wgpu::TexelCopyTextureInfo {
                texture: &texture,
                mip_level: 0,
                origin: wgpu::Origin3d::ZERO,
                aspect: wgpu::TextureAspect::All,
            },
            wgpu::TexelCopyBufferInfo {
                buffer: &readback,
                layout: wgpu::TexelCopyBufferLayout {
                    offset: 0,
                    bytes_per_row: Some(row),
                    rows_per_image: Some(camera.height),
                },
            },
            size,
        );
        self.queue.submit([encoder.finish()]);
        let slice = readback.slice(..);
        let (tx, rx) = std::sync::mpsc::channel();
        slice.map_async(wgpu::MapMode::Read, move |r| {
            let _ = tx.send(r);
        });
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| HeadlessError::Readback(e.to_string()))?;
        rx.recv()
            .map_err(|e| HeadlessError::Readback(e.to_string()))?
            .map_err(|e| HeadlessError::Readback(e.to_string()))?;
        let done = Instant::now();
        let data = slice
            .get_mapped_range()
            .map_err(|e| HeadlessError::Readback(e.to_string()))?;
        let mut rgb = Vec::with_capacity((camera.width * camera.height) as usize);
        for y in 0..camera.height as usize {
            let line = &data[y * row as usize..][..camera.width as usize * 8];
            for px in line.chunks_exact(8) {
                let c = |i: usize| half::f16::from_le_bytes([px[i], px[i + 1]]).to_f32();
                rgb.push([c(0), c(2), c(4)]);
            }
        }
        drop(data);
        readback.unmap();
        Ok((
            Image {
                width: camera.width,
                height: camera.height,
                rgb,
            },
            FrameTimes {
                sort: sorted - start,
                gpu: done - sorted,
            },
        ))
    }
}
