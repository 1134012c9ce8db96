//! Progress as JSON lines on stdout — `{"stage":…,"step":…,"fraction":…,"message":…}` — the
//! contract between a pipeline stage and whatever watches it (a terminal, the job runner).

use std::io::Write as _;

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Event {
    pub stage: String,
    pub step: String,
    /// 0–1 within the stage; absent for a message without a measurable position.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fraction: Option<f64>,
    pub message: String,
    /// Stage-specific figures (training: iteration, loss, Gaussians, ETA…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<serde_json::Value>,
}

/// Where a stage reports to.
pub trait Progress {
    fn report(&mut self, event: Event);
}

impl Event {
    pub fn new(stage: &str, step: &str, fraction: Option<f64>, message: impl Into<String>) -> Self {
        Self {
            stage: stage.to_string(),
            step: step.to_string(),
            // Three decimals is finer than any progress bar and keeps the lines short.
            fraction: fraction.map(|f| (f.clamp(0.0, 1.0) * 1000.0).round() / 1000.0),
            message: message.into(),
            data: None,
        }
    }
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

/// Collects events (for tests and for callers that render progress themselves).
#[derive(Default)]
pub struct Collect(pub Vec<Event>);

impl Progress for Collect {
    fn report(&mut self, event: Event) {
        self.0.push(event);
    }
}
