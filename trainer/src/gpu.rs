//! The training rasterizer on a GPU through wgpu compute (Vulkan, Metal, DX12; lavapipe in
//! tests): the per-pixel compositing forward and its backward pass (`raster.wgsl`), the work
//! that grows with pixels × overlapping Gaussians and dominates a CPU iteration. The host bins
//! and sorts the tiles with the CPU's own [`bin_tiles`], so both backends composite the same
//! lists in the same order; projection, the loss and Adam stay shared.
//!
//! The backward pass is deterministic: each tile sums its pixels' gradient terms per list entry
//! in a fixed tree order on the GPU, and the host adds the entries of each Gaussian in list
//! order — no float atomics, whose order would change from run to run.

use std::sync::mpsc;

use wgpu::util::DeviceExt as _;

use crate::raster::{bin_tiles, Frame, Grad2d, Proj, RasterError, Rasterizer, TILE};

const TERMS: usize = 9;
const SPLAT_BYTES: usize = 64;

/// A GPU device with the two compute pipelines.
pub struct Gpu {
    device: wgpu::Device,
    queue: wgpu::Queue,
    forward: wgpu::ComputePipeline,
    backward: wgpu::ComputePipeline,
    adapter: String,
    software: bool,
}

impl Gpu {
    /// The first high-performance adapter wgpu finds (`WGPU_BACKEND`, `WGPU_ADAPTER_NAME` choose
    /// one). Fails with a sentence saying so when there is none.
    pub fn new() -> Result<Self, RasterError> {
        let instance =
            wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
        let adapter = pollster::block_on(instance.request_adapter(&wgpu::RequestAdapterOptions {
            power_preference: wgpu::PowerPreference::HighPerformance,
            ..wgpu::RequestAdapterOptions::default()
        }))
        .map_err(|e| {
            RasterError(format!(
                "no GPU adapter for the wgpu backend ({e}); train with --backend cpu"
            ))
        })?;
        let info = adapter.get_info();
        let limits = adapter.limits();
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("spaceport trainer"),
            required_limits: wgpu::Limits {
                // Big scenes: the tile lists and gradient entries outgrow the 128 MiB default.
                max_storage_buffer_binding_size: limits.max_storage_buffer_binding_size,
                max_buffer_size: limits.max_buffer_size,
                max_storage_buffers_per_shader_stage: 6,
                ..wgpu::Limits::downlevel_defaults()
            },
            ..wgpu::DeviceDescriptor::default()
        }))
        .map_err(|e| RasterError(format!("the GPU refused a device: {e}")))?;
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("raster.wgsl"),
            source: wgpu::ShaderSource::Wgsl(include_str!("raster.wgsl").into()),
        });
        let pipeline = |entry: &str| {
            device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(entry),
                layout: None,
                module: &module,
                entry_point: Some(entry),
                compilation_options: wgpu::PipelineCompilationOptions::default(),
                cache: None,
            })
        };
        let (forward, backward) = (pipeline("forward"), pipeline("backward"));
        Ok(Self {
            device,
            queue,
            forward,
            backward,
            adapter: format!("{} ({:?})", info.name, info.backend),
            software: info.device_type == wgpu::DeviceType::Cpu,
        })
    }

    /// Whether the adapter is a CPU emulation (lavapipe, SwiftShader): right for tests, but
    /// slower than the CPU backend, so automatic choice passes it over.
    pub fn is_software(&self) -> bool {
        self.software
    }

    fn storage(&self, label: &str, contents: &[u8]) -> wgpu::Buffer {
        // wgpu refuses a binding smaller than one element: an empty list still gets one
        // (zeroed) projected Gaussian's worth, which no tile list points at.
        let contents = if contents.is_empty() {
            &[0; SPLAT_BYTES]
        } else {
            contents
        };
        self.device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some(label),
                contents,
                usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
            })
    }

    fn empty(&self, label: &str, bytes: usize) -> wgpu::Buffer {
        self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: (bytes.max(4) as u64).next_multiple_of(4),
            usage: wgpu::BufferUsages::STORAGE
                | wgpu::BufferUsages::COPY_SRC
                | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        })
    }

    /// Runs `pipeline` over every tile with `buffers` bound at 0, 1, 2…, then copies `read`
    /// back to the host.
    fn run(
        &self,
        pipeline: &wgpu::ComputePipeline,
        buffers: &[&wgpu::Buffer],
        tiles: (u32, u32),
        read: &[&wgpu::Buffer],
    ) -> Result<Vec<Vec<u8>>, RasterError> {
        let entries: Vec<wgpu::BindGroupEntry> = buffers
            .iter()
            .zip(0u32..)
            .map(|(b, binding)| wgpu::BindGroupEntry {
                binding,
                resource: b.as_entire_binding(),
            })
            .collect();
        let group = self.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: None,
            layout: &pipeline.get_bind_group_layout(0),
            entries: &entries,
        });
        let staging: Vec<wgpu::Buffer> = read
            .iter()
            .map(|b| {
                self.device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some("read-back"),
                    size: b.size(),
                    usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                    mapped_at_creation: false,
                })
            })
            .collect();
        let mut encoder = self
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor::default());
        {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor::default());
            pass.set_pipeline(pipeline);
            pass.set_bind_group(0, &group, &[]);
            pass.dispatch_workgroups(tiles.0, tiles.1, 1);
        }
        for (from, to) in read.iter().zip(&staging) {
            encoder.copy_buffer_to_buffer(from, 0, to, 0, from.size());
        }
        self.queue.submit([encoder.finish()]);
        let (tx, rx) = mpsc::channel();
        for (i, s) in staging.iter().enumerate() {
            let tx = tx.clone();
            s.slice(..)
                .map_async(wgpu::MapMode::Read, move |r| drop(tx.send((i, r))));
        }
        drop(tx);
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| RasterError(format!("the GPU did not finish: {e}")))?;
        for (_, r) in rx {
            r.map_err(|e| RasterError(format!("reading the GPU's results failed: {e}")))?;
        }
        staging
            .iter()
            .map(|s| {
                let view = s
                    .slice(..)
                    .get_mapped_range()
                    .map_err(|e| RasterError(format!("reading the GPU's results failed: {e}")))?;
                Ok(view.to_vec())
            })
            .collect()
    }

    /// Uploads what both passes read: parameters, projected Gaussians, tile lists.
    fn inputs(
        &self,
        projs: &[Option<Proj>],
        width: usize,
        height: usize,
        tiles_x: usize,
        tiles: &[Vec<u32>],
        background: [f32; 3],
    ) -> Result<[wgpu::Buffer; 4], RasterError> {
        let too_big = |what: &str| RasterError(format!("{what} exceeds the GPU's 32-bit indices"));
        let mut params = Vec::with_capacity(32);
        for v in [width, height, tiles_x, 0] {
            params.extend(
                u32::try_from(v)
                    .map_err(|_| too_big("the image"))?
                    .to_le_bytes(),
            );
        }
        for v in [background[0], background[1], background[2], 0.0] {
            params.extend(v.to_le_bytes());
        }
        let params = self
            .device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some("params"),
                contents: &params,
                usage: wgpu::BufferUsages::UNIFORM,
            });
        let mut splats = vec![0u8; projs.len() * SPLAT_BYTES];
        for (s, out) in projs.iter().zip(splats.chunks_exact_mut(SPLAT_BYTES)) {
            let Some(s) = s else { continue };
            let f = [
                s.xy[0],
                s.xy[1],
                s.opacity,
                0.0,
                s.conic[0],
                s.conic[1],
                s.conic[2],
                0.0,
                s.colour[0],
                s.colour[1],
                s.colour[2],
                0.0,
            ];
            for (i, v) in f.iter().enumerate() {
                out[i * 4..i * 4 + 4].copy_from_slice(&v.to_le_bytes());
            }
            for (i, v) in s.bbox.iter().enumerate() {
                out[48 + i * 4..52 + i * 4].copy_from_slice(&v.to_le_bytes());
            }
        }
        let mut offsets = Vec::with_capacity((tiles.len() + 1) * 4);
        let mut ids = Vec::new();
        let mut at = 0u32;
        for list in tiles {
            offsets.extend(at.to_le_bytes());
            at = u32::try_from(list.len())
                .ok()
                .and_then(|n| at.checked_add(n))
                .ok_or_else(|| too_big("the tile lists"))?;
            ids.extend(list.iter().flat_map(|id| id.to_le_bytes()));
        }
        offsets.extend(at.to_le_bytes());
        Ok([
            params,
            self.storage("splats", &splats),
            self.storage("offsets", &offsets),
            self.storage("ids", &ids),
        ])
    }
}

fn words(bytes: &[u8]) -> impl Iterator<Item = [u8; 4]> + '_ {
    bytes.chunks_exact(4).map(|w| [w[0], w[1], w[2], w[3]])
}

fn tile_grid(width: usize, height: usize) -> Result<(u32, u32), RasterError> {
    let dim = |v: usize| {
        u32::try_from(v.div_ceil(TILE)).map_err(|_| RasterError("image too large".into()))
    };
    Ok((dim(width)?, dim(height)?))
}

impl Rasterizer for Gpu {
    fn name(&self) -> String {
        format!("wgpu: {}", self.adapter)
    }

    fn forward(
        &self,
        projs: &[Option<Proj>],
        width: usize,
        height: usize,
        background: [f32; 3],
    ) -> Result<Frame, RasterError> {
        let (tiles_x, tiles) = bin_tiles(projs, width, height);
        let [params, splats, offsets, ids] =
            self.inputs(projs, width, height, tiles_x, &tiles, background)?;
        let pixels = self.empty("pixels", width * height * 16);
        let last = self.empty("last", width * height * 4);
        let out = self.run(
            &self.forward,
            &[&params, &splats, &offsets, &ids, &pixels, &last],
            tile_grid(width, height)?,
            &[&pixels, &last],
        )?;
        let rgbt: Vec<f32> = words(&out[0]).map(f32::from_le_bytes).collect();
        let n = width * height;
        Ok(Frame {
            width,
            height,
            image: rgbt
                .chunks_exact(4)
                .take(n)
                .map(|p| [p[0], p[1], p[2]])
                .collect(),
            final_t: rgbt.chunks_exact(4).take(n).map(|p| p[3]).collect(),
            last: words(&out[1]).take(n).map(u32::from_le_bytes).collect(),
            tiles_x,
            tiles,
            background,
        })
    }

    fn backward(
        &self,
        frame: &Frame,
        projs: &[Option<Proj>],
        dl_dpixel: &[[f32; 3]],
    ) -> Result<Vec<Grad2d>, RasterError> {
        let (width, height) = (frame.width, frame.height);
        let [params, splats, offsets, ids] = self.inputs(
            projs,
            width,
            height,
            frame.tiles_x,
            &frame.tiles,
            frame.background,
        )?;
        let mut pixels = Vec::with_capacity(width * height * 16);
        for (dl, t) in dl_dpixel.iter().zip(&frame.final_t) {
            for v in [dl[0], dl[1], dl[2], *t] {
                pixels.extend(v.to_le_bytes());
            }
        }
        let pixels = self.storage("pixels", &pixels);
        let last = self.storage(
            "last",
            &frame
                .last
                .iter()
                .flat_map(|v| v.to_le_bytes())
                .collect::<Vec<u8>>(),
        );
        let listed: usize = frame.tiles.iter().map(Vec::len).sum();
        // Zeroed at creation: entries behind every pixel's last fragment are never written.
        let grads = self.empty("grads", listed * TERMS * 4);
        let out = self.run(
            &self.backward,
            &[&params, &splats, &offsets, &ids, &pixels, &last, &grads],
            tile_grid(width, height)?,
            &[&grads],
        )?;
        let terms: Vec<f32> = words(&out[0]).map(f32::from_le_bytes).collect();
        let mut total = vec![Grad2d::default(); projs.len()];
        for (id, e) in frame.tiles.iter().flatten().zip(terms.chunks_exact(TERMS)) {
            let g = &mut total[*id as usize];
            for c in 0..3 {
                g.colour[c] += e[c];
                g.conic[c] += e[4 + c];
            }
            g.opacity += e[3];
            g.xy[0] += e[7];
            g.xy[1] += e[8];
        }
        Ok(total)
    }
}
