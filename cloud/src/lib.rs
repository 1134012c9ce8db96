//! Cloud mode: Spaceport on AWS. The AWS implementations of the domain's ports — accounts on
//! Cognito ([`cognito_auth`]), projects on DynamoDB ([`dynamo_projects`]), photo uploads straight
//! from the browser into S3 ([`s3_uploads`]) — the start-up checks of a cloud configuration
//! ([`check`]), and the Step Functions state machine ([`state_machine`]) that runs a job's stages
//! as SageMaker processing jobs, generated from the same stage list and stage command lines as
//! the local job runner (`domain::ports::{STAGES, stage_args}`). The server picks these or the
//! embedded adapters from its configuration alone.

pub mod check;
pub mod cognito_auth;
pub mod dynamo_projects;
pub mod dynamo_shares;
pub mod dynamo_waitlist;
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
