//! The GPU depth sort (compute shaders, here on lavapipe) against the CPU sort: the same
//! permutation, farthest first, equal depths in index order, splats behind the camera last.

#![allow(clippy::unwrap_used)]

use splat::render::Camera;
use viewer::gpu_sort::GpuSorter;
use viewer::sort::DepthSorter;

fn device() -> (wgpu::Adapter, wgpu::Device, wgpu::Queue) {
    let instance =
        wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
    let adapter =
        pollster::block_on(instance.request_adapter(&wgpu::RequestAdapterOptions::default()))
            .expect("a wgpu adapter (lavapipe: apt-get install mesa-vulkan-drivers)");
    let (device, queue) =
        pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor::default())).unwrap();
    (adapter, device, queue)
}

/// Sorts on the GPU and reads back the (index, key) pairs.
fn gpu_sort(positions: &[[f32; 3]], camera: &Camera) -> Vec<[u32; 2]> {
    let (adapter, device, queue) = device();
    assert!(GpuSorter::supported(&adapter, positions.len()));
    let sorter = GpuSorter::new(&device, &queue, positions);
    let size = u64::from(sorter.count().max(2)) * 8;
    let readback = device.create_buffer(&wgpu::BufferDescriptor {
        label: None,
        size,
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor::default());
    sorter.encode(&queue, &mut encoder, camera);
    encoder.copy_buffer_to_buffer(sorter.sorted(), 0, &readback, 0, size);
    queue.submit([encoder.finish()]);
    readback
        .slice(..)
        .map_async(wgpu::MapMode::Read, |r| r.unwrap());
    device.poll(wgpu::PollType::wait_indefinitely()).unwrap();
    let data = readback.slice(..).get_mapped_range().unwrap();
    let pairs: &[[u32; 2]] = bytemuck::cast_slice(&data);
    pairs[..positions.len()].to_vec()
}

fn camera() -> Camera {
    Camera::look_at([0.0, 0.0, -10.0], [0.0; 3], [0.0, -1.0, 0.0], 1.0, 64, 64)
}

#[test]
fn the_gpu_sort_gives_the_cpu_order_exactly_on_exact_depths() {
    // Depth = z + 10 exactly (an axis-aligned camera, depths on a 1/8 grid): many ties, which
    // must keep index order, over several blocks of 4,096 and a partial last one; some splats
    // behind the camera.
    let positions: Vec<[f32; 3]> = (0..13_001u32)
        .map(|i| {
            let h = i.wrapping_mul(2_654_435_761) >> 20;
            #[allow(clippy::cast_precision_loss)]
            let z = (h % 200) as f32 / 8.0 - 12.0;
            [0.5, -0.25, z]
        })
        .collect();
    let camera = camera();
    let mut cpu = Vec::new();
    DepthSorter::default().sort(&positions, &camera, &mut cpu);
    assert!(
        cpu.len() < positions.len(),
        "some splats are behind the camera"
    );
    let gpu = gpu_sort(&positions, &camera);
    let (front, behind) = gpu.split_at(cpu.len());
    let front: Vec<u32> = front.iter().map(|p| p[0]).collect();
    assert_eq!(front, cpu, "the visible splats in the CPU's order");
    assert!(
        behind.iter().all(|p| p[1] == u32::MAX),
        "the rest marked behind"
    );
    let mut all: Vec<u32> = gpu.iter().map(|p| p[0]).collect();
    all.sort_unstable();
    assert!(
        all.iter().copied().eq(0..13_001),
        "a permutation of every splat"
    );
}

#[test]
fn the_gpu_sort_orders_arbitrary_views_back_to_front() {
    // A tilted camera and random positions: depths computed on the GPU may round differently
    // from the CPU's in the last bit, so check the order by the CPU's depths within that.
    let positions: Vec<[f32; 3]> = (0..20_000u32)
        .map(|i| {
            let f = |k: u32| {
                let h = (i.wrapping_mul(2_654_435_761) ^ k.wrapping_mul(40_503)) >> 8;
                #[allow(clippy::cast_precision_loss)]
                let unit = (h % 100_000) as f32 / 100_000.0;
                unit * 8.0 - 4.0
            };
            [f(1), f(2), f(3)]
        })
        .collect();
    let camera = Camera::look_at([3.0, -2.0, -6.0], [0.2; 3], [0.0, -1.0, 0.0], 1.0, 64, 64);
    let depth = |i: u32| {
        let p = positions[i as usize];
        let r = camera.rotation[2];
        r[0] * p[0] + r[1] * p[1] + r[2] * p[2] + camera.translation[2]
    };
    let gpu = gpu_sort(&positions, &camera);
    let visible: Vec<u32> = gpu
        .iter()
        .take_while(|p| p[1] != u32::MAX)
        .map(|p| p[0])
        .collect();
    let mut cpu = Vec::new();
    DepthSorter::default().sort(&positions, &camera, &mut cpu);
    assert!(
        visible.len().abs_diff(cpu.len()) <= 1,
        "{} vs {}",
        visible.len(),
        cpu.len()
    );
    for w in visible.windows(2) {
        assert!(
            depth(w[0]) >= depth(w[1]) - 1e-5,
            "{} before {}",
            depth(w[0]),
            depth(w[1])
        );
    }
}

#[test]
fn an_empty_scene_sorts_to_nothing() {
    assert!(gpu_sort(&[], &camera()).is_empty());
}
