//! The state machine definition: the committed file is what the code generates, every stage of
//! the pipeline runs in order through `spaceport run-stage`, failures end in one place with the
//! failing stage named, and only transient service errors are retried.

#![allow(clippy::unwrap_used)]

use cloud::state_machine::{definition, task_name, TRANSIENT_ERRORS};
use domain::job::{run_stage_args, Preset, Stage};
use serde_json::Value;
use std::collections::BTreeSet;

fn states(def: &Value) -> &serde_json::Map<String, Value> {
    def["States"].as_object().unwrap()
}

/// Every state a state can go to next.
fn targets(state: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for key in ["Next", "Default"] {
        if let Some(t) = state[key].as_str() {
            out.push(t.to_owned());
        }
    }
    for list in ["Choices", "Catch"] {
        for c in state[list].as_array().into_iter().flatten() {
            out.push(c["Next"].as_str().unwrap().to_owned());
        }
    }
    out
}

#[test]
fn the_committed_definition_is_the_generated_one() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../deploy/state-machine.asl.json"
    );
    let committed: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(
        committed,
        definition(),
        "deploy/state-machine.asl.json is stale: cargo run -p cloud --example state-machine > deploy/state-machine.asl.json"
    );
}

#[test]
fn the_states_language_validator_accepts_it() {
    // asl-validator (npm, installed by scripts/setup.sh with the other end-to-end tools) checks
    // the definition against the Amazon States Language's own rules and path syntax.
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let validator = format!("{root}/end2end/node_modules/.bin/asl-validator");
    let out = std::process::Command::new(&validator)
        .args([
            "--json-path",
            &format!("{root}/deploy/state-machine.asl.json"),
        ])
        .output()
        .unwrap_or_else(|e| panic!("{validator}: {e} (run scripts/setup.sh)"));
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn every_state_is_reachable_and_every_transition_lands() {
    let def = definition();
    let states = states(&def);
    let start = def["StartAt"].as_str().unwrap();
    assert!(states.contains_key(start));
    let mut seen = BTreeSet::new();
    let mut todo = vec![start.to_owned()];
    while let Some(name) = todo.pop() {
        let state = states
            .get(&name)
            .unwrap_or_else(|| panic!("no state '{name}'"));
        if !seen.insert(name.clone()) {
            continue;
        }
        let kind = state["Type"].as_str().unwrap();
        let next = targets(state);
        match kind {
            "Succeed" | "Fail" => assert!(next.is_empty(), "{name} ends the run"),
            "Choice" => assert!(!next.is_empty()),
            _ => assert!(state["Next"].is_string(), "{name} goes somewhere"),
        }
        todo.extend(next);
    }
    let all: BTreeSet<String> = states.keys().cloned().collect();
    assert_eq!(seen, all, "unreachable states");
}

#[test]
fn the_stages_run_in_the_pipelines_order_from_any_start() {
    let def = definition();
    let states = states(&def);
    // Straight through from the first stage.
    let mut at = task_name(Stage::ALL[0]);
    let mut order = Vec::new();
    while let Some(state) = states.get(&at) {
        if state["Type"] != "Task" {
            break;
        }
        order.push(
            state["Parameters"]["Tags"][0]["Value"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
        at = state["Next"].as_str().unwrap().to_owned();
    }
    assert_eq!(order, Stage::ALL.map(Stage::as_str));
    assert_eq!(at, "Delivered");
    // The start can be any stage (a retry from a stage), the first by default.
    let choice = &states["Start from"];
    let starts: Vec<(&str, &str)> = choice["Choices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["StringEquals"].as_str().unwrap(),
                c["Next"].as_str().unwrap(),
            )
        })
        .collect();
    for stage in Stage::ALL {
        assert!(
            starts.contains(&(stage.as_str(), task_name(stage).as_str())),
            "{stage}"
        );
    }
    assert_eq!(choice["Default"], task_name(Stage::ALL[0]));
}

#[test]
fn each_stage_runs_the_command_the_local_runner_runs() {
    let def = definition();
    let states = states(&def);
    let params = Preset::Preview.params();
    for stage in Stage::ALL {
        let task = &states[&task_name(stage)];
        assert_eq!(
            task["Resource"],
            "arn:aws:states:::sagemaker:createProcessingJob.sync"
        );
        let app = &task["Parameters"]["AppSpecification"];
        assert_eq!(app["ContainerEntrypoint"], serde_json::json!(["spaceport"]));
        // The literal items of States.Array(…): run-stage, the stage, the job folder, and the
        // parameters — the command line the local runner starts (`run_stage_args`).
        let arguments = app["ContainerArguments.$"].as_str().unwrap();
        let literals: Vec<&str> = arguments.split('\'').skip(1).step_by(2).collect();
        assert_eq!(
            literals[..5],
            [
                "run-stage",
                stage.as_str(),
                "/opt/ml/processing/job",
                "--progress",
                &format!("/opt/ml/processing/progress/{stage}.jsonl")
            ]
        );
        assert!(arguments.contains("'--params', States.JsonToString($.params)"));
        let archive = "/opt/ml/processing/photos/photos.zip";
        if stage == Stage::Ingest {
            assert_eq!(literals[6..], ["--archive", archive]);
        }
        // The same arguments as the local runner's, less the progress file (local stages
        // report on stdout) and the parameters' JSON (filled in by Step Functions).
        let local = run_stage_args(stage, literals[2], &params, Some(archive));
        let cloud: Vec<&str> = literals
            .iter()
            .enumerate()
            .filter(|(i, _)| !(3..=4).contains(i))
            .map(|(_, a)| *a)
            .collect();
        let local: Vec<&str> = local
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != 4)
            .map(|(_, a)| a.as_str())
            .collect();
        assert_eq!(cloud, local, "{stage}");
        // The job folder travels through S3 between stages.
        let outputs = &task["Parameters"]["ProcessingOutputConfig"]["Outputs"];
        assert_eq!(
            outputs[0]["S3Output"]["LocalPath"],
            "/opt/ml/processing/job"
        );
        assert_eq!(outputs[0]["S3Output"]["S3UploadMode"], "EndOfJob");
        // Progress lines reach S3 while the stage runs.
        assert_eq!(
            outputs[1]["S3Output"]["LocalPath"],
            "/opt/ml/processing/progress"
        );
        assert_eq!(outputs[1]["S3Output"]["S3UploadMode"], "Continuous");
        assert_eq!(
            task["ResultPath"],
            Value::Null,
            "the input reaches the next stage"
        );
    }
}

#[test]
fn only_service_errors_are_retried_and_failures_name_their_stage() {
    let def = definition();
    let states = states(&def);
    for stage in Stage::ALL {
        let task = &states[&task_name(stage)];
        for retry in task["Retry"].as_array().unwrap() {
            let errors: Vec<&str> = retry["ErrorEquals"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e.as_str().unwrap())
                .collect();
            assert_eq!(errors, TRANSIENT_ERRORS);
            assert!(!errors.contains(&"States.ALL") && !errors.contains(&"States.TaskFailed"));
            assert!(retry["MaxAttempts"].as_u64().unwrap() <= 5);
        }
        let catch = &task["Catch"][0];
        assert_eq!(catch["ErrorEquals"], serde_json::json!(["States.ALL"]));
        let failed = &states[catch["Next"].as_str().unwrap()];
        assert_eq!(failed["Result"], stage.as_str());
        assert_eq!(failed["ResultPath"], "$.failed_stage");
        assert_eq!(states[failed["Next"].as_str().unwrap()]["Type"], "Fail");
    }
}

#[test]
fn placeholders_are_the_ones_the_template_fills() {
    let text = definition().to_string();
    let mut found = BTreeSet::new();
    for piece in text.split("${").skip(1) {
        found.insert(piece.split('}').next().unwrap().to_owned());
    }
    let expected: BTreeSet<String> = [
        "Bucket",
        "CpuInstanceType",
        "GpuInstanceType",
        "PipelineImageUri",
        "PipelineRoleArn",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(found, expected);
}

#[test]
fn every_sagemaker_job_gets_a_name_of_its_own() {
    // SageMaker refuses a name used before, ever: a retry (RetryCount) and a run again of a stage
    // (a new execution, `{job}-r{n}`) must both make a new one.
    let def = definition();
    for (name, state) in states(&def) {
        if state["Type"] != "Task" {
            continue;
        }
        let job_name = state["Parameters"]["ProcessingJobName.$"]
            .as_str()
            .unwrap_or_else(|| panic!("{name} names its job"));
        assert!(
            job_name.contains("$$.Execution.Name") && job_name.contains("$$.State.RetryCount"),
            "{name}: {job_name}"
        );
        // The longest: a 32-character job id, a thousandth run again, the longest stage and a
        // two-digit retry, within SageMaker's 63 characters.
        let stage = state["Parameters"]["Tags"][0]["Value"].as_str().unwrap();
        let longest = format!("{}-r1000-{stage}-10", "f".repeat(32));
        assert!(longest.len() <= 63, "{longest}");
    }
}
