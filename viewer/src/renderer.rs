//! The wgpu renderer: one pipeline, one splat texture, one instance buffer of sorted indices.
//! The same code draws into a browser canvas (WebGPU or WebGL2) and into an offscreen texture
//! natively.

use crate::scene::PackedSplats;
use splat::cloud::sh_rest_coeffs;
use splat::render::{Camera, DILATION, NEAR};

#[repr(C)]
#[derive(Debug, Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Uniforms {
    rot: [[f32; 4]; 3],
    eye: [f32; 4],
    focal: [f32; 4],
    viewport: [f32; 4],
    layout: [u32; 4],
}

/// The GPU side of one scene.
struct SceneResources {
    /// Kept alive with its bind group: on WebGPU, dropping a texture destroys it at once.
    _texture: wgpu::Texture,
    bind_group: wgpu::BindGroup,
    order: wgpu::Buffer,
    count: u32,
    texels_per_splat: u32,
    width: u32,
    sh_rest: u32,
}

/// Where the draw's instance order comes from.
enum Order {
    /// Indices the CPU sorted and uploaded (`SceneResources::order`), this many.
    Uploaded(u32),
    /// (index, key) pairs the GPU sort left in this buffer, this many.
    Pairs(wgpu::Buffer, u32),
}

pub struct Renderer {
    /// Reads 4-byte indices; `pairs_pipeline` reads the index of 8-byte (index, key) pairs.
    pipeline: wgpu::RenderPipeline,
    pairs_pipeline: wgpu::RenderPipeline,
    layout: wgpu::BindGroupLayout,
    uniforms: wgpu::Buffer,
    scene: Option<SceneResources>,
    order: Order,
}

impl Renderer {
    pub fn new(device: &wgpu::Device, format: wgpu::TextureFormat) -> Self {
        let shader = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("splat"),
            source: wgpu::ShaderSource::Wgsl(include_str!("splat.wgsl").into()),
        });
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("splat"),
            entries: &[
                wgpu::BindGroupLayoutEntry {
                    binding: 0,
                    visibility: wgpu::ShaderStages::VERTEX,
                    ty: wgpu::BindingType::Buffer {
                        ty: wgpu::BufferBindingType::Uniform,
                        has_dynamic_offset: false,
                        min_binding_size: None,
                    },
                    count: None,
                },
                wgpu::BindGroupLayoutEntry {
                    binding: 1,
                    visibility: wgpu::ShaderStages::VERTEX,
                    ty: wgpu::BindingType::Texture {
                        sample_type: wgpu::TextureSampleType::Uint,
                        view_dimension: wgpu::TextureViewDimension::D2,
                        multisampled: false,
                    },
                    count: None,
                },
            ],
        });
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("splat"),
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        let blend = wgpu::BlendComponent {
            src_factor: wgpu::BlendFactor::One,
            dst_factor: wgpu::BlendFactor::OneMinusSrcAlpha,
            operation: wgpu::BlendOperation::Add,
        };
        let pipeline = |stride: u64| {
            device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
                label: Some("splat"),
                layout: Some(&pipeline_layout),
                vertex: wgpu::VertexState {
                    module: &shader,
                    entry_point: Some("vs_main"),
                    compilation_options: wgpu::PipelineCompilationOptions::default(),
                    buffers: &[Some(wgpu::VertexBufferLayout {
                        array_stride: stride,
                        step_mode: wgpu::VertexStepMode::Instance,
                        attributes: &[wgpu::VertexAttribute {
                            format: wgpu::VertexFormat::Uint32,
                            offset: 0,
                            shader_location: 0,
                        }],
                    })],
                },
                primitive: wgpu::PrimitiveState {
                    topology: wgpu::PrimitiveTopology::TriangleStrip,
                    ..wgpu::PrimitiveState::default()
                },
                depth_stencil: None,
                multisample: wgpu::MultisampleState::default(),
                fragment: Some(wgpu::FragmentState {
                    module: &shader,
                    entry_point: Some("fs_main"),
                    compilation_options: wgpu::PipelineCompilationOptions::default(),
                    targets: &[Some(wgpu::ColorTargetState {
                        format,
                        blend: Some(wgpu::BlendState {
                            color: blend,
                            alpha: blend,
                        }),
                        write_mask: wgpu::ColorWrites::ALL,
                    })],
                }),
                multiview_mask: None,
                cache: None,
            })
        };
        let uniforms = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("splat uniforms"),
            size: std::mem::size_of::<Uniforms>() as u64,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        Self {
            pipeline: pipeline(4),
            pairs_pipeline: pipeline(8),
            layout,
            uniforms,
            scene: None,
            order: Order::Uploaded(0),
        }
    }

    /// Uploads a packed scene, replacing the previous one.
    pub fn set_scene(&mut self, device: &wgpu::Device, queue: &wgpu::Queue, packed: &PackedSplats) {
        let size = wgpu::Extent3d {
            width: packed.width,
            height: packed.height,
            depth_or_array_layers: 1,
        };
        let texture = device.create_texture(&wgpu::TextureDescriptor {
            label: Some("splats"),
            size,
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            format: wgpu::TextureFormat::Rgba32Uint,
            usage: wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST,
            view_formats: &[],
        });
        queue.write_texture(
            wgpu::TexelCopyTextureInfo {
                texture: &texture,
                mip_level: 0,
                origin: wgpu::Origin3d::ZERO,
                aspect: wgpu::TextureAspect::All,
            },
            bytemuck::cast_slice(&packed.texels),
            wgpu::TexelCopyBufferLayout {
                offset: 0,
                bytes_per_row: Some(packed.width * 16),
                rows_per_image: Some(packed.height),
            },
            size,
        );
        let view = texture.create_view(&wgpu::TextureViewDescriptor::default());
        let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("splat"),
            layout: &self.layout,
            entries: &[
                wgpu::BindGroupEntry {
                    binding: 0,
                    resource: self.uniforms.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 1,
                    resource: wgpu::BindingResource::TextureView(&view),
                },
            ],
        });
        let order = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("splat order"),
            size: u64::from(packed.count.max(1)) * 4,
            usage: wgpu::BufferUsages::VERTEX | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        self.scene = Some(SceneResources {
            _texture: texture,
            bind_group,
            order,
            count: packed.count,
            texels_per_splat: packed.texels_per_splat,
            width: packed.width,
            sh_rest: u32::try_from(sh_rest_coeffs(packed.sh_degree)).unwrap_or(0),
        });
        self.order = Order::Uploaded(0);
    }

    /// Uploads the back-to-front order the CPU sort produced.
    pub fn set_order(&mut self, queue: &wgpu::Queue, order: &[u32]) {
        if let Some(scene) = &self.scene {
            let n = order.len().min(scene.count as usize);
            queue.write_buffer(&scene.order, 0, bytemuck::cast_slice(&order[..n]));
            self.order = Order::Uploaded(u32::try_from(n).unwrap_or(0));
        }
    }

    /// Draws from the GPU sort's output instead: `count` (index, key) pairs in `pairs`, those
    /// behind the camera last (the vertex shader culls them).
    pub fn set_sorted_pairs(&mut self, pairs: &wgpu::Buffer, count: u32) {
        self.order = Order::Pairs(pairs.clone(), count);
    }

    /// Records the draw of the current scene from `camera` into `target`, cleared to `background`.
    pub fn draw(
        &self,
        queue: &wgpu::Queue,
        encoder: &mut wgpu::CommandEncoder,
        target: &wgpu::TextureView,
        camera: &Camera,
        background: [f32; 3],
    ) {
        let eye = camera.centre();
        #[allow(clippy::cast_precision_loss)]
        let uniforms = Uniforms {
            rot: std::array::from_fn(|r| {
                let row = camera.rotation[r];
                [row[0], row[1], row[2], camera.translation[r]]
            }),
            eye: [eye[0], eye[1], eye[2], 0.0],
            focal: [camera.fx, camera.fy, camera.cx, camera.cy],
            viewport: [camera.width as f32, camera.height as f32, NEAR, DILATION],
            layout: self
                .scene
                .as_ref()
                .map_or([0; 4], |s| [s.texels_per_splat, s.width, s.sh_rest, 0]),
        };
        queue.write_buffer(&self.uniforms, 0, bytemuck::bytes_of(&uniforms));
        let mut pass = encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
            label: Some("splats"),
            color_attachments: &[Some(wgpu::RenderPassColorAttachment {
                view: target,
                depth_slice: None,
                resolve_target: None,
                ops: wgpu::Operations {
                    load: wgpu::LoadOp::Clear(wgpu::Color {
                        r: f64::from(background[0]),
                        g: f64::from(background[1]),
                        b: f64::from(background[2]),
                        a: 1.0,
                    }),
                    store: wgpu::StoreOp::Store,
                },
            })],
            depth_stencil_attachment: None,
            timestamp_writes: None,
            occlusion_query_set: None,
            multiview_mask: None,
        });
        if let Some(scene) = &self.scene {
            let (pipeline, buffer, count) = match &self.order {
                Order::Uploaded(n) => (&self.pipeline, &scene.order, (*n).min(scene.count)),
                Order::Pairs(pairs, n) => (&self.pairs_pipeline, pairs, (*n).min(scene.count)),
            };
            if count > 0 {
                pass.set_pipeline(pipeline);
                pass.set_bind_group(0, &scene.bind_group, &[]);
                pass.set_vertex_buffer(0, buffer.slice(..));
                pass.draw(0..4, 0..count);
            }
        }
    }
}
