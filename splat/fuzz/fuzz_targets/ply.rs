//! Any bytes as a PLY: an error or a cloud, never a panic or a runaway allocation; a cloud that
//! was read writes back to a PLY that reads as the same cloud.
#![no_main]

use libfuzzer_sys::fuzz_target;
use splat::ply;

fuzz_target!(|data: &[u8]| {
    if let Ok(cloud) = ply::read(data) {
        let again = ply::read(&ply::write(&cloud)).expect("our own PLY reads back");
        assert_eq!(again.len(), cloud.len());
        assert_eq!(again.sh_degree, cloud.sh_degree);
    }
});
