//! `DeliveredFiles` on S3, and the bucket's object reads the cloud adapters share. A job's folder
//! is the prefix `jobs/{job}/` (each SageMaker stage downloads it and uploads it back), so a
//! delivered file is at `jobs/{job}/` + its path in `domain::job::DeliveredFile`. The browser
//! fetches files from S3 itself, through a short-lived presigned URL handed out after the
//! server's owner or share-link check.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_s3::presigning::PresigningConfig;
use domain::job::{DeliveredFile, Job};
use domain::ports::{DeliveredFiles, Delivery};
use domain::StoreError;

use crate::settings::describe;

/// How long a presigned download of a delivered file works.
const DOWNLOAD_TTL: Duration = Duration::from_mins(15);

fn s3_error(e: impl std::error::Error + 'static) -> StoreError {
    StoreError::Internal(format!("s3: {}", describe(&e)))
}

/// The key prefix of a job's folder in the bucket.
pub fn job_prefix(job: &str) -> String {
    format!("jobs/{job}/")
}

/// Reads of one bucket: whole small objects and their metadata.
#[derive(Clone)]
pub struct Bucket {
    s3: aws_sdk_s3::Client,
    name: String,
}

impl Bucket {
    pub fn new(config: &aws_config::SdkConfig, name: &str) -> Self {
        Self {
            s3: crate::s3_uploads::s3_client(config),
            name: name.to_owned(),
        }
    }

    /// Deletes every object under `prefix` and aborts every unfinished multipart upload there;
    /// returns how many objects went.
    pub async fn delete_prefix(&self, prefix: &str) -> Result<usize, StoreError> {
        use aws_sdk_s3::types::{Delete, ObjectIdentifier};
        let mut deleted = 0;
        let mut token: Option<String> = None;
        loop {
            let page = self
                .s3
                .list_objects_v2()
                .bucket(&self.name)
                .prefix(prefix)
                .set_continuation_token(token.take())
                .send()
                .await
                .map_err(s3_error)?;
            let ids = page
                .contents()
                .iter()
                .filter_map(|o| o.key())
                .map(|k| ObjectIdentifier::builder().key(k).build().map_err(s3_error))
                .collect::<Result<Vec<_>, _>>()?;
            if !ids.is_empty() {
                deleted += ids.len();
                let batch = Delete::builder()
                    .set_objects(Some(ids))
                    .quiet(true)
                    .build()
                    .map_err(s3_error)?;
                self.s3
                    .delete_objects()
                    .bucket(&self.name)
                    .delete(batch)
                    .send()
                    .await
                    .map_err(s3_error)?;
            }
            match page.next_continuation_token() {
                Some(t) if page.is_truncated() == Some(true) => token = Some(t.to_owned()),
                _ => break,
            }
        }
        let uploads = self
            .s3
            .list_multipart_uploads()
            .bucket(&self.name)
            .prefix(prefix)
            .send()
            .await
            .map_err(s3_error)?;
        for u in uploads.uploads() {
            if let (Some(key), Some(id)) = (u.key(), u.upload_id()) {
                self.s3
                    .abort_multipart_upload()
                    .bucket(&self.name)
                    .key(key)
                    .upload_id(id)
                    .send()
                    .await
                    .map_err(s3_error)?;
            }
        }
        Ok(deleted)
    }

    /// The object's bytes, or `None` when there is no such key.
    pub async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        match self
            .s3
            .get_object()
            .bucket(&self.name)
            .key(key)
            .send()
            .await
        {
            Ok(out) => Ok(Some(
                out.body
                    .collect()
                    .await
                    .map_err(s3_error)?
                    .into_bytes()
                    .to_vec(),
            )),
            Err(e)
                if e.as_service_error().is_some_and(
                    aws_sdk_s3::operation::get_object::GetObjectError::is_no_such_key,
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(s3_error(e)),
        }
    }

    /// The object's size and last change (Unix seconds), or `None` when there is no such key.
    pub async fn head(&self, key: &str) -> Result<Option<(u64, i64)>, StoreError> {
        match self
            .s3
            .head_object()
            .bucket(&self.name)
            .key(key)
            .send()
            .await
        {
            Ok(h) => Ok(Some((
                h.content_length()
                    .and_then(|n| u64::try_from(n).ok())
                    .unwrap_or(0),
                h.last_modified()
                    .map_or(0, aws_sdk_s3::primitives::DateTime::secs),
            ))),
            Err(e)
                if e.as_service_error().is_some_and(
                    aws_sdk_s3::operation::head_object::HeadObjectError::is_not_found,
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(s3_error(e)),
        }
    }

    /// A URL that reads the object (ranges included) for `ttl`.
    pub async fn presigned_get(&self, key: &str, ttl: Duration) -> Result<String, StoreError> {
        let url = self
            .s3
            .get_object()
            .bucket(&self.name)
            .key(key)
            .presigned(PresigningConfig::expires_in(ttl).map_err(s3_error)?)
            .await
            .map_err(s3_error)?;
        Ok(url.uri().to_owned())
    }
}

pub struct S3Delivered {
    bucket: Bucket,
}

impl S3Delivered {
    pub fn new(config: &aws_config::SdkConfig, bucket: &str) -> Self {
        Self {
            bucket: Bucket::new(config, bucket),
        }
    }

    fn key(job: &Job, file: DeliveredFile) -> String {
        format!("{}{}", job_prefix(&job.id), file.path())
    }
}

#[async_trait]
impl DeliveredFiles for S3Delivered {
    async fn read(&self, job: &Job, file: DeliveredFile) -> Result<Option<Vec<u8>>, StoreError> {
        self.bucket.get(&Self::key(job, file)).await
    }

    async fn size(&self, job: &Job, file: DeliveredFile) -> Result<Option<u64>, StoreError> {
        Ok(self
            .bucket
            .head(&Self::key(job, file))
            .await?
            .map(|(size, _)| size))
    }

    async fn locate(&self, job: &Job, file: DeliveredFile) -> Result<Delivery, StoreError> {
        self.bucket
            .presigned_get(&Self::key(job, file), DOWNLOAD_TTL)
            .await
            .map(Delivery::Url)
    }
}
