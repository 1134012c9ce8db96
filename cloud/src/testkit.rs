//! A local stand-in of AWS for tests: the moto server (installed by `scripts/setup.sh` into
//! `.tools/aws`) on a free port, one per test so tests cannot see each other's data, and
//! `provision`, which creates what the deployment template would (table, bucket with CORS, user
//! pool and client). Compiled only with the `testkit` feature.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_cognitoidentityprovider::types::{
    AttributeDataType, ExplicitAuthFlowsType, SchemaAttributeType,
};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
};

use crate::AwsSettings;

/// A running moto server; killed when dropped.
pub struct Moto {
    child: Child,
    pub url: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `moto_server`: `$MOTO_SERVER`, else `.tools/aws/bin/moto_server` in the workspace. The
/// server is started through the Python beside it (see [`SERIAL`]).
fn moto_server() -> PathBuf {
    std::env::var_os("MOTO_SERVER").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.tools/aws/bin/moto_server"),
        PathBuf::from,
    )
}

/// moto's `moto_server` answers on a thread per request and holds no lock between a condition's
/// check and its write, so conditional writes sent at the same moment can all pass: the
/// attempt store's "twenty guesses at once" let six through where DynamoDB lets five, and two
/// launches at once once both started. DynamoDB serialises writes to an item; served one
/// request at a time (HTTP/1.0, no keep-alive to hold the server), so does the stand-in.
const SERIAL: &str = "import os, sys
from werkzeug.serving import run_simple
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
os.environ.setdefault('MOTO_PORT', sys.argv[2])
app = DomainDispatcherApplication(create_backend_app)
run_simple(sys.argv[1], int(sys.argv[2]), app, threaded=False, request_handler=MotoRequestHandler)
";

impl Moto {
    /// Starts a fresh server and waits until it answers. Sets the process's AWS credentials to
    /// moto's test values (the same for every test, so concurrent tests agree).
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// A server that checks credentials like AWS does: moto's test credentials are unknown to
    /// it, so every call is refused as with wrong or expired credentials.
    pub fn start_checking_credentials() -> Self {
        Self::start_with(&[("INITIAL_NO_AUTH_ACTION_COUNT", "0")])
    }

    fn start_with(env: &[(&str, &str)]) -> Self {
        let bin = moto_server();
        assert!(
            bin.exists(),
            "{} is missing: run scripts/setup.sh (it installs moto into .tools/aws)",
            bin.display()
        );
        set_test_credentials();
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let python = bin.with_file_name("python");
        let child = Command::new(&python)
            .args(["-c", SERIAL, "127.0.0.1", &port.to_string()])
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto_server");
        let moto = Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_mins(1);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "moto_server did not start in 60 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        moto
    }

    /// Settings naming resources that do not exist yet; `provision` creates them.
    pub fn settings(&self, name: &str) -> AwsSettings {
        AwsSettings {
            region: "eu-west-1".to_owned(),
            endpoint_url: Some(self.url.clone()),
            table: format!("{name}-table"),
            bucket: format!("{name}-bucket"),
            user_pool_id: String::new(),
            client_id: String::new(),
            state_machine_arn: String::new(),
        }
    }
}

/// moto accepts any credentials unless told otherwise; these are its documented test values.
pub fn set_test_credentials() {
    // Every caller sets the same values, so threads racing here cannot disagree.
    for (k, v) in [
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_SESSION_TOKEN", "testing"),
    ] {
        if std::env::var(k).as_deref() != Ok(v) {
            std::env::set_var(k, v);
        }
    }
    std::env::remove_var("AWS_PROFILE");
}

/// Creates the table, the bucket (with the CORS rule the browser's direct uploads need) and a
/// user pool with an app client, as the deployment template does, and fills in their ids.
pub async fn provision(settings: &mut AwsSettings) {
    let config = settings.sdk_config().await;
    let dynamo = aws_sdk_dynamodb::Client::new(&config);
    let key = |name: &str, kind| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
            .expect("key")
    };
    let attr = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .expect("attribute")
    };
    dynamo
        .create_table()
        .table_name(&settings.table)
        .key_schema(key("pk", KeyType::Hash))
        .key_schema(key("sk", KeyType::Range))
        .attribute_definitions(attr("pk"))
        .attribute_definitions(attr("sk"))
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .expect("create table");

    let s3 = crate::s3_uploads::s3_client(&config);
    s3.create_bucket()
        .bucket(&settings.bucket)
        .create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::EuWest1)
                .build(),
        )
        .send()
        .await
        .expect("create bucket");

    let cognito = aws_sdk_cognitoidentityprovider::Client::new(&config);
    let pool = cognito
        .create_user_pool()
        .pool_name(format!("{}-users", settings.table))
        .username_attributes(aws_sdk_cognitoidentityprovider::types::UsernameAttributeType::Email)
        // The product's own rule (domain::NewPassword): length, not character classes.
        .policies(
            aws_sdk_cognitoidentityprovider::types::UserPoolPolicyType::builder()
                .password_policy(
                    aws_sdk_cognitoidentityprovider::types::PasswordPolicyType::builder()
                        .minimum_length(10)
                        .require_lowercase(false)
                        .require_uppercase(false)
                        .require_numbers(false)
                        .require_symbols(false)
                        .build(),
                )
                .build(),
        )
        .schema(
            SchemaAttributeType::builder()
                .name("preferred_username")
                .attribute_data_type(AttributeDataType::String)
                .mutable(true)
                .build(),
        )
        .send()
        .await
        .expect("create user pool");
    let pool_id = pool
        .user_pool()
        .and_then(|p| p.id())
        .expect("pool id")
        .to_owned();
    let client = cognito
        .create_user_pool_client()
        .user_pool_id(&pool_id)
        .client_name("spaceport")
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserPasswordAuth)
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowRefreshTokenAuth)
        .send()
        .await
        .expect("create app client");
    client
        .user_pool_client()
        .and_then(|c| c.client_id())
        .expect("client id")
        .clone_into(&mut settings.client_id);
    cognito
        .create_group()
        .user_pool_id(&pool_id)
        .group_name(crate::cognito_auth::ADMIN_GROUP)
        .send()
        .await
        .expect("create the admin group");
    settings.user_pool_id = pool_id;
}

/// Marks every stored session's access token as expired, so the next use must renew it.
pub async fn expire_access_tokens(settings: &AwsSettings) {
    let dynamo = aws_sdk_dynamodb::Client::new(&settings.sdk_config().await);
    let items = dynamo
        .scan()
        .table_name(&settings.table)
        .send()
        .await
        .expect("scan");
    for item in items.items() {
        if item
            .get("sk")
            .and_then(|v| v.as_s().ok())
            .map(String::as_str)
            == Some("SESSION")
        {
            let mut item = item.clone();
            item.insert(
                "access_exp".to_owned(),
                aws_sdk_dynamodb::types::AttributeValue::N("0".to_owned()),
            );
            dynamo
                .put_item()
                .table_name(&settings.table)
                .set_item(Some(item))
                .send()
                .await
                .expect("put");
        }
    }
}

/// Creates the pipeline's state machine as the template would — in its test form, whose stages
/// report back through task tokens (`Integration::Callback`), since the stand-in cannot follow a
/// SageMaker job — and turns on the stand-in's execution of state machines.
pub async fn provision_state_machine(moto: &Moto, settings: &mut AwsSettings) {
    let definition =
        crate::state_machine::definition_with(crate::state_machine::Integration::Callback)
            .to_string()
            .replace("${Bucket}", &settings.bucket)
            .replace(
                "${PipelineImageUri}",
                "123456789012.dkr.ecr.eu-west-1.amazonaws.com/spaceport-pipeline:test",
            )
            .replace(
                "${PipelineRoleArn}",
                "arn:aws:iam::123456789012:role/spaceport-pipeline",
            )
            .replace("${GpuInstanceType}", "ml.g5.xlarge")
            .replace("${CpuInstanceType}", "ml.m5.xlarge");
    create_state_machine(moto, settings, definition).await;
}

/// A state machine whose executions wait an hour and do nothing, for tests of how jobs are
/// launched, followed and cancelled with no stage work. (Stopping the pipeline's own while a
/// stage waits for its task token does not end the execution in moto, as it does on AWS.)
pub async fn provision_idle_state_machine(moto: &Moto, settings: &mut AwsSettings) {
    let definition = serde_json::json!({
        "StartAt": "Nobody works",
        "States": { "Nobody works": { "Type": "Wait", "Seconds": 3600, "End": true } }
    });
    create_state_machine(moto, settings, definition.to_string()).await;
}

async fn create_state_machine(moto: &Moto, settings: &mut AwsSettings, definition: String) {
    let http = reqwest::Client::new();
    http.post(format!("{}/moto-api/config", moto.url))
        .json(&serde_json::json!({"stepfunctions": {"execute_state_machine": true}}))
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .expect("turn on state machine execution");
    let sfn = aws_sdk_sfn::Client::new(&settings.sdk_config().await);
    let created = sfn
        .create_state_machine()
        .name(format!("{}-pipeline", settings.table))
        .definition(definition)
        .role_arn("arn:aws:iam::123456789012:role/spaceport-states")
        .send()
        .await
        .expect("create the state machine");
    created
        .state_machine_arn()
        .clone_into(&mut settings.state_machine_arn);
}

/// A local worker standing in for SageMaker: it picks up each processing job the state machine
/// creates, does what SageMaker would — copies the job's S3 inputs into a folder standing for
/// `/opt/ml/processing`, runs the container's command (our `spaceport` binary), copies the
/// outputs back to S3 — and reports the end to Step Functions with the job's task token. Stops
/// when dropped.
pub struct StandInSageMaker {
    task: tokio::task::JoinHandle<()>,
}

impl Drop for StandInSageMaker {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl StandInSageMaker {
    pub async fn start(settings: &AwsSettings, spaceport: PathBuf, work: PathBuf) -> Self {
        let config = settings.sdk_config().await;
        let task = tokio::spawn(async move {
            let sm = aws_sdk_sagemaker_like::Client::new(&config);
            let mut seen = std::collections::HashSet::new();
            loop {
                for name in sm.processing_jobs().await {
                    if seen.insert(name.clone()) {
                        let job = sm.describe(&name).await;
                        run_processing_job(&config, &spaceport, &work.join(&name), &job).await;
                    }
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        });
        Self { task }
    }
}

/// What the stand-in reads of a processing job.
pub struct ProcessingJob {
    pub arguments: Vec<String>,
    /// (S3 URI, local path)
    pub inputs: Vec<(String, String)>,
    /// (local path, S3 URI)
    pub outputs: Vec<(String, String)>,
}

/// The SageMaker API calls the stand-in needs, over moto's JSON protocol (the SDK for SageMaker
/// is large, and only tests need these three calls).
mod aws_sdk_sagemaker_like {
    use super::ProcessingJob;

    pub struct Client {
        http: reqwest::Client,
        config: aws_config::SdkConfig,
    }

    impl Client {
        pub fn new(config: &aws_config::SdkConfig) -> Self {
            Self {
                http: reqwest::Client::new(),
                config: config.clone(),
            }
        }

        async fn call(&self, action: &str, body: serde_json::Value) -> serde_json::Value {
            // moto does not check signatures; it needs the target and a region in the
            // credential scope.
            let url = self.config.endpoint_url().expect("a stand-in endpoint");
            let region = self
                .config
                .region()
                .map_or("eu-west-1".to_owned(), ToString::to_string);
            self.http
                .post(url)
                .header("x-amz-target", format!("SageMaker.{action}"))
                .header("content-type", "application/x-amz-json-1.1")
                .header(
                    "authorization",
                    format!("AWS4-HMAC-SHA256 Credential=testing/20260101/{region}/sagemaker/aws4_request, SignedHeaders=host, Signature=0"),
                )
                .body(body.to_string())
                .send()
                .await
                .expect("sagemaker call")
                .json()
                .await
                .expect("sagemaker answer")
        }

        pub async fn processing_jobs(&self) -> Vec<String> {
            let out = self.call("ListProcessingJobs", serde_json::json!({})).await;
            let mut names: Vec<(String, f64)> = out["ProcessingJobSummaries"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|j| {
                            Some((
                                j["ProcessingJobName"].as_str()?.to_owned(),
                                j["CreationTime"].as_f64().unwrap_or(0.0),
                            ))
                        })
                        .collect()
                })
                .unwrap_or_default();
            names.sort_by(|a, b| a.1.total_cmp(&b.1));
            names.into_iter().map(|(n, _)| n).collect()
        }

        pub async fn describe(&self, name: &str) -> ProcessingJob {
            let j = self
                .call(
                    "DescribeProcessingJob",
                    serde_json::json!({ "ProcessingJobName": name }),
                )
                .await;
            let strings = |v: &serde_json::Value| -> Vec<String> {
                v.as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|s| s.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default()
            };
            let inputs = j["ProcessingInputs"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|i| {
                            Some((
                                i["S3Input"]["S3Uri"].as_str()?.to_owned(),
                                i["S3Input"]["LocalPath"].as_str()?.to_owned(),
                            ))
                        })
                        .collect()
                })
                .unwrap_or_default();
            let outputs = j["ProcessingOutputConfig"]["Outputs"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|o| {
                            Some((
                                o["S3Output"]["LocalPath"].as_str()?.to_owned(),
                                o["S3Output"]["S3Uri"].as_str()?.to_owned(),
                            ))
                        })
                        .collect()
                })
                .unwrap_or_default();
            ProcessingJob {
                arguments: strings(&j["AppSpecification"]["ContainerArguments"]),
                inputs,
                outputs,
            }
        }
    }
}

fn split_s3(uri: &str) -> (String, String) {
    let rest = uri.trim_start_matches("s3://");
    let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
    (bucket.to_owned(), key.to_owned())
}

/// Runs one processing job the way SageMaker would, then reports its end.
async fn run_processing_job(
    config: &aws_config::SdkConfig,
    spaceport: &std::path::Path,
    root: &std::path::Path,
    job: &ProcessingJob,
) {
    let s3 = crate::s3_uploads::s3_client(config);
    let local = |path: &str| root.join(path.trim_start_matches("/opt/ml/processing/"));
    for (uri, path) in &job.inputs {
        let (bucket, prefix) = split_s3(uri);
        // As SageMaker's S3Prefix input: every object under the prefix, at its path below the
        // prefix's folder.
        let folder = prefix.rfind('/').map_or("", |i| &prefix[..=i]).to_owned();
        let listed = s3
            .list_objects_v2()
            .bucket(&bucket)
            .prefix(&prefix)
            .send()
            .await
            .expect("list inputs");
        for object in listed.contents() {
            let key = object.key().unwrap_or_default();
            let target = local(path).join(key.trim_start_matches(&folder));
            std::fs::create_dir_all(target.parent().expect("parent")).expect("input folder");
            let body = s3
                .get_object()
                .bucket(&bucket)
                .key(key)
                .send()
                .await
                .expect("get input");
            let bytes = body.body.collect().await.expect("input bytes").into_bytes();
            std::fs::write(&target, bytes).expect("write input");
        }
    }
    let mut args = job.arguments.clone();
    let at = args
        .iter()
        .position(|a| a == "--task-token")
        .expect("a task token");
    let token = args.remove(at + 1);
    args.remove(at);
    let args: Vec<String> = args
        .into_iter()
        .map(|a| a.replace("/opt/ml/processing/", &format!("{}/", root.display())))
        .collect();
    for (path, _) in &job.outputs {
        std::fs::create_dir_all(local(path)).expect("output folder");
    }
    let out = tokio::process::Command::new(spaceport)
        .args(&args)
        .output()
        .await
        .expect("run the container's command");
    for (path, uri) in &job.outputs {
        let (bucket, prefix) = split_s3(uri);
        let base = local(path);
        let mut stack = vec![base.clone()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).expect("output folder") {
                let p = entry.expect("entry").path();
                if p.is_dir() {
                    stack.push(p);
                } else {
                    let rel = p
                        .strip_prefix(&base)
                        .expect("below")
                        .to_string_lossy()
                        .replace('\\', "/");
                    let key = format!("{}/{rel}", prefix.trim_end_matches('/'));
                    let body = aws_sdk_s3::primitives::ByteStream::from_path(&p)
                        .await
                        .expect("read output");
                    s3.put_object()
                        .bucket(&bucket)
                        .key(key)
                        .body(body)
                        .send()
                        .await
                        .expect("put output");
                }
            }
        }
    }
    let sfn = aws_sdk_sfn::Client::new(config);
    if out.status.success() {
        sfn.send_task_success()
            .task_token(token)
            .output("{}")
            .send()
            .await
            .expect("report success");
    } else {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let last = stderr
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("the stage failed");
        sfn.send_task_failure()
            .task_token(token)
            .error("ProcessingJobFailed")
            .cause(last.trim_start_matches("spaceport: "))
            .send()
            .await
            .expect("report failure");
    }
}
