//! Deleting a project in the cloud erases what it has there. The project record is one item
//! among several: its job (an execution that may still be running, a folder of files in S3,
//! records), its share link, its upload sessions and its photos (an archive, or an unfinished
//! multipart upload). [`ErasingProjects`] is the `ProjectStore` the server uses in cloud mode:
//! every call goes to the DynamoDB store, and `delete` first erases the rest — so nothing the
//! user asked to delete lingers, and nothing keeps running (or billing) for a project nobody can
//! see. The embedded twin gets the same from SQLite's cascading deletes and the orphan sweep.

use std::sync::Arc;

use async_trait::async_trait;
use domain::ports::{ProjectStore, ShareLinks};
use domain::{FlightInputs, Project, ProjectId, ProjectStatus, ProjectTitle, StoreError, UserId};

use crate::s3_delivered::Bucket;
use crate::sfn_jobs::SfnJobs;
use crate::table::{self as dp, Table};

pub struct ErasingProjects {
    projects: Arc<dyn ProjectStore>,
    jobs: Arc<SfnJobs>,
    shares: Arc<dyn ShareLinks>,
    bucket: Bucket,
    table: Table,
}

impl ErasingProjects {
    pub fn new(
        projects: Arc<dyn ProjectStore>,
        jobs: Arc<SfnJobs>,
        shares: Arc<dyn ShareLinks>,
        bucket: Bucket,
        table: Table,
    ) -> Self {
        Self {
            projects,
            jobs,
            shares,
            bucket,
            table,
        }
    }

    /// The project's upload sessions, photos and unfinished multipart uploads.
    async fn erase_uploads(&self, owner: &UserId, project: &ProjectId) -> Result<(), StoreError> {
        for item in self.table.query(&dp::owner_pk(owner), "UPLOAD#").await? {
            if dp::s(&item, "project") == Some(project.0.as_str()) {
                let sk = dp::s(&item, "sk").unwrap_or_default().to_owned();
                self.table.delete(dp::key(dp::owner_pk(owner), sk)).await?;
            }
        }
        self.bucket
            .delete_prefix(&format!("uploads/{}/{}/", owner.0, project.0))
            .await?;
        Ok(())
    }
}

#[async_trait]
impl ProjectStore for ErasingProjects {
    async fn list(&self, owner: &UserId) -> Result<Vec<Project>, StoreError> {
        self.projects.list(owner).await
    }

    async fn get(&self, owner: &UserId, id: &ProjectId) -> Result<Project, StoreError> {
        self.projects.get(owner, id).await
    }

    async fn create(&self, owner: &UserId, title: &ProjectTitle) -> Result<Project, StoreError> {
        self.projects.create(owner, title).await
    }

    async fn rename(
        &self,
        owner: &UserId,
        id: &ProjectId,
        title: &ProjectTitle,
    ) -> Result<Project, StoreError> {
        self.projects.rename(owner, id, title).await
    }

    async fn set_flight_inputs(
        &self,
        owner: &UserId,
        id: &ProjectId,
        inputs: &FlightInputs,
    ) -> Result<Project, StoreError> {
        self.projects.set_flight_inputs(owner, id, inputs).await
    }

    async fn set_status(
        &self,
        owner: &UserId,
        id: &ProjectId,
        status: ProjectStatus,
    ) -> Result<Project, StoreError> {
        self.projects.set_status(owner, id, status).await
    }

    /// Erases the job, the share link and the photos, then the project: in that order, since
    /// each step finds its records through the project (and its owner check), and a delete
    /// that fails half-way can be asked again.
    async fn delete(&self, owner: &UserId, id: &ProjectId) -> Result<(), StoreError> {
        self.projects.get(owner, id).await?;
        self.jobs.forget(owner, id).await?;
        self.shares.revoke(owner, id).await?;
        self.erase_uploads(owner, id).await?;
        self.projects.delete(owner, id).await
    }
}
