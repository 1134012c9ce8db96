//! Cloud mode: Spaceport on AWS. The AWS implementations of the domain's ports — accounts on
//! Cognito ([`cognito_auth`], tokens verified in [`cognito_tokens`]), projects, share links and the waitlist on one DynamoDB table
//! ([`dynamo_projects`], [`dynamo_shares`], [`dynamo_waitlist`] over [`table`]), photo uploads
//! straight from the browser into S3 ([`s3_uploads`]), jobs on Step Functions ([`sfn_jobs`]) and
//! delivered files in S3 ([`s3_delivered`]), a project's deletion erasing all of it ([`erase`]) — the start-up checks of a cloud configuration
//! ([`check`], over [`settings`]), and the Step Functions state machine ([`state_machine`]) that
//! runs each stage of `domain::job::Stage` as a SageMaker processing job of `spaceport
//! run-stage`, the entry the local job runner uses too. The server picks these or the embedded
//! adapters from its configuration alone.

pub mod check;
pub mod cognito_auth;
pub mod cognito_tokens;
pub mod dynamo_attempts;
pub mod dynamo_projects;
pub mod dynamo_shares;
pub mod dynamo_waitlist;
pub mod erase;
pub mod s3_delivered;
pub mod s3_uploads;
pub mod settings;
pub mod sfn_jobs;
pub mod state_machine;
pub mod table;
#[cfg(feature = "testkit")]
pub mod testkit;

pub use aws_config::SdkConfig;
pub use aws_sdk_cognitoidentityprovider::Client as CognitoClient;
pub use settings::AwsSettings;
pub use table::Table;
