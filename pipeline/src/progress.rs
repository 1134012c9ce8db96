//! Where a stage reports progress. The lines themselves are `domain::job::ProgressLine`
//! (`{"stage","step","fraction","message","data"}`), the contract between a pipeline stage and
//! whatever watches it (a terminal, the local job runner, the cloud's progress files).

use std::io::Write as _;

pub use domain::job::ProgressLine as Event;

/// Where a stage reports to.
pub trait Progress {
    fn report(&mut self, event: Event);
}

/// Prints each event as one JSON line and flushes, so a reading process sees it at once.
pub struct JsonLines;

impl Progress for JsonLines {
    fn report(&mut self, event: Event) {
        if let Ok(line) = serde_json::to_string(&event) {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{line}");
            let _ = out.flush();
        }
    }
}

/// Prints each event as a JSON line and also appends it to a file, flushed line by line so that
/// a copy of the file taken mid-stage (the cloud uploads it as it changes) is whole.
pub struct JsonLinesAndFile(pub std::fs::File);

impl Progress for JsonLinesAndFile {
    fn report(&mut self, event: Event) {
        if let Ok(line) = serde_json::to_string(&event) {
            let _ = writeln!(self.0, "{line}");
            let _ = self.0.flush();
        }
        JsonLines.report(event);
    }
}

/// Collects events (for tests and for callers that render progress themselves).
#[derive(Default)]
pub struct Collect(pub Vec<Event>);

impl Progress for Collect {
    fn report(&mut self, event: Event) {
        self.0.push(event);
    }
}
