//! Any bytes as a `.sog` bundle: ZIP, `meta.json` (v1 or v2) and WebP images together.
#![no_main]

use libfuzzer_sys::fuzz_target;
use splat::sog;

fuzz_target!(|data: &[u8]| {
    if let Ok(cloud) = sog::decode_bundle(data) {
        assert!(cloud.is_consistent());
    }
});
