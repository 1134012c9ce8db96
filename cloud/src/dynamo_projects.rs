//! `ProjectStore` on DynamoDB. One table holds every owner's records under partition key
//! `pk = "OWNER#{owner}"`, so every read and write names the owner in its key: another user's
//! project is not hidden by a filter, it is simply not in the partition asked for. Projects sit
//! at sort key `sk = "PROJECT#{id}"`; updates are conditional on the item existing, so an update
//! never re-creates a deleted project.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, Select};
use aws_sdk_dynamodb::Client;
use domain::ports::ProjectStore;
use domain::{FlightInputs, Project, ProjectId, ProjectStatus, ProjectTitle, StoreError, UserId};

use crate::settings::describe;

/// The same ceiling as the embedded store: it stops a runaway script, not a user.
pub const MAX_PROJECTS_PER_USER: usize = 10_000;

pub struct DynamoProjects {
    client: Client,
    table: String,
}

pub(crate) type Item = HashMap<String, AttributeValue>;

pub(crate) fn owner_key(owner: &UserId) -> AttributeValue {
    AttributeValue::S(format!("OWNER#{}", owner.0))
}

pub(crate) fn internal(e: impl std::error::Error + 'static) -> StoreError {
    StoreError::Internal(format!("dynamodb: {}", describe(&e)))
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Internal(format!("dynamodb: a stored project has no valid {what}"))
}

pub(crate) fn s<'a>(item: &'a Item, key: &str) -> Option<&'a str> {
    item.get(key)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
}

pub(crate) fn n(item: &Item, key: &str) -> Option<i64> {
    item.get(key)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
}

pub(crate) fn now_secs() -> i64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    since.map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// 128 random bits as 32 hex digits, like the embedded store's ids.
pub(crate) fn new_id() -> String {
    let bytes: [u8; 16] = rand::random();
    hex::encode(bytes)
}

fn project_from(item: &Item) -> Result<Project, StoreError> {
    let flight = match s(item, "flight") {
        Some(json) => {
            Some(serde_json::from_str::<FlightInputs>(json).map_err(|_| corrupt("flight inputs"))?)
        }
        None => None,
    };
    Ok(Project {
        id: ProjectId(s(item, "id").ok_or_else(|| corrupt("id"))?.to_owned()),
        title: ProjectTitle::parse(s(item, "title").ok_or_else(|| corrupt("title"))?)
            .map_err(|_| corrupt("title"))?,
        status: s(item, "status")
            .and_then(ProjectStatus::parse)
            .ok_or_else(|| corrupt("status"))?,
        flight,
        created_at: n(item, "created_at").ok_or_else(|| corrupt("creation time"))?,
        updated_at: n(item, "updated_at").ok_or_else(|| corrupt("change time"))?,
    })
}

impl DynamoProjects {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    fn key(owner: &UserId, id: &ProjectId) -> Item {
        HashMap::from([
            ("pk".to_owned(), owner_key(owner)),
            (
                "sk".to_owned(),
                AttributeValue::S(format!("PROJECT#{}", id.0)),
            ),
        ])
    }

    /// Sets one attribute (and the change time) of an existing project of `owner`.
    async fn update(
        &self,
        owner: &UserId,
        id: &ProjectId,
        attribute: &str,
        value: String,
    ) -> Result<Project, StoreError> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(owner, id)))
            .update_expression("SET #a = :v, updated_at = :now")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#a", attribute)
            .expression_attribute_values(":v", AttributeValue::S(value))
            .expression_attribute_values(":now", AttributeValue::N(now_secs().to_string()))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match out {
            Ok(out) => project_from(out.attributes().ok_or_else(|| corrupt("answer"))?),
            Err(e) if is_condition_failure(&e) => Err(StoreError::NotFound),
            Err(e) => Err(internal(e)),
        }
    }

    /// Every item of `owner` whose sort key starts with `prefix`, all pages.
    pub(crate) async fn query_prefix(
        client: &Client,
        table: &str,
        owner: &UserId,
        prefix: &str,
        count_only: bool,
    ) -> Result<(Vec<Item>, usize), StoreError> {
        let mut items = Vec::new();
        let mut count = 0;
        let mut start: Option<Item> = None;
        loop {
            let mut q = client
                .query()
                .table_name(table)
                .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
                .expression_attribute_values(":pk", owner_key(owner))
                .expression_attribute_values(":prefix", AttributeValue::S(prefix.to_owned()))
                .consistent_read(true)
                .set_exclusive_start_key(start.take());
            if count_only {
                q = q.select(Select::Count);
            }
            let page = q.send().await.map_err(internal)?;
            count += usize::try_from(page.count()).unwrap_or(0);
            items.extend(page.items().iter().cloned());
            match page.last_evaluated_key() {
                Some(k) if !k.is_empty() => start = Some(k.clone()),
                _ => return Ok((items, count)),
            }
        }
    }
}

pub(crate) fn is_condition_failure<E, R>(e: &aws_sdk_dynamodb::error::SdkError<E, R>) -> bool
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    e.as_service_error()
        .and_then(aws_sdk_dynamodb::error::ProvideErrorMetadata::code)
        == Some("ConditionalCheckFailedException")
}

#[async_trait]
impl ProjectStore for DynamoProjects {
    async fn list(&self, owner: &UserId) -> Result<Vec<Project>, StoreError> {
        let (items, _) =
            Self::query_prefix(&self.client, &self.table, owner, "PROJECT#", false).await?;
        let mut projects = items
            .iter()
            .map(project_from)
            .collect::<Result<Vec<_>, _>>()?;
        projects.sort_by(|a, b| {
            b.updated_at
                .cmp(&a.updated_at)
                .then_with(|| a.id.0.cmp(&b.id.0))
        });
        Ok(projects)
    }

    async fn get(&self, owner: &UserId, id: &ProjectId) -> Result<Project, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(owner, id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(internal)?;
        project_from(out.item().ok_or(StoreError::NotFound)?)
    }

    async fn create(&self, owner: &UserId, title: &ProjectTitle) -> Result<Project, StoreError> {
        let (_, count) =
            Self::query_prefix(&self.client, &self.table, owner, "PROJECT#", true).await?;
        if count >= MAX_PROJECTS_PER_USER {
            return Err(StoreError::LimitReached(format!(
                "an account can hold {MAX_PROJECTS_PER_USER} projects; delete some first"
            )));
        }
        let now = now_secs();
        let project = Project {
            id: ProjectId(new_id()),
            title: title.clone(),
            status: ProjectStatus::Draft,
            flight: None,
            created_at: now,
            updated_at: now,
        };
        let mut item = Self::key(owner, &project.id);
        item.extend([
            ("id".to_owned(), AttributeValue::S(project.id.0.clone())),
            (
                "title".to_owned(),
                AttributeValue::S(title.as_str().to_owned()),
            ),
            (
                "status".to_owned(),
                AttributeValue::S(project.status.as_str().to_owned()),
            ),
            ("created_at".to_owned(), AttributeValue::N(now.to_string())),
            ("updated_at".to_owned(), AttributeValue::N(now.to_string())),
        ]);
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
            .map_err(internal)?;
        Ok(project)
    }

    async fn rename(
        &self,
        owner: &UserId,
        id: &ProjectId,
        title: &ProjectTitle,
    ) -> Result<Project, StoreError> {
        self.update(owner, id, "title", title.as_str().to_owned())
            .await
    }

    async fn set_flight_inputs(
        &self,
        owner: &UserId,
        id: &ProjectId,
        inputs: &FlightInputs,
    ) -> Result<Project, StoreError> {
        let json = serde_json::to_string(inputs)
            .map_err(|e| StoreError::Internal(format!("flight inputs: {e}")))?;
        self.update(owner, id, "flight", json).await
    }

    async fn set_status(
        &self,
        owner: &UserId,
        id: &ProjectId,
        status: ProjectStatus,
    ) -> Result<Project, StoreError> {
        self.update(owner, id, "status", status.as_str().to_owned())
            .await
    }

    async fn delete(&self, owner: &UserId, id: &ProjectId) -> Result<(), StoreError> {
        let out = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(owner, id)))
            .condition_expression("attribute_exists(pk)")
            .send()
            .await;
        match out {
            Ok(_) => Ok(()),
            Err(e) if is_condition_failure(&e) => Err(StoreError::NotFound),
            Err(e) => Err(internal(e)),
        }
    }
}
