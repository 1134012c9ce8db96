//! 3DGS PLY: binary little-endian, one `vertex` element with scalar properties. Reading takes the
//! standard fields by name (`x y z f_dc_* f_rest_* opacity scale_* rot_*`) in any order and of any
//! numeric type, ignores extra properties (normals, labels), and infers the SH degree from the
//! number of `f_rest_*`. Anything else is refused with a reason, before any large allocation: the
//! declared count must fit in the bytes actually present.

use std::fmt::Write as _;

use crate::cloud::{sh_rest_coeffs, GaussianCloud};
use crate::error::FormatError;

/// Headers are a few hundred bytes; anything bigger is not a splat file.
const MAX_HEADER_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scalar {
    I8,
    U8,
    I16,
    U16,
    I32,
    U32,
    F32,
    F64,
}

impl Scalar {
    fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "char" | "int8" => Self::I8,
            "uchar" | "uint8" => Self::U8,
            "short" | "int16" => Self::I16,
            "ushort" | "uint16" => Self::U16,
            "int" | "int32" => Self::I32,
            "uint" | "uint32" => Self::U32,
            "float" | "float32" => Self::F32,
            "double" | "float64" => Self::F64,
            _ => return None,
        })
    }

    fn size(self) -> usize {
        match self {
            Self::I8 | Self::U8 => 1,
            Self::I16 | Self::U16 => 2,
            Self::I32 | Self::U32 | Self::F32 => 4,
            Self::F64 => 8,
        }
    }

    /// Reads one value at `at`; the caller has checked the bounds of the whole record.
    // Narrowing to f32 is the point: splats are f32, and integer properties are small labels.
    #[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
    fn read(self, b: &[u8], at: usize) -> f32 {
        let get = |n: usize| &b[at..at + n];
        match self {
            Self::I8 => f32::from(i8::from_le_bytes([b[at]])),
            Self::U8 => f32::from(b[at]),
            Self::I16 => f32::from(i16::from_le_bytes([b[at], b[at + 1]])),
            Self::U16 => f32::from(u16::from_le_bytes([b[at], b[at + 1]])),
            Self::I32 => i32::from_le_bytes(get(4).try_into().unwrap_or([0; 4])) as f32,
            Self::U32 => u32::from_le_bytes(get(4).try_into().unwrap_or([0; 4])) as f32,
            Self::F32 => f32::from_le_bytes(get(4).try_into().unwrap_or([0; 4])),
            Self::F64 => f64::from_le_bytes(get(8).try_into().unwrap_or([0; 8])) as f32,
        }
    }
}

struct Header {
    count: usize,
    /// (name, type, byte offset in the record)
    properties: Vec<(String, Scalar, usize)>,
    stride: usize,
    body_start: usize,
}

fn bad(msg: impl Into<String>) -> FormatError {
    FormatError::BadPlyHeader(msg.into())
}

fn parse_header(bytes: &[u8]) -> Result<Header, FormatError> {
    if !bytes.starts_with(b"ply\n") && !bytes.starts_with(b"ply\r\n") {
        return Err(FormatError::NotPly);
    }
    let window = &bytes[..bytes.len().min(MAX_HEADER_BYTES)];
    let end = find(window, b"end_header\n")
        .map(|i| i + b"end_header\n".len())
        .or_else(|| find(window, b"end_header\r\n").map(|i| i + b"end_header\r\n".len()))
        .ok_or_else(|| bad("no end_header within the first 64 KiB"))?;
    let text = std::str::from_utf8(&bytes[..end]).map_err(|_| bad("the header is not text"))?;

    let mut count = None;
    let mut in_vertex = false;
    let mut seen_element = false;
    let mut properties = Vec::new();
    let mut stride = 0usize;
    for line in text.lines().skip(1) {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            []
            | ["comment" | "obj_info", ..]
            | ["end_header"]
            | ["format", "binary_little_endian", _] => {}
            ["format", "ascii", _] => {
                return Err(FormatError::UnsupportedPly(
                    "ASCII PLY; convert it to binary little-endian".into(),
                ))
            }
            ["format", "binary_big_endian", _] => {
                return Err(FormatError::UnsupportedPly(
                    "big-endian PLY; convert it to binary little-endian".into(),
                ))
            }
            ["format", ..] => return Err(bad(format!("unknown format line '{line}'"))),
            ["element", name, n] => {
                if seen_element && !in_vertex {
                    return Err(FormatError::UnsupportedPly(format!(
                        "element '{name}' before the vertices"
                    )));
                }
                if *name == "vertex" {
                    if seen_element {
                        return Err(FormatError::UnsupportedPly(
                            "more than one vertex element".into(),
                        ));
                    }
                    count = Some(
                        n.parse::<usize>()
                            .map_err(|_| bad(format!("vertex count '{n}'")))?,
                    );
                    in_vertex = true;
                } else {
                    // Elements after the vertices (faces, say) are irrelevant to splats.
                    in_vertex = false;
                }
                seen_element = true;
            }
            ["property", "list", ..] if in_vertex => {
                return Err(FormatError::UnsupportedPly(
                    "list properties on vertices".into(),
                ))
            }
            ["property", ty, name] if in_vertex => {
                let scalar = Scalar::parse(ty)
                    .ok_or_else(|| bad(format!("unknown property type '{ty}'")))?;
                if properties.iter().any(|(n, _, _)| n == name) {
                    return Err(bad(format!("property '{name}' declared twice")));
                }
                properties.push(((*name).to_owned(), scalar, stride));
                stride += scalar.size();
            }
            ["property", ..] => {}
            _ => return Err(bad(format!("unexpected line '{line}'"))),
        }
    }
    let count = count.ok_or_else(|| bad("no vertex element"))?;
    if stride == 0 {
        return Err(bad("vertices have no properties"));
    }
    Ok(Header {
        count,
        properties,
        stride,
        body_start: end,
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Parses a 3DGS PLY.
pub fn read(bytes: &[u8]) -> Result<GaussianCloud, FormatError> {
    let h = parse_header(bytes)?;
    let body = &bytes[h.body_start..];
    let needed = h
        .count
        .checked_mul(h.stride)
        .ok_or_else(|| FormatError::TooLarge(format!("{} vertices", h.count)))?;
    if body.len() < needed {
        return Err(FormatError::Truncated(format!(
            "the header declares {} splats ({needed} bytes) but only {} bytes follow",
            h.count,
            body.len()
        )));
    }
    let offset = |name: &str| {
        h.properties
            .iter()
            .find(|(n, _, _)| n == name)
            .map(|&(_, t, o)| (t, o))
    };
    let require = |name: &str| {
        offset(name)
            .ok_or_else(|| FormatError::UnsupportedPly(format!("missing property '{name}'")))
    };
    let pos = [require("x")?, require("y")?, require("z")?];
    let dc = [require("f_dc_0")?, require("f_dc_1")?, require("f_dc_2")?];
    let opacity = require("opacity")?;
    let scale = [
        require("scale_0")?,
        require("scale_1")?,
        require("scale_2")?,
    ];
    let rot = [
        require("rot_0")?,
        require("rot_1")?,
        require("rot_2")?,
        require("rot_3")?,
    ];
    let rest_count = h
        .properties
        .iter()
        .filter(|(n, _, _)| n.starts_with("f_rest_"))
        .count();
    let sh_degree = match rest_count {
        0 => 0,
        9 => 1,
        24 => 2,
        45 => 3,
        n => {
            return Err(FormatError::UnsupportedPly(format!(
                "{n} f_rest properties (expected 0, 9, 24 or 45)"
            )))
        }
    };
    let rest: Vec<(Scalar, usize)> = (0..rest_count)
        .map(|i| require(&format!("f_rest_{i}")))
        .collect::<Result<_, _>>()?;

    let n = h.count;
    let mut cloud = GaussianCloud {
        positions: Vec::with_capacity(n),
        log_scales: Vec::with_capacity(n),
        rotations: Vec::with_capacity(n),
        opacity_logits: Vec::with_capacity(n),
        sh_dc: Vec::with_capacity(n),
        sh_degree,
        sh_rest: Vec::with_capacity(n * rest_count),
    };
    for record in body[..needed].chunks_exact(h.stride) {
        let v = |(t, o): (Scalar, usize)| t.read(record, o);
        cloud.positions.push(pos.map(v));
        cloud.sh_dc.push(dc.map(v));
        cloud.opacity_logits.push(v(opacity));
        cloud.log_scales.push(scale.map(v));
        cloud.rotations.push(rot.map(v));
        cloud.sh_rest.extend(rest.iter().map(|&p| v(p)));
    }
    Ok(cloud)
}

/// Writes the standard 3DGS layout (float32 everywhere, zero normals for tools that expect them).
pub fn write(cloud: &GaussianCloud) -> Vec<u8> {
    let rest = 3 * sh_rest_coeffs(cloud.sh_degree);
    let mut header = format!(
        "ply\nformat binary_little_endian 1.0\nelement vertex {}\n",
        cloud.len()
    );
    for name in [
        "x", "y", "z", "nx", "ny", "nz", "f_dc_0", "f_dc_1", "f_dc_2",
    ] {
        let _ = writeln!(header, "property float {name}");
    }
    for i in 0..rest {
        let _ = writeln!(header, "property float f_rest_{i}");
    }
    for name in [
        "opacity", "scale_0", "scale_1", "scale_2", "rot_0", "rot_1", "rot_2", "rot_3",
    ] {
        let _ = writeln!(header, "property float {name}");
    }
    header.push_str("end_header\n");
    let mut out = Vec::with_capacity(header.len() + cloud.len() * 4 * (17 + rest));
    out.extend_from_slice(header.as_bytes());
    for i in 0..cloud.len() {
        let mut put = |v: f32| out.extend_from_slice(&v.to_le_bytes());
        cloud.positions[i].into_iter().for_each(&mut put);
        [0.0; 3].into_iter().for_each(&mut put);
        cloud.sh_dc[i].into_iter().for_each(&mut put);
        cloud.sh_rest[i * rest..(i + 1) * rest]
            .iter()
            .copied()
            .for_each(&mut put);
        put(cloud.opacity_logits[i]);
        cloud.log_scales[i].into_iter().for_each(&mut put);
        cloud.rotations[i].into_iter().for_each(&mut put);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(n: usize, degree: u8) -> GaussianCloud {
        let stride = 3 * sh_rest_coeffs(degree);
        #[allow(clippy::cast_precision_loss)]
        let f = |i: usize, k: usize| ((i * 31 + k * 7) % 97) as f32 / 13.0 - 3.0;
        GaussianCloud {
            positions: (0..n).map(|i| [f(i, 0), f(i, 1), f(i, 2)]).collect(),
            log_scales: (0..n).map(|i| [f(i, 3), f(i, 4), f(i, 5)]).collect(),
            rotations: (0..n)
                .map(|i| [f(i, 6), f(i, 7), f(i, 8), f(i, 9)])
                .collect(),
            opacity_logits: (0..n).map(|i| f(i, 10)).collect(),
            sh_dc: (0..n).map(|i| [f(i, 11), f(i, 12), f(i, 13)]).collect(),
            sh_degree: degree,
            sh_rest: (0..n * stride).map(|i| f(i, 14)).collect(),
        }
    }

    #[test]
    fn round_trips_losslessly_for_every_degree() {
        for degree in 0..=3 {
            let cloud = sample(50, degree);
            let back = read(&write(&cloud)).expect("reads what it wrote");
            assert_eq!(back, cloud, "degree {degree}");
            assert!(back.is_consistent());
        }
    }

    #[test]
    fn extra_properties_and_other_types_are_accepted() {
        let mut bytes =
            b"ply\nformat binary_little_endian 1.0\ncomment made by hand\nelement vertex 1\n"
                .to_vec();
        let names = [
            "x", "y", "z", "f_dc_0", "f_dc_1", "f_dc_2", "opacity", "scale_0", "scale_1",
            "scale_2", "rot_0", "rot_1", "rot_2", "rot_3",
        ];
        for n in names {
            bytes.extend_from_slice(format!("property double {n}\n").as_bytes());
        }
        bytes.extend_from_slice(b"property uchar label\nend_header\n");
        for i in 0..names.len() {
            #[allow(clippy::cast_precision_loss)]
            bytes.extend_from_slice(&(i as f64 * 0.5).to_le_bytes());
        }
        bytes.push(7);
        let c = read(&bytes).expect("valid");
        assert_eq!(c.positions, vec![[0.0, 0.5, 1.0]]);
        assert_eq!(c.rotations, vec![[5.0, 5.5, 6.0, 6.5]]);
        assert_eq!(c.sh_degree, 0);
    }

    #[test]
    fn bad_inputs_are_refused_with_reasons() {
        let good = write(&sample(10, 1));
        let err = |b: &[u8]| read(b).expect_err("must fail");
        assert_eq!(err(b"hello"), FormatError::NotPly);
        assert!(matches!(
            err(&good[..good.len() - 1]),
            FormatError::Truncated(_)
        ));
        let ascii = String::from_utf8_lossy(&good).replace("binary_little_endian", "ascii");
        assert!(matches!(
            err(ascii.as_bytes()),
            FormatError::UnsupportedPly(_)
        ));
        let big =
            String::from_utf8_lossy(&good).replace("binary_little_endian", "binary_big_endian");
        assert!(matches!(
            err(big.as_bytes()),
            FormatError::UnsupportedPly(_)
        ));
        // A lying header: billions of splats declared, a few bytes present. No huge allocation.
        let liar = String::from_utf8_lossy(&good).replacen(
            "element vertex 10",
            "element vertex 4000000000",
            1,
        );
        assert!(matches!(err(liar.as_bytes()), FormatError::Truncated(_)));
        let overflow = String::from_utf8_lossy(&good).replacen(
            "element vertex 10",
            "element vertex 18446744073709551615",
            1,
        );
        assert!(matches!(err(overflow.as_bytes()), FormatError::TooLarge(_)));
        let missing = String::from_utf8_lossy(&good).replacen("property float opacity\n", "", 1);
        assert!(
            matches!(err(missing.as_bytes()), FormatError::UnsupportedPly(m) if m.contains("opacity"))
        );
        assert!(matches!(
            err(b"ply\nformat binary_little_endian 1.0\n"),
            FormatError::BadPlyHeader(_)
        ));
    }
}
