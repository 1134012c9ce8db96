//! `DeliveredFiles` on local disk: a delivered job's files are in its folder
//! (`DATA_DIR/jobs/JOB/`, at the paths `domain::job::DeliveredFile` names), and this server
//! serves them itself.

use async_trait::async_trait;
use domain::job::{DeliveredFile, Job};
use domain::ports::{DeliveredFiles, Delivery};
use domain::StoreError;

use crate::adapters::layout::DataLayout;

pub struct LocalDelivered {
    layout: DataLayout,
}

impl LocalDelivered {
    pub fn new(layout: DataLayout) -> Self {
        Self { layout }
    }

    fn path(&self, job: &Job, file: DeliveredFile) -> std::path::PathBuf {
        self.layout.job(&job.id).join(file.path())
    }
}

fn disk(e: &std::io::Error) -> StoreError {
    StoreError::Internal(format!("disk: {e}"))
}

#[async_trait]
impl DeliveredFiles for LocalDelivered {
    async fn read(&self, job: &Job, file: DeliveredFile) -> Result<Option<Vec<u8>>, StoreError> {
        match tokio::fs::read(self.path(job, file)).await {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(disk(&e)),
        }
    }

    async fn size(&self, job: &Job, file: DeliveredFile) -> Result<Option<u64>, StoreError> {
        match tokio::fs::metadata(self.path(job, file)).await {
            Ok(m) => Ok(Some(m.len())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(disk(&e)),
        }
    }

    async fn locate(&self, job: &Job, file: DeliveredFile) -> Result<Delivery, StoreError> {
        Ok(Delivery::File(self.path(job, file)))
    }
}
