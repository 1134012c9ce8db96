//! `ProjectStore` on DynamoDB: projects at `sk = "PROJECT#{id}"` in their owner's partition
//! (`table.rs`), so every read and write names the owner in its key and another user's project
//! is simply not there. Updates are conditional on the item existing, so an update never
//! re-creates a deleted project.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::ReturnValue;
use domain::ports::ProjectStore;
use domain::{FlightInputs, Project, ProjectId, ProjectStatus, ProjectTitle, StoreError, UserId};

use crate::table::{self, is_condition_failure, key, n, num, owner_pk, s, text, Item, Table};

/// The same ceiling as the embedded store: it stops a runaway script, not a user.
pub const MAX_PROJECTS_PER_USER: usize = 10_000;

pub struct DynamoProjects {
    table: Table,
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Internal(format!("dynamodb: a stored project has no valid {what}"))
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

fn project_key(owner: &UserId, id: &ProjectId) -> Item {
    key(owner_pk(owner), format!("PROJECT#{}", id.0))
}

impl DynamoProjects {
    pub fn new(table: Table) -> Self {
        Self { table }
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
            .table
            .client()
            .update_item()
            .table_name(self.table.name())
            .set_key(Some(project_key(owner, id)))
            .update_expression("SET #a = :v, updated_at = :now")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#a", attribute)
            .expression_attribute_values(":v", text(value))
            .expression_attribute_values(":now", num(table::now_secs()))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match out {
            Ok(out) => project_from(out.attributes().ok_or_else(|| corrupt("answer"))?),
            Err(e) if is_condition_failure(&e) => Err(StoreError::NotFound),
            Err(e) => Err(table::internal(e)),
        }
    }
}

#[async_trait]
impl ProjectStore for DynamoProjects {
    async fn list(&self, owner: &UserId) -> Result<Vec<Project>, StoreError> {
        let items = self.table.query(&owner_pk(owner), "PROJECT#").await?;
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
        project_from(
            &self
                .table
                .get(project_key(owner, id))
                .await?
                .ok_or(StoreError::NotFound)?,
        )
    }

    async fn create(&self, owner: &UserId, title: &ProjectTitle) -> Result<Project, StoreError> {
        if self.table.count(&owner_pk(owner), "PROJECT#").await? >= MAX_PROJECTS_PER_USER {
            return Err(StoreError::LimitReached(format!(
                "an account can hold {MAX_PROJECTS_PER_USER} projects; delete some first"
            )));
        }
        let now = table::now_secs();
        let project = Project {
            id: ProjectId(table::new_id()),
            title: title.clone(),
            status: ProjectStatus::Draft,
            flight: None,
            created_at: now,
            updated_at: now,
        };
        let mut item = project_key(owner, &project.id);
        item.extend([
            ("id".to_owned(), text(&project.id.0)),
            ("title".to_owned(), text(title.as_str())),
            ("status".to_owned(), text(project.status.as_str())),
            ("created_at".to_owned(), num(now)),
            ("updated_at".to_owned(), num(now)),
        ]);
        if !self.table.put_new(item).await? {
            return Err(StoreError::Internal(
                "dynamodb: a new project id was taken".into(),
            ));
        }
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
        if self.table.delete(project_key(owner, id)).await? {
            Ok(())
        } else {
            Err(StoreError::NotFound)
        }
    }
}
