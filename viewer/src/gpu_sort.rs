//! The GPU depth sort (`sort.wgsl`): the CPU sort's order — farthest first, equal depths in index
//! order — computed where the splats already are, so a frame needs no sort on the CPU and no
//! upload of an order. Compute shaders are needed: WebGPU and native have them, WebGL2 does not
//! (there [`crate::sort::DepthSorter`] runs, in a worker in the browser).

use splat::render::{Camera, NEAR};

/// Whether an adapter is a CPU emulating a GPU (lavapipe, llvmpipe, SwiftShader, a browser's
/// fallback adapter), where the CPU sort is far faster: on lavapipe the GPU sort took 300 ms a
/// frame for 125k splats, the CPU sort 1.3 ms.
pub fn is_software(info: &wgpu::AdapterInfo) -> bool {
    let name = format!("{} {}", info.name, info.driver).to_lowercase();
    info.device_type == wgpu::DeviceType::Cpu
        || ["swiftshader", "llvmpipe", "lavapipe", "software"]
            .iter()
            .any(|s| name.contains(s))
}

/// Items per workgroup in every pass (16 rounds of 256 invocations).
const BLOCK: u32 = 4096;

#[repr(C)]
#[derive(Debug, Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Frame {
    row: [f32; 4],
    count: u32,
    blocks: u32,
    near: f32,
    _pad: u32,
}

/// The sort of one scene's splats: its positions and working buffers live on the GPU.
pub struct GpuSorter {
    keys: wgpu::ComputePipeline,
    histogram: wgpu::ComputePipeline,
    scan: wgpu::ComputePipeline,
    scatter: wgpu::ComputePipeline,
    frame: wgpu::Buffer,
    /// (splat index, depth key) pairs; the sorted ones end in `items[0]`.
    items: [wgpu::Buffer; 2],
    /// Pass p reads `items[p % 2]`, writes the other, on digit bits 8p..8p+8.
    passes: [wgpu::BindGroup; 4],
    count: u32,
    blocks: u32,
    /// Kept alive with the bind groups: on WebGPU, dropping a buffer destroys it at once.
    _buffers: Vec<wgpu::Buffer>,
}

impl GpuSorter {
    /// Whether `adapter` can run the sort for `count` splats (compute shaders, and buffers that
    /// large).
    pub fn supported(adapter: &wgpu::Adapter, count: usize) -> bool {
        let limits = adapter.limits();
        adapter
            .get_downlevel_capabilities()
            .flags
            .contains(wgpu::DownlevelFlags::COMPUTE_SHADERS)
            && limits.max_storage_buffers_per_shader_stage >= 4
            && limits.max_compute_invocations_per_workgroup >= 256
            && limits.max_compute_workgroup_size_x >= 256
            && (count as u64).saturating_mul(12)
                <= limits
                    .max_storage_buffer_binding_size
                    .min(limits.max_buffer_size)
            && count.div_ceil(BLOCK as usize)
                <= limits.max_compute_workgroups_per_dimension as usize
    }

    /// Uploads `positions` and prepares the sort of them.
    pub fn new(device: &wgpu::Device, queue: &wgpu::Queue, positions: &[[f32; 3]]) -> Self {
        let count = u32::try_from(positions.len()).unwrap_or(u32::MAX);
        let blocks = count.div_ceil(BLOCK).max(1);
        let shader = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("depth sort"),
            source: wgpu::ShaderSource::Wgsl(include_str!("sort.wgsl").into()),
        });
        let uniform = |binding| wgpu::BindGroupLayoutEntry {
            binding,
            visibility: wgpu::ShaderStages::COMPUTE,
            ty: wgpu::BindingType::Buffer {
                ty: wgpu::BufferBindingType::Uniform,
                has_dynamic_offset: false,
                min_binding_size: None,
            },
            count: None,
        };
        let storage = |binding, read_only| wgpu::BindGroupLayoutEntry {
            binding,
            visibility: wgpu::ShaderStages::COMPUTE,
            ty: wgpu::BindingType::Buffer {
                ty: wgpu::BufferBindingType::Storage { read_only },
                has_dynamic_offset: false,
                min_binding_size: None,
            },
            count: None,
        };
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("depth sort"),
            entries: &[
                uniform(0),
                uniform(1),
                storage(2, true),
                storage(3, true),
                storage(4, false),
                storage(5, false),
            ],
        });
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("depth sort"),
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        let pipeline = |entry: &str| {
            device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(entry),
                layout: Some(&pipeline_layout),
                module: &shader,
                entry_point: Some(entry),
                compilation_options: wgpu::PipelineCompilationOptions::default(),
                cache: None,
            })
        };
        let buffer = |label, size: u64, usage| {
            device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                // An empty binding is invalid: at least one element.
                size: size.max(16),
                usage,
                mapped_at_creation: false,
            })
        };
        let frame = buffer(
            "depth sort frame",
            std::mem::size_of::<Frame>() as u64,
            wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
        );
        let flat: Vec<f32> = positions.iter().flatten().copied().collect();
        let positions_buffer = buffer(
            "depth sort positions",
            flat.len() as u64 * 4,
            wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
        );
        queue.write_buffer(&positions_buffer, 0, bytemuck::cast_slice(&flat));
        let item_usage =
            wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::VERTEX | wgpu::BufferUsages::COPY_SRC;
        let items = [
            buffer("depth sort items a", u64::from(count) * 8, item_usage),
            buffer("depth sort items b", u64::from(count) * 8, item_usage),
        ];
        let table = buffer(
            "depth sort table",
            256 * u64::from(blocks) * 4,
            wgpu::BufferUsages::STORAGE,
        );
        let mut uniforms = Vec::new();
        let passes = std::array::from_fn(|p| {
            let shift = buffer(
                "depth sort pass",
                16,
                wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            );
            let digit_shift = u32::try_from(8 * p).unwrap_or(0);
            queue.write_buffer(&shift, 0, bytemuck::cast_slice(&[digit_shift, 0, 0, 0]));
            let group = device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some("depth sort pass"),
                layout: &layout,
                entries: &[
                    wgpu::BindGroupEntry {
                        binding: 0,
                        resource: frame.as_entire_binding(),
                    },
                    wgpu::BindGroupEntry {
                        binding: 1,
                        resource: shift.as_entire_binding(),
                    },
                    wgpu::BindGroupEntry {
                        binding: 2,
                        resource: positions_buffer.as_entire_binding(),
                    },
                    wgpu::BindGroupEntry {
                        binding: 3,
                        resource: items[p % 2].as_entire_binding(),
                    },
                    wgpu::BindGroupEntry {
                        binding: 4,
                        resource: items[(p + 1) % 2].as_entire_binding(),
                    },
                    wgpu::BindGroupEntry {
                        binding: 5,
                        resource: table.as_entire_binding(),
                    },
                ],
            });
            uniforms.push(shift);
            group
        });
        uniforms.extend([positions_buffer, table]);
        Self {
            keys: pipeline("keys"),
            histogram: pipeline("histogram"),
            scan: pipeline("scan"),
            scatter: pipeline("scatter"),
            frame,
            items,
            passes,
            count,
            blocks,
            _buffers: uniforms,
        }
    }

    /// Records the sort along `camera`'s viewing axis into `encoder`; afterwards [`Self::sorted`]
    /// holds every splat, farthest first, those behind the near plane last.
    pub fn encode(&self, queue: &wgpu::Queue, encoder: &mut wgpu::CommandEncoder, camera: &Camera) {
        let [r0, r1, r2] = camera.rotation[2];
        let frame = Frame {
            row: [r0, r1, r2, camera.translation[2]],
            count: self.count,
            blocks: self.blocks,
            near: NEAR,
            _pad: 0,
        };
        queue.write_buffer(&self.frame, 0, bytemuck::bytes_of(&frame));
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some("depth sort"),
            timestamp_writes: None,
        });
        // The key pass writes items[0], which pass 1's group has as its output.
        pass.set_pipeline(&self.keys);
        pass.set_bind_group(0, &self.passes[1], &[]);
        pass.dispatch_workgroups(self.blocks, 1, 1);
        for group in &self.passes {
            pass.set_bind_group(0, group, &[]);
            pass.set_pipeline(&self.histogram);
            pass.dispatch_workgroups(self.blocks, 1, 1);
            pass.set_pipeline(&self.scan);
            pass.dispatch_workgroups(1, 1, 1);
            pass.set_pipeline(&self.scatter);
            pass.dispatch_workgroups(self.blocks, 1, 1);
        }
    }

    /// The sorted (splat index, depth key) pairs, 8 bytes each: an instance buffer as it is.
    pub fn sorted(&self) -> &wgpu::Buffer {
        &self.items[0]
    }

    /// How many splats it sorts.
    pub fn count(&self) -> u32 {
        self.count
    }
}
