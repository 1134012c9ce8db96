//! The start-up check of a cloud configuration (`server check-config`, and the first thing the
//! server does in cloud mode): every resource the settings name is asked for, in the order that
//! explains the most — the credentials, then each resource — and the first problem stops
//! everything with the setting to fix. Nothing else starts before it passes, so a wrong pool id
//! or a missing bucket is a start-up error, not a failure at a user's first sign-in.

use aws_sdk_cognitoidentityprovider::types::ExplicitAuthFlowsType;
use aws_sdk_sts::error::ProvideErrorMetadata;

use crate::settings::describe;
use crate::AwsSettings;

/// What is wrong, naming the setting (or credentials) to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{setting}: {message}")]
pub struct CheckError {
    pub setting: &'static str,
    pub message: String,
}

fn fail(setting: &'static str, message: impl Into<String>) -> CheckError {
    CheckError {
        setting,
        message: message.into(),
    }
}

/// Error codes AWS answers when the credentials themselves are the problem.
const CREDENTIAL_ERRORS: [&str; 7] = [
    "ExpiredToken",
    "ExpiredTokenException",
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "AccessDenied",
];

/// Turns a failed call into the setting to fix: the credentials when AWS refused them, the
/// endpoint when nothing answered, else `setting` with `missing` when the service said the
/// resource does not exist (`not_found` codes).
fn classify<E, R>(
    e: &aws_sdk_sts::error::SdkError<E, R>,
    setting: &'static str,
    not_found: &[&str],
    missing: &str,
) -> CheckError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    use aws_sdk_sts::error::SdkError;
    match e {
        SdkError::ServiceError(s) => {
            let code = s.err().code().unwrap_or_default();
            if CREDENTIAL_ERRORS.contains(&code) {
                fail(
                    "AWS credentials",
                    format!(
                        "AWS refused them ({code}: {}): they are missing, wrong or expired. Give fresh ones (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and, for temporary ones, AWS_SESSION_TOKEN, or the instance's role)",
                        s.err().message().unwrap_or_default()
                    ),
                )
            } else if not_found.contains(&code) {
                fail(setting, missing.to_owned())
            } else {
                fail(setting, format!("{code}: {}", s.err().message().unwrap_or_default()))
            }
        }
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => fail(
            "SPACEPORT_AWS_ENDPOINT_URL / network",
            format!("AWS could not be reached: {}", describe(e)),
        ),
        _ if describe(e).contains("credentials") => fail(
            "AWS credentials",
            format!("none were found: {}. Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN) or run where a role provides them", describe(e)),
        ),
        _ => fail(setting, describe(e)),
    }
}

/// Checks every resource `s` names; `Ok` lists what was found, one line each.
pub async fn check(s: &AwsSettings) -> Result<Vec<String>, CheckError> {
    let config = s.sdk_config().await;
    let mut found = Vec::new();

    let who = aws_sdk_sts::Client::new(&config)
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| classify(&e, "AWS credentials", &[], ""))?;
    found.push(format!(
        "credentials: accepted ({})",
        who.arn().unwrap_or("an identity without an ARN")
    ));

    let table = aws_sdk_dynamodb::Client::new(&config)
        .describe_table()
        .table_name(&s.table)
        .send()
        .await
        .map_err(|e| {
            classify(
                &e,
                "SPACEPORT_DYNAMODB_TABLE",
                &["ResourceNotFoundException"],
                &format!(
                    "there is no table '{}' in {}; give the stack's TableName output",
                    s.table, s.region
                ),
            )
        })?;
    let keys: Vec<String> = table
        .table()
        .map(|t| {
            t.key_schema()
                .iter()
                .map(|k| k.attribute_name().to_owned())
                .collect()
        })
        .unwrap_or_default();
    if keys != ["pk", "sk"] {
        return Err(fail(
            "SPACEPORT_DYNAMODB_TABLE",
            format!(
                "table '{}' has keys {keys:?}, not [\"pk\", \"sk\"]: it is not Spaceport's table",
                s.table
            ),
        ));
    }
    found.push(format!("table: {}", s.table));

    crate::s3_uploads::s3_client(&config)
        .head_bucket()
        .bucket(&s.bucket)
        .send()
        .await
        .map_err(|e| {
            classify(
                &e,
                "SPACEPORT_S3_BUCKET",
                &["NotFound", "NoSuchBucket"],
                &format!(
                    "there is no bucket '{}'; give the stack's BucketName output",
                    s.bucket
                ),
            )
        })?;
    found.push(format!("bucket: {}", s.bucket));

    let cognito = aws_sdk_cognitoidentityprovider::Client::new(&config);
    cognito
        .describe_user_pool()
        .user_pool_id(&s.user_pool_id)
        .send()
        .await
        .map_err(|e| {
            classify(
                &e,
                "SPACEPORT_COGNITO_USER_POOL_ID",
                &["ResourceNotFoundException"],
                &format!(
                    "there is no user pool '{}' in {}; give the stack's UserPoolId output",
                    s.user_pool_id, s.region
                ),
            )
        })?;
    let client = cognito
        .describe_user_pool_client()
        .user_pool_id(&s.user_pool_id)
        .client_id(&s.client_id)
        .send()
        .await
        .map_err(|e| {
            classify(
                &e,
                "SPACEPORT_COGNITO_CLIENT_ID",
                &["ResourceNotFoundException"],
                &format!(
                    "the pool {} has no app client '{}'; give the stack's UserPoolClientId output",
                    s.user_pool_id, s.client_id
                ),
            )
        })?;
    let flows = client
        .user_pool_client()
        .map(|c| c.explicit_auth_flows().to_vec())
        .unwrap_or_default();
    if !flows.contains(&ExplicitAuthFlowsType::AllowUserPasswordAuth) {
        return Err(fail(
            "SPACEPORT_COGNITO_CLIENT_ID",
            format!("app client '{}' does not allow ALLOW_USER_PASSWORD_AUTH, which the server signs in with", s.client_id),
        ));
    }
    found.push(format!(
        "user pool: {} (client {})",
        s.user_pool_id, s.client_id
    ));

    let keys = reqwest::get(s.jwks_url())
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(|e| {
            fail(
                "SPACEPORT_COGNITO_USER_POOL_ID",
                format!(
                    "its signing keys at {} could not be fetched: {e}",
                    s.jwks_url()
                ),
            )
        })?;
    let keys: serde_json::Value = keys.json().await.map_err(|e| {
        fail(
            "SPACEPORT_COGNITO_USER_POOL_ID",
            format!("its signing keys are not JSON: {e}"),
        )
    })?;
    if keys["keys"].as_array().is_none_or(Vec::is_empty) {
        return Err(fail(
            "SPACEPORT_COGNITO_USER_POOL_ID",
            "the pool publishes no signing keys",
        ));
    }
    found.push("token keys: published".to_owned());

    aws_sdk_sfn::Client::new(&config)
        .describe_state_machine()
        .state_machine_arn(&s.state_machine_arn)
        .send()
        .await
        .map_err(|e| {
            classify(
                &e,
                "SPACEPORT_STATE_MACHINE_ARN",
                &["StateMachineDoesNotExist"],
                &format!(
                    "there is no state machine {}; give the stack's StateMachineArn output",
                    s.state_machine_arn
                ),
            )
        })?;
    found.push(format!("state machine: {}", s.state_machine_arn));
    Ok(found)
}
