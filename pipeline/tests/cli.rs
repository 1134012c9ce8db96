//! The `spaceport` binary as users and our own checks call it.

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::process::Command;

fn spaceport(args: &[&std::ffi::OsStr]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_spaceport"))
        .args(args)
        .output()
        .unwrap()
}

fn scene() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/splats/playbot-lod2-125k")
}

#[test]
fn info_and_decompress_a_real_sog() {
    let out = spaceport(&["info".as_ref(), scene().as_os_str()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("splats: 125000") && text.contains("sh_degree: 2"),
        "{text}"
    );

    let dir = std::env::temp_dir().join(format!("spaceport-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ply = dir.join("playbot.ply");
    let out = spaceport(&[
        "decompress".as_ref(),
        scene().join("meta.json").as_os_str(),
        ply.as_os_str(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let again = spaceport(&["info".as_ref(), ply.as_os_str()]);
    assert!(String::from_utf8(again.stdout)
        .unwrap()
        .contains("splats: 125000"));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn bad_inputs_fail_with_one_line() {
    let dir = std::env::temp_dir().join(format!("spaceport-cli-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let junk = dir.join("junk.ply");
    std::fs::write(
        &junk,
        b"ply\nformat ascii 1.0\nelement vertex 1\nproperty float x\nend_header\n1\n",
    )
    .unwrap();
    let text = dir.join("notes.txt");
    std::fs::write(&text, b"hello").unwrap();
    for (file, expect) in [
        (junk, "ASCII"),
        (text, "not a splat file"),
        (dir.join("missing.sog"), "cannot read"),
    ] {
        let out = spaceport(&["info".as_ref(), file.as_os_str()]);
        assert!(!out.status.success());
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(err.contains(expect), "{err}");
    }
    std::fs::remove_dir_all(dir).unwrap();
}
