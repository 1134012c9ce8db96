//! `UploadStore` on S3 multipart uploads. The browser sends each part straight to S3 through a
//! presigned URL (`part_url`: signed for that part's exact length, valid for an hour), so photos
//! never pass through the backend; the server can still take a part itself (`put_part`), which
//! keeps the embedded protocol working unchanged. A part counts as received once its ETag is
//! recorded: S3's answer to the server's own upload, or the ETag the browser read from S3's
//! answer (the bucket's CORS rule exposes it) and reported with `confirm_part`. A wrong ETag
//! cannot slip through: completing hands every ETag to S3, which refuses any that is not the
//! stored part's. The session's record (owner, project, name, size, ETags) is a DynamoDB item
//! under the owner's key, as projects are, so another user's upload is simply not found.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use domain::ports::{ProjectStore, UploadSession, UploadStore};
use domain::{ProjectId, ProjectStatus, StoreError, UserId, ValidationError};

use crate::settings::describe;
use crate::table::{self as dp, Item, Table};

/// The same part size as the embedded store (S3 wants at least 5 MiB for all but the last).
pub const PART_SIZE: u64 = 8 << 20;
/// Unfinished uploads a user may have at once.
const MAX_OPEN_UPLOADS: usize = 20;
/// How long a presigned part URL works.
const PART_URL_TTL: Duration = Duration::from_hours(1);

/// An S3 client for `config`; path-style addressing when the endpoint is not AWS's own (a local
/// stand-in has no per-bucket host names).
pub fn s3_client(config: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    let s3 = aws_sdk_s3::config::Builder::from(config)
        .force_path_style(config.endpoint_url().is_some())
        .build();
    aws_sdk_s3::Client::from_conf(s3)
}

pub struct S3Uploads {
    s3: aws_sdk_s3::Client,
    table: Table,
    bucket: String,
    projects: Arc<dyn ProjectStore>,
    max_size: u64,
}

fn s3_error(e: impl std::error::Error + 'static) -> StoreError {
    StoreError::Internal(format!("s3: {}", describe(&e)))
}

fn invalid(field: &str, message: impl Into<String>) -> StoreError {
    StoreError::Validation(ValidationError::new(field, message))
}

/// The stored record: the session as the port shows it, and S3's multipart upload id.
struct Record {
    session: UploadSession,
    multipart: String,
    /// The received parts, as (number, ETag), in order.
    etags: Vec<(u32, String)>,
    /// When the session began (Unix seconds).
    created_at: i64,
}

impl S3Uploads {
    pub fn new(
        config: &aws_config::SdkConfig,
        table: Table,
        bucket: impl Into<String>,
        projects: Arc<dyn ProjectStore>,
        max_size: u64,
    ) -> Self {
        Self {
            s3: s3_client(config),
            table,
            bucket: bucket.into(),
            projects,
            max_size,
        }
    }

    /// Where a project's completed photo archive lives in the bucket.
    pub fn archive_key(owner: &UserId, project: &ProjectId) -> String {
        format!("uploads/{}/{}/photos.zip", owner.0, project.0)
    }

    fn key(owner: &UserId, id: &str) -> Item {
        dp::key(dp::owner_pk(owner), format!("UPLOAD#{id}"))
    }

    async fn record(&self, owner: &UserId, id: &str) -> Result<Record, StoreError> {
        let item = self
            .table
            .get(Self::key(owner, id))
            .await?
            .ok_or(StoreError::NotFound)?;
        let item = &item;
        let corrupt = || StoreError::Internal("dynamodb: an upload record is incomplete".into());
        let num = |k: &str| {
            dp::n(item, k)
                .and_then(|v| u64::try_from(v).ok())
                .ok_or_else(corrupt)
        };
        let session = UploadSession {
            id: id.to_owned(),
            project: ProjectId(dp::s(item, "project").ok_or_else(corrupt)?.to_owned()),
            file_name: dp::s(item, "file_name").ok_or_else(corrupt)?.to_owned(),
            size: num("size")?,
            part_size: num("part_size")?,
            parts: u32::try_from(num("parts")?).map_err(|_| corrupt())?,
            received: Vec::new(),
            completed: item.contains_key("completed_at"),
        };
        let created_at = dp::n(item, "created_at").unwrap_or(0);
        let mut etags: Vec<(u32, String)> = item
            .get("etags")
            .and_then(|v| v.as_m().ok())
            .map(|m| {
                m.iter()
                    .filter_map(|(n, tag)| Some((n.parse().ok()?, tag.as_s().ok()?.clone())))
                    .collect()
            })
            .unwrap_or_default();
        etags.sort_unstable();
        Ok(Record {
            session,
            multipart: dp::s(item, "multipart").ok_or_else(corrupt)?.to_owned(),
            etags,
            created_at,
        })
    }

    /// Records that part `part` is stored in S3 under `etag`.
    async fn record_part(
        &self,
        owner: &UserId,
        id: &str,
        part: u32,
        etag: &str,
    ) -> Result<(), StoreError> {
        self.table
            .client()
            .update_item()
            .table_name(self.table.name())
            .set_key(Some(Self::key(owner, id)))
            .update_expression("SET etags.#n = :tag")
            .condition_expression("attribute_exists(pk) AND attribute_not_exists(completed_at)")
            .expression_attribute_names("#n", part.to_string())
            .expression_attribute_values(":tag", AttributeValue::S(etag.to_owned()))
            .send()
            .await
            .map_err(dp::internal)?;
        Ok(())
    }

    /// The record of an open upload and the length part `part` must have.
    async fn open_part(
        &self,
        owner: &UserId,
        id: &str,
        part: u32,
    ) -> Result<(Record, u64), StoreError> {
        let r = self.record(owner, id).await?;
        let want = r.session.open_part(part)?;
        Ok((r, want))
    }

    /// The S3 request for part `part` of `r`'s multipart upload, sent by this server or presigned
    /// for the browser.
    fn upload_part(
        &self,
        owner: &UserId,
        r: &Record,
        part: u32,
    ) -> Result<aws_sdk_s3::operation::upload_part::builders::UploadPartFluentBuilder, StoreError>
    {
        Ok(self
            .s3
            .upload_part()
            .bucket(&self.bucket)
            .key(Self::archive_key(owner, &r.session.project))
            .upload_id(&r.multipart)
            .part_number(i32::try_from(part).map_err(s3_error)?))
    }
}

#[async_trait]
impl UploadStore for S3Uploads {
    async fn create(
        &self,
        owner: &UserId,
        project: &ProjectId,
        file_name: &str,
        size: u64,
    ) -> Result<UploadSession, StoreError> {
        self.projects.get(owner, project).await?;
        let name = domain::ports::check_new_upload(file_name, size, self.max_size)?;
        let items = self.table.query(&dp::owner_pk(owner), "UPLOAD#").await?;
        if items
            .iter()
            .filter(|i| !i.contains_key("completed_at"))
            .count()
            >= MAX_OPEN_UPLOADS
        {
            return Err(StoreError::LimitReached(format!(
                "{MAX_OPEN_UPLOADS} unfinished uploads"
            )));
        }
        let parts = u32::try_from(size.div_ceil(PART_SIZE))
            .ok()
            .filter(|&p| p <= 10_000)
            .ok_or_else(|| invalid("file", "the file is too large"))?;
        let started = self
            .s3
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(Self::archive_key(owner, project))
            .content_type("application/zip")
            .send()
            .await
            .map_err(s3_error)?;
        let multipart = started
            .upload_id()
            .ok_or_else(|| StoreError::Internal("s3: no upload id".into()))?;
        let id = dp::new_id();
        let mut item = Self::key(owner, &id);
        let num = |v: u64| AttributeValue::N(v.to_string());
        item.extend([
            ("project".to_owned(), AttributeValue::S(project.0.clone())),
            ("file_name".to_owned(), AttributeValue::S(name.to_owned())),
            ("size".to_owned(), num(size)),
            ("part_size".to_owned(), num(PART_SIZE)),
            ("parts".to_owned(), num(u64::from(parts))),
            (
                "multipart".to_owned(),
                AttributeValue::S(multipart.to_owned()),
            ),
            ("etags".to_owned(), AttributeValue::M(HashMap::new())),
            (
                "created_at".to_owned(),
                AttributeValue::N(dp::now_secs().to_string()),
            ),
        ]);
        self.table.put(item).await?;
        self.get(owner, &id).await
    }

    async fn get(&self, owner: &UserId, id: &str) -> Result<UploadSession, StoreError> {
        let r = self.record(owner, id).await?;
        let received = r.etags.iter().map(|(n, _)| *n).collect();
        Ok(UploadSession {
            received,
            ..r.session
        })
    }

    async fn part_url(
        &self,
        owner: &UserId,
        id: &str,
        part: u32,
    ) -> Result<Option<String>, StoreError> {
        let (r, want) = self.open_part(owner, id, part).await?;
        let presigned = self
            .upload_part(owner, &r, part)?
            // Signed into the URL: S3 refuses a body of any other length.
            .content_length(i64::try_from(want).map_err(s3_error)?)
            .presigned(PresigningConfig::expires_in(PART_URL_TTL).map_err(s3_error)?)
            .await
            .map_err(s3_error)?;
        Ok(Some(presigned.uri().to_owned()))
    }

    async fn put_part(
        &self,
        owner: &UserId,
        id: &str,
        part: u32,
        bytes: &[u8],
    ) -> Result<(), StoreError> {
        let (r, want) = self.open_part(owner, id, part).await?;
        if bytes.len() as u64 != want {
            return Err(invalid(
                "part",
                format!("part {part} must be {want} bytes, got {}", bytes.len()),
            ));
        }
        let stored = self
            .upload_part(owner, &r, part)?
            .body(ByteStream::from(bytes.to_vec()))
            .send()
            .await
            .map_err(s3_error)?;
        let etag = stored
            .e_tag()
            .ok_or_else(|| StoreError::Internal("s3: a stored part has no ETag".into()))?;
        self.record_part(owner, id, part, etag).await
    }

    async fn confirm_part(
        &self,
        owner: &UserId,
        id: &str,
        part: u32,
        etag: &str,
    ) -> Result<(), StoreError> {
        self.open_part(owner, id, part).await?;
        let etag = etag.trim();
        if etag.is_empty() || etag.len() > 128 || !etag.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(invalid(
                "etag",
                "send the ETag header S3 answered the part with",
            ));
        }
        self.record_part(owner, id, part, etag).await
    }

    async fn complete(&self, owner: &UserId, id: &str) -> Result<UploadSession, StoreError> {
        let r = self.record(owner, id).await?;
        if r.session.completed {
            // Asked again after a crash between recording the end and the project's status:
            // the project still waiting for photos is moved on; one already further is not.
            let project = self.projects.get(owner, &r.session.project).await?;
            if matches!(
                project.status,
                ProjectStatus::Draft | ProjectStatus::PathDownloaded
            ) {
                self.projects
                    .set_status(owner, &r.session.project, ProjectStatus::PhotosUploaded)
                    .await?;
            }
            return self.get(owner, id).await;
        }
        let stored = &r.etags;
        r.session
            .check_all_received(&stored.iter().map(|(n, _)| *n).collect::<Vec<_>>())?;
        let key = Self::archive_key(owner, &r.session.project);
        let parts = stored
            .iter()
            .map(|(n, tag)| {
                CompletedPart::builder()
                    .part_number(i32::try_from(*n).unwrap_or(i32::MAX))
                    .e_tag(tag)
                    .build()
            })
            .collect();
        let completed = self
            .s3
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(&key)
            .upload_id(&r.multipart)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            )
            .send()
            .await;
        // S3 no longer knows the upload: a first `complete` finished it there and the server
        // died before recording it. The archive it assembled is the answer if it was written
        // since this session began (and has the size, checked below); anything else is a loss.
        let forgotten = match completed {
            Ok(_) => false,
            Err(e)
                if e.as_service_error().and_then(ProvideErrorMetadata::code)
                    == Some("NoSuchUpload") =>
            {
                true
            }
            Err(e) => {
                return Err(
                    match e.as_service_error().and_then(ProvideErrorMetadata::code) {
                        // A part is not what its ETag says, or too small: the client must send
                        // it again.
                        Some("InvalidPart" | "InvalidPartOrder" | "EntityTooSmall") => invalid(
                            "parts",
                            "S3 did not accept the parts as sent; upload the file again",
                        ),
                        _ => s3_error(e),
                    },
                );
            }
        };
        let head = self
            .s3
            .head_object()
            .bucket(&self.bucket)
            .key(&key)
            .send()
            .await
            .map_err(s3_error)?;
        let written = head
            .last_modified()
            .map(aws_sdk_s3::primitives::DateTime::secs);
        if forgotten && written.is_none_or(|at| at < r.created_at) {
            return Err(StoreError::Internal(
                "s3: the upload is gone and no archive of it was written".into(),
            ));
        }
        let size = head.content_length().and_then(|n| u64::try_from(n).ok());
        if size != Some(r.session.size) {
            return Err(StoreError::Internal(format!(
                "s3: the assembled archive has {size:?} bytes, expected {}",
                r.session.size
            )));
        }
        self.table
            .client()
            .update_item()
            .table_name(self.table.name())
            .set_key(Some(Self::key(owner, id)))
            .update_expression("SET completed_at = :now")
            .expression_attribute_values(":now", AttributeValue::N(dp::now_secs().to_string()))
            .send()
            .await
            .map_err(dp::internal)?;
        self.projects
            .set_status(owner, &r.session.project, ProjectStatus::PhotosUploaded)
            .await?;
        self.get(owner, id).await
    }
}
