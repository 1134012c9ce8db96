//! The `spaceport` binary as users and our own checks call it.

#![allow(clippy::unwrap_used, clippy::cast_possible_truncation)]

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

#[test]
fn compress_writes_a_bundle_or_a_folder_with_a_report() {
    let dir = std::env::temp_dir().join(format!("spaceport-cli-compress-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ply = dir.join("playbot.ply");
    assert!(
        spaceport(&["decompress".as_ref(), scene().as_os_str(), ply.as_os_str()])
            .status
            .success()
    );

    let bundle = dir.join("out.sog");
    let out = spaceport(&["compress".as_ref(), ply.as_os_str(), bundle.as_os_str()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = String::from_utf8(out.stdout).unwrap();
    assert!(
        report.contains("bytes per splat") && report.contains("render PSNR"),
        "{report}"
    );
    let steps: Vec<serde_json::Value> = report
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .filter(|e: &serde_json::Value| e["stage"] == "compress")
        .collect();
    assert!(
        steps
            .iter()
            .any(|e| e["step"] == "images" && e["message"] == "[6/6] images"),
        "progress is reported as the stages' JSON lines: {report}"
    );
    let info = String::from_utf8(spaceport(&["info".as_ref(), bundle.as_os_str()]).stdout).unwrap();
    assert!(
        info.contains("SOG v2 bundle") && info.contains("splats: 125000"),
        "{info}"
    );

    let folder = dir.join("unbundled");
    let out = spaceport(&[
        "compress".as_ref(),
        ply.as_os_str(),
        folder.as_os_str(),
        "--no-report".as_ref(),
    ]);
    assert!(out.status.success());
    assert!(folder.join("meta.json").exists() && folder.join("shN_labels.webp").exists());
    let info = String::from_utf8(spaceport(&["info".as_ref(), folder.as_os_str()]).stdout).unwrap();
    assert!(
        info.contains("meta.json + WebP") && info.contains("sh_degree: 2"),
        "{info}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn ingest_and_sfm_report_problems_in_one_line() {
    let dir = std::env::temp_dir().join(format!("spaceport-cli-ingest-{}", std::process::id()));
    let photos = dir.join("photos");
    std::fs::create_dir_all(&photos).unwrap();
    for i in 0..2u8 {
        let img = image::RgbImage::from_fn(320, 240, |x, y| {
            image::Rgb([
                (x % 256) as u8 ^ i,
                ((y % 256) as u8).wrapping_mul(3),
                i.wrapping_mul(90),
            ])
        });
        img.save(photos.join(format!("{i}.jpg"))).unwrap();
    }
    std::fs::write(photos.join("readme.jpg"), b"not a photo at all").unwrap();
    let job = dir.join("job");
    let out = spaceport(&["ingest".as_ref(), photos.as_os_str(), job.as_os_str()]);
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("2 usable photo(s); at least 3"), "{err}");
    assert!(err.contains("readme.jpg: not a JPEG or PNG photo"), "{err}");
    // Each refused file was also reported as a JSON progress line on stdout.
    let stdout = String::from_utf8(out.stdout).unwrap();
    let refused: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|v: &serde_json::Value| v["step"] == "refused")
        .collect();
    assert_eq!(refused.len(), 1, "{stdout}");

    let out = spaceport(&["sfm".as_ref(), job.as_os_str()]);
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("run `spaceport ingest` first"), "{err}");
    std::fs::remove_dir_all(dir).unwrap();
}
