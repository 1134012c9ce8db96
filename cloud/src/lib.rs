//! Cloud mode: Spaceport on AWS. So far the state machine ([`state_machine`]) that runs a job's
//! stages as SageMaker processing jobs, generated from the same stage list and stage command
//! lines as the local job runner (`domain::ports::{STAGES, stage_args}`).

pub mod state_machine;
