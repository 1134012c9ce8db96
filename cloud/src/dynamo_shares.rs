//! `ShareLinks` on DynamoDB: the owner's record of a project's link (`sk = "SHARE#{project}"` in
//! the owner's partition) and the link's own record (`pk = "LINK#{token}"`), which `resolve`
//! reads without knowing the owner. Revoking deletes both, so the old link is dead for good. The
//! owner's record is written conditionally and is the authority: a link it does not name is dead.

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
        // The owner's record is written only where none is: of shares at the same moment one
        // wins, and the others drop their link and answer with the winner's (two records
        // written blindly left links the owner's revoke could not see).
        let mut mine = owner_key(owner, project);
        mine.insert("token".to_owned(), text(&token));
        if self.table.put_new(mine).await? {
            return Ok(token);
        }
        self.table.delete(link_key(&token)).await?;
        self.current(owner, project)
            .await?
            .ok_or_else(|| StoreError::Internal("a share link was revoked while made".into()))
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
        // Only the link the owner's record names is alive: a stray one (left by a share that
        // lost a race before shares were conditional) is dead like a revoked one.
        match self.current(&owner, &project).await {
            Ok(Some(current)) if current == token => Ok(Some((owner, project))),
            // A link to a deleted project is dead.
            Ok(_) | Err(StoreError::NotFound) => Ok(None),
            Err(e) => Err(e),
        }
    }
}
