//! Where the cloud adapters find their AWS resources: one struct, filled by the server's
//! configuration, so every adapter reads the same names. Credentials never appear here: the AWS
//! SDK's default chain finds them (environment, the instance's or task's role).

use aws_config::{BehaviorVersion, Region, SdkConfig};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsSettings {
    /// e.g. `eu-west-1`.
    pub region: String,
    /// Another endpoint than AWS's own for every service (a local stand-in such as the moto
    /// server in tests); `None` in production.
    pub endpoint_url: Option<String>,
    /// The DynamoDB table for projects and uploads.
    pub table: String,
    /// The S3 bucket for photos, job folders and models.
    pub bucket: String,
    /// The Cognito user pool, e.g. `eu-west-1_AbCdEf123`.
    pub user_pool_id: String,
    /// The pool's app client (no secret: the server signs users in with `USER_PASSWORD_AUTH`).
    pub client_id: String,
    /// The pipeline's Step Functions state machine.
    pub state_machine_arn: String,
}

impl AwsSettings {
    /// The SDK configuration for these settings: the default credential chain, this region and
    /// endpoint.
    pub async fn sdk_config(&self) -> SdkConfig {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(self.region.clone()));
        if let Some(url) = &self.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        loader.load().await
    }

    /// The origins the browser reaches S3 at (presigned part uploads, delivered models), for
    /// the pages' Content-Security-Policy: the stand-in's endpoint, or the bucket's own host
    /// names (regional, and the global one older URLs use).
    pub fn s3_origins(&self) -> Vec<String> {
        match &self.endpoint_url {
            Some(url) => vec![url.trim_end_matches('/').to_owned()],
            None => vec![
                format!("https://{}.s3.{}.amazonaws.com", self.bucket, self.region),
                format!("https://{}.s3.amazonaws.com", self.bucket),
            ],
        }
    }

    /// What the pool's tokens name as their issuer.
    pub fn issuer(&self) -> String {
        format!(
            "https://cognito-idp.{}.amazonaws.com/{}",
            self.region, self.user_pool_id
        )
    }

    /// Where the pool publishes its token-signing keys (a local stand-in serves them under its
    /// own address).
    pub fn jwks_url(&self) -> String {
        match &self.endpoint_url {
            Some(url) => format!(
                "{}/{}/.well-known/jwks.json",
                url.trim_end_matches('/'),
                self.user_pool_id
            ),
            None => format!("{}/.well-known/jwks.json", self.issuer()),
        }
    }
}

/// An AWS error with its whole chain of causes (the SDK's `Display` alone says only "service
/// error"), for logs and `check-config`.
pub fn describe(e: &(impl std::error::Error + 'static)) -> String {
    aws_sdk_s3::error::DisplayErrorContext(e).to_string()
}
