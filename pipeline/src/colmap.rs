//! Running the COLMAP command line: one subprocess per step, its output appended to a log file
//! and scanned line by line for progress.

use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Instant;

use anyhow::{bail, Context as _};

pub struct Colmap {
    pub exe: PathBuf,
    pub log: PathBuf,
}

/// A progress position read from one line of COLMAP's output: (done, total).
pub fn parse_progress(line: &str) -> Option<(usize, usize)> {
    // "Processed file [3/11]", "Matching image [4/20]", "Matching block [1/2, 1/2]".
    let inner = |s: &str| {
        let open = s.find('[')?;
        let close = s[open..].find(']')? + open;
        let first = s[open + 1..close].split(',').collect::<Vec<_>>();
        let parse = |part: &str| {
            let (a, b) = part.trim().split_once('/')?;
            Some((
                a.trim().parse::<usize>().ok()?,
                b.trim().parse::<usize>().ok()?,
            ))
        };
        match first.as_slice() {
            [one] => parse(one),
            // Blocks: [i/n, j/m] → progress through the n·m grid.
            [outer, inner] => {
                let ((i, n), (j, m)) = (parse(outer)?, parse(inner)?);
                Some(((i - 1) * m + j, n * m))
            }
            _ => None,
        }
    };
    let line = line.trim();
    if line.starts_with("Processed file")
        || line.starts_with("Matching image")
        || line.starts_with("Matching block")
    {
        inner(line).filter(|&(a, b)| a >= 1 && a <= b)
    } else {
        None
    }
}

/// "Registering image #7 (5)" → 5 images registered so far.
pub fn parse_registered(line: &str) -> Option<usize> {
    let rest = line.trim().strip_prefix("Registering image #")?;
    let open = rest.find('(')?;
    rest[open + 1..].trim_end_matches(')').trim().parse().ok()
}

impl Colmap {
    /// Runs `colmap <command> <args>`; every output line goes to the log and to `on_line`.
    /// Returns the wall time in seconds.
    pub fn run(
        &self,
        command: &str,
        args: &[(&str, String)],
        mut on_line: impl FnMut(&str),
    ) -> anyhow::Result<f64> {
        let started = Instant::now();
        let mut log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .with_context(|| format!("cannot write {}", self.log.display()))?;
        let mut cmd = Command::new(&self.exe);
        cmd.arg(command);
        for (k, v) in args {
            cmd.arg(format!("--{k}")).arg(v);
        }
        writeln!(log, "\n$ colmap {command} {}", shell_words(args))?;
        // Headless: COLMAP links Qt even for command-line work, and glog would otherwise write
        // its own log files into /tmp.
        cmd.env("QT_QPA_PLATFORM", "offscreen")
            .env("GLOG_logtostderr", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                anyhow::anyhow!(
                    "COLMAP is not installed (no `{}` on PATH); install it (Debian: apt-get install colmap) or run scripts/setup.sh",
                    self.exe.display()
                )
            } else {
                anyhow::anyhow!("cannot start COLMAP: {e}")
            }
        })?;
        let (tx, rx) = mpsc::channel::<String>();
        let readers: Vec<_> = [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        ]
        .into_iter()
        .flatten()
        .map(|stream| {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            })
        })
        .collect();
        drop(tx);
        let mut tail: Vec<String> = Vec::new();
        for line in rx {
            writeln!(log, "{line}")?;
            on_line(&line);
            if is_error_line(&line) {
                tail.push(line);
                if tail.len() > 3 {
                    tail.remove(0);
                }
            }
        }
        for r in readers {
            let _ = r.join();
        }
        let status = child.wait()?;
        if !status.success() {
            let reason = if tail.is_empty() {
                String::new()
            } else {
                format!(": {}", tail.join(" / "))
            };
            bail!(
                "COLMAP {command} failed ({status}){reason}; the full log is {}",
                self.log.display()
            );
        }
        Ok(started.elapsed().as_secs_f64())
    }
}

fn is_error_line(line: &str) -> bool {
    let l = line.trim_start();
    l.starts_with('E') && l.chars().nth(1).is_some_and(|c| c.is_ascii_digit())
        || l.starts_with('F') && l.chars().nth(1).is_some_and(|c| c.is_ascii_digit())
        || l.contains("ERROR")
        || l.contains("Check failed")
}

fn shell_words(args: &[(&str, String)]) -> String {
    args.iter()
        .map(|(k, v)| format!("--{k} {v}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The path as COLMAP wants it on its command line.
pub fn arg(path: &Path) -> String {
    path.display().to_string()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::cast_possible_truncation)]
mod tests {
    use super::*;

    #[test]
    fn progress_lines_parse() {
        assert_eq!(parse_progress("Processed file [3/11]"), Some((3, 11)));
        assert_eq!(
            parse_progress("Matching image [4/20] in 0.1s"),
            Some((4, 20))
        );
        assert_eq!(parse_progress("Matching block [2/2, 1/3]"), Some((4, 6)));
        assert_eq!(parse_progress("Processed file [0/0]"), None);
        assert_eq!(parse_progress("Elapsed time: 0.2 [minutes]"), None);
        assert_eq!(parse_registered("Registering image #7 (5)"), Some(5));
        assert_eq!(parse_registered("Retriangulation"), None);
    }
}
