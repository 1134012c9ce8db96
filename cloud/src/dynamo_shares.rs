//! `ShareLinks` on DynamoDB: the owner's record of a project's link (`sk = "SHARE#{project}"` in
//! the owner's partition) and the link's own record (`pk = "LINK#{token}"`), which `resolve`
//! reads without knowing the owner. Revoking deletes both, so the old link is dead for good.

use std::sync::Arc;

use async_trait::async_trait;
use domain::ports::{ProjectStore, ShareLinks};
use domain::{ProjectId, StoreError, UserId};

use crate::table::{self, key, owner_pk, s, text, Item, Table};

pub struct DynamoShares {
    table: Table,
    projects: Arc<dyn ProjectStore>,
}

fn owner_key(owner: &UserId, project: &ProjectId) -> Item {
    key(owner_pk(owner), format!("SHARE#{}", project.0))
}

fn link_key(token: &str) -> Item {
    key(format!("LINK#{token}"), "LINK")
}

impl DynamoShares {
    pub fn new(table: Table, projects: Arc<dyn ProjectStore>) -> Self {
        Self { table, projects }
    }
}

#[async_trait]
impl ShareLinks for DynamoShares {
    async fn share(&self, owner: &UserId, project: &ProjectId) -> Result<String, StoreError> {
        if let Some(token) = self.current(owner, project).await? {
            return Ok(token);
        }
        // 256 random bits: a link cannot be guessed.
        let token = table::new_token();
        let mut link = link_key(&token);
        link.insert("owner".to_owned(), text(&owner.0));
        link.insert("project".to_owned(), text(&project.0));
        self.table.put(link).await?;
        let mut mine = owner_key(owner, project);
        mine.insert("token".to_owned(), text(&token));
        self.table.put(mine).await?;
        Ok(token)
    }

    async fn current(
        &self,
        owner: &UserId,
        project: &ProjectId,
    ) -> Result<Option<String>, StoreError> {
        self.projects.get(owner, project).await?;
        Ok(self
            .table
            .get(owner_key(owner, project))
            .await?
            .and_then(|i| s(&i, "token").map(str::to_owned)))
    }

    async fn revoke(&self, owner: &UserId, project: &ProjectId) -> Result<(), StoreError> {
        if let Some(token) = self.current(owner, project).await? {
            self.table.delete(link_key(&token)).await?;
            self.table.delete(owner_key(owner, project)).await?;
        }
        Ok(())
    }

    async fn resolve(&self, token: &str) -> Result<Option<(UserId, ProjectId)>, StoreError> {
        if token.is_empty() || token.len() > 128 {
            return Ok(None);
        }
        let Some(item) = self.table.get(link_key(token)).await? else {
            return Ok(None);
        };
        let (Some(owner), Some(project)) = (s(&item, "owner"), s(&item, "project")) else {
            return Ok(None);
        };
        let (owner, project) = (UserId(owner.to_owned()), ProjectId(project.to_owned()));
        // A link to a deleted project is dead.
        match self.projects.get(&owner, &project).await {
            Ok(_) => Ok(Some((owner, project))),
            Err(StoreError::NotFound) => Ok(None),
            Err(e) => Err(e),
        }
    }
}
