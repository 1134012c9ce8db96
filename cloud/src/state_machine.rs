//! The Step Functions state machine (Amazon States Language) that runs one job in the cloud.
//!
//! Input: `{"job_id": "...", "params": JobParams, "archive": "s3://…/photos.zip",
//! "start_from": Stage}` (`domain::job`). A Choice state starts at `start_from` (retry from a
//! stage, as the local runner does); each stage is a SageMaker processing job
//! (`createProcessingJob.sync`: the execution waits for it, and stopping the execution stops the
//! job) running our container's `spaceport run-stage STAGE DIR --params JSON`, the same entry
//! the local runner starts for every stage. The job folder lives at
//! `s3://${Bucket}/jobs/{job_id}/`: every stage gets it at `/opt/ml/processing/job` and uploads it
//! back when it ends, so each stage sees the previous stages' results.
//!
//! Transient service errors (throttling, capacity, internal errors) are retried with backoff; a
//! stage that itself fails (`States.TaskFailed`: COLMAP found no model, the photos were bad) is
//! not — retrying cannot help, and the user is told why. Failures go through a Pass state that
//! records which stage failed (`$.failed_stage`, for the app) before the Fail state.
//!
//! `${…}` placeholders are filled by the deployment template's `DefinitionSubstitutions`:
//! `Bucket`, `PipelineImageUri`, `PipelineRoleArn`, `GpuInstanceType`, `CpuInstanceType`.

use domain::job::Stage;
use serde_json::{json, Map, Value};

/// Where in the container the job folder is.
const JOB_DIR: &str = "/opt/ml/processing/job";
/// Where in the container ingest finds the uploaded photos.
const PHOTOS_DIR: &str = "/opt/ml/processing/photos";
/// Where in the container a stage writes its progress lines; SageMaker uploads the folder as it
/// changes (`Continuous`), so the app shows progress while the stage runs.
pub const PROGRESS_DIR: &str = "/opt/ml/processing/progress";

/// How the execution waits for a stage's processing job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Integration {
    /// `createProcessingJob.sync`: Step Functions follows the job itself (production).
    Sync,
    /// `createProcessingJob.waitForTaskToken`, with the task token as the container's last two
    /// arguments (`--task-token TOKEN`): whoever runs the job reports its end. Only for tests: a
    /// local stand-in of AWS can run the state machine but cannot follow a SageMaker job, so a
    /// local worker plays SageMaker and reports back. Real task tokens are longer than SageMaker
    /// allows an argument to be, which is why production uses `Sync`.
    Callback,
}

/// Errors worth another try: the service, not the stage, failed.
pub const TRANSIENT_ERRORS: [&str; 3] = [
    "SageMaker.AmazonSageMakerException",
    "SageMaker.ResourceLimitExceededException",
    "ThrottlingException",
];

/// The state that runs `stage`.
pub fn task_name(stage: Stage) -> String {
    format!("Run {stage}")
}

/// The longest a stage may run, in seconds (SageMaker stops it then, and the stage fails).
fn max_runtime(stage: Stage) -> u32 {
    match stage {
        Stage::Sfm => 6 * 3600,
        Stage::Train => 12 * 3600,
        Stage::Ingest | Stage::Compress => 2 * 3600,
    }
}

/// Stages that want a GPU (COLMAP's SIFT and matching, 3DGS training).
fn needs_gpu(stage: Stage) -> bool {
    matches!(stage, Stage::Sfm | Stage::Train)
}

fn task(stage: Stage, next: &str, integration: Integration) -> Value {
    let job_uri = "States.Format('s3://${Bucket}/jobs/{}/', $.job_id)";
    let mut inputs = vec![json!({
        "InputName": "job",
        "S3Input": {
            "S3Uri.$": job_uri,
            "LocalPath": JOB_DIR,
            "S3DataType": "S3Prefix",
            "S3InputMode": "File",
        }
    })];
    let mut arguments = format!(
        "States.Array('run-stage', '{stage}', '{JOB_DIR}', '--params', States.JsonToString($.params))"
    );
    if stage == Stage::Ingest {
        // The job folder is empty before ingest (SageMaker refuses an empty input prefix): the
        // photos are its only input.
        inputs.clear();
        inputs.push(json!({
            "InputName": "photos",
            "S3Input": {
                "S3Uri.$": "$.archive",
                "LocalPath": PHOTOS_DIR,
                "S3DataType": "S3Prefix",
                "S3InputMode": "File",
            }
        }));
        arguments = format!(
            "States.Array('run-stage', '{stage}', '{JOB_DIR}', '--params', \
             States.JsonToString($.params), '--archive', '{PHOTOS_DIR}/photos.zip')"
        );
    }
    if integration == Integration::Callback {
        let open = arguments.strip_suffix(')').unwrap_or(&arguments);
        arguments = format!("{open}, '--task-token', $$.Task.Token)");
    }
    let arguments = arguments.replacen(
        "'--params',",
        &format!("'--progress', '{PROGRESS_DIR}/{stage}.jsonl', '--params',"),
        1,
    );
    let resource = match integration {
        Integration::Sync => "arn:aws:states:::sagemaker:createProcessingJob.sync",
        Integration::Callback => "arn:aws:states:::sagemaker:createProcessingJob.waitForTaskToken",
    };
    let instance = if needs_gpu(stage) {
        "${GpuInstanceType}"
    } else {
        "${CpuInstanceType}"
    };
    json!({
        "Type": "Task",
        "Comment": format!("The {stage} stage as a SageMaker processing job"),
        "Resource": resource,
        "Parameters": {
            // SageMaker job names are unique for good (per account and region): named by the
            // execution (`{job}` or `{job}-r{n}` for a run again) and the retry, so neither a
            // retried stage nor a run again of a failed stage reuses a name.
            "ProcessingJobName.$": format!(
                "States.Format('{{}}-{stage}-{{}}', $$.Execution.Name, $$.State.RetryCount)"
            ),
            "RoleArn": "${PipelineRoleArn}",
            "AppSpecification": {
                "ImageUri": "${PipelineImageUri}",
                "ContainerEntrypoint": ["spaceport"],
                "ContainerArguments.$": arguments,
            },
            "ProcessingInputs": inputs,
            "ProcessingOutputConfig": {
                "Outputs": [{
                    "OutputName": "job",
                    "S3Output": {
                        "S3Uri.$": job_uri,
                        "LocalPath": JOB_DIR,
                        "S3UploadMode": "EndOfJob",
                    }
                }, {
                    "OutputName": "progress",
                    "S3Output": {
                        "S3Uri.$": "States.Format('s3://${Bucket}/jobs/{}/progress/', $.job_id)",
                        "LocalPath": PROGRESS_DIR,
                        "S3UploadMode": "Continuous",
                    }
                }]
            },
            "ProcessingResources": {
                "ClusterConfig": {
                    "InstanceCount": 1,
                    "InstanceType": instance,
                    "VolumeSizeInGB": 100,
                }
            },
            "StoppingCondition": {"MaxRuntimeInSeconds": max_runtime(stage)},
            "Tags": [{"Key": "spaceport:stage", "Value": stage.as_str()}],
        },
        // The execution's input (job id, parameters) must reach every stage unchanged.
        "ResultPath": null,
        "Retry": [{
            "ErrorEquals": TRANSIENT_ERRORS,
            "IntervalSeconds": 30,
            "MaxAttempts": 4,
            "BackoffRate": 2.0,
        }],
        "Catch": [{
            "ErrorEquals": ["States.ALL"],
            "ResultPath": "$.error",
            "Next": format!("{stage} failed"),
        }],
        "Next": next,
    })
}

/// The state machine definition, as the deployment uploads it.
pub fn definition() -> Value {
    definition_with(Integration::Sync)
}

/// The definition with another way of waiting for the stages (see [`Integration`]).
pub fn definition_with(integration: Integration) -> Value {
    let mut states = Map::new();
    let choices: Vec<Value> = Stage::ALL
        .into_iter()
        .map(|stage| {
            json!({
                "Variable": "$.start_from",
                "StringEquals": stage.as_str(),
                "Next": task_name(stage),
            })
        })
        .collect();
    states.insert(
        "Start from".into(),
        json!({
            "Type": "Choice",
            "Comment": "Where the job starts: the first stage, or a later one on a retry",
            "Choices": choices,
            "Default": task_name(Stage::ALL[0]),
        }),
    );
    for stage in Stage::ALL {
        let next = stage
            .next()
            .map_or_else(|| "Delivered".to_owned(), task_name);
        states.insert(task_name(stage), task(stage, &next, integration));
        states.insert(
            format!("{stage} failed"),
            json!({
                "Type": "Pass",
                "Result": stage.as_str(),
                "ResultPath": "$.failed_stage",
                "Next": "Failed",
            }),
        );
    }
    states.insert("Delivered".into(), json!({"Type": "Succeed"}));
    states.insert(
        "Failed".into(),
        json!({
            "Type": "Fail",
            "ErrorPath": "$.error.Error",
            "CausePath": "$.error.Cause",
        }),
    );
    json!({
        "Comment": "Spaceport: one job's pipeline (generated by `cargo run -p cloud --example state-machine`)",
        "StartAt": "Start from",
        "States": states,
    })
}
