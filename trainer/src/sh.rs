//! Real spherical harmonics to degree 3 in the order 3DGS stores them, with derivatives with
//! respect to the (unit) viewing direction for the gradient to the Gaussian's position.

// The constants and the basis come from the format core, so both renderers agree; this module
// adds what only training needs: the basis's derivative with respect to the direction.
pub use splat::render::SH_C0 as C0;
use splat::render::{SH_C1 as C1, SH_C2 as C2, SH_C3 as C3};

/// Coefficients used at a degree: 1, 4, 9, 16.
pub const fn coeffs(degree: u8) -> usize {
    (degree as usize + 1) * (degree as usize + 1)
}

/// The 16 basis values at direction `d` (the format core's, so both renderers agree).
pub use splat::render::sh_basis as basis;

/// ∂basis/∂(x, y, z), treating the components as independent.
pub fn basis_grad(d: [f32; 3]) -> [[f32; 3]; 16] {
    let [x, y, z] = d;
    let (xx, yy, zz) = (x * x, y * y, z * z);
    [
        [0.0, 0.0, 0.0],
        [0.0, -C1, 0.0],
        [0.0, 0.0, C1],
        [-C1, 0.0, 0.0],
        [C2[0] * y, C2[0] * x, 0.0],
        [0.0, C2[1] * z, C2[1] * y],
        [-2.0 * C2[2] * x, -2.0 * C2[2] * y, 4.0 * C2[2] * z],
        [C2[3] * z, 0.0, C2[3] * x],
        [2.0 * C2[4] * x, -2.0 * C2[4] * y, 0.0],
        [C3[0] * 6.0 * x * y, C3[0] * (3.0 * xx - 3.0 * yy), 0.0],
        [C3[1] * y * z, C3[1] * x * z, C3[1] * x * y],
        [
            -2.0 * C3[2] * x * y,
            C3[2] * (4.0 * zz - xx - 3.0 * yy),
            8.0 * C3[2] * y * z,
        ],
        [
            -6.0 * C3[3] * x * z,
            -6.0 * C3[3] * y * z,
            C3[3] * (6.0 * zz - 3.0 * xx - 3.0 * yy),
        ],
        [
            C3[4] * (4.0 * zz - 3.0 * xx - yy),
            -2.0 * C3[4] * x * y,
            8.0 * C3[4] * x * z,
        ],
        [2.0 * C3[5] * x * z, -2.0 * C3[5] * y * z, C3[5] * (xx - yy)],
        [C3[6] * (3.0 * xx - 3.0 * yy), -6.0 * C3[6] * x * y, 0.0],
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derivatives_match_finite_differences() {
        let d = [0.3f32, -0.5, 0.8];
        let g = basis_grad(d);
        for axis in 0..3 {
            let (mut a, mut b) = (d, d);
            a[axis] += 1e-3;
            b[axis] -= 1e-3;
            let (ba, bb) = (basis(a), basis(b));
            for k in 0..16 {
                let fd = (ba[k] - bb[k]) / 2e-3;
                assert!(
                    (fd - g[k][axis]).abs() < 2e-3,
                    "k {k} axis {axis}: {fd} vs {}",
                    g[k][axis]
                );
            }
        }
    }
}
